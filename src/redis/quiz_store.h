#pragma once
// The quiz in Redis (contract section 2), read in two pipelined round trips up to 16,000
// participant keys: the quiz-level keys first, then the participant keys in MGETs of 1,000,
// sixteen per round trip. Deleted with one DEL.
// What a server sends is bounded: the lists are read up to the answer cap (a quiz over it is
// refused before its participant keys are read), and each reply is capped in bytes.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "metrics/recorder.h"
#include "pipeline/ports.h"
#include "redis/connection.h"

namespace qrl::redis {

class QuizStore final : public pipeline::LiveStore {
 public:
  QuizStore(config::Redis settings, std::chrono::milliseconds timeout, std::int64_t max_answers = 2'000'000,
            metrics::Recorder& recorder = metrics::nothing());

  core::LiveQuiz read(const std::string& quiz_id) override;
  void remove(const std::vector<std::string>& keys) override;

  // Connects now (at start-up, for a clear error) rather than on first use.
  void connect();
  std::uint64_t round_trips() const noexcept;

 private:
  // Runs one pipeline, dropping the connection if it fails so the next call reconnects.
  std::vector<Reply> run(const std::vector<Command>& commands);

  config::Redis settings_;
  std::chrono::milliseconds timeout_;
  std::int64_t max_answers_;
  metrics::Recorder& recorder_;
  std::optional<Connection> connection_;
  std::uint64_t retired_round_trips_ = 0;
  std::uint64_t connections_made_ = 0;
};

}  // namespace qrl::redis
