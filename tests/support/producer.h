#pragma once
// A model of the platform's live quiz server, the loader's producer: `speed-run` in the public
// repository Ryangwaite/mc-speedrun. It plays quizzes into Redis and the question-set directory
// the way that server's handlers do, in their order and with their concurrency, and announces
// them as it does: while other handlers are still writing, once per handler that sees the quiz
// finished, and then reads the whole quiz again for each participant's summary. Each step in
// producer.cpp names the upstream function it mirrors (paths under speed-run/src/main/kotlin/
// com/ryangwaite/).
//
// What it plays, per quiz: participants join (PARTICIPANT-CONFIG), the host starts it, each
// question is answered by every participant's handler at once on a pool of connections (half the
// quizzes end on a timer firing for everyone: simultaneous timeouts, each handler possibly
// announcing; the others on a straggler's late answer); then, for some quizzes, a client resends
// its last answer after the end, and someone joins after the end. Any Redis call may stall up to
// 150 ms (1 in 20), as a loaded JVM does.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "config/config.h"

namespace qrl::testing {

struct ProducerOptions {
  int quizzes = 30;
  int participants = 20;
  int questions = 6;                   // selected from a question set of 10
  int pool = 16;                       // Redis connections the handlers share (Redisson's pool)
  int replicas = 2;                    // speed-run replicas: each one's subscriber reads every summary
  double stall_chance = 0.05;          // a Redis call stalls...
  std::chrono::milliseconds stall_max{150};  // ...up to this long
  std::uint64_t seed = 1;
  std::filesystem::path question_dir;  // where the upload service put the question sets
  // notify/NotificationActor.kt: the quiz-complete event for this quiz (may be called from any
  // thread; the model serialises the calls). Quizzes in `silent` are never announced (a failed
  // publish, logged and dropped upstream).
  std::function<void(const std::string& quiz_id)> announce;
  std::vector<int> silent;
  // Ids to use instead of random ones, by quiz number (a reused id).
  std::map<int, std::string> ids;
};

struct PlayedQuiz {
  std::string id;
  std::string start_epoch;
  std::vector<std::string> participants;        // who finished it
  std::map<std::string, std::int64_t> scores;   // their final scores, as the last handler wrote them
  std::vector<std::string> late_joiners;         // joined after the end: no answers
  bool resent = false;                           // a client resent its last answer after the end
  int events = 0;                                // quiz-complete events sent
  int summaries = 0;                             // QUIZ-FINISHED summary reads (events x replicas)
  std::vector<std::string> summary_failures;     // why each failed read failed
};

class Producer {
 public:
  Producer(config::Redis redis, ProducerOptions options);
  // Plays every quiz (concurrently) and waits for every summary read.
  std::vector<PlayedQuiz> play();

 private:
  config::Redis redis_;
  ProducerOptions options_;
};

}  // namespace qrl::testing
