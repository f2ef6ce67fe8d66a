#include "report/table.h"

#include <algorithm>

#include "report/text_width.h"

namespace qrl::report {

std::string table(const Row& header, const std::vector<Row>& rows, const std::vector<bool>& right_aligned,
                  std::size_t width) {
  std::vector<std::size_t> widths(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) {
    widths[c] = display_width(header[c]);
    for (const auto& row : rows) widths[c] = std::max(widths[c], display_width(row[c]));
  }
  // Too wide: the widest left-aligned column (a name) gives way, down to 12 columns.
  std::size_t total = 0;
  for (auto w : widths) total += w + 2;
  std::size_t widest = 0;
  for (std::size_t c = 0; c < widths.size(); ++c) {
    if (!right_aligned[c] && widths[c] > widths[widest]) widest = c;
  }
  if (total > width && widths[widest] > 12) widths[widest] -= std::min(widths[widest] - 12, total - width);

  std::string out;
  auto emit = [&](const Row& row) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      const bool last = c + 1 == row.size();
      std::string cell = fit(row[c], widths[c], right_aligned[c]);
      line += (c ? "  " : "") + isolated(cell);
      if (last) line.erase(line.find_last_not_of(' ') + 1);
    }
    out += line + "\n";
  };
  emit(header);
  for (const auto& row : rows) emit(row);
  return out;
}

}  // namespace qrl::report
