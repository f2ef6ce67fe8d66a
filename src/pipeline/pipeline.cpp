#include "pipeline/pipeline.h"

#include <algorithm>
#include <random>
#include <thread>

#include "core/dynamo_size.h"
#include "core/ids.h"
#include "core/item.h"
#include "core/keys.h"
#include "core/roster.h"
#include "core/transform.h"
#include "log/log.h"
#include "pipeline/failpoint.h"
#include "split/assembler.h"

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

Pipeline::Pipeline(LiveStore& live, QuestionStore& questions, ItemStore& items, metrics::Recorder& recorder,
                   core::Clock& clock)
    : live_(live), questions_(questions), items_(items), recorder_(recorder), clock_(clock) {}

namespace {

// Times a stage for the recorder, whether it succeeds or throws.
class StageTimer {
 public:
  StageTimer(metrics::Recorder& recorder, core::Stage stage, core::Clock& clock)
      : recorder_(recorder), stage_(stage), clock_(clock), started_(clock.now()) {}
  ~StageTimer() { recorder_.stage(stage_, clock_.now() - started_); }
  StageTimer(const StageTimer&) = delete;
  StageTimer& operator=(const StageTimer&) = delete;

 private:
  metrics::Recorder& recorder_;
  core::Stage stage_;
  core::Clock& clock_;
  core::Clock::time_point started_;
};

// The same for stages that interleave (a big quiz is read, built and written window by window,
// and its continuation items are written from inside the build): time goes to the innermost
// stage running, and each stage is recorded once per attempt.
class StageClock {
 public:
  StageClock(metrics::Recorder& recorder, core::Clock& clock) : recorder_(recorder), clock_(clock) {}
  ~StageClock() {
    switch_to(std::nullopt);
    for (auto stage : {core::Stage::kRead, core::Stage::kBuild, core::Stage::kWrite}) {
      if (used_[index(stage)]) recorder_.stage(stage, spent_[index(stage)]);
    }
  }
  StageClock(const StageClock&) = delete;
  StageClock& operator=(const StageClock&) = delete;

  // Runs `step` as part of `stage`: timed, and an Error from it is marked with the stage.
  template <typename F>
  auto run(core::Stage stage, F&& step) {
    struct Resume {
      StageClock& clock;
      std::optional<core::Stage> outer;
      ~Resume() { clock.switch_to(outer); }
    } resume{*this, active_};
    switch_to(stage);
    return at_stage(stage, std::forward<F>(step));
  }

 private:
  static std::size_t index(core::Stage stage) {
    return stage == core::Stage::kRead ? 0 : stage == core::Stage::kBuild ? 1 : 2;
  }
  void switch_to(std::optional<core::Stage> next) {
    const auto now = clock_.now();
    if (active_) spent_[index(*active_)] += now - since_;
    active_ = next;
    since_ = now;
    if (next) used_[index(*next)] = true;
  }

  metrics::Recorder& recorder_;
  core::Clock& clock_;
  std::optional<core::Stage> active_;
  core::Clock::time_point since_;
  core::Clock::duration spent_[3] = {};
  bool used_[3] = {};
};

}  // namespace

Pipeline::Stored Pipeline::stored(const std::string& item_id) {
  if (auto marker = items_.start_time(core::marker_id(item_id))) return {std::move(marker), true};
  return {items_.start_time(item_id), false};
}

void Pipeline::mark(const std::string& item_id, const std::string& start_time) {
  try {
    const auto marker = core::marker_item(item_id, start_time);
    items_.put(core::marker_id(item_id), marker, ItemStore::Write::kReplace,
               core::dynamo::item_size(nlohmann::json::parse(marker)));
  } catch (const core::Error& e) {
    if (!e.transient()) throw;
    log::warn("loaded-marker not written; the next duplicate event writes it",
              {{"item", item_id}, {"reason", e.what()}});
  }
}

Placement Pipeline::place(const std::string& quiz_id, const core::QuizHeader& header) {
  auto found = stored(quiz_id);
  if (!found.start) return {quiz_id, false, false, false, {}};
  // The quiz-level keys are deleted last: without a start time, this is a quiz whose delete was
  // cut short after its item was written.
  if (!header.start_time) return {quiz_id, true, false, found.marked, *found.start};
  const auto seconds = core::epoch_seconds(*header.start_time);
  if (!seconds) return {quiz_id, false, false, false, {}};  // not a start time: the reader names the key
  if (*found.start == core::rfc3339_utc(*seconds)) return {quiz_id, true, false, found.marked, *found.start};
  // An older quiz with this id is stored: this one goes beside it, never over it.
  auto id = core::reused_id(quiz_id, *header.start_time);
  auto beside = stored(id);
  return {id, beside.start.has_value(), true, beside.marked, beside.start.value_or("")};
}

Outcome Pipeline::load(const std::string& quiz_id) {
  core::require_valid_id(quiz_id, "quiz id");
  std::optional<StageClock> clock(std::in_place, recorder_, clock_);
  const auto header = clock->run(core::Stage::kRead, [&] { return live_.read_header(quiz_id); });
  failpoint("after-read");
  auto placement = clock->run(core::Stage::kRead, [&] { return place(quiz_id, header); });
  if (placement.loaded) {
    clock.reset();
    if (!placement.marked) at_stage(core::Stage::kWrite, [&] { mark(placement.item_id, placement.stored_start); });
    remove_sources(quiz_id, header);
    return Outcome::kAlreadyLoaded;
  }
  split::StoredItem item;
  std::size_t parts = 0, stored_size = 0;
  try {
    auto file = clock->run(core::Stage::kRead, [&] { return questions_.read(quiz_id); });
    if (!file) {
      throw core::missing_data("quiz data incomplete: question set file '" + quiz_id + ".json' not found",
                               quiz_id + ".json");
    }
    // Who is a participant, from which keys exist (core/roster.h), before any value is read.
    core::keys::validate_participants(quiz_id, header);
    const core::RosterKeys roster_keys(quiz_id, header);
    const std::size_t window = std::max<std::size_t>(live_.keys_per_read(), 1);
    std::vector<bool> present;
    present.reserve(roster_keys.size());
    std::vector<std::string> keys;
    for (std::size_t from = 0; from < roster_keys.size(); from += window) {
      keys.clear();
      for (std::size_t i = from; i < std::min(roster_keys.size(), from + window); ++i) keys.push_back(roster_keys[i]);
      auto exist = clock->run(core::Stage::kRead, [&] { return live_.exist(keys); });
      present.insert(present.end(), exist.begin(), exist.end());
    }
    auto roster = core::take_roster(header, present);
    present = {};
    if (!roster.finishing.empty()) {
      recorder_.event("finishing", 1);
      throw core::finishing_error(quiz_id, roster);
    }
    if (!roster.late.empty()) {
      recorder_.event("late_joiner_skipped", roster.late.size());
      log::info("late joiners left out", {{"count", std::to_string(roster.late.size())},
                                          {"first", roster.late.front()},
                                          {"reason", "answers missing: joined after the quiz ended"}});
    }
    // Streamed: values are read a window at a time, turned into answers, and packed into the
    // item or, for a quiz that outgrows one, into continuation items written as each fills. So
    // memory holds a window and an item, whatever the quiz's size.
    auto reader = clock->run(core::Stage::kBuild,
                             [&] { return core::QuizReader(quiz_id, roster.participants, *file); });
    file.reset();
    if (placement.reused) reader.store_as(placement.item_id);
    std::optional<split::Assembler> assembler;
    auto sink = [&](split::StoredItem part) {
      clock->run(core::Stage::kWrite, [&] { items_.put(part.id, part.json, ItemStore::Write::kReplace, part.size); });
      failpoint("between-parts");
    };
    auto start = [&] {
      if (!assembler) assembler.emplace(reader.quiz(), sink);
    };
    const std::size_t total = reader.key_count();
    for (std::size_t from = 0; from < total; from += window) {
      const std::size_t to = std::min(total, from + window);
      keys.clear();
      for (std::size_t i = from; i < to; ++i) keys.push_back(reader.key(i));
      auto values = clock->run(core::Stage::kRead, [&] { return live_.read_values(keys); });
      keys.clear();
      clock->run(core::Stage::kBuild, [&] {
        for (std::size_t i = from; i < to; ++i) {
          if (i == reader.participant_key_count()) start();
          if (auto answer = reader.feed(i, values[i - from]))
            assembler->add(answer->question, std::move(answer->answer));
        }
      });
    }
    item = clock->run(core::Stage::kBuild, [&] {
      start();
      return assembler->finish();
    });
    for (const auto& warning : reader.warnings()) log::warn("quiz data unusual", {{"reason", warning}});
    parts = assembler->parts();
    stored_size = assembler->parts_size() + item.size;
  } catch (const core::Error& e) {
    clock.reset();
    // Sources gone or partly gone: loaded meanwhile by another worker or replica, if the item
    // is there now.
    if (e.problem() != core::DataProblem::kMissing) throw;
    if (!at_stage(core::Stage::kRead, [&] { return place(quiz_id, header).loaded; })) throw;
    remove_sources(quiz_id, header);
    return Outcome::kAlreadyLoaded;
  }
  // Last: the item with the quiz's id is what says "loaded", so it goes after every
  // continuation item it names. Only if it is new: an item that appeared since place() was
  // written by another replica from the same sources.
  const bool written = clock->run(core::Stage::kWrite, [&] {
    return items_.put(item.id, item.json, ItemStore::Write::kOnlyNew, item.size);
  });
  if (!written) {
    clock.reset();
    // Only the same quiz may be cleaned up; anything else is looked at again next attempt.
    if (!at_stage(core::Stage::kWrite, [&] { return place(quiz_id, header).loaded; })) {
      throw core::transient_error(core::Stage::kWrite,
                                  "item '" + item.id + "' appeared while the quiz was being loaded");
    }
    remove_sources(quiz_id, header);
    return Outcome::kAlreadyLoaded;
  }
  // The quiz's StartTime as the item has it (the reader refused a quiz without one).
  if (const auto start = header.start_time ? core::epoch_seconds(*header.start_time) : std::nullopt) {
    clock->run(core::Stage::kWrite, [&] { mark(item.id, core::rfc3339_utc(*start)); });
  }
  clock.reset();
  recorder_.item(stored_size);
  if (placement.reused) {
    recorder_.event("reused_id", 1);
    log::warn("quiz id reused: an older quiz is stored under it; this one stored beside it",
              {{"item", placement.item_id}});
  }
  if (parts > 0) {
    log::info("quiz stored split",
              {{"items", std::to_string(parts + 1)}, {"bytes", std::to_string(stored_size)}});
  }
  failpoint("after-write");
  remove_sources(quiz_id, header);  // only now that the item is durable
  return Outcome::kLoaded;
}

void Pipeline::remove_sources(const std::string& quiz_id, const core::QuizHeader& header) {
  // Redis first, in windows of one round trip each, made as they go (a big quiz has hundreds of
  // thousands of keys). Windows are cut from the end, so the last one holds the quiz-level keys
  // (keys::SourceKeys puts them last): a crash between two leaves the keys that name the rest,
  // and a crash after them only the file; a retry that sees the item removes what is left.
  StageTimer timer(recorder_, core::Stage::kDelete, clock_);
  at_stage(core::Stage::kDelete, [&] {
    const core::keys::SourceKeys keys(quiz_id, header);
    const std::size_t window = std::max<std::size_t>(live_.keys_per_read(), 1);
    std::size_t end = keys.size() % window == 0 ? std::min(window, keys.size()) : keys.size() % window;
    std::vector<std::string> batch;
    for (std::size_t from = 0; from < keys.size(); from = end, end += window) {
      if (from > 0) failpoint("mid-delete");
      batch.clear();
      for (std::size_t i = from; i < end; ++i) batch.push_back(keys[i]);
      live_.remove(batch);
    }
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
  auto started = pipeline.clock().now();
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
      std::chrono::duration_cast<std::chrono::milliseconds>(pipeline.clock().now() - started)
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
  } else if (result.action == core::Action::kRelease) {
    log::warn("no time left to wait for the table's capacity: quiz back to the queue, uncounted",
              {{"reason", result.failure->what()}, {"attempts", attempts}});
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

metrics::Outcome outcome_of(const JobResult& result, Failures failures) {
  switch (result.action) {
    case core::Action::kAck:
      return result.outcome == Outcome::kAlreadyLoaded ? metrics::Outcome::kAlreadyLoaded
                                                       : metrics::Outcome::kLoaded;
    case core::Action::kPause: return metrics::Outcome::kPaused;
    case core::Action::kReject:
      return failures == Failures::kRepublished ? metrics::Outcome::kDeadLettered : metrics::Outcome::kRequeued;
    case core::Action::kRequeue:
    case core::Action::kRelease: return metrics::Outcome::kRequeued;
  }
  return metrics::Outcome::kRequeued;
}

Sleeper interruptible_sleeper(const std::function<bool()>& stop, core::Clock& clock) {
  return [stop, &clock](std::chrono::milliseconds delay) {
    const auto until = clock.now() + delay;
    for (auto now = clock.now(); now < until; now = clock.now()) {
      if (stop()) return false;
      clock.sleep_for(std::min<core::Clock::duration>(std::chrono::milliseconds(20), until - now));
    }
    return !stop();
  };
}

}  // namespace qrl::pipeline
