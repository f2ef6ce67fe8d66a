// quiz-result-loader: one binary, one subcommand per way of running the loader.

#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "check/check.h"
#include "config/config.h"
#include "core/error.h"
#include "daemon/serve.h"
#include "dlq/dlq.h"
#include "dynamodb/client.h"
#include "http/client.h"
#include "lambda/runtime.h"
#include "log/log.h"
#include "seed/seed.h"
#include "split/reassemble.h"
#include "wiring/aws.h"
#include "wiring/stores.h"

namespace {

using namespace qrl;

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

struct ConfigOption {
  std::string path = "config.ini";
  bool explicit_path = false;

  void add_to(CLI::App& command) {
    command.add_option_function<std::string>(
        "-c,--config",
        [this](const std::string& value) {
          path = value;
          explicit_path = true;
        },
        "INI file with the settings; every key can be overridden by its environment variable "
        "(default: ./config.ini, which may be absent when the environment has every setting)");
  }

  config::Config load(unsigned needs) const {
    auto config = config::load(path, explicit_path, config::process_env(), needs);
    log::configure(config.loader.log_level, config.loader.log_format);
    return config;
  }
};

int load_quizzes(config::Config config, const std::vector<std::string>& ids) {
  auto aws = wiring::resolve_aws(config, config::process_env());
  wiring::Stores stores(config, aws);
  stores.items.ensure_table();
  auto sleep = pipeline::interruptible_sleeper([] { return false; });
  int failed = 0;
  for (const auto& id : ids) {
    log::Context context({{"quiz", id}});
    auto result = pipeline::process_quiz(stores.pipeline, id, wiring::retry_policy(config), sleep);
    if (result.failure) {
      ++failed;
      std::printf("%s\tfailed\t%s\n", id.c_str(), result.failure->what());
    } else {
      std::printf("%s\t%s\n", id.c_str(),
                  result.outcome == pipeline::Outcome::kLoaded ? "loaded" : "already loaded");
    }
  }
  std::fflush(stdout);
  return failed == 0 ? 0 : kExitFailure;
}

std::string attribute_string(const nlohmann::json& item, const char* name) {
  auto it = item.find(name);
  if (it == item.end() || !it->contains("S")) return "";
  return (*it)["S"].get<std::string>();
}

}  // namespace

int main(int argc, char** argv) {
  // A server closing a TLS connection must be an error on that connection, not the end of the
  // process: OpenSSL writes with write(), which raises SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  http::global_init();
  // In the Lambda zip this binary is `bootstrap`, which Lambda starts without arguments.
  if (argc == 1 && std::string_view(argv[0]).ends_with("bootstrap"))
    return lambda::run(config::process_env());
  CLI::App app{
      "quiz-result-loader: loads finished quizzes from Redis and the question-set directory into "
      "the DynamoDB table 'quiz', then deletes the live data."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "quiz-result-loader 0.1.0");

  ConfigOption config_option;

  auto* serve = app.add_subcommand("serve", "Run the daemon: consume quiz complete events from RabbitMQ");
  config_option.add_to(*serve);

  app.add_subcommand("lambda",
                     "Run as an AWS Lambda custom runtime: SQS batches from the Runtime API "
                     "(AWS_LAMBDA_RUNTIME_API); settings from the environment only");

  std::vector<std::string> load_ids;
  auto* load = app.add_subcommand("load", "Load the named quizzes once, without a queue");
  config_option.add_to(*load);
  load->add_option("QUIZ_ID", load_ids, "Quiz ids to load")->required();

  seed::Options seed_options;
  bool print_ids = false;
  bool no_publish = false;
  auto* seed = app.add_subcommand("seed",
                                  "Write sample quizzes to Redis and the question-set "
                                  "directory, and publish their events");
  config_option.add_to(*seed);
  seed->add_option("-n,--count", seed_options.count, "How many quizzes")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000000));
  seed->add_option("-p,--participants", seed_options.shape.participants, "Participants per quiz")
      ->capture_default_str()
      ->check(CLI::Range(0, 10000));
  seed->add_option("-q,--questions", seed_options.shape.questions, "Questions per quiz")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000));
  seed->add_option("--seed", seed_options.seed, "Random seed (default: from the clock)");
  seed->add_flag("--no-publish", no_publish, "Write the quizzes but publish no events");
  seed->add_flag("--print-ids", print_ids, "Print the quiz ids, one per line");

  std::string show_id;
  auto* show = app.add_subcommand("show", "Print a loaded quiz's item (DynamoDB JSON)");
  config_option.add_to(*show);
  show->add_option("QUIZ_ID", show_id, "Quiz id")->required();

  std::size_t list_limit = 50;
  std::vector<std::string> list_ids;
  auto* list =
      app.add_subcommand("list", "List loaded quizzes: id, name, participants, questions, items used");
  config_option.add_to(*list);
  list->add_option("--limit", list_limit, "At most this many (without QUIZ_IDs)")->capture_default_str();
  list->add_option("QUIZ_ID", list_ids, "Only these quizzes (default: any, from a table scan)");

  auto* check = app.add_subcommand(
      "check",
      "Validate the configuration and reach every server as serve would (log in, authenticate, describe the "
      "table), declaring nothing; one line per server; exit 1 if any failed");
  config_option.add_to(*check);

  std::string probe_path = "/healthz";
  auto* probe = app.add_subcommand(
      "probe",
      "Ask a running serve (on this machine, at LOADER_METRICS_PORT) whether it is alive (/healthz) or ready "
      "(--ready: /readyz); exit 0 if so, 1 if not. For container HEALTHCHECKs, which have no curl");
  config_option.add_to(*probe);
  probe->add_flag_callback(
      "--ready", [&] { probe_path = "/readyz"; }, "Ask /readyz instead of /healthz");

  auto* dlq = app.add_subcommand("dlq", "The dead-letter queue: what failed for good, and why");
  dlq->require_subcommand(1);
  auto* dlq_list =
      dlq->add_subcommand("list", "Show the dead letters with their reasons (they stay in the queue)");
  config_option.add_to(*dlq_list);
  std::size_t replay_limit = 0;
  auto* dlq_replay = dlq->add_subcommand(
      "replay", "Move the dead letters back to the main queue, after the data has been repaired");
  config_option.add_to(*dlq_replay);
  dlq_replay->add_option("--limit", replay_limit, "At most this many (default: all)");

  CLI11_PARSE(app, argc, argv);

  try {
    if (serve->parsed()) return daemon::serve(config_option.load(config::kNeedAll), config::process_env());
    if (app.got_subcommand("lambda")) return lambda::run(config::process_env());
    if (load->parsed()) {
      return load_quizzes(
          config_option.load(config::kNeedRedis | config::kNeedQuestions | config::kNeedDynamo), load_ids);
    }
    if (seed->parsed()) {
      seed_options.publish = !no_publish;
      unsigned needs = config::kNeedRedis | config::kNeedQuestions | (no_publish ? 0u : config::kNeedRabbit);
      auto ids = seed::seed(config_option.load(needs), seed_options);
      if (print_ids) {
        for (const auto& id : ids) std::printf("%s\n", id.c_str());
      }
      std::fprintf(stderr, "seeded %zu quizzes (%d participants x %d questions)%s\n", ids.size(),
                   seed_options.shape.participants, seed_options.shape.questions,
                   no_publish ? "" : " and published their events");
      return 0;
    }
    if (check->parsed())
      return check::run(config_option.load(config::kNeedAll), config::process_env(), stdout);
    if (probe->parsed()) {
      auto config = config_option.load(0);
      if (!config.loader.metrics_port) {
        std::fprintf(stderr,
                     "probe: loader.metrics_port (LOADER_METRICS_PORT) is not set: serve has no endpoint\n");
        return kExitFailure;
      }
      const auto url = "http://127.0.0.1:" + std::to_string(*config.loader.metrics_port) + probe_path;
      try {
        http::Client client(std::chrono::seconds(5));
        http::Request request;
        request.url = url;
        auto response = client.send(request);
        std::printf("%s: %ld\n%s", url.c_str(), response.status, response.body.c_str());
        return response.status == 200 ? 0 : kExitFailure;
      } catch (const core::Error& e) {
        std::printf("%s: %s\n", url.c_str(), e.what());
        return kExitFailure;
      }
    }
    if (dlq_list->parsed()) {
      auto n = dlq::list(config_option.load(config::kNeedRabbit), stdout);
      std::fprintf(stderr, "%zu dead letters\n", n);
      return 0;
    }
    if (dlq_replay->parsed()) {
      auto config = config_option.load(config::kNeedRabbit);
      auto n = dlq::replay(config, replay_limit);
      std::fprintf(stderr, "replayed %zu dead letters to '%s'\n", n, config.rabbit.queue_name.c_str());
      return 0;
    }
    if (show->parsed() || list->parsed()) {
      auto config = config_option.load(config::kNeedDynamo);
      auto aws = wiring::resolve_aws(config, config::process_env());
      dynamodb::Client client(config.dynamo, aws, config.loader.request_timeout);
      if (show->parsed()) {
        auto item = client.get(show_id);
        if (!item) {
          std::fprintf(stderr, "no item with id '%s' in table '%s'\n", show_id.c_str(),
                       client.table().c_str());
          return kExitFailure;
        }
        // A split quiz is printed as the single item it stands for.
        auto whole = split::reassemble(*item, [&](const std::string& id) { return client.get(id); });
        std::printf("%s\n", whole.dump(1).c_str());
        return 0;
      }
      std::vector<nlohmann::json> items;
      if (list_ids.empty()) {
        items = client.scan(list_limit);
      } else {
        for (const auto& id : list_ids) {
          if (auto item = client.get(id))
            items.push_back(std::move(*item));
          else
            std::printf("%s\tnot loaded\n", id.c_str());
        }
      }
      for (const auto& item : items) {
        const auto summary = split::summarize(item);
        std::printf("%s\t%s\t%zu participants\t%zu questions\t%zu %s\n", attribute_string(item, "id").c_str(),
                    attribute_string(item, "Name").c_str(), summary.participants, summary.questions,
                    summary.items, summary.items == 1 ? "item" : "items");
      }
      return 0;
    }
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "quiz-result-loader: %s\n", e.what());
    return kExitUsage;
  } catch (const core::Error& e) {
    std::fprintf(stderr, "quiz-result-loader: %s\n", e.what());
    return kExitFailure;
  } catch (const std::exception& e) {  // a damaged split quiz, for `show`
    std::fprintf(stderr, "quiz-result-loader: %s\n", e.what());
    return kExitFailure;
  }
  return kExitUsage;
}
