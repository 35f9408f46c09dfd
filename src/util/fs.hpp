// Small POSIX file-system helpers shared by the cache: an owning file
// descriptor, durable atomic replacement of small files, directory fsync, and
// the repo-path safety rule. All failures are Result errors naming the path;
// nothing here prints or reads the environment.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "util/result.hpp"

namespace hfaudit::util {

// Owns a file descriptor; closes it on destruction. Move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : m_fd(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : m_fd(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return m_fd; }
  bool valid() const { return m_fd >= 0; }
  int release() {
    const int fd = m_fd;
    m_fd = -1;
    return fd;
  }
  void reset(int fd = -1);

 private:
  int m_fd = -1;
};

// Error value for a failed system call: "<path>: <what>: <strerror(errnum)>",
// code not_found for ENOENT, io otherwise.
Error errno_error(const std::string& path, std::string_view what, int errnum);

// Creates `path` and missing parents (mode 0755 & ~umask). Existing
// directories are fine.
Status create_directories(const std::string& path);

// fsync() of a directory, so a rename or create inside it survives a crash.
Status fsync_directory(const std::string& path);

// Writes `content` to `path` so that readers see either the old file or the
// complete new one, also across a crash: temp file in the same directory,
// write, fsync, rename over `path`, fsync the directory. `mode` is applied
// to the new file.
Status write_file_atomic(const std::string& path, std::string_view content, mode_t mode = 0644);

// Reads a whole (small) file.
Result<std::string> read_file(const std::string& path);

// `length` random lowercase hex characters (OpenSSL RAND_bytes), for unique
// temp names.
std::string random_hex(size_t length);

// The rule huggingface_hub applies to repo file names before touching disk,
// made strict: true only for a non-empty relative path of '/'-separated
// segments where no segment is empty, "." or "..", and the text holds no
// backslash, NUL, leading '/', drive letter ("C:") or UNC/device prefix.
bool is_safe_relative_path(std::string_view path);

}  // namespace hfaudit::util
