// `load` and `sweep`: the pipeline run by hand, on stores opened as the modes open theirs.

#include <cstdio>
#include <optional>

#include "commands/commands.h"
#include "log/log.h"
#include "progress/progress.h"
#include "wiring/open.h"

namespace qrl::commands {

namespace {

// A command's stores: one worker, Redis reached with the first quiz.
wiring::Opened open_one(config::Config& config) {
  wiring::OpenOptions options;
  options.reach_redis = false;
  return wiring::open_stores(config, config::process_env(), options);
}

}  // namespace

int load(config::Config config, const std::vector<std::string>& ids) {
  auto opened = open_one(config);
  auto& stores = opened.first();
  auto sleep = pipeline::interruptible_sleeper([] { return false; }, stores.pipeline.clock());
  int failed = 0;
  // A progress line for many quizzes (on a terminal); cleared before each quiz's line.
  auto progress = progress::Progress::on_stderr("loading", "quizzes", ids.size(), stores.pipeline.clock());
  if (ids.size() < 2) progress.finish();
  for (const auto& id : ids) {
    log::Context context({{"quiz", id}});
    pipeline::JobResult result;
    try {
      result = pipeline::process_quiz(stores.pipeline, core::QuizId(id), wiring::retry_policy(config), sleep);
    } catch (const core::Error& e) {  // not a quiz id: nothing read, nothing deleted
      result.failure = e;
    }
    progress.clear();
    if (result.failure) {
      ++failed;
      std::printf("%s\tfailed\t%s\n", id.c_str(), result.failure->what());
    } else {
      std::printf("%s\t%s\n", id.c_str(), result.outcome == pipeline::Outcome::kLoaded ? "loaded" : "already loaded");
    }
    std::fflush(stdout);
    progress.advance();
  }
  progress.finish();
  std::fflush(stdout);
  return failed == 0 ? 0 : kExitFailure;
}

int sweep(config::Config config, sweep::Options options) {
  auto opened = open_one(config);
  auto progress = progress::Progress::on_stderr(options.dry_run ? "sweeping (dry run)" : "sweeping", "keys", std::nullopt);
  options.on_page = [&progress](std::size_t keys) { progress.advance(keys); };
  auto report = wiring::run_sweep(opened.first(), options, config, [] { return false; });
  progress.finish();
  for (const auto& entry : report.entries) {
    std::printf("%s\t%s\t%zu keys\t%s\n", entry.quiz_id.str().c_str(), std::string(sweep::to_string(entry.verdict)).c_str(),
                entry.keys, entry.detail.c_str());
  }
  std::printf("%s", sweep::summary(report, options.dry_run).c_str());
  std::fflush(stdout);
  return report.count(sweep::Verdict::kFailed) == 0 ? 0 : kExitFailure;
}

}  // namespace qrl::commands
