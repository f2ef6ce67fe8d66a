// The Grafana dashboard (deploy/grafana/quiz-result-loader.json) against a real Prometheus:
// Debian's prometheus scrapes a `serve` that loads quizzes (one a poison message, one announced
// twice), and every query of every panel, with the dashboard's variables set as Grafana would,
// is evaluated over its HTTP API and returns data; the counters say what happened.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "http/client.h"
#include "support/stack_test.h"

namespace qrl::testing {
namespace {

std::string url_encoded(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

nlohmann::json query(int port, const std::string& expr) {
  http::Client client(5000ms);
  http::Request request;
  request.url = "http://127.0.0.1:" + std::to_string(port) + "/api/v1/query?query=" + url_encoded(expr);
  auto response = client.send(request);
  return nlohmann::json::parse(response.body);
}

// The dashboard's variables as Grafana sets them: this job, and a rate window of a minute.
std::string with_variables(std::string expr) {
  for (auto [name, value] : {std::pair<std::string, std::string>{"$__rate_interval", "1m"}, {"$job", "quiz-result-loader"}}) {
    for (auto at = expr.find(name); at != std::string::npos; at = expr.find(name, at)) expr.replace(at, name.size(), value);
  }
  return expr;
}

class Dashboard : public StackTest {};

TEST_F(Dashboard, EveryPanelsQueryReturnsDataFromARealScrape) {
  std::ifstream file(std::string(QRL_SOURCE_DIR) + "/deploy/grafana/quiz-result-loader.json");
  const auto dashboard = nlohmann::json::parse(file);
  ASSERT_GE(dashboard["panels"].size(), 8u);

  const int metrics_port = free_port();
  auto env = stack.env();
  env["LOADER_METRICS_PORT"] = std::to_string(metrics_port);
  std::vector<Fixture> quizzes;
  for (int i = 0; i < 4; ++i) {
    quizzes.push_back(contract_quiz(random_id()));
    stack.write(quizzes.back());
    stack.publish_event(quizzes.back().quiz_id);
  }
  auto daemon = start_env(env);
  ASSERT_TRUE(eventually([&] {
    for (const auto& f : quizzes) {
      if (!loaded(f.quiz_id)) return false;
    }
    return true;
  }, 60s)) << daemon->stderr_text();
  stack.publish_event(quizzes.front().quiz_id);  // again, once loaded: found loaded
  stack.publish("not an event");                 // a poison message: dead-lettered
  ASSERT_TRUE(eventually([&] {
    return stack.dlq_depth() == 1 && count(daemon->stderr_text(), "msg=\"quiz already loaded") == 1;
  }, 60s)) << daemon->stderr_text();

  const auto dir = std::filesystem::temp_directory_path() / ("qrl-prometheus-" + random_id());
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "prometheus.yml") << "global:\n  scrape_interval: 1s\n"
                                           "scrape_configs:\n  - job_name: quiz-result-loader\n"
                                           "    static_configs:\n      - targets: ['127.0.0.1:"
                                        << metrics_port << "']\n";
  const int port = free_port();
  Process prometheus({"--config.file=" + (dir / "prometheus.yml").string(), "--storage.tsdb.path=" + (dir / "data").string(),
                      "--web.listen-address=127.0.0.1:" + std::to_string(port)},
                     {}, "/usr/bin/prometheus");
  // Samples enough for a rate: a few scrapes after the first.
  auto scrapes = [&] {
    try {
      auto r = query(port, "count_over_time(up{job=\"quiz-result-loader\"}[1m])");
      return !r["data"]["result"].empty() && std::stod(r["data"]["result"][0]["value"][1].get<std::string>()) >= 5;
    } catch (const std::exception&) {
      return false;
    }
  };
  ASSERT_TRUE(eventually(scrapes, 60s)) << prometheus.stderr_text();

  std::size_t queries = 0;
  for (const auto& panel : dashboard["panels"]) {
    for (const auto& target : panel["targets"]) {
      const auto expr = with_variables(target["expr"].get<std::string>());
      auto answer = query(port, expr);
      ++queries;
      EXPECT_EQ(answer["status"], "success") << panel["title"] << ": " << expr << "\n" << answer.dump();
      EXPECT_FALSE(answer["data"]["result"].empty()) << panel["title"] << ": " << expr << " returned no data";
    }
  }
  EXPECT_GE(queries, 12u);
  auto value_of = [&](const std::string& expr) {
    auto r = query(port, with_variables(expr))["data"]["result"];
    return r.empty() ? -1.0 : std::stod(r[0]["value"][1].get<std::string>());
  };
  EXPECT_EQ(value_of("sum(qrl_quizzes_total{job=~\"$job\", outcome=\"loaded\"})"), 4);
  EXPECT_EQ(value_of("sum(qrl_quizzes_total{job=~\"$job\", outcome=\"already_loaded\"})"), 1);
  EXPECT_EQ(value_of("sum(qrl_quizzes_total{job=~\"$job\", outcome=\"dead_lettered\"})"), 1);
  EXPECT_EQ(value_of("sum(up{job=~\"$job\"})"), 1);
  stop(*daemon);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace qrl::testing
