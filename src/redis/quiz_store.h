#pragma once
// The quiz in Redis (docs/contract.md, "The Redis keys"). No command touches more than max_keys_per_command
// (1,000) keys or members, and commands go sixteen per round trip: the quiz-level keys with the
// sizes (LLEN, ZCARD) and first range of each list, then the rest in rank ranges; then the
// participant keys in MGETs, as the pipeline asks for them, up to 16,000 per call: two round
// trips for a quiz of up to 1,000 participants and 16,000 keys. Deleted
// by UNLINKs in the same slices, in the order and windows the pipeline gives.
// On a Redis Cluster (redis.cluster; redis/cluster/) every multi-key command names keys of one
// slot, and the commands of a round trip go to their nodes at once: a quiz costs the same round
// trips, one per node at the same time. What a server sends is bounded: a quiz over the answer cap is refused from its sizes, before
// any list is read, and each reply is capped in bytes.

#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "metrics/recorder.h"
#include "pipeline/ports.h"
#include "redis/cluster/router.h"
#include "redis/connection.h"

namespace qrl::redis {

class QuizStore final : public pipeline::LiveStore, public pipeline::KeySpace {
 public:
  QuizStore(config::Redis settings, std::chrono::milliseconds timeout, std::int64_t max_answers = 2'000'000,
            metrics::Recorder& recorder = metrics::nothing());

  core::QuizHeader read_header(const core::QuizId& quiz_id) override;
  std::vector<std::optional<std::string>> read_values(const std::vector<std::string>& keys) override;
  std::vector<bool> exist(const std::vector<std::string>& keys) override;
  std::size_t keys_per_read() const override;
  void remove(const std::vector<std::string>& keys) override;
  // The sweep's walk: SCAN, and OBJECT IDLETIME.
  Page scan(const std::string& cursor, std::size_t count) override;
  std::optional<std::int64_t> idle_seconds(const std::vector<std::string>& keys) override;

  // Writes (seed, tests): the commands in one round trip (per node); an error reply throws.
  void write(const std::vector<Command>& commands);
  // Connects now (at start-up, for a clear error) rather than on first use; in redis.cluster
  // "auto", asks the server whether it is a cluster.
  void connect();
  std::uint64_t round_trips() const noexcept;
  // Decided by connect(): the cluster's router, or none for a single Redis.
  cluster::Router* cluster() noexcept { return router_ ? &*router_ : nullptr; }

 private:
  // Runs one pipeline, dropping the connection if it fails so the next call reconnects.
  std::vector<Reply> run(const std::vector<Command>& commands);
  std::vector<Reply> run(std::span<const CommandView> commands);
  std::vector<Reply> attempt(std::span<const CommandView> commands);
  Page scan_cluster(const std::string& cursor, std::size_t count);
  // The indexes of keys [from, to) for multi-key commands of at most `slice` keys each: in
  // order on a single Redis, by slot on a cluster.
  std::vector<std::vector<std::size_t>> groups(const std::vector<std::string>& keys, std::size_t from,
                                               std::size_t to, std::size_t slice) const;
  void refuse_if_too_large(std::int64_t questions, std::int64_t participants, const std::string& leaderboard) const;
  void read_ranges(const std::array<const std::string*, 3>& names, const std::array<std::int64_t, 3>& sizes,
                   std::array<std::vector<std::string>, 3>& lists);

  config::Redis settings_;
  std::chrono::milliseconds timeout_;
  std::int64_t max_answers_;
  metrics::Recorder& recorder_;
  std::optional<Connection> connection_;
  std::optional<cluster::Router> router_;
  std::uint64_t retired_round_trips_ = 0;
  std::uint64_t connections_made_ = 0;
  std::uint64_t uncounted_ = 0;  // the cluster probes
};

}  // namespace qrl::redis
