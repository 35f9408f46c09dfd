// Cross-process locks: flock() on HFAUDIT_HOME/locks/<name>.lock, so several
// processes sharing one cache (parallel CI jobs) serialise on the same blob
// and never download it twice: the second waits, then finds it committed.
//
// flock() locks belong to the open file description, so two FileLocks on the
// same name exclude each other even inside one process (threads included).
// The lock file is left behind after release (deleting it would race with a
// process that just opened it). Locks vanish when the holder dies, so a
// crashed process never leaves the cache locked.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "cache/layout.hpp"
#include "util/fs.hpp"
#include "util/result.hpp"

namespace hfaudit::cache {

enum class LockMode { exclusive, shared };

class FileLock {
 public:
  // Blocks until the lock is held. With a timeout, gives up after it with
  // ErrorCode::io ("timed out"); without one, waits forever.
  static util::Result<FileLock> acquire(const std::string& path,
                                        LockMode mode = LockMode::exclusive,
                                        std::optional<std::chrono::milliseconds> timeout = {});
  // Never blocks: std::nullopt when another holder has it.
  static util::Result<std::optional<FileLock>> try_acquire(const std::string& path,
                                                           LockMode mode = LockMode::exclusive);

  FileLock(FileLock&&) noexcept = default;
  FileLock& operator=(FileLock&&) noexcept = default;
  ~FileLock() = default;  // closing the descriptor releases the lock

  const std::string& path() const { return m_path; }
  bool held() const { return m_fd.valid(); }
  void release() { m_fd.reset(); }

 private:
  FileLock(util::UniqueFd fd, std::string path) : m_fd(std::move(fd)), m_path(std::move(path)) {}

  util::UniqueFd m_fd;
  std::string m_path;
};

// HFAUDIT_HOME/locks/<name>.lock. `name` must match [A-Za-z0-9._-]+ (fails
// with invalid_argument otherwise) so it can never escape locks/.
util::Result<std::string> lock_path(const Layout& layout, std::string_view name);

// Names used across hfaudit, so every process agrees on them.
// Held (exclusive) by gc; pull and verify hold it shared while they run.
inline constexpr std::string_view k_gc_lock_name = "gc";

// acquire()/try_acquire() by name.
util::Result<FileLock> lock_named(const Layout& layout, std::string_view name,
                                  LockMode mode = LockMode::exclusive,
                                  std::optional<std::chrono::milliseconds> timeout = {});
util::Result<std::optional<FileLock>> try_lock_named(const Layout& layout, std::string_view name,
                                                     LockMode mode = LockMode::exclusive);

}  // namespace hfaudit::cache
