#include "core/settle.h"

#include <algorithm>

namespace qrl::core {

std::chrono::milliseconds settle_wait(std::chrono::milliseconds settle, std::chrono::system_clock::time_point now,
                                      std::optional<std::chrono::system_clock::time_point> announced) {
  if (settle.count() <= 0) return std::chrono::milliseconds(0);
  if (!announced) return settle;
  // The event's age by the wall clocks of two machines, bounded both ways: a clock ahead or
  // behind can neither hold a quiz past the window nor skip it for a fresh event.
  const auto age = std::chrono::duration_cast<std::chrono::milliseconds>(now - *announced);
  return std::clamp(settle - age, std::chrono::milliseconds(0), settle);
}

}  // namespace qrl::core
