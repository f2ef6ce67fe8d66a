// quiz-result-loader: one binary, one subcommand per way of running the loader. main() parses
// the command line and dispatches to one function per command; each command's options live with
// it. Exit codes: 0 done, 1 failed, 2 bad usage or configuration.

#include <csignal>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "check/check.h"
#include "commands/commands.h"
#include "config/config.h"
#include "core/error.h"
#include "daemon/serve.h"
#include "dlq/dlq.h"
#include "http/client.h"
#include "lambda/runtime.h"
#include "log/log.h"
#include "seed/seed.h"

namespace {

using namespace qrl;

using qrl::commands::kExitFailure;  // 1: failed, as every command body returns it
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

// A subcommand and what running it does.
struct Command {
  CLI::App* app;
  std::function<int()> run;
};

Command serve_command(CLI::App& app, ConfigOption& config) {
  auto* command = app.add_subcommand("serve", "Run the daemon: consume quiz complete events from RabbitMQ");
  config.add_to(*command);
  return {command, [&config] { return daemon::serve(config.load(config::kNeedAll), config::process_env()); }};
}

Command lambda_command(CLI::App& app) {
  auto* command = app.add_subcommand("lambda",
                                     "Run as an AWS Lambda custom runtime: SQS batches from the Runtime API "
                                     "(AWS_LAMBDA_RUNTIME_API); settings from the environment only (no -c)");
  return {command, [] { return lambda::run(config::process_env()); }};
}

Command load_command(CLI::App& app, ConfigOption& config) {
  auto ids = std::make_shared<std::vector<std::string>>();
  auto* command = app.add_subcommand("load", "Load the named quizzes once, without a queue");
  config.add_to(*command);
  command->add_option("QUIZ_ID", *ids, "Quiz ids to load")->required();
  return {command, [&config, ids] {
            return commands::load(config.load(config::kNeedRedis | config::kNeedQuestions | config::kNeedDynamo), *ids);
          }};
}

Command seed_command(CLI::App& app, ConfigOption& config) {
  struct Options {
    seed::Options seed;
    bool print_ids = false;
    bool no_publish = false;
  };
  auto o = std::make_shared<Options>();
  auto* command = app.add_subcommand(
      "seed", "Write sample quizzes to Redis and the question-set directory, and publish their events");
  config.add_to(*command);
  command->add_option("-n,--count", o->seed.count, "How many quizzes")->capture_default_str()->check(CLI::Range(1, 10000000));
  command->add_option("-p,--participants", o->seed.shape.participants, "Participants per quiz")
      ->capture_default_str()
      ->check(CLI::Range(0, 10000));
  command->add_option("-q,--questions", o->seed.shape.questions, "Questions per quiz")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000));
  command->add_option("--seed", o->seed.seed, "Random seed (default: from the clock)");
  command->add_flag("--no-publish", o->no_publish, "Write the quizzes but publish no events");
  command->add_flag("--print-ids", o->print_ids, "Print the quiz ids, one per line");
  return {command, [&config, o] {
            o->seed.publish = !o->no_publish;
            unsigned needs = config::kNeedRedis | config::kNeedQuestions | (o->no_publish ? 0u : config::kNeedRabbit);
            auto ids = seed::seed(config.load(needs), o->seed);
            if (o->print_ids) {
              for (const auto& id : ids) std::printf("%s\n", id.c_str());
            }
            std::fprintf(stderr, "seeded %zu quizzes (%d participants x %d questions)%s\n", ids.size(),
                         o->seed.shape.participants, o->seed.shape.questions,
                         o->no_publish ? "" : " and published their events");
            return 0;
          }};
}

// --output, for show, list and dlq list: the forms `names` of report::Output.
void add_output(CLI::App& command, report::Output& output, const std::vector<std::string>& names,
                const std::string& help) {
  const std::map<std::string, report::Output> all = {{"text", report::Output::kText},
                                                     {"tsv", report::Output::kTsv},
                                                     {"json", report::Output::kJson},
                                                     {"dynamodb", report::Output::kDynamodb}};
  std::map<std::string, report::Output> choices;
  for (const auto& name : names) choices[name] = all.at(name);
  command.add_option("-o,--output", output, help)
      ->transform(CLI::CheckedTransformer(choices, CLI::ignore_case))
      ->default_str("text");
}

Command show_command(CLI::App& app, ConfigOption& config) {
  struct Options {
    std::string id;
    commands::Output output = commands::Output::kText;
  };
  auto o = std::make_shared<Options>();
  auto* command = app.add_subcommand("show", "Show a loaded quiz: the quiz, its leaderboard and its questions");
  config.add_to(*command);
  command->add_option("QUIZ_ID", o->id, "Quiz id, or <quiz id>@<start> for a quiz that reused an id (see list)")
      ->required();
  add_output(*command, o->output, {"text", "json", "dynamodb"},
             "text (a report), json (plain JSON of the whole quiz), or dynamodb (the stored item)");
  return {command, [&config, o] { return commands::show(config.load(config::kNeedDynamo), o->id, o->output); }};
}

Command list_command(CLI::App& app, ConfigOption& config) {
  auto o = std::make_shared<commands::ListOptions>();
  auto* command =
      app.add_subcommand("list", "List loaded quizzes, newest first: id, name, start, participants, questions, items");
  config.add_to(*command);
  command->add_option("--limit", o->limit, "At most this many (without QUIZ_IDs)")->capture_default_str();
  add_output(*command, o->output, {"text", "tsv", "json", "dynamodb"},
             "text (an aligned table), tsv (a line a quiz, for scripts), json, or dynamodb (the items)");
  command->add_option("QUIZ_ID", o->ids,
                      "Only these quizzes, and those stored beside them under a reused id (default: any, "
                      "from a table scan)");
  return {command, [&config, o] { return commands::list(config.load(config::kNeedDynamo), *o); }};
}

Command sweep_command(CLI::App& app, ConfigOption& config) {
  struct Options {
    sweep::Options sweep;
    std::optional<std::int64_t> min_age_s;
    double abandoned_days = 7;
    std::int64_t pace_ms = 10;
  };
  auto o = std::make_shared<Options>();
  auto* command = app.add_subcommand(
      "sweep",
      "Walk Redis (SCAN, paced) for what the events did not finish: clean up after loaded quizzes (late joins, "
      "resends), load stopped quizzes whose event was lost, report abandoned ones; a table at the end");
  config.add_to(*command);
  command->add_flag("--dry-run", o->sweep.dry_run, "Print the plan, change nothing");
  command->add_option("--min-age-s", o->min_age_s,
                      "Load a stopped quiz without an item only this long after its stop time (default: "
                      "loader.sweep_min_age_s, 600)")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{31536000}));
  command->add_option("--abandoned-days", o->abandoned_days,
                      "A quiz without a stop time idle this long is abandoned")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3650.0));
  command->add_flag("--delete-abandoned", o->sweep.delete_abandoned, "Delete abandoned quizzes (else only reported)");
  command->add_option("--count", o->sweep.count, "SCAN's COUNT: keys looked at per call")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  command->add_option("--pace-ms", o->pace_ms, "Pause between two SCAN calls, and between two quizzes")
      ->capture_default_str()
      ->check(CLI::Range(0, 60000));
  return {command, [&config, o] {
            auto settings = config.load(config::kNeedRedis | config::kNeedQuestions | config::kNeedDynamo);
            auto options = o->sweep;
            options.min_age = o->min_age_s ? std::chrono::seconds(*o->min_age_s) : settings.loader.sweep_min_age;
            options.abandoned_after = std::chrono::seconds(static_cast<std::int64_t>(o->abandoned_days * 86400));
            options.pace = std::chrono::milliseconds(o->pace_ms);
            return commands::sweep(std::move(settings), options);
          }};
}

Command check_command(CLI::App& app, ConfigOption& config) {
  auto* command = app.add_subcommand(
      "check",
      "Validate the configuration and reach every server as serve would (log in, authenticate, describe the "
      "table), declaring nothing; one line per server; exit 1 if any failed");
  config.add_to(*command);
  return {command,
          [&config] { return check::run(config.load(config::kNeedAll), config::process_env(), stdout); }};
}

Command probe_command(CLI::App& app, ConfigOption& config) {
  auto path = std::make_shared<std::string>("/healthz");
  auto* command = app.add_subcommand(
      "probe",
      "Ask a running serve (on this machine, at LOADER_METRICS_PORT) whether it is alive (/healthz) or ready "
      "(--ready: /readyz); exit 0 if so, 1 if not. For container HEALTHCHECKs, which have no curl");
  config.add_to(*command);
  command->add_flag_callback("--ready", [path] { *path = "/readyz"; }, "Ask /readyz instead of /healthz");
  return {command, [&config, path] {
            auto settings = config.load(0);
            if (!settings.loader.metrics_port) {
              std::fprintf(stderr, "probe: loader.metrics_port (LOADER_METRICS_PORT) is not set: serve has no endpoint\n");
              return kExitFailure;
            }
            const auto url = "http://127.0.0.1:" + std::to_string(*settings.loader.metrics_port) + *path;
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
          }};
}

std::vector<Command> dlq_commands(CLI::App& app, ConfigOption& config) {
  auto* dlq = app.add_subcommand("dlq", "The dead-letter queue: what failed for good, and why");
  dlq->require_subcommand(1);
  auto* list = dlq->add_subcommand("list", "Show the dead letters with their reasons (they stay in the queue)");
  config.add_to(*list);
  auto output = std::make_shared<report::Output>(report::Output::kText);
  add_output(*list, *output, {"text", "tsv", "json"},
             "text (an aligned table), tsv (a line each of key=value fields, for scripts), or json");
  auto limit = std::make_shared<std::size_t>(0);
  auto* replay =
      dlq->add_subcommand("replay", "Move the dead letters back to the main queue, after the data has been repaired");
  config.add_to(*replay);
  replay->add_option("--limit", *limit, "At most this many (default: all)");
  return {{list,
           [&config, output] {
             auto n = dlq::list(config.load(config::kNeedRabbit), stdout, *output);
             std::fprintf(stderr, "%zu dead letters\n", n);
             return 0;
           }},
          {replay, [&config, limit] {
             auto settings = config.load(config::kNeedRabbit);
             auto n = dlq::replay(settings, *limit);
             std::fprintf(stderr, "replayed %zu dead letters to '%s'\n", n, settings.rabbit.queue_name.c_str());
             return 0;
           }}};
}

// Runs the parsed command; one kind of failure of the loader's own, and anything else as a
// last resort (a damaged split quiz, for `show`).
int run(const std::vector<Command>& commands) {
  try {
    for (const auto& command : commands) {
      if (command.app->parsed()) return command.run();
    }
  } catch (const core::Error& e) {
    std::fprintf(stderr, "quiz-result-loader: %s\n", e.what());
    return e.code() == core::Code::kConfig ? kExitUsage : kExitFailure;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "quiz-result-loader: %s\n", e.what());
    return kExitFailure;
  }
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  // A server closing a TLS connection must be an error on that connection, not the end of the
  // process: OpenSSL writes with write(), which raises SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  http::global_init();
  // In the Lambda zip this binary is `bootstrap`, which Lambda starts without arguments.
  if (argc == 1 && std::string_view(argv[0]).ends_with("bootstrap")) return lambda::run(config::process_env());
  CLI::App app{
      "quiz-result-loader: loads finished quizzes from Redis and the question-set directory into "
      "the DynamoDB table 'quiz', then deletes the live data."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "quiz-result-loader 0.1.0");
  ConfigOption config;
  std::vector<Command> commands = {serve_command(app, config), lambda_command(app),
                                   load_command(app, config),  seed_command(app, config),
                                   show_command(app, config),  list_command(app, config),
                                   sweep_command(app, config), check_command(app, config),
                                   probe_command(app, config)};
  for (auto& command : dlq_commands(app, config)) commands.push_back(std::move(command));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every mistake on the command line exits 2, as documented
    // (CLI11's own codes are 105 to 109).
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }
  return run(commands);
}
