#include "support/aws_standin.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "http/client.h"

namespace qrl::testing {

namespace {

nlohmann::json http_json(const std::string& method, const std::string& url, const std::string& body = "") {
  http::Client client(std::chrono::milliseconds(5000));
  http::Request request;
  request.method = method;
  request.url = url;
  request.body = body;
  auto response = client.send(request);
  if (response.status != 200) throw std::runtime_error(url + " answered " + std::to_string(response.status));
  return nlohmann::json::parse(response.body);
}

}  // namespace

AwsStandin::AwsStandin(const std::string& upstream, const Options& options) {
  std::vector<std::string> args = {QRL_AWS_STANDIN, "--upstream", upstream, "--lifetime",
                                   std::to_string(options.lifetime_s)};
  for (const auto& key : options.keys) {
    args.push_back("--key");
    args.push_back(key);
  }
  if (options.policy) {
    static int counter = 0;
    policy_file_ = std::filesystem::temp_directory_path() /
                   ("qrl-policy-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".json");
    std::ofstream(policy_file_) << options.policy->dump();
    args.push_back("--policy");
    args.push_back(policy_file_);
  }
  if (!options.ecs_token.empty()) {
    args.push_back("--ecs-token");
    args.push_back(options.ecs_token);
  }
  process_ = std::make_unique<Process>(args, std::map<std::string, std::string>{}, "/usr/bin/python3");
  if (!eventually(
          [&] { return process_->stdout_text().find('}') != std::string::npos || !process_->running(); },
          20s) ||
      !process_->running()) {
    throw std::runtime_error("aws_standin.py did not start: " + process_->stderr_text());
  }
  ports_ = nlohmann::json::parse(process_->stdout_text());
}

std::string AwsStandin::url(const char* name) const {
  return "http://127.0.0.1:" + std::to_string(ports_.at(name).get<int>());
}

nlohmann::json AwsStandin::stats() {
  return http_json("GET", url("admin") + "/stats");
}

void AwsStandin::set_capacity(const nlohmann::json& capacity) {
  http_json("POST", url("admin") + "/capacity", capacity.is_null() ? "{}" : capacity.dump());
}

void AwsStandin::set_policy(const std::optional<nlohmann::json>& policy, const std::string& principal) {
  http_json("POST", url("admin") + "/policy",
            nlohmann::json{{"principal", principal}, {"policy", policy ? *policy : nlohmann::json()}}.dump());
}

nlohmann::json deployed_policy(const std::string& file, const std::string& table) {
  std::ifstream in(std::string(QRL_SOURCE_DIR) + "/deploy/iam/" + file);
  std::stringstream text;
  text << in.rdbuf();
  auto policy = nlohmann::json::parse(text.str());
  for (auto& statement : policy["Statement"]) {
    auto resource = statement["Resource"].get<std::string>();
    statement["Resource"] = resource.substr(0, resource.rfind('/') + 1) + table;
  }
  return policy;
}

nlohmann::json suite_verifier_stats() {
  const char* admin = std::getenv("QRL_VERIFIER_ADMIN");
  if (admin == nullptr)
    throw std::runtime_error("QRL_VERIFIER_ADMIN is not set: run the tests with scripts/test.sh");
  return http_json("GET", std::string(admin) + "/stats");
}

}  // namespace qrl::testing
