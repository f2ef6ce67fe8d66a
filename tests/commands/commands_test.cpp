// The commands for people: load, seed, show, list, --help.

#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "core/sample.h"
#include "files/question_files.h"
#include "report/quiz_report.h"
#include "report/text_width.h"
#include "support/harness.h"

namespace qrl::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A quiz that never stopped (the host left): reported as abandoned once idle that long, deleted
// only when asked. Keys that are not the contract's are never touched.
TEST(Commands, SweepReportsAnAbandonedQuizAndDeletesItOnlyWhenAsked) {
  Stack stack;
  // A database of its own: --delete-abandoned deletes every idle quiz without a stop time.
  auto redis = stack.config().redis;
  redis.db = 1 + static_cast<int>(std::random_device{}() % 15);
  stack.use_redis(redis);
  auto f = contract_quiz(random_id());
  stack.write(f);
  stack.redis().command({"DEL", f.quiz_id + ":stopTime"});
  stack.redis().command({"SET", f.quiz_id + ":notOurs", "1"});
  // Used just now: in play.
  auto swept = run({"sweep", "--pace-ms", "0"}, stack.env());
  EXPECT_THAT(swept.out, HasSubstr(f.quiz_id + "\tin play")) << swept.err;
  // Unused for 4 s, over an abandoned limit of 2.6 s: abandoned, kept. (The walk asks how long
  // the keys were idle before it reads them, which is a use.)
  std::this_thread::sleep_for(4s);
  swept = run({"sweep", "--abandoned-days", "0.00003", "--pace-ms", "0"}, stack.env());
  EXPECT_THAT(swept.out, HasSubstr(f.quiz_id + "\tabandoned"));
  EXPECT_THAT(swept.out, HasSubstr("kept (--delete-abandoned deletes it)"));
  EXPECT_TRUE(stack.redis_has(f.quiz_id + ":quizName"));
  EXPECT_TRUE(stack.file_exists(f.quiz_id));
  swept = run({"sweep", "--abandoned-days", "0", "--delete-abandoned", "--pace-ms", "0"}, stack.env());
  EXPECT_THAT(swept.out, HasSubstr(f.quiz_id + "\tabandoned"));
  EXPECT_THAT(swept.out, HasSubstr("deleted (--delete-abandoned)"));
  EXPECT_EQ(stack.redis_count(f.keys), 0u);
  EXPECT_FALSE(stack.file_exists(f.quiz_id));
  EXPECT_FALSE(stack.item(f.quiz_id));
  EXPECT_TRUE(stack.redis_has(f.quiz_id + ":notOurs"));
  stack.redis().command({"DEL", f.quiz_id + ":notOurs"});
  EXPECT_THAT(swept.out, HasSubstr("sweep done"));
  EXPECT_THAT(run({"sweep", "--help"}, stack.env()).out, HasSubstr("--dry-run"));
}

TEST(Commands, LoadProcessesTheNamedQuizzesAndRejectsHostileIds) {
  Stack stack;
  auto a = contract_quiz(random_id());
  auto b = edge_quiz(random_id());
  stack.write(a);
  stack.write(b);
  stack.redis().command({"SET", "keep:me", "1"});
  auto result = run({"load", a.quiz_id, "*", b.quiz_id, "../x"}, stack.env());
  EXPECT_EQ(result.code, 1) << result.err;
  EXPECT_THAT(result.out, HasSubstr(a.quiz_id + "\tloaded"));
  EXPECT_THAT(result.out, HasSubstr(b.quiz_id + "\tloaded"));
  EXPECT_THAT(result.out, HasSubstr("*\tfailed\tinvalid quiz id '*'"));
  EXPECT_THAT(result.out, HasSubstr("../x\tfailed\tinvalid quiz id '../x'"));
  EXPECT_EQ(*stack.item(a.quiz_id), a.expected_item);
  EXPECT_EQ(*stack.item(b.quiz_id), b.expected_item);
  EXPECT_TRUE(stack.redis_has("keep:me"));
  stack.redis().command({"DEL", "keep:me"});

  // Again: the quizzes are already loaded, which is success.
  result = run({"load", a.quiz_id}, stack.env());
  EXPECT_EQ(result.code, 0);
  EXPECT_THAT(result.out, HasSubstr(a.quiz_id + "\talready loaded"));
}

TEST(Commands, SeedWritesQuizzesAndPublishesToADurableQueue) {
  Stack stack;
  auto result =
      run({"seed", "--count", "5", "--participants", "3", "--questions", "2", "--print-ids"}, stack.env());
  ASSERT_EQ(result.code, 0) << result.err;
  std::istringstream ids(result.out);
  std::string id;
  int n = 0;
  while (std::getline(ids, id)) {
    ++n;
    EXPECT_TRUE(stack.redis_has(id + ":quizName")) << id;
    EXPECT_TRUE(stack.file_exists(id)) << id;
  }
  EXPECT_EQ(n, 5);
  EXPECT_THAT(result.err, HasSubstr("seeded 5 quizzes"));
  // Declaring it as the daemon does succeeds only if seed declared it the same way.
  EXPECT_EQ(stack.queue_depth(), 5u);

  // And the daemon's `load` of them gives items of the seeded shape.
  std::istringstream again(result.out);
  std::getline(again, id);
  ASSERT_EQ(run({"load", id}, stack.env()).code, 0);
  auto item = stack.item(id);
  ASSERT_TRUE(item);
  EXPECT_EQ((*item)["Participants"]["L"].size(), 3u);
  EXPECT_EQ((*item)["Questions"]["L"].size(), 2u);
  auto shown = run({"show", id, "--output", "dynamodb"}, stack.env());
  EXPECT_EQ(shown.code, 0);
  EXPECT_EQ(nlohmann::json::parse(shown.out), *item);
  auto listed = run({"list", "--output", "tsv"}, stack.env());
  EXPECT_THAT(listed.out, HasSubstr(id + "\t"));
  auto named = run({"list", id, "nope", "--output", "tsv"}, stack.env());
  EXPECT_THAT(named.out, HasSubstr(id + "\tSample quiz 0\t3 participants\t2 questions"));
  EXPECT_THAT(named.out, HasSubstr("nope\tnot loaded"));
  EXPECT_EQ(run({"show", "nope"}, stack.env()).code, 1);
}

// `show` as a person reads it, as plain JSON and as the stored item; `list` as an aligned table,
// newest first. The contract's quiz, loaded by `load`.
TEST(Commands, ShowGivesAReportPlainJsonOrTheItemAndListATable) {
  Stack stack;
  auto f = contract_quiz(random_id());
  stack.write(f);
  ASSERT_EQ(run({"load", f.quiz_id}, stack.env()).code, 0);
  auto env = stack.env();
  env["COLUMNS"] = "72";
  auto text = run({"show", f.quiz_id}, env);
  ASSERT_EQ(text.code, 0) << text.err;
  const auto plain = report::plain(f.expected_item);
  EXPECT_THAT(text.out, HasSubstr(plain["Name"].get<std::string>() + "  (quiz " + f.quiz_id + ")"));
  EXPECT_THAT(text.out, HasSubstr("Leaderboard"));
  EXPECT_THAT(text.out, HasSubstr("     1  " + plain["Participants"][0]["Name"].get<std::string>()));
  EXPECT_THAT(text.out, HasSubstr(plain["Questions"][0]["Question"].get<std::string>().substr(0, 20)));
  std::istringstream lines(text.out);
  for (std::string line; std::getline(lines, line);) EXPECT_LE(report::display_width(line), 72u) << line;

  auto json = run({"show", f.quiz_id, "--output", "json"}, stack.env());
  ASSERT_EQ(json.code, 0) << json.err;
  EXPECT_EQ(nlohmann::json::parse(json.out), plain);
  EXPECT_TRUE(nlohmann::json::parse(json.out)["QuestionDuration"].is_number_integer());
  auto item = run({"show", f.quiz_id, "-o", "dynamodb"}, stack.env());
  EXPECT_EQ(nlohmann::json::parse(item.out), f.expected_item);
  EXPECT_EQ(run({"show", f.quiz_id, "--output", "yaml"}, stack.env()).code, 2);

  // Two quizzes, the newer listed first, the columns aligned under their header.
  auto newer = core::make_sample_quiz(static_cast<std::uint64_t>(::getpid()), 77, {3, 2});
  stack.redis().pipeline(newer.redis_commands);
  files::QuestionFiles(stack.question_dir()).write(core::QuizId(newer.id), newer.question_file);
  ASSERT_EQ(run({"load", newer.id}, stack.env()).code, 0);
  auto table = run({"list", f.quiz_id, newer.id}, env);
  ASSERT_EQ(table.code, 0) << table.err;
  std::istringstream rows(table.out);
  std::vector<std::string> lines_of_table;
  for (std::string line; std::getline(rows, line);) lines_of_table.push_back(line);
  ASSERT_EQ(lines_of_table.size(), 3u) << table.out;
  EXPECT_EQ(lines_of_table[0].rfind("ID", 0), 0u);
  const bool newer_first = (*stack.item(newer.id))["StartTime"]["S"] > f.expected_item["StartTime"]["S"];
  EXPECT_EQ(lines_of_table[1].rfind(newer_first ? newer.id : f.quiz_id, 0), 0u) << table.out;
  const auto start_column = lines_of_table[0].find("START");
  for (std::size_t i = 1; i < 3; ++i) EXPECT_EQ(lines_of_table[i].substr(start_column, 2), "20") << table.out;
  auto as_json = run({"list", f.quiz_id, "--output", "json"}, stack.env());
  EXPECT_EQ(nlohmann::json::parse(as_json.out)[0]["name"], plain["Name"]);
}

// Progress on a terminal only: `seed` and `load` of many quizzes under a pseudo-terminal
// (util-linux's script) draw the line in place; in a pipe, nothing but the summary.
TEST(Commands, ProgressIsDrawnOnATerminalOnly) {
  Stack stack;
  auto env = stack.env();
  const std::string seed = std::string(QRL_BINARY) + " seed -n 30 -p 2 -q 2 --no-publish --print-ids";
  Process on_terminal({"-qefc", seed, "/dev/null"}, env, "/usr/bin/script");
  ASSERT_EQ(on_terminal.wait(60s), std::optional<int>(0)) << on_terminal.stderr_text();
  const auto drawn = on_terminal.stdout_text();  // the terminal's every byte, stdout and stderr
  EXPECT_THAT(drawn, HasSubstr("\rseeding: "));
  EXPECT_THAT(drawn, HasSubstr("30/30 quizzes"));
  EXPECT_THAT(drawn, HasSubstr("\x1b[K"));
  std::vector<std::string> ids;
  std::istringstream lines(drawn);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();  // the terminal's line ends
    if (auto erased = line.rfind("\x1b[K"); erased != std::string::npos) line.erase(0, erased + 3);
    if (line.size() == 8 && line.find_first_not_of("0123456789abcdef") == std::string::npos) ids.push_back(line);
  }
  ASSERT_EQ(ids.size(), 30u) << drawn;

  std::vector<std::string> load = {"load"};
  load.insert(load.end(), ids.begin(), ids.begin() + 15);
  auto in_a_pipe = run(load, env, 120s);
  EXPECT_EQ(in_a_pipe.code, 0) << in_a_pipe.err;
  EXPECT_THAT(in_a_pipe.err, Not(HasSubstr("loading: ")));
  EXPECT_THAT(in_a_pipe.err, Not(HasSubstr("\x1b[K")));
  std::string loaded_on_terminal = std::string(QRL_BINARY) + " load";
  for (std::size_t i = 15; i < 30; ++i) loaded_on_terminal += " " + ids[i];
  Process loading({"-qefc", loaded_on_terminal, "/dev/null"}, env, "/usr/bin/script");
  ASSERT_EQ(loading.wait(120s), std::optional<int>(0)) << loading.stdout_text();
  EXPECT_THAT(loading.stdout_text(), HasSubstr("\rloading: "));
  for (std::size_t i = 15; i < 30; ++i) EXPECT_THAT(loading.stdout_text(), HasSubstr(ids[i] + "\tloaded"));

  auto quiet = run({"seed", "-n", "3", "-p", "2", "-q", "2", "--no-publish"}, env);
  EXPECT_EQ(quiet.code, 0);
  EXPECT_THAT(quiet.err, Not(HasSubstr("seeding: ")));
  EXPECT_THAT(quiet.err, HasSubstr("seeded 3 quizzes"));
}

TEST(Commands, EveryCommandHasHelp) {
  for (const std::vector<std::string>& command : std::vector<std::vector<std::string>>{{"serve"},
                                                                                       {"lambda"},
                                                                                       {"load"},
                                                                                       {"seed"},
                                                                                       {"show"},
                                                                                       {"list"},
                                                                                       {"check"},
                                                                                       {"probe"},
                                                                                       {"dlq"},
                                                                                       {"dlq", "list"},
                                                                                       {"dlq", "replay"}}) {
    auto args = command;
    args.push_back("--help");
    auto result = run(args, {});
    EXPECT_EQ(result.code, 0) << command.back();
    EXPECT_THAT(result.out, HasSubstr("Usage")) << command.back();
  }
  auto result = run({"--help"}, {});
  EXPECT_EQ(result.code, 0);
  EXPECT_THAT(result.out, HasSubstr("serve"));
  // Every mistake on the command line is bad usage, exit 2 (CLI11's own codes are 105 to 109).
  EXPECT_EQ(run({"frobnicate"}, {}).code, 2);
  EXPECT_EQ(run({"load"}, {}).code, 2);  // no id
  EXPECT_EQ(run({"seed", "-n", "zero"}, {}).code, 2);
  EXPECT_EQ(run({"seed", "-n", "0"}, {}).code, 2);  // out of range
  EXPECT_EQ(run({"list", "--bogus"}, {}).code, 2);
  EXPECT_EQ(run({"lambda", "-c", "x.ini"}, {}).code, 2);  // lambda reads the environment only
  EXPECT_EQ(run({"dlq"}, {}).code, 2);
  EXPECT_EQ(run({"--version"}, {}).code, 0);
}

TEST(Commands, CheckReachesEveryServerAndSaysWhichFailed) {
  Stack stack;
  stack.dynamo().ensure_table();
  auto good = run({"check"}, stack.env());
  EXPECT_EQ(good.code, 0) << good.out << good.err;
  EXPECT_EQ(count(good.out, " ok "), 4u) << good.out;
  EXPECT_THAT(good.out, HasSubstr("credentials from loader settings"));
  EXPECT_THAT(good.out, HasSubstr("is ACTIVE"));
  EXPECT_THAT(good.out, HasSubstr("answered PING"));
  // It declares nothing: the test's queue does not exist before, nor after.
  EXPECT_THAT(good.out, HasSubstr("is absent, serve creates it"));
  EXPECT_THAT(run({"check"}, stack.env()).out, HasSubstr("is absent, serve creates it"));
  auto env = stack.env();
  env["REDIS_PORT"] = "1";
  env["DYNAMODB_SECRET_ACCESS_KEY"] = "wrong-secret";
  auto bad = run({"check"}, env);
  EXPECT_EQ(bad.code, 1);
  EXPECT_EQ(count(bad.out, " ok "), 2u) << bad.out;
  EXPECT_THAT(bad.out, HasSubstr("redis         FAILED"));
  EXPECT_THAT(bad.out, HasSubstr("InvalidSignatureException"));
  EXPECT_THAT(bad.out + bad.err, Not(HasSubstr("wrong-secret")));
}

// A first start: nothing exists yet, and serve would create the table.
TEST(Commands, CheckOnAFirstStartSaysWhatServeCreates) {
  Stack stack;
  auto first = run({"check"}, stack.env());
  EXPECT_EQ(first.code, 0) << first.out << first.err;
  EXPECT_THAT(first.out, HasSubstr("' is absent, serve creates it (create_table is on)"));
  auto env = stack.env();
  env["DYNAMODB_CREATE_TABLE"] = "false";
  auto off = run({"check"}, env);
  EXPECT_EQ(off.code, 1) << off.out;
  EXPECT_THAT(off.out, HasSubstr("dynamodb      FAILED"));
  EXPECT_THAT(off.out, HasSubstr("ResourceNotFoundException"));
}

// The platform's question-set volume is written by root; a loader running as another user may
// read the files but not delete them, and check says so with the owner and the remedy.
TEST(Commands, CheckNamesTheOwnerOfAQuestionSetDirectoryTheLoaderCannotWrite) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root, to run the loader as another user";
  Stack stack;
  stack.dynamo().ensure_table();
  std::vector<std::string> args = {"--reuid=65534", "--regid=65534", "--clear-groups", QRL_BINARY, "check"};
  Process as_nobody(args, stack.env(), "/usr/bin/setpriv");
  ASSERT_EQ(as_nobody.wait(60s), std::optional<int>(1)) << as_nobody.stdout_text() << as_nobody.stderr_text();
  const auto out = as_nobody.stdout_text();
  EXPECT_THAT(out, HasSubstr("question-set  FAILED"));
  EXPECT_THAT(out, HasSubstr("is owned by uid 0 gid 0 with mode 755; the loader runs as uid 65534"));
  EXPECT_THAT(out, HasSubstr("fsGroup"));
}

TEST(Commands, AnExplicitConfigFileIsRead) {
  Stack stack;
  auto path = stack.root() / "config.ini";
  auto env = stack.env();
  std::ofstream(path) << "[redis]\nhost = 127.0.0.1\nport = " << env["REDIS_PORT"]
                      << "\n[question-set]\npath = " << stack.question_dir().string() << "\n";
  env.erase("REDIS_HOST");
  env.erase("REDIS_PORT");
  env.erase("QUESTION_SET_PATH");
  auto result = run({"seed", "--config", path.string(), "-n", "1", "--no-publish"}, env);
  EXPECT_EQ(result.code, 0) << result.err;
  result = run({"seed", "--config", (stack.root() / "absent.ini").string(), "-n", "1", "--no-publish"}, env);
  EXPECT_EQ(result.code, 2);
  EXPECT_THAT(result.err, HasSubstr("cannot read config file"));
}

}  // namespace
}  // namespace qrl::testing
