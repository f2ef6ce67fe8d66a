#pragma once
// Operator logs: one line per event on stderr, `key=value` (text) or one JSON object (json),
// flushed at once (Lambda and container runtimes collect stderr line by line). A thread can
// carry context fields (the quiz id and event id of its job, the Lambda request id) that are
// added to each of its lines. Callers never pass secrets or whole payloads.

#include <functional>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace qrl::log {

enum class Level { kDebug, kInfo, kWarn, kError };
enum class Format { kText, kJson };

using Field = std::pair<std::string_view, std::string_view>;

void configure(Level level, Format format);
void configure(std::string_view level, std::string_view format);
bool enabled(Level level);

void write(Level level, std::string_view message, std::span<const Field> fields);
// Called before each line is written (a progress line on the terminal erases itself); empty: none.
void before_each_line(std::function<void()> hook);
inline void write(Level level, std::string_view message, std::initializer_list<Field> fields = {}) {
  write(level, message, std::span<const Field>(fields.begin(), fields.size()));
}
inline void debug(std::string_view m, std::initializer_list<Field> f = {}) {
  write(Level::kDebug, m, f);
}
inline void info(std::string_view m, std::initializer_list<Field> f = {}) {
  write(Level::kInfo, m, f);
}
inline void warn(std::string_view m, std::initializer_list<Field> f = {}) {
  write(Level::kWarn, m, f);
}
inline void error(std::string_view m, std::initializer_list<Field> f = {}) {
  write(Level::kError, m, f);
}

// Adds fields to every line this thread writes until it goes out of scope.
class Context {
 public:
  Context(std::initializer_list<std::pair<std::string_view, std::string_view>> fields);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

 private:
  std::size_t previous_size_;
};

}  // namespace qrl::log
