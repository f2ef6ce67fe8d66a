#include "support/producer.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <future>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "redis/connection.h"

namespace qrl::testing {

namespace {

using namespace std::chrono_literals;

constexpr int kQuestionsInSet = 10;
constexpr int kQuestionDuration = 10;  // s

std::string hex_id(std::mt19937_64& rng) {
  static const char* digits = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 8; ++i) id += digits[rng() % 16];
  return id;
}

std::string now_epoch() {
  return std::to_string(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

// A handler gave up: upstream, an exception in a coroutine (a null from awaitSingle, a
// missing file); the model stops that handler there, as the server does.
struct Aborted : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One Redis connection of the pool, with the stalls of a loaded JVM before each call.
class Calls {
 public:
  Calls(const config::Redis& settings, const ProducerOptions& options, std::uint64_t seed)
      : connection_(settings, 10s), options_(options), rng_(seed) {}

  redis::Reply call(const redis::Command& command) {
    stall();
    return connection_.command(command);
  }
  std::vector<redis::Reply> pipeline(const std::vector<redis::Command>& commands) {
    stall();
    return connection_.pipeline(commands);
  }
  std::mt19937_64& rng() { return rng_; }

 private:
  void stall() {
    if (std::uniform_real_distribution<double>(0, 1)(rng_) < options_.stall_chance) {
      std::this_thread::sleep_for(std::chrono::milliseconds(rng_() % (options_.stall_max.count() + 1)));
    }
  }
  redis::Connection connection_;
  const ProducerOptions& options_;
  std::mt19937_64 rng_;
};

// Redisson's connection pool: handlers run on whichever connection is free, many at once.
class Pool {
 public:
  Pool(const config::Redis& settings, const ProducerOptions& options) {
    for (int i = 0; i < options.pool; ++i) {
      threads_.emplace_back([this, &settings, &options, i] {
        Calls calls(settings, options, options.seed * 1000 + static_cast<std::uint64_t>(i));
        for (;;) {
          std::packaged_task<void(Calls&)> task;
          {
            std::unique_lock lock(mutex_);
            ready_.wait(lock, [&] { return !tasks_.empty() || closed_; });
            if (tasks_.empty()) return;
            task = std::move(tasks_.front());
            tasks_.pop_front();
          }
          task(calls);
        }
      });
    }
  }
  ~Pool() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    ready_.notify_all();
    for (auto& t : threads_) t.join();
  }
  std::future<void> submit(std::function<void(Calls&)> work) {
    std::packaged_task<void(Calls&)> task(std::move(work));
    auto future = task.get_future();
    {
      std::lock_guard lock(mutex_);
      tasks_.push_back(std::move(task));
    }
    ready_.notify_one();
    return future;
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::packaged_task<void(Calls&)>> tasks_;
  std::vector<std::thread> threads_;
  bool closed_ = false;
};

std::optional<std::string> text(const redis::Reply& reply) {
  if (reply->type == REDIS_REPLY_STRING) return std::string(reply->str, reply->len);
  return std::nullopt;
}

std::vector<std::string> list(const redis::Reply& reply) {
  std::vector<std::string> out;
  if (reply->type != REDIS_REPLY_ARRAY) return out;
  for (std::size_t i = 0; i < reply->elements; ++i)
    out.emplace_back(reply->element[i]->str, reply->element[i]->len);
  return out;
}

struct Question {
  std::vector<int> answers;
};

class Quiz {
 public:
  Quiz(int number, const config::Redis& redis, const ProducerOptions& options, Pool& pool,
       std::function<void(const std::string&)> announce)
      : number_(number), redis_(redis), options_(options), pool_(pool), announce_(std::move(announce)),
        rng_(options.seed * 7919 + static_cast<std::uint64_t>(number)) {
    auto id = options.ids.find(number);
    played_.id = id != options.ids.end() ? id->second : hex_id(rng_);
    for (int u = 0; u < options.participants; ++u) users_.push_back(hex_id(rng_));
    silent_ = std::find(options.silent.begin(), options.silent.end(), number) != options.silent.end();
  }

  PlayedQuiz play() {
    const auto& q = played_.id;
    write_question_set();
    // connection/ConnectionManagerActor.kt processInboundClientPacket, ParticipantConfigMsg:
    // addUserId (RPUSH userIds), setUsername (SET), setLeaderboardItem (ZADD 0), then publish.
    std::vector<std::future<void>> joins;
    for (const auto& user : users_) joins.push_back(pool_.submit([&, user](Calls& c) { join(c, user); }));
    for (auto& j : joins) j.get();
    // HostConfigMsg: setQuizName, setSelectedCategories, setQuestionDuration,
    // setSelectedQuestionIndexes, setQuizStartTime, publish QUIZ-STARTED.
    std::vector<int> all(kQuestionsInSet);
    std::iota(all.begin(), all.end(), 0);
    std::shuffle(all.begin(), all.end(), rng_);
    selected_.assign(all.begin(), all.begin() + options_.questions);
    pool_
        .submit([&](Calls& c) {
          c.call({"SET", q + ":quizName", "quiz " + std::to_string(number_)});
          c.call({"RPUSH", q + ":selectedCategories", "movies", "food"});
          c.call({"SET", q + ":questionDuration", std::to_string(kQuestionDuration)});
          redis::Command push = {"RPUSH", q + ":selectedQuestionIndexes"};
          for (int i : selected_) push.push_back(std::to_string(i));
          c.call(push);
          played_.start_epoch = now_epoch();
          c.call({"SET", q + ":startTime", played_.start_epoch});
          c.call({"PUBLISH", q + ":subscribe", "\"QUIZ-STARTED\""});
        })
        .get();
    // Every question: every participant's handler at once (their answers arrive together). The
    // last one ends on a timer for everyone in half the quizzes (simultaneous timeouts, each
    // handler may announce), else on a straggler answering late.
    const bool timer_ends_it = number_ % 2 == 0;
    for (int n = 0; n < options_.questions; ++n) {
      const bool last = n + 1 == options_.questions;
      std::vector<std::future<void>> handlers;
      for (std::size_t u = 0; u < users_.size(); ++u) {
        const auto user = users_[u];
        const bool timeout = last && timer_ends_it;
        const bool straggler = last && !timer_ends_it && u == users_.size() - 1;
        const auto options = random_options();
        const int taken = static_cast<int>(rng_() % kQuestionDuration);
        handlers.push_back(pool_.submit([this, user, n, timeout, straggler, options, taken](Calls& c) {
          if (straggler) std::this_thread::sleep_for(std::chrono::milliseconds(100 + c.rng()() % 200));
          try {
            if (timeout) {
              answer_timeout(c, user, n);
            } else {
              answer(c, user, n, options, taken);
            }
          } catch (const Aborted&) {
          }
        }));
      }
      for (auto& h : handlers) h.get();
    }
    // After the end: a client resends its last answer (ParticipantAnswerMsg again), and
    // someone joins (joins are accepted at any time). Each arrives on a websocket of its own
    // 50-300 ms after the end, so each gets a connection of its own rather than waiting behind
    // other quizzes' handlers in the pool.
    std::vector<std::thread> after;
    if (number_ % 3 == 0) {
      played_.resent = true;
      const auto user = users_.front();
      const auto options = random_options();
      const auto delay = std::chrono::milliseconds(50 + rng_() % 250);
      after.emplace_back([this, user, options, delay] {
        std::this_thread::sleep_for(delay);
        Calls c(redis_, options_, options_.seed * 101 + static_cast<std::uint64_t>(number_));
        try {
          answer(c, user, options_.questions - 1, options, 3);
        } catch (const Aborted&) {
        }
      });
    }
    if (number_ % 3 == 1) {
      const auto late = hex_id(rng_);
      played_.late_joiners.push_back(late);
      const auto delay = std::chrono::milliseconds(50 + rng_() % 250);
      after.emplace_back([this, late, delay] {
        std::this_thread::sleep_for(delay);
        Calls c(redis_, options_, options_.seed * 103 + static_cast<std::uint64_t>(number_));
        join(c, late);
      });
    }
    for (auto& a : after) a.join();
    {
      std::lock_guard lock(summaries_mutex_);
      for (auto& s : summaries_) s.join();
    }
    played_.participants = users_;
    return std::move(played_);
  }

 private:
  void write_question_set() {
    nlohmann::json set = nlohmann::json::array();
    for (int i = 0; i < kQuestionsInSet; ++i) {
      Question question;
      question.answers = {static_cast<int>(rng_() % 4)};
      if (rng_() % 3 == 0) question.answers.push_back((question.answers[0] + 1) % 4);
      questions_.push_back(question);
      set.push_back({{"question", "Question " + std::to_string(i) + "?"},
                     {"category", "movies"},
                     {"options", {"a", "b", "c", "d"}},
                     {"answers", question.answers}});
    }
    std::ofstream(options_.question_dir / (played_.id + ".json")) << set.dump();
  }

  std::vector<int> random_options() {
    std::vector<int> options = {static_cast<int>(rng_() % 4)};
    if (rng_() % 4 == 0) options.push_back((options[0] + 2) % 4);
    return options;
  }

  void join(Calls& c, const std::string& user) {
    const auto& q = played_.id;
    c.call({"RPUSH", q + ":userIds", user});
    c.call({"SET", q + ":" + user + ":username", "player " + user});
    c.call({"ZADD", q + ":leaderboard", "0", user});
    c.call({"PUBLISH", q + ":subscribe", "\"LEADERBOARD-UPDATED\""});
  }

  // loader/QuizLoader.kt load(): the question set file, or an exception.
  void load_question_set() {
    if (!std::filesystem::exists(options_.question_dir / (played_.id + ".json")))
      throw Aborted("question set file missing");
  }

  // ConnectionManagerActor.kt, ParticipantAnswerMsg.
  void answer(Calls& c, const std::string& user, int n, const std::vector<int>& options, int taken) {
    const auto& q = played_.id;
    // getSelectedQuestionIndexes, then the index this client means.
    auto indexes = list(c.call({"LRANGE", q + ":selectedQuestionIndexes", "0", "-1"}));
    if (static_cast<int>(indexes.size()) <= n) throw Aborted("selected indexes gone");
    const auto index = indexes[static_cast<std::size_t>(n)];
    // setParticipantAnswer
    nlohmann::json body = {{"selectedOptionIndexes", options}, {"answeredInDuration", taken}};
    c.call({"SET", q + ":" + user + ":answer:" + index, body.dump()});
    // getQuestionDuration, QuizLoader.load, calculateAnswerScore (score/score.kt)
    auto duration = text(c.call({"GET", q + ":questionDuration"}));
    if (!duration) throw Aborted("questionDuration gone");
    load_question_set();
    const auto& correct = questions_[static_cast<std::size_t>(std::stoi(index))].answers;
    int right = 0;
    for (int o : options) right += std::count(correct.begin(), correct.end(), o) > 0 ? 1 : 0;
    const int max_time = std::stoi(*duration);
    const int points = static_cast<int>(100.0 * right / static_cast<double>(correct.size()) *
                                        (max_time - taken) / static_cast<double>(max_time));
    // getUserScore (ZSCORE: awaitSingle on a member that is gone throws), setLeaderboardItem
    auto current = text(c.call({"ZSCORE", q + ":leaderboard", user}));
    if (!current) throw Aborted("leaderboard member gone");
    const auto score = static_cast<std::int64_t>(std::stod(*current)) + points;
    c.call({"ZADD", q + ":leaderboard", std::to_string(score), user});
    {
      std::lock_guard lock(mutex_);
      played_.scores[user] = score;
    }
    c.call({"PUBLISH", q + ":subscribe", "\"LEADERBOARD-UPDATED\""});
    c.call({"PUBLISH", q + ":subscribe", "\"NOTIFY-HOST-QUIZ-SUMMARY\""});
    finish(c, user);
  }

  // ConnectionManagerActor.kt, ParticipantAnswerTimeoutMsg: [] and questionDuration + 1, the
  // score left alone.
  void answer_timeout(Calls& c, const std::string& user, int n) {
    const auto& q = played_.id;
    auto indexes = list(c.call({"LRANGE", q + ":selectedQuestionIndexes", "0", "-1"}));
    if (static_cast<int>(indexes.size()) <= n) throw Aborted("selected indexes gone");
    auto duration = text(c.call({"GET", q + ":questionDuration"}));
    if (!duration) throw Aborted("questionDuration gone");
    nlohmann::json body = {{"selectedOptionIndexes", nlohmann::json::array()},
                           {"answeredInDuration", std::stoi(*duration) + 1}};
    c.call({"SET", q + ":" + user + ":answer:" + indexes[static_cast<std::size_t>(n)], body.dump()});
    {
      std::lock_guard lock(mutex_);
      played_.scores.emplace(user, 0);  // unchanged; known from the leaderboard
    }
    c.call({"PUBLISH", q + ":subscribe", "\"NOTIFY-HOST-QUIZ-SUMMARY\""});
    finish(c, user);
  }

  // redis/RedisClient.kt isParticipantFinished: every selected question's answer exists.
  bool participant_finished(Calls& c, const std::string& user) {
    const auto& q = played_.id;
    auto indexes = list(c.call({"LRANGE", q + ":selectedQuestionIndexes", "0", "-1"}));
    std::vector<redis::Command> exists;
    for (const auto& i : indexes) exists.push_back({"EXISTS", q + ":" + user + ":answer:" + i});
    if (exists.empty()) return true;
    for (const auto& reply : c.pipeline(exists)) {
      if (reply->integer == 0) return false;
    }
    return true;
  }

  // The end of both answer handlers: the participant's stop time, then, if every member of
  // userIds has every answer (isQuizFinished), the quiz's stop time, QUIZ-FINISHED on the
  // topic (each replica's subscriber reads the summary) and the quiz-complete event.
  void finish(Calls& c, const std::string& user) {
    const auto& q = played_.id;
    if (participant_finished(c, user)) {
      c.call({"SET", q + ":" + user + ":stopTime", now_epoch()});
      c.call({"PUBLISH", q + ":subscribe", "\"PARTICIPANT-FINISHED\""});
    }
    for (const auto& member : list(c.call({"LRANGE", q + ":userIds", "0", "-1"}))) {
      if (!participant_finished(c, member)) return;
    }
    c.call({"SET", q + ":stopTime", now_epoch()});
    c.call({"PUBLISH", q + ":subscribe", "\"QUIZ-FINISHED\""});
    {
      std::lock_guard lock(summaries_mutex_);
      for (int r = 0; r < options_.replicas; ++r) {
        summaries_.emplace_back([this, r] { summary(r); });
      }
    }
    // notify/NotificationActor.kt: the event; a failed publish is logged and dropped upstream.
    if (!silent_) {
      {
        std::lock_guard lock(mutex_);
        ++played_.events;
      }
      announce_(q);
    }
  }

  // subscribe/SubscriberActor.kt processNotification, QUIZ-FINISHED: RedisClient.getQuizSummary
  // on one replica's connection. It throws (the participants get no summary) on a missing
  // question file or questionDuration, an answer that EXISTS and then cannot be read, or a
  // username that is gone.
  void summary(int replica) {
    const auto& q = played_.id;
    std::string failure;
    try {
      Calls c(redis_, options_, options_.seed * 31 + static_cast<std::uint64_t>(replica) * 17 +
                                     static_cast<std::uint64_t>(number_));
      auto users = list(c.call({"LRANGE", q + ":userIds", "0", "-1"}));                 // getUserIds
      auto indexes = list(c.call({"LRANGE", q + ":selectedQuestionIndexes", "0", "-1"}));  // getSelectedQuestionIndexes
      load_question_set();                                                             // QuizLoader.load
      if (!text(c.call({"GET", q + ":questionDuration"}))) throw Aborted("questionDuration gone");
      if (users.empty() || indexes.empty()) throw Aborted("the quiz is gone from Redis");
      // Each answer key async: isExists, get, getUsername.
      for (const auto& user : users) {
        for (const auto& index : indexes) {
          const auto key = q + ":" + user + ":answer:" + index;
          auto replies = c.pipeline({{"EXISTS", key}, {"GET", key}, {"GET", q + ":" + user + ":username"}});
          if (replies[0]->integer == 0) continue;  // not answered (yet)
          if (!text(replies[1])) throw Aborted("answer " + key + " gone after EXISTS");
          if (!text(replies[2])) throw Aborted("username of " + user + " gone");
        }
      }
      list(c.call({"LRANGE", q + ":selectedQuestionIndexes", "0", "-1"}));
    } catch (const Aborted& e) {
      failure = e.what();
    } catch (const core::Error& e) {
      failure = e.what();
    }
    std::lock_guard lock(mutex_);
    ++played_.summaries;
    if (!failure.empty()) played_.summary_failures.push_back(failure);
  }

  int number_;
  const config::Redis& redis_;
  const ProducerOptions& options_;
  Pool& pool_;
  std::function<void(const std::string&)> announce_;
  std::mt19937_64 rng_;
  PlayedQuiz played_;
  std::vector<std::string> users_;
  std::vector<int> selected_;
  std::vector<Question> questions_;
  bool silent_ = false;
  std::mutex mutex_;
  std::mutex summaries_mutex_;
  std::vector<std::thread> summaries_;
};

}  // namespace

Producer::Producer(config::Redis redis, ProducerOptions options)
    : redis_(std::move(redis)), options_(std::move(options)) {}

std::vector<PlayedQuiz> Producer::play() {
  Pool pool(redis_, options_);
  std::mutex announce_mutex;
  auto announce = [&](const std::string& quiz_id) {
    std::lock_guard lock(announce_mutex);
    options_.announce(quiz_id);
  };
  std::vector<std::unique_ptr<Quiz>> quizzes;
  for (int n = 0; n < options_.quizzes; ++n)
    quizzes.push_back(std::make_unique<Quiz>(n, redis_, options_, pool, announce));
  std::vector<std::future<PlayedQuiz>> played;
  for (auto& quiz : quizzes) played.push_back(std::async(std::launch::async, [&q = *quiz] { return q.play(); }));
  std::vector<PlayedQuiz> out;
  for (auto& p : played) out.push_back(p.get());
  return out;
}

}  // namespace qrl::testing
