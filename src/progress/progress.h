#pragma once
// One line of progress for long work a person waits on (`seed`, `load` of many quizzes, `sweep`,
// `dlq replay`): what is done, the total where it is known, the rate and the time left, drawn
// again in place at most five times a second on a terminal, and cleared at the end. Where
// stderr is not a terminal (a pipe, a log) nothing is drawn: the command's summary says what was
// done. A log line written while the progress line shows erases it first; the next step draws
// it again.

#include <cstddef>
#include <cstdio>
#include <optional>
#include <string>

#include "core/clock.h"

namespace qrl::progress {

class Progress {
 public:
  // `what`: "seeding", "loading"...; `unit`: what is counted, plural ("quizzes", "keys").
  Progress(std::string what, std::string unit, std::optional<std::size_t> total, const core::Clock& clock,
           std::FILE* out, bool terminal);
  // On stderr, drawn only when it is a terminal.
  static Progress on_stderr(std::string what, std::string unit, std::optional<std::size_t> total,
                            const core::Clock& clock = core::system_clock());
  // Not copied or moved: while drawn, the log erases the line before each of its own lines.
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  ~Progress();

  void advance(std::size_t n = 1);
  void set_total(std::size_t total) { total_ = total; }
  // Erases the line, to print something else; the next advance draws it again.
  void clear();
  // Clears the line for good.
  void finish();

  // "seeding: 120/500 quizzes, 48/s, 8 s left", as it would be drawn now.
  std::string line() const;

 private:
  void erase();

  std::string what_, unit_;
  std::optional<std::size_t> total_;
  const core::Clock& clock_;
  std::FILE* out_;
  bool terminal_;
  bool drawn_ = false;
  std::size_t done_ = 0;
  core::Clock::time_point started_;
  core::Clock::time_point last_draw_{};
};

}  // namespace qrl::progress
