// `lambda` end to end: the real binary under a stand-in Runtime API, against the real Redis and
// dynalite; and the shipped zip, unpacked into an otherwise empty root.

#include <signal.h>

#include <cstdlib>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "core/event.h"
#include "files/question_files.h"
#include "report/quiz_report.h"
#include "split/reassemble.h"
#include "support/expected_item.h"
#include "support/runtime_api.h"
#include "support/stack_test.h"

namespace qrl::testing {
namespace {

// The zip under test: QRL_LAMBDA_ZIP from the environment (the sanitized suite runs the normal
// build's, whose binary starts in an empty root), else the one this build made.
std::string lambda_zip() {
  const char* given = std::getenv("QRL_LAMBDA_ZIP");
  return given != nullptr && *given != '\0' ? given : QRL_LAMBDA_ZIP;
}


using ::testing::HasSubstr;
using ::testing::Not;

struct SqsRecord {
  std::string message_id;
  std::string body;
  std::string group;
};

std::string sqs_event(const std::vector<SqsRecord>& records, bool fifo = true) {
  nlohmann::json out = {{"Records", nlohmann::json::array()}};
  int n = 0;
  for (const auto& r : records) {
    out["Records"].push_back(
        {{"messageId", r.message_id},
         {"receiptHandle", "handle-" + r.message_id},
         {"body", r.body},
         {"attributes",
          {{"ApproximateReceiveCount", "1"},
           {"MessageGroupId", r.group},
           {"MessageDeduplicationId", "dedup-" + std::to_string(n)},
           {"SequenceNumber", "1887210303338955187" + std::to_string(n)}}},
         {"messageAttributes", nlohmann::json::object()},
         {"eventSource", "aws:sqs"},
         {"eventSourceARN",
          std::string("arn:aws:sqs:us-east-1:123456789012:quiz-complete") + (fifo ? ".fifo" : "")},
         {"awsRegion", "us-east-1"}});
    ++n;
  }
  return out.dump();
}

std::set<std::string> failures(const RuntimeApi::Answer& answer) {
  std::set<std::string> out;
  auto json = nlohmann::json::parse(answer.body);
  for (const auto& f : json.at("batchItemFailures")) out.insert(f.at("itemIdentifier").get<std::string>());
  return out;
}

class Lambda : public StackTest {
 protected:
  RuntimeApi api;

  std::map<std::string, std::string> lambda_env() { return stack.lambda_env(api.address()); }

  std::unique_ptr<Process> start_lambda(const std::map<std::string, std::string>& env) {
    auto process = std::make_unique<Process>(std::vector<std::string>{"lambda"}, env);
    EXPECT_TRUE(eventually([&] { return api.next_calls() > 0 || !process->running(); }));
    return process;
  }

  std::string event(const std::string& quiz_id) {
    return core::make_event(random_id(), "2022-03-12T07:49:21Z", quiz_id);
  }
};

TEST_F(Lambda, AMixedFifoBatchAnswersExactlyTheRecordsThatFailed) {
  auto a = contract_quiz(random_id());
  auto b = edge_quiz(random_id());
  auto e = empty_quiz(random_id());
  auto missing = contract_quiz(random_id());  // its file is never written
  auto blocked_first = contract_quiz(random_id());
  auto blocked_then = edge_quiz(random_id());
  for (const auto* f : {&a, &b, &e, &blocked_then}) stack.write(*f);
  stack.redis().pipeline(missing.redis);
  stack.redis().pipeline(blocked_first.redis);
  stack.redis().pipeline({{"DEL", blocked_first.quiz_id + ":quizName"}});
  std::erase(blocked_first.keys, blocked_first.quiz_id + ":quizName");
  files::QuestionFiles(stack.question_dir()).write(core::QuizId(blocked_first.quiz_id), blocked_first.question_file);

  auto daemon = start_lambda(lambda_env());
  auto id = api.invoke(sqs_event({
      {"m-a", event(a.quiz_id), "g1"},
      {"m-not-event", "not an event", "g2"},
      {"m-hostile", event("*"), "g3"},
      {"m-missing", event(missing.quiz_id), "g4"},
      {"m-b1", event(b.quiz_id), "g5"},
      {"m-b2", event(b.quiz_id), "g6"},  // the same quiz again, concurrently
      {"m-blocked-1", event(blocked_first.quiz_id), "g7"},
      {"m-blocked-2", event(blocked_then.quiz_id), "g7"},  // after a failure in its group
      {"m-e", event(e.quiz_id), "g1"},                     // after a success in its group
  }));
  auto answer = api.answer(id, 60s);
  ASSERT_TRUE(answer) << daemon->stderr_text();
  EXPECT_EQ(answer->kind, "response");
  EXPECT_EQ(failures(*answer),
            (std::set<std::string>{"m-not-event", "m-hostile", "m-missing", "m-blocked-1", "m-blocked-2"}));

  expect_loaded_exactly(a);
  expect_loaded_exactly(b);
  expect_loaded_exactly(e);
  EXPECT_EQ(stack.redis_count(missing.keys), missing.keys.size());
  EXPECT_FALSE(stack.item(missing.quiz_id));
  EXPECT_EQ(stack.redis_count(blocked_first.keys), blocked_first.keys.size());
  expect_untouched(blocked_then);

  daemon->signal(SIGTERM);
  daemon->wait(10s);
  auto log = daemon->stderr_text();
  EXPECT_THAT(log, HasSubstr("request_id=" + id));
  EXPECT_THAT(log, HasSubstr("records not processed"));
  for (const auto* secret : {"lambda-secret-do-not-log", "lambda-token-do-not-log"})
    EXPECT_THAT(log, Not(HasSubstr(secret)));
  EXPECT_THAT(log, Not(HasSubstr("\"selectedOptionIndexes")));  // no payload at info level
}

// A quiz too big for one item, through Lambda: stored split, shown whole; the same quiz again in
// the next batch finds it loaded.
TEST_F(Lambda, ASplitQuizLoadsWholeAndItsDuplicateFindsItLoaded) {
  auto sample = core::make_sample_quiz(std::random_device{}(), 1, {1000, 40});
  stack.write_sample(sample);
  auto daemon = start_lambda(lambda_env());
  auto first = api.answer(api.invoke(sqs_event({{"m-1", event(sample.id), "g1"}})), 120s);
  ASSERT_TRUE(first) << daemon->stderr_text();
  EXPECT_TRUE(failures(*first).empty()) << first->body;
  auto second = api.answer(api.invoke(sqs_event({{"m-2", event(sample.id), "g1"}})), 60s);
  ASSERT_TRUE(second);
  EXPECT_TRUE(failures(*second).empty()) << second->body;
  daemon->signal(SIGTERM);
  daemon->wait(10s);
  auto log = daemon->stderr_text();
  EXPECT_THAT(log, HasSubstr("quiz stored split"));
  EXPECT_THAT(log, HasSubstr("quiz already loaded"));

  auto head = stack.item(sample.id);
  ASSERT_TRUE(head);
  EXPECT_TRUE(split::is_head(*head));
  auto shown = run({"show", sample.id, "--output", "dynamodb"}, stack.env());
  ASSERT_EQ(shown.code, 0) << shown.err;
  EXPECT_TRUE(nlohmann::json::parse(shown.out) == expected_item(sample));
  // Reassembled for a person and for jq too: the quiz (3 lines), a blank, the leaderboard's title,
  // header and rows, a blank, the questions' title, and three lines a question.
  auto report = run({"show", sample.id}, stack.env());
  EXPECT_THAT(report.out, HasSubstr("1000 participants, 40 questions"));
  EXPECT_EQ(count(report.out, "\n"), 3u + 1 + 2 + 1000 + 2 + 40 * 3) << report.out.substr(0, 2000);
  EXPECT_EQ(nlohmann::json::parse(run({"show", sample.id, "-o", "json"}, stack.env()).out),
            report::plain(expected_item(sample)));
  EXPECT_FALSE(stack.file_exists(sample.id));
  EXPECT_FALSE(stack.redis_has(sample.id + ":leaderboard"));
}

TEST_F(Lambda, TheTraceIdIsSetForEachInvocation) {
  auto env = lambda_env();
  env["LOADER_LOG_LEVEL"] = "debug";
  auto daemon = start_lambda(env);
  auto first = api.invoke(sqs_event({}), 60s, "Root=1-00000000-000000000000000000000001");
  auto second = api.invoke(sqs_event({}), 60s, "Root=1-00000000-000000000000000000000002");
  ASSERT_TRUE(api.answer(first, 30s));
  ASSERT_TRUE(api.answer(second, 30s));
  auto log = daemon->stderr_text();
  EXPECT_THAT(log, HasSubstr("request_id=" + first + " trace=\"Root=1-00000000-000000000000000000000001\""));
  EXPECT_THAT(log, HasSubstr("request_id=" + second + " trace=\"Root=1-00000000-000000000000000000000002\""));
}

TEST_F(Lambda, AStandardQueueDoesNotHoldBackRecordsOfTheSameGroup) {
  auto broken = contract_quiz(random_id());
  auto good = edge_quiz(random_id());
  stack.redis().pipeline(broken.redis);  // no question file
  stack.write(good);
  auto daemon = start_lambda(lambda_env());
  auto id =
      api.invoke(sqs_event({{"m1", event(broken.quiz_id), "g"}, {"m2", event(good.quiz_id), "g"}}, false));
  auto answer = api.answer(id, 60s);
  ASSERT_TRUE(answer);
  EXPECT_EQ(failures(*answer), (std::set<std::string>{"m1"}));
  expect_loaded_exactly(good);
}

TEST_F(Lambda, InvocationsThatAreNotBatchesAreErrorsAndTheRuntimeCarriesOn) {
  auto f = contract_quiz(random_id());
  stack.write(f);
  auto daemon = start_lambda(lambda_env());
  auto bad = api.invoke(R"({"hello":"world"})");
  auto answer = api.answer(bad, 30s);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->kind, "error");
  EXPECT_EQ(answer->error_type, "InvalidEvent");
  auto body = nlohmann::json::parse(answer->body);
  EXPECT_EQ(body["errorType"], "InvalidEvent");
  EXPECT_THAT(body["errorMessage"].get<std::string>(), HasSubstr("Records"));

  auto good = api.invoke(sqs_event({{"m1", event(f.quiz_id), "g"}}));
  answer = api.answer(good, 30s);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->body, R"({"batchItemFailures":[]})");
  expect_loaded_exactly(f);
}

TEST_F(Lambda, AMissingSettingIsAnInitErrorAndANonZeroExit) {
  auto env = lambda_env();
  env.erase("AWS_REGION");
  Process process({"lambda"}, env);
  auto error = api.init_error(30s);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->error_type, "Runtime.ConfigError");
  auto body = nlohmann::json::parse(error->body);
  EXPECT_EQ(body["errorType"], "Runtime.ConfigError");
  EXPECT_THAT(body["errorMessage"].get<std::string>(), HasSubstr("AWS_REGION"));
  auto code = process.wait(10s);
  ASSERT_TRUE(code);
  EXPECT_NE(*code, 0);
  EXPECT_EQ(api.next_calls(), 0);
}

TEST_F(Lambda, RecordsThatCannotFinishBeforeTheDeadlineAreFailedUntouched) {
  auto f = contract_quiz(random_id());
  auto g = edge_quiz(random_id());
  stack.write(f);
  stack.write(g);
  auto env = lambda_env();
  env["LOADER_DEADLINE_MARGIN_MS"] = "2000";
  auto daemon = start_lambda(env);
  auto id = api.invoke(sqs_event({{"m1", event(f.quiz_id), "g1"}, {"m2", event(g.quiz_id), "g2"}}), 500ms);
  auto answer = api.answer(id, 30s);
  ASSERT_TRUE(answer);
  EXPECT_EQ(failures(*answer), (std::set<std::string>{"m1", "m2"}));
  expect_untouched(f);
  expect_untouched(g);
}

TEST_F(Lambda, ConnectionsAreMadeOnceAndReusedAcrossInvocations) {
  auto connections = [&] {
    auto reply = stack.redis().command({"INFO", "stats"});
    std::string info(reply->str, reply->len);
    auto pos = info.find("total_connections_received:");
    return std::stoul(info.substr(pos + 27));
  };
  auto daemon = start_lambda(lambda_env());
  std::vector<Fixture> quizzes;
  // Warm-up: each worker's connection is made on its first record.
  for (int round = 0; round < 4; ++round) {
    std::vector<SqsRecord> records;
    for (int i = 0; i < 4; ++i) {
      quizzes.push_back(contract_quiz(random_id()));
      stack.write(quizzes.back());
      records.push_back(
          {"m" + std::to_string(quizzes.size()), event(quizzes.back().quiz_id), "g" + std::to_string(i)});
    }
    auto before = connections();
    auto answer = api.answer(api.invoke(sqs_event(records)), 30s);
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->body, R"({"batchItemFailures":[]})");
    if (round >= 2) EXPECT_EQ(connections(), before) << "round " << round;
  }
  for (const auto& f : quizzes) expect_loaded_exactly(f);
}

TEST_F(Lambda, TheSessionTokenIsSentAndSigned) {
  std::mutex mutex;
  std::vector<HttpRequest> seen;
  HttpServer dynamo([&](const HttpRequest& request) {
    std::lock_guard lock(mutex);
    seen.push_back(request);
    return HttpResponse{200,
                        {{"Content-Type", "application/x-amz-json-1.0"}},
                        R"({"Table":{"TableName":"quiz","TableStatus":"ACTIVE"}})"};
  });
  auto env = lambda_env();
  env["DYNAMODB_ENDPOINT_URL"] = "http://" + dynamo.address();
  auto daemon = start_lambda(env);
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mutex);
    return !seen.empty();
  }));
  std::lock_guard lock(mutex);
  const auto& request = seen.front();
  EXPECT_EQ(request.header("x-amz-target"), "DynamoDB_20120810.DescribeTable");
  EXPECT_EQ(request.header("x-amz-security-token"), "lambda-token-do-not-log");
  auto authorization = request.header("authorization");
  EXPECT_THAT(authorization, HasSubstr("AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/"));
  EXPECT_THAT(authorization, HasSubstr("/us-east-1/dynamodb/aws4_request"));
  EXPECT_THAT(authorization, HasSubstr("x-amz-security-token"));
  EXPECT_THAT(authorization, Not(HasSubstr("lambda-secret-do-not-log")));
}

TEST_F(Lambda, TheZipRunsInAnEmptyRoot) {
  if (::geteuid() != 0) GTEST_SKIP() << "chroot needs root";
  auto root = stack.root() / "empty-root";
  std::filesystem::create_directories(root / "var" / "task");
  std::filesystem::create_directories(root / "question-sets");
  auto unzip = std::system(
      ("cd '" + (root / "var" / "task").string() + "' && unzip -q '" + lambda_zip() + "'").c_str());
  ASSERT_EQ(unzip, 0);
  // Nothing else in the root: no /lib, no /usr, no /etc, no /proc.
  std::set<std::string> top;
  for (const auto& entry : std::filesystem::directory_iterator(root))
    top.insert(entry.path().filename().string());
  EXPECT_EQ(top, (std::set<std::string>{"var", "question-sets"}));

  auto f = contract_quiz(random_id());
  stack.redis().pipeline(f.redis);
  files::QuestionFiles(root / "question-sets").write(core::QuizId(f.quiz_id), f.question_file);
  auto env = lambda_env();
  env["QUESTION_SET_PATH"] = "/question-sets";
  Process process({}, env, "/var/task/bootstrap", root.string());
  auto id = api.invoke(sqs_event({{"m1", event(f.quiz_id), "g"}, {"m2", "not an event", "h"}}));
  auto answer = api.answer(id, 30s);
  ASSERT_TRUE(answer) << process.stderr_text();
  EXPECT_EQ(failures(*answer), (std::set<std::string>{"m2"}));
  EXPECT_EQ(*stack.item(f.quiz_id), f.expected_item);
  EXPECT_EQ(stack.redis_count(f.keys), 0u);
  EXPECT_FALSE(std::filesystem::exists(root / "question-sets" / (f.quiz_id + ".json")));
}

}  // namespace
}  // namespace qrl::testing
