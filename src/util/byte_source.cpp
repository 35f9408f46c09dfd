#include "util/byte_source.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace hfaudit::util {

namespace {

size_t copy_window(std::string_view bytes, uint64_t offset, char* out, size_t length) {
  if (offset >= bytes.size()) return 0;
  const size_t n = static_cast<size_t>(std::min<uint64_t>(length, bytes.size() - offset));
  std::memcpy(out, bytes.data() + offset, n);
  return n;
}

class FileSource final : public ByteSource {
 public:
  FileSource(int fd, uint64_t size, std::string path)
      : m_fd(fd), m_size(size), m_path(std::move(path)) {}
  ~FileSource() override { ::close(m_fd); }
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  uint64_t size() const override { return m_size; }

  Result<size_t> read_at(uint64_t offset, char* out, size_t length) const override {
    if (offset >= m_size) return size_t{0};
    length = static_cast<size_t>(std::min<uint64_t>(length, m_size - offset));
    size_t done = 0;
    while (done < length) {
      const ssize_t n = ::pread(m_fd, out + done, length - done, static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return make_error(ErrorCode::io, m_path + ": " + std::strerror(errno));
      }
      if (n == 0) break;  // the file shrank under us: report what we have
      done += static_cast<size_t>(n);
    }
    return done;
  }

 private:
  int m_fd;
  uint64_t m_size;
  std::string m_path;
};

}  // namespace

Result<std::string> ByteSource::read_string(uint64_t offset, size_t length) const {
  if (offset >= size()) return std::string();
  length = static_cast<size_t>(std::min<uint64_t>(length, size() - offset));
  std::string out(length, '\0');
  auto n = read_at(offset, out.data(), length);
  if (!n) return n.error();
  out.resize(*n);
  return out;
}

Result<std::unique_ptr<ByteSource>> open_file_source(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    return make_error(err == ENOENT ? ErrorCode::not_found : ErrorCode::io, std::strerror(err));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return make_error(ErrorCode::io, std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return make_error(ErrorCode::io, "not a regular file");
  }
  return std::unique_ptr<ByteSource>(
      std::make_unique<FileSource>(fd, static_cast<uint64_t>(st.st_size), path));
}

Result<size_t> MemorySource::read_at(uint64_t offset, char* out, size_t length) const {
  return copy_window(m_bytes, offset, out, length);
}

Result<size_t> BorrowedSource::read_at(uint64_t offset, char* out, size_t length) const {
  return copy_window(m_bytes, offset, out, length);
}

SliceSource::SliceSource(const ByteSource& parent, uint64_t offset, uint64_t length)
    : m_parent(parent),
      m_offset(std::min(offset, parent.size())),
      m_length(std::min(length, parent.size() - std::min(offset, parent.size()))) {}

Result<size_t> SliceSource::read_at(uint64_t offset, char* out, size_t length) const {
  if (offset >= m_length) return size_t{0};
  length = static_cast<size_t>(std::min<uint64_t>(length, m_length - offset));
  return m_parent.read_at(m_offset + offset, out, length);
}

}  // namespace hfaudit::util
