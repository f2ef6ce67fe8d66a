#pragma once
// AWS credentials: where they come from (a Source) and the process-wide holder of the current
// ones (a Provider). Temporary credentials are refreshed by a background thread before they
// expire, so no quiz waits for a credential endpoint; a request that AWS rejects with
// ExpiredTokenException asks for one immediate refresh.
//
// The secret key and session token live in Credentials and nowhere else: no function here
// formats them, and logs name only the source and the expiry.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "core/clock.h"

namespace qrl::credentials {

using Clock = std::chrono::system_clock;

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;                // secret
  std::string session_token;                    // secret; empty for long-term keys
  std::optional<Clock::time_point> expiration;  // none: they do not expire
  std::uint64_t generation = 0;                 // set by the Provider: which fetch made them
};

// One place credentials come from. fetch() throws a core::Error: environment when the source
// refuses (no such role, bad token), transient when it cannot be reached.
class Source {
 public:
  virtual ~Source() = default;
  virtual std::string name() const = 0;  // for logs, e.g. "environment", "web identity"
  virtual Credentials fetch() = 0;
};

// When credentials fetched at `fetched` that expire at `expires` are refreshed: 5 minutes
// before they expire (as the AWS SDKs do), or halfway through a lifetime shorter than 10 minutes.
Clock::time_point refresh_time(Clock::time_point fetched, Clock::time_point expires);

// From when credentials count as expired for signing: 10 seconds before their expiry (a request
// signed now must still be valid when it arrives), or a quarter of a shorter lifetime.
Clock::time_point stale_time(Clock::time_point fetched, Clock::time_point expires);

// "2026-11-28T15:04:05Z", with optional fractional seconds and a "+00:00" zone; empty when the
// text is not such a UTC time.
std::optional<Clock::time_point> parse_expiration(std::string_view text);

class Provider {
 public:
  // Fetches once (throws what the source throws), then keeps them fresh, on `clock`'s time.
  explicit Provider(std::unique_ptr<Source> source, core::Clock& clock = core::system_clock());
  ~Provider();
  Provider(const Provider&) = delete;
  Provider& operator=(const Provider&) = delete;

  // Credentials valid now; throws an environment core::Error when they have expired and the
  // source cannot give new ones.
  std::shared_ptr<const Credentials> current();
  // AWS said the credentials of `generation` expired: fetch new ones unless another thread
  // already did.
  void refresh_after_rejection(std::uint64_t generation);

  const std::string& source_name() const noexcept { return source_name_; }

 private:
  void refresh_locked(std::unique_lock<std::mutex>& lock);
  void run_refresher();

  std::unique_ptr<Source> source_;
  std::string source_name_;
  Clock::time_point now() const;
  core::Clock& clock_;
  std::mutex mutex_;
  std::mutex fetch_mutex_;  // one fetch at a time; held without mutex_ so readers never wait on it
  std::condition_variable wake_;
  std::shared_ptr<const Credentials> current_;
  Clock::time_point fetched_at_;
  std::string last_error_;
  bool stopping_ = false;
  std::thread refresher_;
};

}  // namespace qrl::credentials
