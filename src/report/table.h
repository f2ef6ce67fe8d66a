#pragma once
// An aligned table for a person (`list`, `dlq list`): a header, the rows, each column as wide as
// its widest cell; the widest text column gives way when the table would pass `width`.

#include <cstddef>
#include <string>
#include <vector>

namespace qrl::report {

using Row = std::vector<std::string>;

std::string table(const Row& header, const std::vector<Row>& rows, const std::vector<bool>& right_aligned,
                  std::size_t width);

}  // namespace qrl::report
