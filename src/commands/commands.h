#pragma once
// The bodies of the one-shot commands: main() parses their options and calls one of these. Each
// prints what it did on stdout and returns the process's exit code: 0 done, 1 failed (serve,
// lambda, check, seed and dlq have rooms of their own).

#include <cstddef>
#include <string>
#include <vector>

#include "config/config.h"
#include "report/output.h"
#include "sweep/sweep.h"

namespace qrl::commands {

constexpr int kExitFailure = 1;

// `load`: the named quizzes, once each, without a queue; a line per quiz.
int load(config::Config config, const std::vector<std::string>& ids);

// `sweep`: a line per quiz found, then the summary table.
int sweep(config::Config config, sweep::Options options);

using Output = report::Output;

// `show`: a loaded quiz (a split quiz as the one item it stands for): by default the report of
// report/quiz_report.h, sized to the terminal.
int show(config::Config config, const std::string& id, Output output = Output::kText);

// `list`: the loaded quizzes, newest first; with ids, those and the quizzes stored beside them.
struct ListOptions {
  std::size_t limit = 50;
  std::vector<std::string> ids;
  Output output = Output::kText;
};
int list(config::Config config, const ListOptions& options);

}  // namespace qrl::commands
