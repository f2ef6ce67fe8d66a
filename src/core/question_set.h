#pragma once
// The question set file of docs/contract.md ("The question set file"): a JSON array of
// {"question": text, "options": [text, ...], "answers": [integer, ...]}, of which a quiz takes
// the entries at its selected indexes. The usual file is read by nlohmann's SAX parser straight
// into the selected entries, with no DOM and nothing kept of the others; anything that reading
// does not expect goes to the DOM reading, which decides and names the problem. The two give
// exactly the same entries for every file (a differential test and a fuzzer hold them to it):
//   - the whole file is JSON (nothing after the array, no NUL byte), an array;
//   - each selected entry an object with "question" a string, "options" a list of strings and
//     "answers" a list of 64-bit signed integers; other members are ignored;
//   - every selected index inside the array.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace qrl::core {

struct QuestionEntry {
  std::size_t index = 0;  // its place in the set
  std::string text;
  std::vector<std::string> options;
  std::vector<std::int64_t> answers;
  bool operator==(const QuestionEntry&) const = default;
};

// The fast path: the entries at `indexes`, in their order, or empty when it cannot tell.
std::optional<std::vector<QuestionEntry>> scan_questions(std::string_view file,
                                                         std::span<const std::size_t> indexes);

// The DOM reading: the entries at `indexes`. Throws a permanent Error naming `file_name`, or
// `indexes_key` (with the index as written, `index_texts[i]`) for an index outside the set.
std::vector<QuestionEntry> read_questions(std::string_view file, std::span<const std::size_t> indexes,
                                          std::span<const std::string> index_texts,
                                          const std::string& file_name, const std::string& indexes_key);

// Both, in that order, for the selected indexes as Redis holds them.
std::vector<QuestionEntry> select_questions(std::string_view file, std::span<const std::string> index_texts,
                                            const std::string& file_name, const std::string& indexes_key);

}  // namespace qrl::core
