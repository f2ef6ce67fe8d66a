#include "core/ids.h"

#include <ostream>
#include <string>

#include "core/error.h"
#include "core/utf8.h"

namespace qrl::core {

bool is_valid_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > kMaxIdLength) return false;
  for (char c : id) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string printable(std::string_view untrusted) {
  constexpr std::size_t kMax = 80;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "'";
  std::size_t i = 0;
  while (i < untrusted.size() && i < kMax) {
    auto c = static_cast<unsigned char>(untrusted[i]);
    auto n = utf8_sequence_length(untrusted, i);
    if (c < 0x20 || c == 0x7f || c == '\'' || c == '\\' || n == 0) {
      // Control characters, quotes and bytes that are not UTF-8: escaped, so a message (a log
      // line, a dead letter's header) is always valid UTF-8 text.
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
      ++i;
    } else {
      out.append(untrusted, i, n);
      i += n;
    }
  }
  if (untrusted.size() > kMax) out += "...";
  out += "'";
  return out;
}

void require_valid_id(std::string_view id, std::string_view what) {
  if (!is_valid_id(id)) {
    throw invalid_data(Stage::kValidate, std::string("invalid ") + std::string(what) + " " + printable(id) +
                                             ": expected 1 to 64 characters of [A-Za-z0-9_-]");
  }
}

QuizId::QuizId(std::string_view id) : id_(id) { require_valid_id(id_, "quiz id"); }

std::ostream& operator<<(std::ostream& out, const QuizId& id) { return out << id.id_; }

std::string reused_id(std::string_view quiz_id, std::string_view start_epoch) {
  return std::string(quiz_id) + "@" + std::string(start_epoch);
}

}  // namespace qrl::core
