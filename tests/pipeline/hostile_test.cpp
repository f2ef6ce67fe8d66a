// Hostile files and broken servers against the real binary: a question set that is a FIFO, a
// directory or a symbolic link; a DynamoDB that answers without end; a Redis that streams an
// endless value or never answers; a quiz over the answer cap; a Lambda setting that is not
// UTF-8 and a deadline far in the future. Each with its exact outcome: nothing wrong written,
// nothing deleted, nothing hung, no abort.

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "core/event.h"
#include "core/item.h"
#include "core/sample.h"
#include "core/transform.h"
#include "redis/quiz_store.h"
#include "support/http_server.h"
#include "support/runtime_api.h"
#include "support/stack_test.h"

namespace qrl::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A TCP server on loopback that reads a request and then runs `answer` on the socket.
class RawServer {
 public:
  explicit RawServer(std::function<void(int fd)> answer) : answer_(std::move(answer)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    ::listen(fd_, 16);
    socklen_t size = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] {
      for (;;) {
        int client = ::accept(fd_, nullptr, nullptr);
        if (client < 0 || stopping_) return;
        char buffer[4096];
        (void)::recv(client, buffer, sizeof buffer, 0);
        answer_(client);
        ::close(client);
      }
    });
  }
  ~RawServer() {
    stopping_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  int port() const { return port_; }
  bool stopping() const { return stopping_; }

 private:
  std::function<void(int)> answer_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

class Hostile : public StackTest {
 protected:
  qrl::testing::Run load(const std::string& id, const std::map<std::string, std::string>& extra = {}) {
    auto env = stack.env();
    for (const auto& [k, v] : extra) env[k] = v;
    return run({"load", id}, env, 60s);
  }
};

TEST_F(Hostile, AQuestionSetThatIsNotARegularFileIsRefusedAndNothingIsDeleted) {
  // Four FIFOs for four workers: none may block one, and a good quiz behind them loads.
  std::vector<Fixture> fifos;
  for (int i = 0; i < 4; ++i) {
    fifos.push_back(contract_quiz(random_id()));
    stack.write(fifos.back());
    auto path = stack.question_dir() / (fifos.back().quiz_id + ".json");
    std::filesystem::remove(path);
    ASSERT_EQ(::mkfifo(path.c_str(), 0644), 0);
  }
  auto directory = contract_quiz(random_id());
  stack.write(directory);
  std::filesystem::remove(stack.question_dir() / (directory.quiz_id + ".json"));
  std::filesystem::create_directory(stack.question_dir() / (directory.quiz_id + ".json"));
  // A link to a valid question set outside the directory.
  auto linked = contract_quiz(random_id());
  stack.write(linked);
  auto outside = stack.root() / "elsewhere.json";
  std::filesystem::rename(stack.question_dir() / (linked.quiz_id + ".json"), outside);
  std::filesystem::create_symlink(outside, stack.question_dir() / (linked.quiz_id + ".json"));
  auto good = contract_quiz(random_id());
  stack.write(good);

  auto daemon = start({{"LOADER_WORKERS", "4"}});
  for (const auto& f : fifos) stack.publish_event(f.quiz_id);
  stack.publish_event(directory.quiz_id);
  stack.publish_event(linked.quiz_id);
  stack.publish_event(good.quiz_id);
  ASSERT_TRUE(eventually([&] { return loaded(good.quiz_id) && stack.dlq_depth() == 6; }, 30s))
      << daemon->stderr_text();
  auto log = stop(*daemon);
  EXPECT_EQ(count(log, "is a FIFO, not a regular file"), 4u);
  EXPECT_THAT(log, HasSubstr("is a directory, not a regular file"));
  EXPECT_THAT(log, HasSubstr("is a symbolic link, not a regular file"));
  expect_loaded_exactly(good);
  for (const auto& f : fifos) EXPECT_EQ(stack.redis_count(f.keys), f.keys.size());
  EXPECT_EQ(stack.redis_count(linked.keys), linked.keys.size());
  EXPECT_TRUE(std::filesystem::is_symlink(stack.question_dir() / (linked.quiz_id + ".json")));
  EXPECT_TRUE(std::filesystem::exists(outside));
  EXPECT_FALSE(loaded(linked.quiz_id));
}

TEST_F(Hostile, AQuestionSetOverTheSizeCapIsRefusedBeforeItIsRead) {
  auto f = contract_quiz(random_id());
  stack.write(f);
  std::ofstream(stack.question_dir() / (f.quiz_id + ".json"), std::ios::app) << std::string(5000, ' ');
  auto result = load(f.quiz_id, {{"QUESTION_SET_MAX_BYTES", "4096"}});
  EXPECT_EQ(result.code, 1);
  EXPECT_THAT(result.out, HasSubstr("over the limit of 4096 (question-set.max_bytes)"));
  EXPECT_EQ(stack.redis_count(f.keys), f.keys.size());
  EXPECT_TRUE(stack.file_exists(f.quiz_id));
}

TEST_F(Hostile, ADynamoDbAnsweringWithoutEndIsCutAtTheCap) {
  HttpServer endless([](const HttpRequest&) { return HttpResponse{200, {}, std::string(20u << 20, '{')}; });
  auto f = contract_quiz(random_id());
  stack.write(f);
  auto result = load(f.quiz_id, {{"DYNAMODB_ENDPOINT_URL", "http://" + endless.address()}});
  EXPECT_EQ(result.code, 1);
  EXPECT_THAT(result.err, HasSubstr("the response is larger than 8388608 bytes"));
  EXPECT_EQ(stack.redis_count(f.keys), f.keys.size());
}

TEST_F(Hostile, ARedisStreamingAnEndlessValueIsCutAtTheCap) {
  RawServer redis([](int fd) {
    std::string head = "$1500000000\r\n";
    (void)::send(fd, head.data(), head.size(), MSG_NOSIGNAL);
    std::string chunk(1 << 16, 'x');
    for (std::size_t sent = 0; sent < (std::size_t{200} << 20); sent += chunk.size()) {
      if (::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL) < 0) return;
    }
  });
  auto result =
      load("streamed", {{"REDIS_PORT", std::to_string(redis.port())}, {"LOADER_RETRY_ATTEMPTS", "1"}});
  EXPECT_EQ(result.code, 1);
  EXPECT_THAT(result.out, HasSubstr("a reply larger than 67108864 bytes"));
}

TEST_F(Hostile, ARedisThatNeverAnswersIsATimeoutAndSaysSo) {
  RawServer redis([](int) { std::this_thread::sleep_for(2s); });
  auto result = load("silent", {{"REDIS_PORT", std::to_string(redis.port())},
                                {"LOADER_REQUEST_TIMEOUT_MS", "300"},
                                {"LOADER_RETRY_ATTEMPTS", "1"}});
  EXPECT_EQ(result.code, 1);
  EXPECT_THAT(result.out, HasSubstr("timed out after 300 ms"));
  EXPECT_THAT(result.out, Not(HasSubstr("Resource temporarily unavailable")));
}

TEST_F(Hostile, AQuizOverTheAnswerCapIsRefusedBeforeItsParticipantKeysAreRead) {
  auto quiz = core::make_sample_quiz(std::random_device{}(), 1, {4, 3});  // 12 answers, a fresh id
  stack.write_sample(quiz);
  auto result = load(quiz.id, {{"LOADER_MAX_ANSWERS", "10"}});
  EXPECT_EQ(result.code, 1);
  EXPECT_THAT(result.out,
              HasSubstr("quiz too large: 4 participants x 3 questions is over the limit of 10 answers"));
  EXPECT_TRUE(stack.redis_has(quiz.id + ":quizName"));
  EXPECT_TRUE(stack.file_exists(quiz.id));
}

TEST(HostileRedis, ALeaderboardOfAbsentUsersCostsRoundTripsByTheThousandNotOnePerKey) {
  Stack stack;
  const auto id = random_id();
  std::vector<redis::Command> writes = {{"SET", id + ":quizName", "n"},
                                        {"SET", id + ":questionDuration", "10"},
                                        {"SET", id + ":startTime", "1"},
                                        {"SET", id + ":stopTime", "2"},
                                        {"RPUSH", id + ":selectedQuestionIndexes", "0", "1", "2"}};
  redis::Command zadd = {"ZADD", id + ":leaderboard"};
  for (int i = 0; i < 100000; ++i) {
    zadd.push_back(std::to_string(i));
    zadd.push_back("u" + std::to_string(i));
  }
  writes.push_back(zadd);
  stack.redis().pipeline(writes);
  redis::QuizStore store(stack.config().redis, 10000ms);
  auto live =
      pipeline::read_whole(store, core::QuizId(id));  // the reads alone; the transform then names the first absent key
  // The sizes and first ranges; the other 99 leaderboard ranges, 16 per round trip; one window
  // of MGETs, which finds the first absent key and stops; and the TYPE of that key.
  EXPECT_EQ(store.round_trips(), 1u + 7u + 1u + 1u);
  EXPECT_EQ(live.header.leaderboard.size(), 100000u);
  stack.redis().command({"DEL", id + ":leaderboard"});
}

TEST_F(Hostile, ALambdaSettingThatIsNotUtf8IsAnInitErrorNotAnAbort) {
  RuntimeApi api;
  auto env = stack.lambda_env(api.address());
  env["REDIS_PORT"] = "\xff";
  Process lambda({"lambda"}, env);
  auto error = api.init_error(20s);
  ASSERT_TRUE(error) << lambda.stderr_text();
  EXPECT_EQ(error->error_type, "Runtime.ConfigError");
  EXPECT_THAT(error->body, HasSubstr("REDIS_PORT"));
  EXPECT_EQ(lambda.wait(20s), std::optional<int>(1));
}

TEST_F(Hostile, ALambdaDeadlineFarInTheFutureStillRunsTheBatch) {
  RuntimeApi api;
  auto f = contract_quiz(random_id());
  stack.write(f);
  Process lambda({"lambda"}, stack.lambda_env(api.address()));
  nlohmann::json batch = {
      {"Records", nlohmann::json::array({{{"messageId", "m1"},
                                          {"body", core::make_event("e1", "t", f.quiz_id)},
                                          {"eventSourceARN", "arn:aws:sqs:r:1:q"}}})}};
  auto id = api.invoke(batch.dump(), std::chrono::hours(24 * 365 * 300));
  auto answer = api.answer(id, 30s);
  ASSERT_TRUE(answer) << lambda.stderr_text();
  EXPECT_EQ(answer->body, R"({"batchItemFailures":[]})") << lambda.stderr_text();
  expect_loaded_exactly(f);
  // Each line names its invocation once, even where a record's context repeats it.
  std::istringstream lines(lambda.stderr_text());
  std::size_t with_request = 0;
  for (std::string line; std::getline(lines, line);) {
    EXPECT_LE(count(line, "request_id="), 1u) << line;
    with_request += count(line, "request_id=");
  }
  EXPECT_GE(with_request, 2u);
}

}  // namespace
}  // namespace qrl::testing

namespace qrl::testing {
namespace {

// dynalite computes an item's size by DynamoDB's rules (its own code, not ours): an item our
// count puts at exactly 400 KB is accepted, one byte more is refused, for quizzes with many
// map entries and numbers of every width, where the old count (no byte per map entry) was off.
TEST(HostileItemSize, OurCountAgreesWithDynaliteAtTheLimit) {
  Stack stack;
  stack.dynamo().ensure_table();
  auto quiz = core::make_sample_quiz(std::random_device{}(), 1, {60, 12});
  MemoryRedis redis;
  redis.apply(quiz.redis_commands);
  auto live = redis.read(quiz.id);
  auto built = core::build_quiz(core::QuizId(quiz.id), live.header, live.participant_values, quiz.question_file);
  built.name.clear();
  const auto base = core::item_size(built);
  ASSERT_LT(base, core::kMaxItemBytes);
  built.name.assign(core::kMaxItemBytes - base, 'n');
  ASSERT_EQ(core::item_size(built), core::kMaxItemBytes);
  EXPECT_NO_THROW(stack.dynamo().put_quiz(built.id, core::encode_item(built), {built.start_time, built.participants.size()}, 0));
  built.name += 'n';
  try {
    stack.dynamo().put_quiz(built.id, core::encode_item(built), {built.start_time, built.participants.size()}, 0);
    ADD_FAILURE() << "an item one byte over 400 KB was accepted";
  } catch (const core::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("Item size has exceeded the maximum allowed size"));
  }
  EXPECT_GT(core::item_size(built), core::kMaxItemBytes);
}

}  // namespace
}  // namespace qrl::testing
