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

// Who owns the directory, how it may be used, and who the loader is: what an operator needs to
// fix a volume the loader may not use.
std::string ownership(const std::filesystem::path& directory) {
  std::string out = "directory '" + directory.string() + "'";
  struct stat info {};
  if (::stat(directory.c_str(), &info) == 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%03o", static_cast<unsigned>(info.st_mode & 07777));
    out += " is owned by uid " + std::to_string(info.st_uid) + " gid " + std::to_string(info.st_gid) +
           " with mode " + mode;
  }
  return out + "; the loader runs as uid " + std::to_string(::geteuid()) + " gid " +
         std::to_string(::getegid());
}

// ENOENT is the quiz's state. A permission refused (EACCES, EPERM) or a read-only volume (EROFS)
// is the deployment's: the volume belongs to another user (the platform's question-set writer
// runs as root), and no retry of any quiz fixes that. Anything else (EIO, ENOSPC...) is the
// volume's state and may pass.
core::Error io_error(core::Stage stage, const std::string& what, const std::filesystem::path& path) {
  const int error = errno;
  std::string message = what + " '" + path.string() + "': " + std::strerror(error);
  if (error == EACCES || error == EPERM || error == EROFS) {
    return core::environment_error(stage, message + " (" + ownership(path.parent_path()) + ")",
                                   core::Code::kQuestionSetPermission);
  }
  return core::transient_error(stage, message);
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

std::filesystem::path QuestionFiles::path_of(const core::QuizId& quiz_id) const {
  return directory_ / (quiz_id.str() + ".json");
}

std::optional<std::string> QuestionFiles::read(const core::QuizId& quiz_id) {
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
  // Read straight into the text, asking for a byte more than the file's size: a read that comes
  // back short with the whole size read has met the end, so a file that did not grow is read in
  // one call (a short read before that, on a network volume say, reads on).
  std::string text;
  std::size_t asked = static_cast<std::size_t>(info.st_size) + 1;
  for (;;) {
    const std::size_t had = text.size();
    text.resize(had + asked);
    ssize_t n = ::read(file.fd, text.data() + had, asked);
    if (n < 0) {
      text.resize(had);
      if (errno == EINTR) continue;
      throw io_error(core::Stage::kRead, "cannot read question set", path);
    }
    text.resize(had + static_cast<std::size_t>(n));
    if (text.size() > max_bytes_) throw too_big(text.size());  // it grew while we read
    if (n == 0) break;
    const bool short_read = static_cast<std::size_t>(n) < asked;
    if (short_read && text.size() >= static_cast<std::size_t>(info.st_size)) break;  // the end, no 0-byte read
    asked = 65536;
  }
  return text;
}

void QuestionFiles::check_access() const {
  struct stat info {};
  if (::stat(directory_.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
    throw core::environment_error(core::Stage::kSetup, "'" + directory_.string() + "' is not a directory");
  }
  // The loader reads the files and deletes them once loaded: it must read, write and search.
  if (::access(directory_.c_str(), R_OK | W_OK | X_OK) != 0) {
    throw core::environment_error(core::Stage::kSetup,
                                  "the loader cannot delete question sets: " + ownership(directory_),
                                  core::Code::kQuestionSetPermission);
  }
}

void QuestionFiles::remove(const core::QuizId& quiz_id) {
  auto path = path_of(quiz_id);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    throw io_error(core::Stage::kDelete, "cannot delete question set", path);
  }
}

void QuestionFiles::write(const core::QuizId& quiz_id, const std::string& text) {
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
