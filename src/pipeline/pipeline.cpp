#include "pipeline/pipeline.h"

#include <algorithm>
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

// The kept key names of a big quiz are let go: a worker keeps what a usual quiz needs.
void let_go_of_big(std::vector<std::string>& keys) {
  constexpr std::size_t kKept = 4096;
  if (keys.size() > kKept) std::vector<std::string>().swap(keys);
}

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

}  // namespace

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

namespace {

// Thrown from the sink of a split quiz before its first continuation item, when the placement
// says it must not be written where the attempt began: the quiz is stored already (found), or an
// older quiz holds its id (the attempt is built again, stored beside it).
struct Misplaced {
  Placement placement;
};

std::optional<std::string> stored_start(const core::QuizHeader& header) {
  const auto seconds = header.start_time ? core::epoch_seconds(*header.start_time) : std::nullopt;
  if (!seconds) return std::nullopt;
  return core::rfc3339_utc(*seconds);
}

}  // namespace

Placement Pipeline::place(const core::QuizId& quiz_id, const core::QuizHeader& header) {
  auto found = items_.start_time(quiz_id.str());
  if (!found) return {quiz_id.str(), false, false, {}};
  // The quiz-level keys are deleted last: without a start time, this is a quiz whose delete was
  // cut short after its item was written.
  if (!header.start_time) return {quiz_id.str(), true, false, *found};
  const auto start = stored_start(header);
  if (!start) return {quiz_id.str(), false, false, {}};  // not a start time: the reader names the key
  if (*found == *start) return {quiz_id.str(), true, false, *found};
  // An older quiz with this id is stored: this one goes beside it, never over it.
  auto id = core::reused_id(quiz_id, *header.start_time);
  auto beside = items_.start_time(id);
  return {id, beside.has_value(), true, beside.value_or("")};
}

Outcome Pipeline::load(const core::QuizId& quiz_id) {
  std::optional<StageClock> clock(std::in_place, recorder_, clock_);
  const auto header = clock->run(core::Stage::kRead, [&] { return live_.read_header(quiz_id); });
  failpoint("after-read");
  Built built;
  try {
    try {
      built = build(quiz_id, header, std::nullopt, *clock);
    } catch (const Misplaced& misplaced) {
      if (misplaced.placement.loaded) {
        clock.reset();
        remember(quiz_id, misplaced.placement.start_time);
        remove_sources(quiz_id, header);
        return Outcome::kAlreadyLoaded;
      }
      built = build(quiz_id, header, misplaced.placement, *clock);
    }
  } catch (const core::Error& e) {
    clock.reset();
    if (e.problem() != core::DataProblem::kMissing || !stored_since(quiz_id, header)) throw;
    remove_sources(quiz_id, header);
    return Outcome::kAlreadyLoaded;
  }
  const bool written = clock->run(core::Stage::kWrite, [&] { return store(built, quiz_id, header); });
  clock.reset();
  remember(quiz_id, built.identity.start_time);
  if (written) report(built);
  failpoint("after-write");
  remove_sources(quiz_id, header);  // only now that the item is durable
  return written ? Outcome::kLoaded : Outcome::kAlreadyLoaded;
}

Pipeline::Members Pipeline::members(const core::QuizId& quiz_id, const core::QuizHeader& header, StageClock& clock) {
  core::keys::validate_participants(quiz_id, header);
  Members members;
  if (header.leaderboard.size() * core::keys::participant_stride(header) <= std::max<std::size_t>(live_.keys_per_read(), 1)) {
    // One read: which keys exist is which have values.
    auto& keys = read_keys_;
    core::keys::participant_keys(quiz_id, header, keys);
    members.values = clock.run(core::Stage::kRead, [&] { return live_.read_values(keys); });
    clock.run(core::Stage::kRead, [&] { confirm_absent(keys, *members.values, header); });
    let_go_of_big(keys);
    members.roster = core::take_roster(header, *members.values);
  } else {
    members.roster = roster(quiz_id, header, clock);
  }
  const auto& roster = members.roster;
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
  return members;
}

void Pipeline::confirm_absent(const std::vector<std::string>& keys, const std::vector<std::optional<std::string>>& values,
                              const core::QuizHeader& header) {
  // MGET answers nil for a key of another type too, and a roster key taken for absent makes its
  // member a late joiner, left out and deleted: so the roster's keys without a value (a late
  // joiner's, a finishing member's: usually none) are asked whether they exist, in one round trip.
  const std::size_t stride = core::keys::participant_stride(header);
  std::vector<std::string> unread;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (i % stride != 0 && !values[i]) unread.push_back(keys[i]);  // the username decides no roster
  }
  if (unread.empty()) return;
  const auto exist = live_.exist(unread);
  for (std::size_t i = 0; i < unread.size(); ++i) {
    if (exist[i]) throw core::invalid_data(core::Stage::kRead, "key '" + unread[i] + "' has the wrong Redis type", unread[i]);
  }
}

core::Roster Pipeline::roster(const core::QuizId& quiz_id, const core::QuizHeader& header, StageClock& clock) {
  // Who is a participant of a quiz too big for one read (core/roster.h), from which keys exist,
  // before any value is read.
  const core::RosterKeys keys(quiz_id, header);
  const std::size_t window = std::max<std::size_t>(live_.keys_per_read(), 1);
  std::vector<bool> present;
  present.reserve(keys.size());
  std::vector<std::string> batch;
  for (std::size_t from = 0; from < keys.size(); from += window) {
    batch.clear();
    for (std::size_t i = from; i < std::min(keys.size(), from + window); ++i) batch.push_back(keys[i]);
    auto exist = clock.run(core::Stage::kRead, [&] { return live_.exist(batch); });
    present.insert(present.end(), exist.begin(), exist.end());
  }
  return core::take_roster(header, present);
}

Pipeline::Built Pipeline::build(const core::QuizId& quiz_id, const core::QuizHeader& header,
                                const std::optional<Placement>& known, StageClock& clock) {
  auto file = clock.run(core::Stage::kRead, [&] { return questions_.read(quiz_id); });
  if (!file) {
    throw core::missing_data("quiz data incomplete: question set file '" + quiz_id.str() + ".json' not found",
                             quiz_id.str() + ".json");
  }
  auto read = members(quiz_id, header, clock);
  auto reader = clock.run(core::Stage::kBuild, [&] { return core::QuizReader(quiz_id, read.roster.participants, *file); });
  file.reset();
  Values values = [&](std::size_t from, std::size_t to) {
    std::vector<std::string> keys;
    keys.reserve(to - from);
    for (std::size_t i = from; i < to; ++i) keys.push_back(reader.key(i));
    return live_.read_values(keys);
  };
  if (read.values) {
    values = [&, slots = core::participant_slots(header, reader)](std::size_t from, std::size_t to) {
      std::vector<std::optional<std::string>> out;
      out.reserve(to - from);
      for (std::size_t i = from; i < to; ++i) out.push_back(std::move((*read.values)[slots[i]]));
      return out;
    };
  }
  Built built;
  built.identity = {reader.quiz().start_time, reader.quiz().participants.size()};
  built.placement = known.value_or(Placement{quiz_id.str(), false, false, {}});
  if (built.placement.reused) reader.store_as(built.placement.item_id);
  bool placed = known.has_value();
  auto sink = [&](split::StoredItem part) {
    if (!placed) {
      auto placement = clock.run(core::Stage::kRead, [&] { return place(quiz_id, header); });
      if (placement.loaded || placement.reused) throw Misplaced{placement};
      placed = true;
    }
    clock.run(core::Stage::kWrite, [&] { items_.put_part(part.id, part.json, part.size); });
    failpoint("between-parts");
  };
  stream(reader, values, sink, built, clock);
  for (const auto& warning : reader.warnings()) log::warn("quiz data unusual", {{"reason", warning}});
  return built;
}

void Pipeline::stream(core::QuizReader& reader, const Values& values_of, const split::Sink& sink, Built& built,
                      StageClock& clock) {
  // Streamed: values are read a window at a time, turned into answers, and packed into the item
  // or, for a quiz that outgrows one, into continuation items written as each fills. So memory
  // holds a window and an item, whatever the quiz's size.
  std::optional<split::Assembler> assembler;
  auto start = [&] {
    if (!assembler) assembler.emplace(reader.quiz(), sink);
  };
  const std::size_t window = std::max<std::size_t>(live_.keys_per_read(), 1);
  const std::size_t total = reader.key_count();
  for (std::size_t from = 0; from < total; from += window) {
    const std::size_t to = std::min(total, from + window);
    auto values = clock.run(core::Stage::kRead, [&] { return values_of(from, to); });
    clock.run(core::Stage::kBuild, [&] {
      for (std::size_t i = from; i < to; ++i) {
        if (i == reader.participant_key_count()) start();
        if (auto answer = reader.feed(i, values[i - from])) assembler->add(answer->question, std::move(answer->answer));
      }
    });
  }
  built.item = clock.run(core::Stage::kBuild, [&] {
    start();
    return assembler->finish();
  });
  built.parts = assembler->parts();
  built.stored_size = assembler->parts_size() + built.item.size;
}

bool Pipeline::store(Built& built, const core::QuizId& quiz_id, const core::QuizHeader& header) {
  using Stored = ItemStore::Stored;
  auto put = [&] { return items_.put_quiz(built.item.id, built.item.json, built.identity, built.item.size); };
  auto stored = put();
  if (stored != Stored::kRefused) return stored == Stored::kNew;
  // Refused: this quiz's item with other participants (reread while its sources were being
  // deleted: the stored one stays), or another quiz's (a reused id: this one goes beside it).
  const auto placement = place(quiz_id, header);
  if (placement.loaded) return false;
  if (placement.reused && built.parts == 0 && !built.placement.reused) {
    built.placement = placement;
    built.item = split::stored_as(std::move(built.item), placement.item_id);
    stored = put();
    if (stored != Stored::kRefused) return stored == Stored::kNew;
  }
  // Anything else is looked at again next attempt.
  throw core::transient_error(core::Stage::kWrite,
                              "item '" + built.item.id + "' holds another quiz, which appeared while this one was loaded");
}

bool Pipeline::stored_since(const core::QuizId& quiz_id, const core::QuizHeader& header) {
  // Known from memory only where it can be compared: a start time that is not one is the
  // reader's to name.
  const auto start = stored_start(header);
  if (loaded_ != nullptr && (start || !header.start_time) && loaded_->knows(quiz_id, start)) return true;
  const auto placement = at_stage(core::Stage::kRead, [&] { return place(quiz_id, header); });
  if (placement.loaded) remember(quiz_id, placement.start_time);
  return placement.loaded;
}

void Pipeline::remember(const core::QuizId& quiz_id, const std::string& start_time) {
  if (loaded_ != nullptr && !start_time.empty()) loaded_->remember(quiz_id, start_time);
}

void Pipeline::report(const Built& built) {
  recorder_.item(built.stored_size);
  if (built.placement.reused) {
    recorder_.event("reused_id", 1);
    log::warn("quiz id reused: an older quiz is stored under it; this one stored beside it",
              {{"item", built.placement.item_id}});
  }
  if (built.parts > 0) {
    log::info("quiz stored split",
              {{"items", std::to_string(built.parts + 1)}, {"bytes", std::to_string(built.stored_size)}});
  }
}

void Pipeline::remove_sources(const core::QuizId& quiz_id, const core::QuizHeader& header) {
  // The question file first: once it is gone, every attempt at the quiz ends in the missing-data
  // path, which reads whether the item is stored, and never rebuilds the item from keys half
  // deleted. Then Redis, in windows of one round trip each, made as they go (a big quiz has
  // hundreds of thousands of keys), cut from the end, so the last one holds the quiz-level keys
  // (keys::SourceKeys puts them last): a crash between two leaves the keys that name the rest,
  // and a retry that sees the item removes what is left.
  StageTimer timer(recorder_, core::Stage::kDelete, clock_);
  at_stage(core::Stage::kDelete, [&] {
    questions_.remove(quiz_id);
    failpoint("after-file-delete");
    const core::keys::SourceKeys keys(quiz_id, header);
    const std::size_t window = std::max<std::size_t>(live_.keys_per_read(), 1);
    std::size_t end = keys.size() % window == 0 ? std::min(window, keys.size()) : keys.size() % window;
    auto& batch = delete_keys_;
    for (std::size_t from = 0; from < keys.size(); from = end, end += window) {
      if (from > 0) failpoint("mid-delete");
      batch.resize(end - from);
      for (std::size_t i = from; i < end; ++i) keys.key(i, batch[i - from]);
      live_.remove(batch);
    }
    let_go_of_big(batch);
  });
}

JobResult process_message(Pipeline& pipeline, std::string_view body, const core::RetryPolicy& policy,
                          const Sleeper& sleep, int deliveries, core::RetryQuota* quota) {
  std::optional<core::Event> event;
  try {
    event = core::parse_event(body);
  } catch (const core::Error& e) {
    JobResult result;
    result.failure = e;
    result.action = core::decide(result.failure, deliveries, policy);
    log::error("message rejected", {{"reason", e.what()}, {"stage", core::to_string(e.stage())}});
    return result;
  }
  log::Context context({{"quiz", event->quiz_id}, {"event", event->id}});
  auto result = process_quiz(pipeline, event->quiz_id, policy, sleep, deliveries, quota);
  result.event = std::move(event);
  return result;
}

JobResult process_quiz(Pipeline& pipeline, const core::QuizId& quiz_id, const core::RetryPolicy& policy,
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
    auto delay = core::backoff_delay(policy, result.attempts, core::unit_random());
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
