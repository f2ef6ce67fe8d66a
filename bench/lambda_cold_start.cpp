// Lambda mode's cold start and batch time, against the stand-in Runtime API and the local
// stack: starts the real binary `runs` times and measures, each time, process start to its
// first /next request, and the time from queuing a 10-record batch (10 quizzes of P x Q) to
// its answer. Prints the median and the worst.

#include <signal.h>

#include <algorithm>
#include <cstdio>

#include <CLI/CLI.hpp>

#include <thread>

#include "core/event.h"
#include "core/sample.h"
#include "http/client.h"
#include "support/harness.h"
#include "support/runtime_api.h"

using namespace qrl;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

double ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

void report(const char* what, std::vector<double> values) {
  std::sort(values.begin(), values.end());
  std::printf("%-28s median %.1f ms, min %.1f ms, max %.1f ms (%zu runs)\n", what, values[values.size() / 2],
              values.front(), values.back(), values.size());
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 20, participants = 20, questions = 10;
  CLI::App app{"Cold start and 10-record batch time of `lambda`"};
  app.add_option("-r,--runs", runs, "Process starts")->capture_default_str();
  app.add_option("-p,--participants", participants, "Participants per quiz")->capture_default_str();
  app.add_option("-q,--questions", questions, "Questions per quiz")->capture_default_str();
  std::string binary = QRL_BINARY;
  app.add_option("--binary", binary, "The loader to run (default: this build's; another: before)");
  CLI11_PARSE(app, argc, argv);
  http::global_init();

  testing::Stack stack;
  stack.dynamo().ensure_table();  // as a deployed function finds it
  std::vector<double> to_next, batch;
  for (int run = 0; run < runs; ++run) {
    nlohmann::json event = {{"Records", nlohmann::json::array()}};
    for (int i = 0; i < 10; ++i) {
      auto quiz = core::make_sample_quiz(static_cast<std::uint64_t>(run + 1) * 7777u,
                                         static_cast<std::uint64_t>(i), {participants, questions});
      stack.write_sample(quiz);
      event["Records"].push_back({{"messageId", "m" + std::to_string(i)},
                                  {"body", core::make_event("e" + std::to_string(i), "t", quiz.id)},
                                  {"attributes", {{"MessageGroupId", "g" + std::to_string(i)}}},
                                  {"eventSourceARN", "arn:aws:sqs:us-east-1:1:quiz-complete.fifo"}});
    }
    testing::RuntimeApi api;
    auto env = stack.lambda_env(api.address());
    env["LOADER_LOG_LEVEL"] = "warn";
    // The batch's own time, not the settle window's: the events carry no time the window could
    // count from, so with it each record would wait the whole window (bench_e2e -s measures it).
    env["LOADER_SETTLE_MS"] = "0";
    auto started = Clock::now();
    testing::Process process({"lambda"}, env, binary);
    while (!api.first_next()) {
      if (!process.running()) {
        std::fprintf(stderr, "lambda exited:\n%s\n", process.stderr_text().c_str());
        return 1;
      }
      std::this_thread::sleep_for(100us);
    }
    to_next.push_back(ms(*api.first_next() - started));
    auto invoked = Clock::now();
    auto answer = api.answer(api.invoke(event.dump()), 60s);
    if (!answer || answer->body != R"({"batchItemFailures":[]})") {
      std::fprintf(stderr, "unexpected answer: %s\n", answer ? answer->body.c_str() : "none");
      return 1;
    }
    batch.push_back(ms(Clock::now() - invoked));
    process.signal(SIGKILL);
    process.wait(5s);
  }
  std::printf("lambda, 10-record batches of %d x %d quizzes, on the local stack\n", participants, questions);
  report("start to first /next:", to_next);
  report("10-record batch answered:", batch);
  return 0;
}
