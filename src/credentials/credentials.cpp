#include "credentials/credentials.h"

#include <algorithm>
#include <charconv>

#include "core/error.h"
#include "log/log.h"

namespace qrl::credentials {

namespace {

using std::chrono::minutes;
using std::chrono::seconds;

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool digits(std::string_view text, std::size_t pos, std::size_t n, unsigned& out) {
  if (pos + n > text.size()) return false;
  auto [end, ec] = std::from_chars(text.data() + pos, text.data() + pos + n, out);
  return ec == std::errc() && end == text.data() + pos + n;
}

std::string format_time(Clock::time_point t) {
  auto s = std::chrono::duration_cast<seconds>(t.time_since_epoch()).count();
  return std::to_string(s);
}

}  // namespace

std::optional<Clock::time_point> parse_expiration(std::string_view text) {
  unsigned year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (text.size() < 20 || !digits(text, 0, 4, year) || text[4] != '-' || !digits(text, 5, 2, month) ||
      text[7] != '-' || !digits(text, 8, 2, day) || (text[10] != 'T' && text[10] != 't') ||
      !digits(text, 11, 2, hour) || text[13] != ':' || !digits(text, 14, 2, minute) || text[16] != ':' ||
      !digits(text, 17, 2, second)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
    return std::nullopt;
  auto rest = text.substr(19);
  if (!rest.empty() && rest.front() == '.') {
    std::size_t n = 1;
    while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') ++n;
    if (n == 1) return std::nullopt;
    rest.remove_prefix(n);
  }
  if (rest != "Z" && rest != "z" && rest != "+00:00") return std::nullopt;
  std::int64_t epoch = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
  return Clock::time_point(seconds(epoch));
}

Clock::time_point refresh_time(Clock::time_point fetched, Clock::time_point expires) {
  const auto lifetime = expires - fetched;
  if (lifetime < minutes(10)) return fetched + lifetime / 2;
  return expires - minutes(5);
}

Clock::time_point stale_time(Clock::time_point fetched, Clock::time_point expires) {
  return expires - std::min<Clock::duration>(seconds(10), (expires - fetched) / 4);
}

Provider::Provider(std::unique_ptr<Source> source, core::Clock& clock)
    : source_(std::move(source)), source_name_(source_->name()), clock_(clock) {
  auto first = std::make_shared<Credentials>(source_->fetch());
  first->generation = 1;
  fetched_at_ = now();
  current_ = std::move(first);
  log::info("AWS credentials",
            {{"source", source_name_},
             {"expires", current_->expiration ? format_time(*current_->expiration) : "never"}});
  if (current_->expiration) refresher_ = std::thread([this] { run_refresher(); });
}

Clock::time_point Provider::now() const {
  return std::chrono::time_point_cast<Clock::duration>(clock_.wall());
}

Provider::~Provider() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (refresher_.joinable()) refresher_.join();
}

std::shared_ptr<const Credentials> Provider::current() {
  std::unique_lock lock(mutex_);
  auto credentials = current_;
  // Expired (the refresher failed, or the process was frozen, as Lambda does between
  // invocations): this caller fetches, and fails only if the source fails too.
  if (credentials->expiration && now() >= stale_time(fetched_at_, *credentials->expiration)) {
    refresh_locked(lock);
    credentials = current_;
    if (now() >= *credentials->expiration) {
      throw core::environment_error(
          core::Stage::kWrite,
          "AWS credentials from " + source_name_ + " have expired and cannot be refreshed: " + last_error_,
          core::Code::kAwsCredentials);
    }
  }
  return credentials;
}

void Provider::refresh_after_rejection(std::uint64_t generation) {
  std::unique_lock lock(mutex_);
  if (current_->generation != generation) return;  // another thread has already refreshed
  log::warn("AWS rejected the credentials as expired; fetching new ones", {{"source", source_name_}});
  refresh_locked(lock);
}

void Provider::refresh_locked(std::unique_lock<std::mutex>& lock) {
  const auto seen = current_->generation;
  lock.unlock();
  std::lock_guard fetch(fetch_mutex_);
  lock.lock();
  if (current_->generation != seen) return;  // refreshed while we waited for the fetch lock
  lock.unlock();
  std::optional<Credentials> fresh;
  std::string error;
  try {
    fresh = source_->fetch();
  } catch (const std::exception& e) {
    error = e.what();
  }
  lock.lock();
  if (!fresh) {
    last_error_ = error;
    log::warn("cannot refresh AWS credentials", {{"source", source_name_}, {"reason", error}});
    return;
  }
  fresh->generation = seen + 1;
  current_ = std::make_shared<Credentials>(std::move(*fresh));
  fetched_at_ = now();
  last_error_.clear();
  log::info("AWS credentials refreshed",
            {{"source", source_name_},
             {"expires", current_->expiration ? format_time(*current_->expiration) : "never"}});
  wake_.notify_all();
}

void Provider::run_refresher() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (!current_->expiration) return;
    auto due = refresh_time(fetched_at_, *current_->expiration);
    if (!last_error_.empty()) {
      // The last attempt failed: try again soon, well before the credentials run out.
      auto left = *current_->expiration - now();
      due = now() + std::clamp<Clock::duration>(left / 4, seconds(1), seconds(30));
    }
    auto wait = due - now();
    if (wait > Clock::duration::zero()) {
      // The steady clock for waiting: a wall-clock jump must not wake the thread early or late.
      clock_.wait_until(lock, wake_, clock_.now() + std::chrono::duration_cast<core::Clock::duration>(wait),
                        [&] { return stopping_; });
      if (stopping_) return;
      if (now() < due) continue;
    }
    refresh_locked(lock);
  }
}

}  // namespace qrl::credentials
