#pragma once
// The question-set directory: <path>/<quiz id>.json. The quiz id is validated before a path is
// built from it, so no id can name a file outside the directory; and only a regular file is
// read: a symbolic link (which could point anywhere), a FIFO (which would block a worker), a
// directory or a device is a permanent data error, as is a file over the size cap. A directory or
// file the loader may not read or delete (EACCES, EPERM, EROFS) is an environment failure: the
// deployment gave the loader a volume it does not own.

#include <filesystem>
#include <optional>
#include <string>

#include "pipeline/ports.h"

namespace qrl::files {

class QuestionFiles final : public pipeline::QuestionStore {
 public:
  static constexpr std::size_t kDefaultMaxBytes = std::size_t{64} << 20;
  explicit QuestionFiles(std::filesystem::path directory, std::size_t max_bytes = kDefaultMaxBytes);

  std::optional<std::string> read(const core::QuizId& quiz_id) override;
  void remove(const core::QuizId& quiz_id) override;
  void write(const core::QuizId& quiz_id, const std::string& text);  // for seed and tests
  // Throws an environment core::Error when the directory is not one the loader can read and
  // delete in (naming its owner, its mode and the loader's uid).
  void check_access() const;

  std::filesystem::path path_of(const core::QuizId& quiz_id) const;

 private:
  std::filesystem::path directory_;
  std::size_t max_bytes_;
};

}  // namespace qrl::files
