#include "health/health.h"

#include <civetweb.h>

#include <condition_variable>

#include "core/error.h"
#include "log/log.h"

namespace qrl::health {

void State::tick() {
  std::lock_guard lock(mutex_);
  last_tick_ = clock_.now();
}

void State::set(const std::string& part, bool ready, const std::string& reason) {
  std::lock_guard lock(mutex_);
  auto it = parts_.find(part);
  const bool changed = it == parts_.end() ? !ready : it->second.first != ready;
  if (changed && ready) log::info("ready again", {{"part", part}});
  if (changed && !ready) log::warn("not ready", {{"part", part}, {"reason", reason}});
  parts_[part] = {ready, ready ? "" : reason};
}

bool State::alive(std::chrono::milliseconds max_silence) const {
  std::lock_guard lock(mutex_);
  return clock_.now() - last_tick_ <= max_silence;
}

void State::note(const std::string& part, const std::string& text) {
  std::lock_guard lock(mutex_);
  notes_[part] = text;
}

std::pair<bool, std::string> State::ready() const {
  std::lock_guard lock(mutex_);
  bool all = !parts_.empty();
  std::string text;
  for (const auto& [part, state] : parts_) {
    all = all && state.first;
    auto note = notes_.find(part);
    const bool noted = state.first && note != notes_.end() && !note->second.empty();
    text += part + ": " + (state.first ? "ok" : state.second) + (noted ? ", " + note->second : "") + "\n";
  }
  return {all, text};
}

Prober::Prober(State& state, std::vector<std::pair<std::string, Check>> checks,
               std::chrono::milliseconds interval)
    : state_(state), checks_(std::move(checks)), interval_(interval) {
  thread_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    while (!stop_) {
      lock.unlock();
      for (auto& [part, check] : checks_) {
        try {
          check();
          state_.set(part, true);
        } catch (const std::exception& e) {
          state_.set(part, false, e.what());
        }
      }
      lock.lock();
      wake_.wait_for(lock, interval_, [this] { return stop_; });
    }
  });
}

Prober::~Prober() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

struct Endpoint::Impl {
  const State& state;
  const metrics::Registry& registry;
  std::chrono::milliseconds max_silence;
  mg_context* context = nullptr;

  static int reply(mg_connection* connection, int status, const char* reason, const char* type,
                   const std::string& body) {
    mg_printf(connection,
              "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
              "Connection: close\r\n\r\n",
              status, reason, type, body.size());
    mg_write(connection, body.data(), body.size());
    return status;
  }

  static int metrics(mg_connection* connection, void* data) {
    auto* self = static_cast<Impl*>(data);
    return reply(connection, 200, "OK", "text/plain; version=0.0.4; charset=utf-8",
                 self->registry.prometheus_text());
  }

  static int healthz(mg_connection* connection, void* data) {
    auto* self = static_cast<Impl*>(data);
    if (self->state.alive(self->max_silence)) return reply(connection, 200, "OK", "text/plain", "alive\n");
    return reply(connection, 503, "Service Unavailable", "text/plain",
                 "the AMQP thread has not turned its loop for over " +
                     std::to_string(self->max_silence.count()) + " ms\n");
  }

  static int readyz(mg_connection* connection, void* data) {
    auto* self = static_cast<Impl*>(data);
    auto [ready, text] = self->state.ready();
    if (ready) return reply(connection, 200, "OK", "text/plain", text);
    return reply(connection, 503, "Service Unavailable", "text/plain", text);
  }
};

Endpoint::Endpoint(int port, const State& state, const metrics::Registry& registry,
                   std::chrono::milliseconds max_silence)
    : impl_(std::make_unique<Impl>(Impl{state, registry, max_silence})) {
  mg_init_library(0);
  const std::string ports = std::to_string(port);
  const char* options[] = {"listening_ports", ports.c_str(), "num_threads", "2", nullptr};
  mg_callbacks callbacks{};
  // civetweb would print its errors to stderr as it likes; they are ours to say.
  callbacks.log_message = [](const mg_connection*, const char*) { return 1; };
  impl_->context = mg_start(&callbacks, nullptr, options);
  if (impl_->context == nullptr) {
    throw core::environment_error(core::Stage::kSetup, "cannot serve metrics and health on port " + ports +
                                                           " (in use, or not allowed)");
  }
  mg_set_request_handler(impl_->context, "/metrics$", &Impl::metrics, impl_.get());
  mg_set_request_handler(impl_->context, "/healthz$", &Impl::healthz, impl_.get());
  mg_set_request_handler(impl_->context, "/readyz$", &Impl::readyz, impl_.get());
}

Endpoint::~Endpoint() {
  if (impl_->context != nullptr) mg_stop(impl_->context);
}

}  // namespace qrl::health
