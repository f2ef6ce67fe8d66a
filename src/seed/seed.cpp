#include "seed/seed.h"

#include <chrono>
#include <cstdio>
#include <optional>

#include "amqp/connection.h"
#include "amqp/topology.h"
#include "core/error.h"
#include "core/event.h"
#include "core/transform.h"
#include "files/question_files.h"
#include "progress/progress.h"
#include "redis/quiz_store.h"

namespace qrl::seed {


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
  auto progress = progress::Progress::on_stderr("seeding", "quizzes", static_cast<std::size_t>(options.count), clock);
  if (!options.progress) progress.finish();
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
    progress.advance();
  }
  progress.finish();
  if (rabbit) rabbit->close();
  return ids;
}

}  // namespace qrl::seed
