#pragma once
// How wide text is on a terminal, in columns: wide characters (CJK, most emoji) take two,
// combining marks none. Names in a quiz come from people: emoji, right-to-left scripts.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace qrl::report {

std::size_t display_width(std::string_view utf8);

// `text` cut to at most `width` columns (an ellipsis ends what was cut), then padded with spaces
// to exactly `width` on the right (or the left, for numbers).
std::string fit(std::string_view text, std::size_t width, bool right_align = false);

// Text of a right-to-left script set in a left-to-right table: isolated (U+2068 ... U+2069), so
// the terminal does not reorder the columns around it. Text without such letters is unchanged.
std::string isolated(std::string_view text);

// `text` broken at spaces into lines of at most `width` columns (a word longer than a line is cut).
std::vector<std::string> wrap(std::string_view text, std::size_t width);

}  // namespace qrl::report
