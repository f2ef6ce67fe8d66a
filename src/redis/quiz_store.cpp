#include "redis/quiz_store.h"

#include <algorithm>
#include <string_view>

#include "core/error.h"
#include "core/keys.h"

namespace qrl::redis {

namespace {

using core::keys::quiz;

// Authentication and permission refusals are the deployment's fault: no quiz can be read
// until the password or the ACL is fixed.
bool refused(std::string_view message) {
  for (std::string_view prefix : {"NOAUTH", "WRONGPASS", "NOPERM"}) {
    if (message.substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

// An error reply for a key: WRONGTYPE is the data's fault and permanent; NOAUTH and its kin
// the environment's; anything else (LOADING, BUSY, OOM...) is the server's state and transient.
[[noreturn]] void reply_error(const redisReply& reply, const std::string& key,
                              core::Stage stage = core::Stage::kRead) {
  std::string message(reply.str, reply.len);
  if (message.rfind("WRONGTYPE", 0) == 0) {
    throw core::invalid_data(stage, "key '" + key + "' has the wrong Redis type", key);
  }
  if (refused(message)) throw core::environment_error(stage, "redis refused the loader: " + message);
  throw core::transient_error(stage, "redis error on key '" + key + "': " + message);
}

std::optional<std::string> as_string(const redisReply& reply, const std::string& key) {
  switch (reply.type) {
    case REDIS_REPLY_NIL: return std::nullopt;
    case REDIS_REPLY_STRING: return std::string(reply.str, reply.len);
    case REDIS_REPLY_ERROR: reply_error(reply, key);
    default:
      throw core::invalid_data(core::Stage::kRead, "key '" + key + "' has an unexpected reply type", key);
  }
}

std::vector<std::string> as_list(const redisReply& reply, const std::string& key) {
  if (reply.type == REDIS_REPLY_ERROR) reply_error(reply, key);
  if (reply.type != REDIS_REPLY_ARRAY) {
    throw core::invalid_data(core::Stage::kRead, "key '" + key + "' has an unexpected reply type", key);
  }
  std::vector<std::string> out;
  out.reserve(reply.elements);
  for (std::size_t i = 0; i < reply.elements; ++i) {
    const redisReply& element = *reply.element[i];
    out.emplace_back(element.str == nullptr ? "" : std::string(element.str, element.len));
  }
  return out;
}

}  // namespace

QuizStore::QuizStore(config::Redis settings, std::chrono::milliseconds timeout, std::int64_t max_answers,
                     metrics::Recorder& recorder)
    : settings_(std::move(settings)), timeout_(timeout), max_answers_(max_answers), recorder_(recorder) {}

void QuizStore::connect() {
  if (connection_) return;
  connection_.emplace(settings_, timeout_);
  if (connections_made_++ > 0) recorder_.reconnect("redis");
}

std::uint64_t QuizStore::round_trips() const noexcept {
  return retired_round_trips_ + (connection_ ? connection_->round_trips() : 0);
}

std::vector<Reply> QuizStore::run(const std::vector<Command>& commands) {
  try {
    connect();
    recorder_.redis_round_trips(1);
    return connection_->pipeline(commands);
  } catch (const core::Error&) {
    if (connection_) retired_round_trips_ += connection_->round_trips();
    connection_.reset();
    throw;
  }
}

core::LiveQuiz QuizStore::read(const std::string& quiz_id) {
  core::LiveQuiz live;
  auto& header = live.header;
  const std::string name = quiz(quiz_id, "quizName"), duration = quiz(quiz_id, "questionDuration"),
                    indexes = quiz(quiz_id, "selectedQuestionIndexes"), start = quiz(quiz_id, "startTime"),
                    stop = quiz(quiz_id, "stopTime"), leaderboard = quiz(quiz_id, "leaderboard"),
                    users = quiz(quiz_id, "userIds");
  // Lists read up to one element past the cap: enough to know a quiz is over it.
  const std::string last = std::to_string(max_answers_);
  auto first = run({{"GET", name},
                    {"GET", duration},
                    {"LRANGE", indexes, "0", last},
                    {"GET", start},
                    {"GET", stop},
                    {"ZRANGE", leaderboard, "0", last, "WITHSCORES"},
                    {"LRANGE", users, "0", last}});
  header.name = as_string(*first[0], name);
  header.question_duration = as_string(*first[1], duration);
  header.selected_indexes = as_list(*first[2], indexes);
  header.start_time = as_string(*first[3], start);
  header.stop_time = as_string(*first[4], stop);
  auto ranked = as_list(*first[5], leaderboard);
  for (std::size_t i = 0; i + 1 < ranked.size(); i += 2) {
    header.leaderboard.emplace_back(std::move(ranked[i]), std::move(ranked[i + 1]));
  }
  header.user_ids = as_list(*first[6], users);

  // Refused before a single participant key is read: the size says it all.
  const auto questions = static_cast<std::int64_t>(header.selected_indexes.size());
  const auto participants =
      static_cast<std::int64_t>(std::max(header.leaderboard.size(), header.user_ids.size()));
  if (questions > max_answers_ || participants > max_answers_ ||
      (questions > 0 && participants > max_answers_ / questions)) {
    // A list read to its cap says only that it is longer.
    auto count = [&](std::int64_t n) {
      return n > max_answers_ ? "more than " + std::to_string(max_answers_) : std::to_string(n);
    };
    throw core::invalid_data(core::Stage::kRead,
                             "quiz too large: " + count(participants) + " participants x " +
                                 count(questions) + " questions is over the limit of " +
                                 std::to_string(max_answers_) + " answers (loader.max_answers)",
                             leaderboard);
  }

  // Validates every user id and index before any of them becomes part of a key.
  auto keys = core::keys::participant_keys(quiz_id, header);
  if (keys.empty()) return live;
  // MGETs of at most kSlice keys, kWindow of them per round trip: no single command holds the
  // shared Redis for long, a quiz of up to kSlice x kWindow keys still costs one round trip, and
  // reading stops at the first window with a missing key (the quiz cannot load then), so a
  // hostile leaderboard of absent users costs neither round trips nor memory.
  constexpr std::size_t kSlice = 1000;
  constexpr std::size_t kWindow = 16;
  live.participant_values.reserve(keys.size());
  std::optional<std::size_t> absent;
  for (std::size_t window = 0; window < keys.size() && !absent; window += kSlice * kWindow) {
    const std::size_t window_end = std::min(keys.size(), window + kSlice * kWindow);
    std::vector<Command> mgets;
    for (std::size_t slice = window; slice < window_end; slice += kSlice) {
      Command mget;
      mget.reserve(kSlice + 1);
      mget.push_back("MGET");
      mget.insert(mget.end(), keys.begin() + static_cast<std::ptrdiff_t>(slice),
                  keys.begin() + static_cast<std::ptrdiff_t>(std::min(window_end, slice + kSlice)));
      mgets.push_back(std::move(mget));
    }
    auto replies = run(mgets);
    std::size_t at = window;
    for (std::size_t r = 0; r < replies.size(); ++r) {
      const redisReply& values = *replies[r];
      const std::size_t expected = mgets[r].size() - 1;
      if (values.type == REDIS_REPLY_ERROR) reply_error(values, keys[at]);
      if (values.type != REDIS_REPLY_ARRAY || values.elements != expected) {
        throw core::transient_error(core::Stage::kRead, "redis MGET answered with an unexpected reply");
      }
      for (std::size_t i = 0; i < expected; ++i, ++at) {
        live.participant_values.push_back(as_string(*values.element[i], keys[at]));
        if (!live.participant_values.back() && !absent) absent = at;
      }
    }
  }
  if (!absent) return live;
  // Not read: as good as absent, since the quiz is incomplete either way.
  live.participant_values.resize(keys.size());
  // MGET answers nil for a key of the wrong type too; so a TYPE of the first such key, and only
  // it, tells a wrong type from a missing key: a broken quiz costs at most one round trip more.
  const auto& key = keys[*absent];
  auto replies = run({{"TYPE", key}});
  const redisReply& type = *replies.front();
  if (type.type == REDIS_REPLY_ERROR) reply_error(type, key);
  bool none = type.type == REDIS_REPLY_STATUS && std::string_view(type.str, type.len) == "none";
  if (!none) throw core::invalid_data(core::Stage::kRead, "key '" + key + "' has the wrong Redis type", key);
  return live;
}

void QuizStore::remove(const std::vector<std::string>& keys) {
  if (keys.empty()) return;
  Command del;
  del.reserve(keys.size() + 1);
  del.push_back("DEL");
  del.insert(del.end(), keys.begin(), keys.end());
  auto reply = std::move(run({del}).front());
  if (reply->type == REDIS_REPLY_ERROR) reply_error(*reply, keys.front(), core::Stage::kDelete);
}

}  // namespace qrl::redis
