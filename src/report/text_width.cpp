#include "report/text_width.h"

#include <cwchar>
#include <vector>

#include "core/utf8.h"

namespace qrl::report {

namespace {

// The code point at text[pos], whose well-formed length is `length`.
char32_t decode(std::string_view text, std::size_t pos, std::size_t length) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[pos + i]); };
  switch (length) {
    case 1: return byte(0);
    case 2: return ((byte(0) & 0x1fu) << 6) | (byte(1) & 0x3fu);
    case 3: return ((byte(0) & 0x0fu) << 12) | ((byte(1) & 0x3fu) << 6) | (byte(2) & 0x3fu);
    default:
      return ((byte(0) & 0x07u) << 18) | ((byte(1) & 0x3fu) << 12) | ((byte(2) & 0x3fu) << 6) | (byte(3) & 0x3fu);
  }
}

// Columns of one code point, by Unicode's East Asian Width and general categories, in the
// ranges terminals agree on (wcwidth would depend on the process's locale).
std::size_t columns(char32_t c) {
  if (c == 0x200d || (c >= 0x0300 && c <= 0x036f) || (c >= 0xfe00 && c <= 0xfe0f) || (c >= 0x1f3fb && c <= 0x1f3ff) ||
      (c >= 0x2066 && c <= 0x2069) || c == 0x200b || c == 0x200e || c == 0x200f || (c >= 0x0591 && c <= 0x05bd) ||
      (c >= 0x064b && c <= 0x065f)) {
    return 0;  // joiners, combining marks, variation selectors, skin tones, direction marks
  }
  if ((c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf) || (c >= 0xac00 && c <= 0xd7a3) ||
      (c >= 0xf900 && c <= 0xfaff) || (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) ||
      (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x1f300 && c <= 0x1f64f) || (c >= 0x1f900 && c <= 0x1f9ff) ||
      (c >= 0x1f680 && c <= 0x1f6ff) || (c >= 0x1fa70 && c <= 0x1faff) || (c >= 0x20000 && c <= 0x3fffd) ||
      (c >= 0x2600 && c <= 0x26ff && c != 0x2640 && c != 0x2642)) {
    return 2;
  }
  return c < 0x20 ? 0 : 1;
}

bool right_to_left(char32_t c) {
  return (c >= 0x0590 && c <= 0x08ff) || (c >= 0xfb1d && c <= 0xfdff) || (c >= 0xfe70 && c <= 0xfeff) ||
         (c >= 0x10800 && c <= 0x10fff) || (c >= 0x1e800 && c <= 0x1efff);
}

template <typename Each>
void for_each_code_point(std::string_view text, Each each) {
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t length = core::utf8_sequence_length(text, pos);
    const char32_t c = length == 0 ? 0xfffd : decode(text, pos, length);
    if (length == 0) length = 1;
    if (!each(c, pos, length)) return;
    pos += length;
  }
}

}  // namespace

std::size_t display_width(std::string_view utf8) {
  std::size_t width = 0;
  for_each_code_point(utf8, [&](char32_t c, std::size_t, std::size_t) {
    width += columns(c);
    return true;
  });
  return width;
}

std::string fit(std::string_view text, std::size_t width, bool right_align) {
  std::string out;
  std::size_t used = 0;
  if (display_width(text) <= width) {
    out.assign(text);
    used = display_width(text);
  } else if (width > 0) {
    for_each_code_point(text, [&](char32_t c, std::size_t pos, std::size_t length) {
      if (used + columns(c) > width - 1) return false;
      out.append(text.substr(pos, length));
      used += columns(c);
      return true;
    });
    out += "\u2026";
    ++used;
  }
  const std::string pad(width > used ? width - used : 0, ' ');
  return right_align ? pad + out : out + pad;
}

std::string isolated(std::string_view text) {
  bool rtl = false;
  for_each_code_point(text, [&](char32_t c, std::size_t, std::size_t) {
    rtl = right_to_left(c);
    return !rtl;
  });
  return rtl ? "\u2068" + std::string(text) + "\u2069" : std::string(text);
}

std::vector<std::string> wrap(std::string_view text, std::size_t width) {
  std::vector<std::string> lines;
  std::string line;
  std::size_t at = 0;
  while (at < text.size()) {
    auto end = text.find(' ', at);
    if (end == std::string_view::npos) end = text.size();
    std::string word(text.substr(at, end - at));
    at = end + 1;
    if (word.empty()) continue;
    if (display_width(word) > width) word = fit(word, width);
    const std::size_t needed = display_width(line) + (line.empty() ? 0 : 1) + display_width(word);
    if (!line.empty() && needed > width) {
      lines.push_back(line);
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty() || lines.empty()) lines.push_back(line);
  return lines;
}

}  // namespace qrl::report
