#include "progress/progress.h"

#include <unistd.h>

#include <chrono>

#include "log/log.h"

namespace qrl::progress {

namespace {

constexpr std::chrono::milliseconds kRedraw{200};

std::string seconds_text(double seconds) {
  const auto s = static_cast<long long>(seconds + 0.5);
  if (s < 60) return std::to_string(s) + " s";
  if (s < 3600) return std::to_string(s / 60) + " min " + std::to_string(s % 60) + " s";
  return std::to_string(s / 3600) + " h " + std::to_string((s % 3600) / 60) + " min";
}

}  // namespace

Progress::Progress(std::string what, std::string unit, std::optional<std::size_t> total, const core::Clock& clock,
                   std::FILE* out, bool terminal)
    : what_(std::move(what)), unit_(std::move(unit)), total_(total), clock_(clock), out_(out), terminal_(terminal),
      started_(clock.now()) {
  if (terminal_) log::before_each_line([this] { erase(); });
}

Progress Progress::on_stderr(std::string what, std::string unit, std::optional<std::size_t> total,
                             const core::Clock& clock) {
  return Progress(std::move(what), std::move(unit), total, clock, stderr, ::isatty(STDERR_FILENO) != 0);
}

Progress::~Progress() { finish(); }

std::string Progress::line() const {
  std::string text = what_ + ": " + std::to_string(done_) + (total_ ? "/" + std::to_string(*total_) : "") + " " + unit_;
  const double elapsed = std::chrono::duration<double>(clock_.now() - started_).count();
  if (elapsed > 0.5 && done_ > 0) {
    const double rate = static_cast<double>(done_) / elapsed;
    char r[32];
    std::snprintf(r, sizeof r, rate < 10 ? "%.1f" : "%.0f", rate);
    text += std::string(", ") + r + "/s";
    if (total_ && *total_ > done_) text += ", " + seconds_text(static_cast<double>(*total_ - done_) / rate) + " left";
  }
  return text;
}

void Progress::advance(std::size_t n) {
  done_ += n;
  if (!terminal_) return;
  const auto now = clock_.now();
  if (drawn_ && now - last_draw_ < kRedraw && !(total_ && done_ >= *total_)) return;
  last_draw_ = now;
  drawn_ = true;
  std::fprintf(out_, "\r%s\x1b[K", line().c_str());
  std::fflush(out_);
}

void Progress::erase() {
  if (!drawn_) return;
  std::fprintf(out_, "\r\x1b[K");
  std::fflush(out_);
  drawn_ = false;
}

void Progress::clear() {
  if (terminal_) erase();
}

void Progress::finish() {
  if (!terminal_) return;
  log::before_each_line(nullptr);
  erase();
  terminal_ = false;
}

}  // namespace qrl::progress
