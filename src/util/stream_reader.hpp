// Sequential, buffered reading of a ByteSource: the access pattern of every
// opcode walker and header parser. Reads never throw and never read past the
// end: a short read returns false and leaves the position at the end, so a
// parser on hostile input only has to check return values.
#pragma once

#include <cstdint>
#include <string>

#include "util/byte_source.hpp"

namespace hfaudit::util {

class StreamReader {
 public:
  explicit StreamReader(const ByteSource& source, uint64_t start = 0);

  uint64_t position() const { return m_pos; }
  uint64_t size() const { return m_source.size(); }
  uint64_t remaining() const { return m_pos < size() ? size() - m_pos : 0; }
  bool at_end() const { return m_pos >= size(); }

  // True when the last failed read was caused by an I/O error rather than by
  // the end of the data.
  bool io_failed() const { return m_io_failed; }

  // Next byte, or -1 at the end.
  int peek();
  // Reads one byte into `out`; false at the end.
  bool read_u8(uint8_t& out);
  // Little-endian fixed-width integers; false if the data ends first.
  bool read_u16le(uint16_t& out);
  bool read_u32le(uint32_t& out);
  bool read_u64le(uint64_t& out);
  // Exactly `n` bytes appended to `out`; false (with whatever was available
  // appended) if the data ends first. Callers bound `n` before calling.
  bool read_bytes(uint64_t n, std::string& out);
  // Bytes up to and excluding `delim`, at most `max` bytes; consumes the
  // delimiter. False if the delimiter is not found within `max` bytes.
  bool read_line(std::string& out, uint64_t max, char delim = '\n');
  // Skips `n` bytes without reading them (tensor data); false if past the end.
  bool skip(uint64_t n);
  void seek(uint64_t position);

 private:
  bool fill();

  const ByteSource& m_source;
  uint64_t m_pos;
  std::string m_buffer;
  uint64_t m_buffer_start = 0;  // source offset of m_buffer[0]
  bool m_io_failed = false;
};

}  // namespace hfaudit::util
