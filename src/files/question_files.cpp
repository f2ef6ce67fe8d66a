#include "files/question_files.h"

#include <fcntl.h>
#include <sys/stat.h>
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

// What a path is when it is not a regular file, for the error.
const char* kind_of(mode_t mode) {
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  return "not a regular file";
}

core::Error not_a_file(const std::filesystem::path& path, mode_t mode) {
  return core::invalid_data(core::Stage::kRead,
                            "question set '" + path.filename().string() + "' is " + kind_of(mode) +
                                ", not a regular file in the question-set directory",
                            path.filename().string());
}

QuestionFiles::QuestionFiles(std::filesystem::path directory, std::size_t max_bytes)
    : directory_(std::move(directory)), max_bytes_(max_bytes) {}

std::filesystem::path QuestionFiles::path_of(const std::string& quiz_id) const {
  core::require_valid_id(quiz_id, "quiz id");
  return directory_ / (quiz_id + ".json");
}

std::optional<std::string> QuestionFiles::read(const std::string& quiz_id) {
  auto path = path_of(quiz_id);
  // Look first without following or opening (opening a FIFO blocks, opening some devices acts),
  // then open without following and without blocking, and check again what was opened.
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) {
    if (errno == ENOENT) return std::nullopt;
    throw io_error(core::Stage::kRead, "cannot inspect question set", path);
  }
  if (!S_ISREG(info.st_mode)) throw not_a_file(path, info.st_mode);
  FdCloser file{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)};
  if (file.fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    if (errno == ELOOP) throw not_a_file(path, S_IFLNK);
    throw io_error(core::Stage::kRead, "cannot open question set", path);
  }
  if (::fstat(file.fd, &info) != 0) throw io_error(core::Stage::kRead, "cannot inspect question set", path);
  if (!S_ISREG(info.st_mode)) throw not_a_file(path, info.st_mode);
  auto too_big = [&](std::size_t size) {
    return core::invalid_data(core::Stage::kRead,
                              "question set '" + path.filename().string() + "' is " + std::to_string(size) +
                                  " bytes, over the limit of " + std::to_string(max_bytes_) +
                                  " (question-set.max_bytes)",
                              path.filename().string());
  };
  if (static_cast<std::size_t>(info.st_size) > max_bytes_)
    throw too_big(static_cast<std::size_t>(info.st_size));
  std::string text;
  text.reserve(static_cast<std::size_t>(info.st_size));
  char buffer[65536];
  for (;;) {
    ssize_t n = ::read(file.fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw io_error(core::Stage::kRead, "cannot read question set", path);
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > max_bytes_) throw too_big(text.size());  // it grew while we read
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
