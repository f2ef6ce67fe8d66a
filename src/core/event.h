#pragma once
// The quiz complete event (docs/contract.md, "The event"): the body of a RabbitMQ message or of one SQS
// record. Only data.quizId drives the work; id and time are carried for logs.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/ids.h"

namespace qrl::core {

inline constexpr std::string_view kEventType = "com.ryangwaite.mc-speedrun.quiz.complete.v1";
inline constexpr std::string_view kEventSource = "/mc-speedrun/quiz-complete";

struct Event {
  std::string id;       // event id, for tracing; may be empty
  std::string time;     // as sent; may be empty
  QuizId quiz_id;
};

// Throws a permanent Error (stage parse or validate) naming what is wrong.
Event parse_event(std::string_view body);

// An event's `time` (RFC 3339 UTC as the producer writes it, "2022-03-12T07:49:21Z", optionally
// with a fraction of a second): empty when it is anything else.
std::optional<std::chrono::system_clock::time_point> event_time(std::string_view time);

// The body the quiz servers publish for a quiz, as the seeder and tests send it.
std::string make_event(std::string_view event_id, std::string_view time, std::string_view quiz_id);

}  // namespace qrl::core
