#include "pipeline/pipeline.h"

#include <random>
#include <thread>

#include "core/ids.h"
#include "core/item.h"
#include "core/keys.h"
#include "core/transform.h"
#include "log/log.h"
#include "pipeline/failpoint.h"

namespace qrl::pipeline {

namespace {

template <typename F>
auto at_stage(core::Stage stage, F&& step) {
  try {
    return step();
  } catch (core::Error& e) {
    e.set_stage_if_unknown(stage);
    throw;
  }
}

}  // namespace

double unit_random() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

Pipeline::Pipeline(LiveStore& live, QuestionStore& questions, ItemStore& items, metrics::Recorder& recorder)
    : live_(live), questions_(questions), items_(items), recorder_(recorder) {}

namespace {

// Times a stage for the recorder, whether it succeeds or throws.
class StageTimer {
 public:
  StageTimer(metrics::Recorder& recorder, core::Stage stage)
      : recorder_(recorder), stage_(stage), started_(std::chrono::steady_clock::now()) {}
  ~StageTimer() { recorder_.stage(stage_, std::chrono::steady_clock::now() - started_); }
  StageTimer(const StageTimer&) = delete;
  StageTimer& operator=(const StageTimer&) = delete;

 private:
  metrics::Recorder& recorder_;
  core::Stage stage_;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace

Outcome Pipeline::load(const std::string& quiz_id) {
  core::require_valid_id(quiz_id, "quiz id");
  std::optional<StageTimer> timer(std::in_place, recorder_, core::Stage::kRead);
  auto live = at_stage(core::Stage::kRead, [&] { return live_.read(quiz_id); });
  failpoint("after-read");
  std::string item;
  try {
    auto file = at_stage(core::Stage::kRead, [&] { return questions_.read(quiz_id); });
    if (!file) {
      throw core::missing_data("quiz data incomplete: question set file '" + quiz_id + ".json' not found",
                               quiz_id + ".json");
    }
    timer.emplace(recorder_, core::Stage::kBuild);
    auto quiz = core::build_quiz(quiz_id, live.header, live.participant_values, *file);
    for (const auto& warning : quiz.warnings) log::warn("quiz data repaired", {{"reason", warning}});
    const auto size = core::require_item_fits(quiz);
    item = core::encode_item(quiz);
    timer.reset();
    recorder_.item(size);
  } catch (const core::Error& e) {
    timer.reset();
    // Sources gone or partly gone: loaded before, if the item is there.
    if (e.problem() != core::DataProblem::kMissing) throw;
    if (!at_stage(core::Stage::kRead, [&] { return items_.exists(quiz_id); })) throw;
    remove_sources(quiz_id, live.header);
    return Outcome::kAlreadyLoaded;
  }
  timer.emplace(recorder_, core::Stage::kWrite);
  at_stage(core::Stage::kWrite, [&] { items_.put(quiz_id, item); });
  timer.reset();
  failpoint("after-write");
  remove_sources(quiz_id, live.header);  // only now that the item is durable
  return Outcome::kLoaded;
}

void Pipeline::remove_sources(const std::string& quiz_id, const core::QuizHeader& header) {
  // Redis first, the quiz-level keys last (see QuizStore::remove): a crash in the middle leaves
  // the keys that name the rest, and a crash after it only the file; a retry that sees the item
  // removes what is left.
  StageTimer timer(recorder_, core::Stage::kDelete);
  at_stage(core::Stage::kDelete, [&] {
    live_.remove(core::keys::source_keys(quiz_id, header));
    failpoint("after-redis-delete");
    questions_.remove(quiz_id);
  });
}

JobResult process_message(Pipeline& pipeline, std::string_view body, const core::RetryPolicy& policy,
                          const Sleeper& sleep, int deliveries, core::RetryQuota* quota) {
  core::Event event;
  try {
    event = core::parse_event(body);
  } catch (const core::Error& e) {
    JobResult result;
    result.failure = e;
    result.action = core::decide(result.failure, deliveries, policy);
    log::error("message rejected", {{"reason", e.what()}, {"stage", core::to_string(e.stage())}});
    return result;
  }
  log::Context context({{"quiz", event.quiz_id}, {"event", event.id}});
  auto result = process_quiz(pipeline, event.quiz_id, policy, sleep, deliveries, quota);
  result.event = std::move(event);
  return result;
}

JobResult process_quiz(Pipeline& pipeline, const std::string& quiz_id, const core::RetryPolicy& policy,
                       const Sleeper& sleep, int deliveries, core::RetryQuota* quota) {
  JobResult result;
  auto started = std::chrono::steady_clock::now();
  for (;;) {
    ++result.attempts;
    try {
      result.outcome = pipeline.load(quiz_id);
      result.failure.reset();
    } catch (const core::Error& e) {
      result.failure = e;
    } catch (const std::exception& e) {
      // Not one of ours (out of memory, a library's own exception): nothing says the message is
      // at fault, so it is retried, never allowed to end the process.
      result.failure =
          core::transient_error(core::Stage::kUnknown, std::string("internal error: ") + e.what());
    }
    if (!result.failure) {
      if (quota != nullptr) quota->on_success(result.attempts > 1);
      break;
    }
    if (!result.failure->transient() || result.attempts >= policy.max_attempts) break;
    if (quota != nullptr && !quota->acquire()) {
      log::warn("retry quota exhausted: not retrying now", {{"reason", result.failure->what()}});
      break;
    }
    auto delay = core::backoff_delay(policy, result.attempts, unit_random());
    log::warn("transient failure, retrying", {{"reason", result.failure->what()},
                                              {"stage", core::to_string(result.failure->stage())},
                                              {"attempt", std::to_string(result.attempts)},
                                              {"delay_ms", std::to_string(delay.count())}});
    if (!sleep(delay)) break;
  }
  result.action = core::decide(result.failure, deliveries, policy);

  auto elapsed_ms = std::to_string(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started)
          .count());
  const auto attempts = std::to_string(result.attempts);
  if (!result.failure) {
    log::info(result.outcome == Outcome::kLoaded ? "quiz loaded" : "quiz already loaded, sources cleaned up",
              {{"attempts", attempts}, {"ms", elapsed_ms}});
  } else if (result.action == core::Action::kReject) {
    log::error("quiz rejected", {{"reason", result.failure->what()},
                                 {"key", result.failure->key()},
                                 {"stage", core::to_string(result.failure->stage())},
                                 {"attempts", attempts}});
  } else if (result.action == core::Action::kPause) {
    log::error("the environment is wrong: quiz left in the queue",
               {{"reason", result.failure->what()}, {"stage", core::to_string(result.failure->stage())}});
  } else {
    log::warn("quiz returned to the queue after transient failures",
              {{"reason", result.failure->what()},
               {"stage", core::to_string(result.failure->stage())},
               {"attempts", attempts}});
  }
  return result;
}

Sleeper interruptible_sleeper(const std::function<bool()>& stop) {
  return [stop](std::chrono::milliseconds delay) {
    auto until = std::chrono::steady_clock::now() + delay;
    while (std::chrono::steady_clock::now() < until) {
      if (stop()) return false;
      std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(
          std::chrono::milliseconds(20),
          std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()) +
              std::chrono::milliseconds(1)));
    }
    return !stop();
  };
}

}  // namespace qrl::pipeline
