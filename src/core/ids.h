#pragma once
// Quiz and user ids arrive from outside (the event, the leaderboard, the user list) and are
// spliced into Redis keys and file paths. Upstream generates 8 hex characters; we accept 1 to
// 64 of [A-Za-z0-9_-], which leaves no room for glob characters, separators or "..".

#include <iosfwd>
#include <string>
#include <string_view>

namespace qrl::core {

inline constexpr std::size_t kMaxIdLength = 64;

bool is_valid_id(std::string_view id) noexcept;

// Throws a permanent Error naming `what` (e.g. "user id") and the offending value.
void require_valid_id(std::string_view id, std::string_view what);

// A quiz id that is valid (is_valid_id): checked once, where the id enters (the event, the
// `load` command's arguments, a key the sweep found), so every step after takes it as it is, and
// a key or a file path is never made of an id that was not.
class QuizId {
 public:
  // Throws a permanent Error (stage validate) naming the value.
  explicit QuizId(std::string_view id);

  const std::string& str() const noexcept { return id_; }
  operator std::string_view() const noexcept { return id_; }  // NOLINT: reads as the text it is

  friend bool operator==(const QuizId&, const QuizId&) = default;
  friend auto operator<=>(const QuizId&, const QuizId&) = default;
  friend bool operator==(const QuizId& id, std::string_view text) noexcept { return id.id_ == text; }
  friend std::ostream& operator<<(std::ostream& out, const QuizId& id);

 private:
  std::string id_;
};

// The item id of a quiz whose id was taken by an older quiz: `<quiz id>@<start epoch seconds>`.
// '@' is never in a quiz id (nor '#', which continuation items use), so it is never a quiz's
// own id, and the start time keeps two quizzes under one id apart.
std::string reused_id(std::string_view quiz_id, std::string_view start_epoch);

// A printable, bounded rendering of untrusted text for error messages and logs.
std::string printable(std::string_view untrusted);

}  // namespace qrl::core
