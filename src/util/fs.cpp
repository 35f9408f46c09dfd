#include "util/fs.hpp"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace hfaudit::util {

namespace {

std::string parent_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status write_all(int fd, std::string_view data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(path, "write", errno);
    }
    done += static_cast<size_t>(n);
  }
  return Ok{};
}

}  // namespace

void UniqueFd::reset(int fd) {
  if (m_fd >= 0) ::close(m_fd);
  m_fd = fd;
}

Error errno_error(const std::string& path, std::string_view what, int errnum) {
  return make_error(errnum == ENOENT ? ErrorCode::not_found : ErrorCode::io,
                    path + ": " + std::string(what) + ": " + std::strerror(errnum));
}

Status create_directories(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return make_error(ErrorCode::io, path + ": create directories: " + ec.message());
  return Ok{};
}

Status fsync_directory(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return errno_error(path, "open directory", errno);
  if (::fsync(fd.get()) != 0) return errno_error(path, "fsync directory", errno);
  return Ok{};
}

Status write_file_atomic(const std::string& path, std::string_view content, mode_t mode) {
  const std::string dir = parent_of(path);
  const std::string temp = path + "." + random_hex(8) + ".tmp";
  UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd.valid()) return errno_error(temp, "create", errno);
  auto fail = [&](Error error) -> Status {
    ::unlink(temp.c_str());
    return error;
  };
  if (auto st = write_all(fd.get(), content, temp); !st) return fail(st.error());
  // open() applied the umask; the caller asked for an exact mode.
  if (::fchmod(fd.get(), mode) != 0) return fail(errno_error(temp, "chmod", errno));
  if (::fsync(fd.get()) != 0) return fail(errno_error(temp, "fsync", errno));
  fd.reset();
  if (::rename(temp.c_str(), path.c_str()) != 0) return fail(errno_error(path, "rename", errno));
  return fsync_directory(dir);
}

Result<std::string> read_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error(path, "open", errno);
  std::string out;
  std::array<char, 4096> buffer{};
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(path, "read", errno);
    }
    if (n == 0) break;
    out.append(buffer.data(), static_cast<size_t>(n));
  }
  return out;
}

std::string random_hex(size_t length) {
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string bytes((length + 1) / 2, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(bytes.size())) !=
      1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  std::string out;
  out.reserve(length);
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out.push_back(k_digits[b >> 4]);
    out.push_back(k_digits[b & 0x0f]);
  }
  out.resize(length);
  return out;
}

bool is_safe_relative_path(std::string_view path) {
  if (path.empty()) return false;
  if (path.find('\0') != std::string_view::npos) return false;
  // Backslashes are separators on Windows: "a\..\b" and "\\server\share"
  // must not reach a Windows consumer of the same cache.
  if (path.find('\\') != std::string_view::npos) return false;
  if (path.front() == '/') return false;
  // Drive-relative or absolute Windows forms ("C:", "C:x", "C:/x").
  if (path.size() >= 2 && path[1] == ':' &&
      ((path[0] >= 'a' && path[0] <= 'z') || (path[0] >= 'A' && path[0] <= 'Z'))) {
    return false;
  }
  size_t start = 0;
  for (;;) {
    const size_t slash = path.find('/', start);
    const std::string_view segment = path.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (segment.empty() || segment == "." || segment == "..") return false;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return true;
}

}  // namespace hfaudit::util
