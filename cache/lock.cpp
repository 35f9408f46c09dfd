#include "cache/lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>

namespace hfaudit::cache {

namespace {

using util::ErrorCode;
using util::make_error;
using util::Result;
using util::UniqueFd;

Result<UniqueFd> open_lock_file(const std::string& path) {
  // 0664 like the filelock files huggingface_hub leaves, so a group sharing a
  // cache can lock too. O_NOFOLLOW: a planted symlink must not make us create
  // or truncate a file elsewhere.
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0664));
  if (!fd.valid()) return util::errno_error(path, "open lock file", errno);
  return fd;
}

int flock_op(LockMode mode) {
  return mode == LockMode::exclusive ? LOCK_EX : LOCK_SH;
}

bool valid_lock_name(std::string_view name) {
  if (name.empty() || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

}  // namespace

Result<FileLock> FileLock::acquire(const std::string& path, LockMode mode,
                                   std::optional<std::chrono::milliseconds> timeout) {
  UniqueFd fd = HFAUDIT_TRY(open_lock_file(path));
  if (!timeout) {
    while (::flock(fd.get(), flock_op(mode)) != 0) {
      if (errno != EINTR) return util::errno_error(path, "flock", errno);
    }
    return FileLock(std::move(fd), path);
  }
  // flock() has no timed variant: poll with a capped exponential back-off,
  // which costs nothing measurable next to a download.
  const auto deadline = std::chrono::steady_clock::now() + *timeout;
  auto pause = std::chrono::milliseconds(1);
  for (;;) {
    if (::flock(fd.get(), flock_op(mode) | LOCK_NB) == 0) return FileLock(std::move(fd), path);
    if (errno != EWOULDBLOCK && errno != EINTR) return util::errno_error(path, "flock", errno);
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      return make_error(ErrorCode::io, path + ": timed out after " +
                                           std::to_string(timeout->count()) +
                                           " ms waiting for the lock");
    }
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(pause, deadline - now));
    pause = std::min(pause * 2, std::chrono::milliseconds(100));
  }
}

Result<std::optional<FileLock>> FileLock::try_acquire(const std::string& path, LockMode mode) {
  UniqueFd fd = HFAUDIT_TRY(open_lock_file(path));
  for (;;) {
    if (::flock(fd.get(), flock_op(mode) | LOCK_NB) == 0) {
      return std::optional<FileLock>(FileLock(std::move(fd), path));
    }
    if (errno == EWOULDBLOCK) return std::optional<FileLock>();
    if (errno != EINTR) return util::errno_error(path, "flock", errno);
  }
}

Result<std::string> lock_path(const Layout& layout, std::string_view name) {
  if (!valid_lock_name(name)) {
    return make_error(ErrorCode::invalid_argument, "invalid lock name: " + std::string(name));
  }
  return layout.locks_dir() + "/" + std::string(name) + ".lock";
}

Result<FileLock> lock_named(const Layout& layout, std::string_view name, LockMode mode,
                            std::optional<std::chrono::milliseconds> timeout) {
  return FileLock::acquire(HFAUDIT_TRY(lock_path(layout, name)), mode, timeout);
}

Result<std::optional<FileLock>> try_lock_named(const Layout& layout, std::string_view name,
                                               LockMode mode) {
  return FileLock::try_acquire(HFAUDIT_TRY(lock_path(layout, name)), mode);
}

}  // namespace hfaudit::cache
