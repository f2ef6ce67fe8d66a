#include "files/question_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/error.h"
#include "core/ids.h"

namespace qrl::files {

namespace {

struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

// ENOENT is the quiz's state; anything else (EIO, EACCES on a remounted volume...) is the
// volume's and may pass.
core::Error io_error(core::Stage stage, const std::string& what, const std::filesystem::path& path) {
  return core::transient_error(stage, what + " '" + path.string() + "': " + std::strerror(errno));
}

}  // namespace

QuestionFiles::QuestionFiles(std::filesystem::path directory) : directory_(std::move(directory)) {}

std::filesystem::path QuestionFiles::path_of(const std::string& quiz_id) const {
  core::require_valid_id(quiz_id, "quiz id");
  return directory_ / (quiz_id + ".json");
}

std::optional<std::string> QuestionFiles::read(const std::string& quiz_id) {
  auto path = path_of(quiz_id);
  FdCloser file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    throw io_error(core::Stage::kRead, "cannot open question set", path);
  }
  std::string text;
  char buffer[65536];
  for (;;) {
    ssize_t n = ::read(file.fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw io_error(core::Stage::kRead, "cannot read question set", path);
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  return text;
}

void QuestionFiles::remove(const std::string& quiz_id) {
  auto path = path_of(quiz_id);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    throw io_error(core::Stage::kDelete, "cannot delete question set", path);
  }
}

void QuestionFiles::write(const std::string& quiz_id, const std::string& text) {
  auto path = path_of(quiz_id);
  auto temp = path;
  temp += ".tmp";
  {
    FdCloser file{::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
    if (file.fd < 0) throw io_error(core::Stage::kSetup, "cannot create", temp);
    std::size_t done = 0;
    while (done < text.size()) {
      ssize_t n = ::write(file.fd, text.data() + done, text.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw io_error(core::Stage::kSetup, "cannot write", temp);
      }
      done += static_cast<std::size_t>(n);
    }
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) throw io_error(core::Stage::kSetup, "cannot rename", temp);
}

}  // namespace qrl::files
