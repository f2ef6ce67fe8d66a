#pragma once
// The settle window (docs/design.md, "The settle window"): a quiz is read no sooner than
// `settle` after its event's time, and no later than `settle` after the event reached us,
// whatever the two machines' clocks say. Both shells ask this one function.

#include <chrono>
#include <optional>

namespace qrl::core {

// How long to wait from `now` (wall clock) before reading a quiz announced at `announced`
// (empty: unknown, so the whole window).
std::chrono::milliseconds settle_wait(std::chrono::milliseconds settle, std::chrono::system_clock::time_point now,
                                      std::optional<std::chrono::system_clock::time_point> announced);

}  // namespace qrl::core
