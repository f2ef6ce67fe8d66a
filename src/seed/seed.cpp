#include "seed/seed.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <optional>

#include "amqp/connection.h"
#include "amqp/topology.h"
#include "core/error.h"
#include "core/event.h"
#include "core/transform.h"
#include "files/question_files.h"
#include "redis/quiz_store.h"

namespace qrl::seed {

namespace {

class Progress {
 public:
  Progress(int total, bool enabled) : total_(total), enabled_(enabled), tty_(::isatty(STDERR_FILENO) != 0) {}
  void update(int done) {
    if (!enabled_) return;
    if (tty_) {
      int width = 30, filled = total_ == 0 ? width : done * width / total_;
      std::fprintf(stderr, "\rseeding [%.*s%*s] %d/%d", filled, "##############################",
                   width - filled, "", done, total_);
      if (done == total_) std::fprintf(stderr, "\n");
    } else if (done == total_ || (total_ >= 10 && done % (total_ / 10) == 0)) {
      std::fprintf(stderr, "seeded %d/%d quizzes\n", done, total_);
    }
    std::fflush(stderr);
  }

 private:
  int total_;
  bool enabled_;
  bool tty_;
};

}  // namespace

std::vector<std::string> seed(const config::Config& config, const Options& options, const core::Clock& clock) {
  std::uint64_t seed =
      options.seed != 0
          ? options.seed
          : static_cast<std::uint64_t>(clock.wall().time_since_epoch().count());
  redis::QuizStore redis(config.redis, config.loader.request_timeout);  // a single Redis or a cluster
  files::QuestionFiles files(config.question_set_path);
  std::optional<amqp::Connection> rabbit;
  if (options.publish) {
    rabbit.emplace(config.rabbit);
    amqp::topology::declare_main(*rabbit, config.rabbit);
    rabbit->enable_confirms();
  }
  Progress progress(options.count, options.progress);
  std::vector<std::string> ids;
  ids.reserve(static_cast<std::size_t>(options.count));
  for (int n = 0; n < options.count; ++n) {
    auto quiz = core::make_sample_quiz(seed, static_cast<std::uint64_t>(n), options.shape);
    files.write(core::QuizId(quiz.id), quiz.question_file);
    redis.write(quiz.redis_commands);
    if (rabbit) {
      auto now = clock.wall();
      auto event_id = quiz.id + "-" + std::to_string(seed % 1000000) + "-" + std::to_string(n);
      rabbit->publish(
          config.rabbit.queue_name,
          core::make_event(
              event_id,
              core::rfc3339_utc(
                  std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count()),
              quiz.id));
    }
    ids.push_back(quiz.id);
    progress.update(n + 1);
  }
  if (rabbit) rabbit->close();
  return ids;
}

}  // namespace qrl::seed
