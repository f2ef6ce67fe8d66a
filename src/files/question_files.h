#pragma once
// The question-set directory: <path>/<quiz id>.json. The quiz id is validated before a path is
// built from it, so no id can name a file outside the directory.

#include <filesystem>
#include <optional>
#include <string>

#include "pipeline/ports.h"

namespace qrl::files {

class QuestionFiles final : public pipeline::QuestionStore {
 public:
  explicit QuestionFiles(std::filesystem::path directory);

  std::optional<std::string> read(const std::string& quiz_id) override;
  void remove(const std::string& quiz_id) override;
  void write(const std::string& quiz_id, const std::string& text);  // for seed and tests

  std::filesystem::path path_of(const std::string& quiz_id) const;

 private:
  std::filesystem::path directory_;
};

}  // namespace qrl::files
