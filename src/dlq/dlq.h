#pragma once
// The dead-letter queue, for people: list what is in it and why, and move it back to the main
// queue once the data has been repaired.

#include <cstddef>
#include <cstdio>

#include "config/config.h"
#include "report/output.h"

namespace qrl::dlq {

// Prints the dead letters (position, quiz, event, stage, failed at, attempts, reason) and leaves
// them all in the queue: an aligned table (text), a line each of key=value fields (tsv), or a
// JSON array (json). Returns how many there are.
std::size_t list(const config::Config& config, std::FILE* out, report::Output output = report::Output::kText);

// Moves up to `limit` of the dead letters there now (0: all of them) back to the main queue, body byte for
// byte: each is confirmed by the broker in the main queue before it is acked in the dead-letter queue, so an
// interruption can duplicate a message (which the loader absorbs) but never lose one.
// Returns how many were moved.
std::size_t replay(const config::Config& config, std::size_t limit);

}  // namespace qrl::dlq
