#include "daemon/stop_signals.h"

#include <pthread.h>
#include <signal.h>

#include "log/log.h"

namespace qrl::daemon {

StopSignals::StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int signal : {SIGTERM, SIGINT, SIGUSR2}) sigaddset(&set, signal);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  thread_ = std::thread([this, set] {
    for (;;) {
      int signal = 0;
      if (sigwait(&set, &signal) != 0) continue;
      if (signal == SIGUSR2) return;  // our own wake-up at exit
      int n = ++count_;
      log::info(n == 1 ? "stop requested: draining" : "second stop request: exiting now",
                {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"}});
    }
  });
}

StopSignals::~StopSignals() {
  pthread_kill(thread_.native_handle(), SIGUSR2);
  thread_.join();
}

}  // namespace qrl::daemon
