#include "redis/quiz_store.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "core/error.h"
#include "core/keys.h"
#include "log/log.h"
#include "redis/mode.h"

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
  if (refused(message))
    throw core::environment_error(stage, "redis refused the loader: " + message, core::Code::kRedisLogin);
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

std::int64_t as_count(const redisReply& reply, const std::string& key) {
  if (reply.type == REDIS_REPLY_ERROR) reply_error(reply, key);
  if (reply.type != REDIS_REPLY_INTEGER) {
    throw core::transient_error(core::Stage::kRead,
                                "redis answered a size of '" + key + "' with an unexpected reply");
  }
  return reply.integer;
}

// Ranges per round trip: MGETs, UNLINKs, LRANGEs, ZRANGEs.
constexpr std::size_t kWindow = 16;

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

std::vector<CommandView> views_of(const std::vector<Command>& commands) {
  std::vector<CommandView> views;
  views.reserve(commands.size());
  for (const auto& command : commands) views.emplace_back(command.begin(), command.end());
  return views;
}

// A SCAN reply: the next cursor and the keys.
pipeline::KeySpace::Page as_page(const redisReply& reply) {
  if (reply.type == REDIS_REPLY_ERROR) reply_error(reply, "SCAN");
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements != 2 || reply.element[0]->type != REDIS_REPLY_STRING) {
    throw core::transient_error(core::Stage::kRead, "redis SCAN answered with an unexpected reply");
  }
  pipeline::KeySpace::Page page;
  page.cursor.assign(reply.element[0]->str, reply.element[0]->len);
  page.keys = as_list(*reply.element[1], "SCAN");
  return page;
}

}  // namespace

QuizStore::QuizStore(config::Redis settings, std::chrono::milliseconds timeout, std::int64_t max_answers,
                     metrics::Recorder& recorder)
    : settings_(std::move(settings)), timeout_(timeout), max_answers_(max_answers), recorder_(recorder) {}

void QuizStore::connect() {
  if (connection_ || router_) return;
  Opened opened = open_first(settings_, timeout_);
  uncounted_ += opened.asked;
  if (connections_made_++ == 0) {
    log::info("redis found", {{"mode", mode_name(opened.cluster)}, {"node", opened.connection.endpoint()}});
  } else {
    recorder_.reconnect("redis");
  }
  if (!opened.cluster) {
    connection_.emplace(std::move(opened.connection));
    return;
  }
  // The probe's round trips are counted in the router's, so they are uncounted above.
  retired_round_trips_ += opened.connection.round_trips();
  router_.emplace(settings_, timeout_);
  const auto& map = router_->map();
  log::info("redis is a cluster", {{"primaries", std::to_string(map.primaries().size())},
                                   {"replicas", std::to_string(map.replicas())},
                                   {"slots_covered", std::to_string(map.covered())}});
}

std::uint64_t QuizStore::round_trips() const noexcept {
  return retired_round_trips_ + (connection_ ? connection_->round_trips() : 0) +
         (router_ ? router_->round_trips() : 0) - uncounted_;
}

std::vector<Reply> QuizStore::run(const std::vector<Command>& commands) { return attempt(views_of(commands)); }

std::vector<Reply> QuizStore::run(std::span<const CommandView> commands) { return attempt(commands); }

std::vector<std::vector<std::size_t>> QuizStore::groups(const std::vector<std::string>& keys, std::size_t from,
                                                        std::size_t to, std::size_t slice) const {
  std::vector<std::vector<std::size_t>> out;
  if (router_) {
    out = cluster::group_by_slot(std::span<const std::string>(keys).subspan(from, to - from), slice);
    for (auto& group : out) {
      for (auto& i : group) i += from;
    }
    return out;
  }
  for (std::size_t at = from; at < to; at += slice) {
    auto& group = out.emplace_back();
    for (std::size_t i = at; i < std::min(to, at + slice); ++i) group.push_back(i);
  }
  return out;
}

std::vector<Reply> QuizStore::attempt(std::span<const CommandView> commands) {
  for (int attempt = 1;; ++attempt) {
    const bool reused = connection_.has_value() || router_.has_value();
    try {
      connect();
      recorder_.redis_round_trips(1);
      if (router_) return router_->run(commands);
      return connection_->pipeline(commands);
    } catch (const core::Error& e) {
      if (connection_) retired_round_trips_ += connection_->round_trips();
      connection_.reset();
      // A connection kept from an earlier call may have been closed by the server meanwhile (a
      // restart, CLIENT KILL, an idle timeout). Every command the loader sends is idempotent
      // (reads, UNLINK, SCAN), so it gets one more try on a new connection at once; a timeout,
      // or a new connection failing, is the caller's.
      if (attempt == 1 && reused && e.code() == core::Code::kConnectionClosed) continue;
      throw;
    }
  }
}

core::QuizHeader QuizStore::read_header(const core::QuizId& quiz_id) {
  core::QuizHeader header;
  const std::string name = quiz(quiz_id, "quizName"), duration = quiz(quiz_id, "questionDuration"),
                    indexes = quiz(quiz_id, "selectedQuestionIndexes"), start = quiz(quiz_id, "startTime"),
                    stop = quiz(quiz_id, "stopTime"), leaderboard = quiz(quiz_id, "leaderboard"),
                    users = quiz(quiz_id, "userIds");
  // The sizes and the first range of each collection in one round trip: a quiz of up to
  // `slice` participants costs no more. No command touches more than `slice` members.
  const std::size_t slice = static_cast<std::size_t>(std::max(settings_.max_keys_per_command, 1));
  const std::string first_last = std::to_string(slice - 1);
  auto first = run({{"GET", name},
                    {"GET", duration},
                    {"GET", start},
                    {"GET", stop},
                    {"LLEN", indexes},
                    {"ZCARD", leaderboard},
                    {"LLEN", users},
                    {"LRANGE", indexes, "0", first_last},
                    {"ZRANGE", leaderboard, "0", first_last, "WITHSCORES"},
                    {"LRANGE", users, "0", first_last}});
  header.name = as_string(*first[0], name);
  header.question_duration = as_string(*first[1], duration);
  header.start_time = as_string(*first[2], start);
  header.stop_time = as_string(*first[3], stop);
  const std::array<std::int64_t, 3> sizes = {as_count(*first[4], indexes), as_count(*first[5], leaderboard),
                                              as_count(*first[6], users)};

  refuse_if_too_large(sizes[0], std::max(sizes[1], sizes[2]), leaderboard);
  std::array<std::vector<std::string>, 3> lists = {as_list(*first[7], indexes), as_list(*first[8], leaderboard),
                                                   as_list(*first[9], users)};
  read_ranges({&indexes, &leaderboard, &users}, sizes, lists);
  header.selected_indexes = std::move(lists[0]);
  for (std::size_t i = 0; i + 1 < lists[1].size(); i += 2) {
    header.leaderboard.emplace_back(std::move(lists[1][i]), std::move(lists[1][i + 1]));
  }
  header.user_ids = std::move(lists[2]);
  return header;
}

// Refused before anything more is read: the sizes say it all.
void QuizStore::refuse_if_too_large(std::int64_t questions, std::int64_t participants,
                                    const std::string& leaderboard) const {
  if (questions > max_answers_ || participants > max_answers_ ||
      (questions > 0 && participants > max_answers_ / questions)) {
    throw core::invalid_data(core::Stage::kRead,
                             "quiz too large: " + std::to_string(participants) + " participants x " +
                                 std::to_string(questions) + " questions is over the limit of " +
                                 std::to_string(max_answers_) + " answers (loader.max_answers)",
                             leaderboard);
  }
}

// The rest of each collection (the selected indexes, the leaderboard, the userIds) after its
// first range, in ranges of `slice`, kWindow ranges per round trip.
void QuizStore::read_ranges(const std::array<const std::string*, 3>& names, const std::array<std::int64_t, 3>& sizes,
                            std::array<std::vector<std::string>, 3>& lists) {
  const std::size_t slice = static_cast<std::size_t>(std::max(settings_.max_keys_per_command, 1));
  std::vector<Command> ranges;
  std::vector<int> owners;
  for (int c = 0; c < 3; ++c) {
    for (auto from = static_cast<std::int64_t>(slice); from < sizes[c]; from += static_cast<std::int64_t>(slice)) {
      Command range = {c == 1 ? "ZRANGE" : "LRANGE", *names[c], std::to_string(from),
                       std::to_string(from + static_cast<std::int64_t>(slice) - 1)};
      if (c == 1) range.push_back("WITHSCORES");
      ranges.push_back(std::move(range));
      owners.push_back(c);
    }
  }
  for (std::size_t window = 0; window < ranges.size(); window += kWindow) {
    const auto end = std::min(ranges.size(), window + kWindow);
    auto replies = run(std::vector<Command>(ranges.begin() + static_cast<std::ptrdiff_t>(window),
                                            ranges.begin() + static_cast<std::ptrdiff_t>(end)));
    for (std::size_t r = 0; r < replies.size(); ++r) {
      const int c = owners[window + r];
      auto more = as_list(*replies[r], *names[c]);
      lists[c].insert(lists[c].end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
    }
  }
}

std::size_t QuizStore::keys_per_read() const {
  return static_cast<std::size_t>(std::max(settings_.max_keys_per_command, 1)) * kWindow;
}

std::vector<std::optional<std::string>> QuizStore::read_values(const std::vector<std::string>& keys) {
  std::vector<std::optional<std::string>> out;
  if (keys.empty()) return out;
  connect();  // the groups depend on the mode
  const std::size_t slice = static_cast<std::size_t>(std::max(settings_.max_keys_per_command, 1));
  // MGETs of at most `slice` keys, kWindow x slice keys per round trip: no single command holds
  // the shared Redis for long, a quiz of up to slice x kWindow keys still costs one round trip,
  // and reading stops at the first window with a missing key (the quiz cannot load then), so a
  // hostile leaderboard of absent users costs neither round trips nor memory. On a cluster each
  // MGET names keys of one slot.
  out.resize(keys.size());
  std::optional<std::size_t> absent;
  for (std::size_t window = 0; window < keys.size() && !absent; window += slice * kWindow) {
    const std::size_t window_end = std::min(keys.size(), window + slice * kWindow);
    const auto batches = groups(keys, window, window_end, slice);
    std::vector<CommandView> mgets;  // views of `keys`: nothing copied
    mgets.reserve(batches.size());
    for (const auto& batch : batches) {
      CommandView mget;
      mget.reserve(batch.size() + 1);
      mget.push_back("MGET");
      for (auto i : batch) mget.push_back(keys[i]);
      mgets.push_back(std::move(mget));
    }
    auto replies = run(mgets);
    mgets.clear();  // sent: memory holds the window's replies and values, not its commands too
    for (std::size_t r = 0; r < replies.size(); ++r) {
      const redisReply& values = *replies[r];
      const auto& batch = batches[r];
      if (values.type == REDIS_REPLY_ERROR) reply_error(values, keys[batch.front()]);
      if (values.type != REDIS_REPLY_ARRAY || values.elements != batch.size()) {
        throw core::transient_error(core::Stage::kRead, "redis MGET answered with an unexpected reply");
      }
      for (std::size_t i = 0; i < batch.size(); ++i) {
        out[batch[i]] = as_string(*values.element[i], keys[batch[i]]);
        if (!out[batch[i]] && (!absent || batch[i] < *absent)) absent = batch[i];
      }
      replies[r].reset();
    }
  }
  if (!absent) return out;
  // Not read (empty): as good as absent, since the quiz is incomplete either way.
  // MGET answers nil for a key of the wrong type too; so a TYPE of the first such key, and only
  // it, tells a wrong type from a missing key: a broken quiz costs at most one round trip more.
  const auto& key = keys[*absent];
  auto replies = run({{"TYPE", key}});
  const redisReply& type = *replies.front();
  if (type.type == REDIS_REPLY_ERROR) reply_error(type, key);
  bool none = type.type == REDIS_REPLY_STATUS && std::string_view(type.str, type.len) == "none";
  if (!none) throw core::invalid_data(core::Stage::kRead, "key '" + key + "' has the wrong Redis type", key);
  return out;
}

std::vector<bool> QuizStore::exist(const std::vector<std::string>& keys) {
  // One EXISTS a key (a multi-key EXISTS answers a count, not which), keys_per_read() per round
  // trip.
  std::vector<bool> out;
  out.reserve(keys.size());
  const std::size_t window = keys_per_read();
  for (std::size_t from = 0; from < keys.size(); from += window) {
    const std::size_t end = std::min(keys.size(), from + window);
    std::vector<CommandView> commands;
    commands.reserve(end - from);
    for (std::size_t i = from; i < end; ++i) commands.push_back({"EXISTS", keys[i]});
    auto replies = run(commands);
    for (std::size_t r = 0; r < replies.size(); ++r) out.push_back(as_count(*replies[r], keys[from + r]) > 0);
  }
  return out;
}

void QuizStore::remove(const std::vector<std::string>& keys) {
  // UNLINK (Redis frees big values off its main thread) of at most `slice` keys, kWindow x slice
  // keys per round trip, in the order given. The pipeline hands over one round trip's worth at
  // a time and decides which keys go last.
  if (keys.empty()) return;
  connect();
  const std::size_t slice = static_cast<std::size_t>(std::max(settings_.max_keys_per_command, 1));
  const std::size_t full = slice * kWindow;
  for (std::size_t window = 0; window < keys.size(); window += full) {
    const std::size_t window_end = std::min(keys.size(), window + full);
    const auto batches = groups(keys, window, window_end, slice);
    std::vector<CommandView> unlinks;  // views of `keys`: nothing copied
    unlinks.reserve(batches.size());
    for (const auto& batch : batches) {
      CommandView unlink = {"UNLINK"};
      for (auto i : batch) unlink.push_back(keys[i]);
      unlinks.push_back(std::move(unlink));
    }
    auto replies = run(unlinks);
    for (std::size_t r = 0; r < replies.size(); ++r) {
      if (replies[r]->type == REDIS_REPLY_ERROR)
        reply_error(*replies[r], std::string(unlinks[r][1]), core::Stage::kDelete);
    }
  }
}

void QuizStore::write(const std::vector<Command>& commands) {
  // Not through attempt(): a write (RPUSH) is not idempotent, so it is never sent twice.
  connect();
  const auto views = views_of(commands);
  for (const auto& reply : router_ ? router_->run(views) : connection_->pipeline(views)) {
    if (reply->type == REDIS_REPLY_ERROR) {
      throw core::transient_error(core::Stage::kSetup, "redis refused a write: " + std::string(reply->str, reply->len));
    }
  }
}

pipeline::KeySpace::Page QuizStore::scan(const std::string& cursor, std::size_t count) {
  connect();
  if (router_) return scan_cluster(cursor, count);
  auto replies = run({{"SCAN", cursor, "COUNT", std::to_string(count)}});
  return as_page(*replies.front());
}

// A cluster's keyspace is its primaries' walked one after another: the cursor is
// "<primary>:<that primary's cursor>", and "0" when the last is done.
pipeline::KeySpace::Page QuizStore::scan_cluster(const std::string& cursor, std::size_t count) {
  std::size_t primary = 0;
  std::string inner = "0";
  if (const auto colon = cursor.find(':'); colon != std::string::npos) {
    primary = std::stoul(cursor.substr(0, colon));
    inner = cursor.substr(colon + 1);
  }
  const std::string count_text = std::to_string(count);
  const std::vector<CommandView> command = {{"SCAN", inner, "COUNT", count_text}};
  auto page = as_page(*router_->run_on(primary, command).front());
  const std::string next = std::move(page.cursor);
  if (next != "0") {
    page.cursor = std::to_string(primary) + ":" + next;
  } else if (primary + 1 < router_->map().primaries().size()) {
    page.cursor = std::to_string(primary + 1) + ":0";
  } else {
    page.cursor = "0";
  }
  return page;
}

std::optional<std::int64_t> QuizStore::idle_seconds(const std::vector<std::string>& keys) {
  if (keys.empty()) return std::nullopt;
  std::vector<Command> commands;
  for (const auto& key : keys) commands.push_back({"OBJECT", "IDLETIME", key});
  std::optional<std::int64_t> least;
  auto replies = run(commands);
  for (std::size_t i = 0; i < replies.size(); ++i) {
    if (replies[i]->type == REDIS_REPLY_NIL) continue;  // gone meanwhile
    const auto idle = as_count(*replies[i], keys[i]);
    if (!least || idle < *least) least = idle;
  }
  return least;
}

}  // namespace qrl::redis
