#pragma once
// Crash points for the fault-injection tests: with QRL_FAILPOINT=<name> in its environment the
// process kills itself with SIGKILL the first time it reaches that point, exactly as a crash
// there would leave things. Unset (always, outside the tests), a failpoint is one comparison.
//   after-read          the quiz's header is read, nothing written
//   between-parts       the first continuation item of a split quiz is written, no other
//   after-write         the item (the head, for a split quiz) is written, no source deleted
//   after-file-delete   the question file is deleted, no Redis key
//   mid-delete          the first round trip of a quiz's UNLINKs is done, not the others
//   before-ack          everything is done but the message is not acked

#include <string_view>

namespace qrl::pipeline {

void failpoint(std::string_view name) noexcept;

}  // namespace qrl::pipeline
