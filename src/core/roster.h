#pragma once
// Who is a participant of a quiz (docs/contract.md, "Who is a participant"): a
// leaderboard member with a stop time and an answer for every selected question. The producer
// announces a quiz only once every member has every answer, so at load time a member is one of:
//   - a participant: every answer and a stop time;
//   - finishing: every answer, no stop time yet (its handler writes it a moment later): the
//     quiz is not ready, and is retried shortly;
//   - a late joiner: answers missing, so it joined after the quiz ended: left out of the item,
//     its keys deleted with the quiz's.
// Decided from which keys exist: before any value is read, or from the values of every
// participant key read at once, where a key that does not exist has no value. Pure.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/quiz.h"

namespace qrl::core {

// The keys whose existence decides, for each leaderboard member in leaderboard order: its
// stopTime, then one answer per selected question index. Made one at a time (a big quiz has
// hundreds of thousands). The header's ids and indexes must be valid (keys::validate_participants).
class RosterKeys {
 public:
  RosterKeys(std::string_view quiz_id, const QuizHeader& header);
  std::size_t size() const noexcept { return members_ * stride_; }
  std::string operator[](std::size_t i) const;

 private:
  std::string quiz_id_;
  const QuizHeader& header_;
  std::size_t members_ = 0;
  std::size_t stride_ = 1;
};

struct Roster {
  QuizHeader participants;           // the header with only the participants on its leaderboard
  std::vector<std::string> finishing;  // user ids with every answer and no stop time
  std::vector<std::string> late;       // user ids missing answers
};

// `present[i]` says whether RosterKeys[i] exists.
Roster take_roster(const QuizHeader& header, const std::vector<bool>& present);
// From the values of keys::participant_keys(quiz_id, header), in that layout; an empty optional
// is a key that does not exist.
Roster take_roster(const QuizHeader& header, const std::vector<std::optional<std::string>>& participant_values);

// The transient error of a quiz with finishing members: retried after a short delay; when the
// retries run out the message is dead-lettered with this reason.
Error finishing_error(std::string_view quiz_id, const Roster& roster);

}  // namespace qrl::core
