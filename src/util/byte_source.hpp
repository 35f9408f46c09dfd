// Random-access, read-only views of bytes: a file on disk, an owned buffer, or
// a window into another source (a stored zip member). Scanners read model files
// through these so that multi-GB files are never loaded whole: a scanner asks
// for exactly the bytes it parses and skips tensor data by offset.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace hfaudit::util {

class ByteSource {
 public:
  virtual ~ByteSource() = default;

  // Total number of bytes.
  virtual uint64_t size() const = 0;

  // Copies up to `length` bytes starting at `offset` into `out`. Returns the
  // number of bytes copied: fewer than `length` only at the end of the source.
  // Fails with ErrorCode::io when the underlying file cannot be read.
  virtual Result<size_t> read_at(uint64_t offset, char* out, size_t length) const = 0;

  // Convenience: reads [offset, offset+length) clamped to the source; on an I/O
  // error returns the error.
  Result<std::string> read_string(uint64_t offset, size_t length) const;
};

// Opens a regular file for reading. Fails with not_found / io, naming the path.
Result<std::unique_ptr<ByteSource>> open_file_source(const std::string& path);

// Owns its bytes.
class MemorySource final : public ByteSource {
 public:
  explicit MemorySource(std::string bytes) : m_bytes(std::move(bytes)) {}
  uint64_t size() const override { return m_bytes.size(); }
  Result<size_t> read_at(uint64_t offset, char* out, size_t length) const override;
  const std::string& bytes() const { return m_bytes; }

 private:
  std::string m_bytes;
};

// Borrows bytes that must outlive it.
class BorrowedSource final : public ByteSource {
 public:
  explicit BorrowedSource(std::string_view bytes) : m_bytes(bytes) {}
  uint64_t size() const override { return m_bytes.size(); }
  Result<size_t> read_at(uint64_t offset, char* out, size_t length) const override;

 private:
  std::string_view m_bytes;
};

// A window [offset, offset+length) of a parent source, clamped to the parent's
// size. The parent must outlive the slice.
class SliceSource final : public ByteSource {
 public:
  SliceSource(const ByteSource& parent, uint64_t offset, uint64_t length);
  uint64_t size() const override { return m_length; }
  Result<size_t> read_at(uint64_t offset, char* out, size_t length) const override;

 private:
  const ByteSource& m_parent;
  uint64_t m_offset;
  uint64_t m_length;
};

}  // namespace hfaudit::util
