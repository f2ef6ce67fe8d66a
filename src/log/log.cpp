#include "log/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

#include "core/clock.h"
#include "core/item.h"

namespace qrl::log {

namespace {

std::atomic<Level> g_level{Level::kInfo};
std::atomic<Format> g_format{Format::kText};
std::mutex g_mutex;
std::function<void()> g_before_line;  // under g_mutex
thread_local std::vector<std::pair<std::string, std::string>> t_context;

std::string_view level_name(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "info";
}

std::string timestamp() {
  auto now = core::system_clock().wall();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[40];
  std::size_t n = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buffer + n, sizeof buffer - n, ".%03dZ", static_cast<int>(ms % 1000));
  return buffer;
}

void append_text_value(std::string& out, std::string_view value) {
  bool plain = !value.empty() && value.find_first_of(" \"=\\\n\r\t") == std::string_view::npos;
  if (plain) {
    out += value;
  } else {
    core::append_json_string(out, value);
  }
}

void append_field(std::string& out, Format format, std::string_view key, std::string_view value) {
  if (format == Format::kJson) {
    out += ',';
    core::append_json_string(out, key);
    out += ':';
    core::append_json_string(out, value);
  } else {
    out += ' ';
    out += key;
    out += '=';
    append_text_value(out, value);
  }
}

}  // namespace

void configure(Level level, Format format) {
  g_level = level;
  g_format = format;
}

void configure(std::string_view level, std::string_view format) {
  Level l = level == "debug"   ? Level::kDebug
            : level == "warn"  ? Level::kWarn
            : level == "error" ? Level::kError
                               : Level::kInfo;
  configure(l, format == "json" ? Format::kJson : Format::kText);
}

bool enabled(Level level) {
  return level >= g_level.load();
}

void write(Level level, std::string_view message, std::span<const Field> fields) {
  if (!enabled(level)) return;
  Format format = g_format.load();
  std::string line;
  line.reserve(160);
  if (format == Format::kJson) {
    line += "{\"ts\":\"" + timestamp() + "\",\"level\":\"" + std::string(level_name(level)) + "\",\"msg\":";
    core::append_json_string(line, message);
  } else {
    line += "ts=" + timestamp() + " level=" + std::string(level_name(level)) + " msg=";
    append_text_value(line, message);
  }
  // A key set again (by an inner context, or by the line itself) is written once: the
  // innermost value.
  for (std::size_t i = 0; i < t_context.size(); ++i) {
    const auto& key = t_context[i].first;
    bool again = false;
    for (std::size_t j = i + 1; j < t_context.size() && !again; ++j) again = t_context[j].first == key;
    for (const auto& field : fields) again = again || (field.first == key && !field.second.empty());
    if (!again) append_field(line, format, key, t_context[i].second);
  }
  for (const auto& [k, v] : fields) {
    if (!v.empty()) append_field(line, format, k, v);
  }
  if (format == Format::kJson) line += '}';
  line += '\n';
  std::lock_guard lock(g_mutex);
  if (g_before_line) g_before_line();
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

void before_each_line(std::function<void()> hook) {
  std::lock_guard lock(g_mutex);
  g_before_line = std::move(hook);
}

Context::Context(std::initializer_list<std::pair<std::string_view, std::string_view>> fields)
    : previous_size_(t_context.size()) {
  for (const auto& [k, v] : fields) t_context.emplace_back(k, v);
}

Context::~Context() {
  t_context.resize(previous_size_);
}

}  // namespace qrl::log
