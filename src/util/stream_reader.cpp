#include "util/stream_reader.hpp"

#include <algorithm>

namespace hfaudit::util {

namespace {
constexpr size_t k_buffer_size = 256 * 1024;
}

StreamReader::StreamReader(const ByteSource& source, uint64_t start)
    : m_source(source), m_pos(start) {}

// Ensures m_buffer holds the byte at m_pos; false at the end or on I/O error.
bool StreamReader::fill() {
  if (m_pos >= m_buffer_start && m_pos < m_buffer_start + m_buffer.size()) return true;
  if (m_pos >= size()) return false;
  m_buffer.resize(k_buffer_size);
  auto n = m_source.read_at(m_pos, m_buffer.data(), m_buffer.size());
  if (!n || *n == 0) {
    m_io_failed = !n;
    m_buffer.clear();
    return false;
  }
  m_buffer.resize(*n);
  m_buffer_start = m_pos;
  return true;
}

int StreamReader::peek() {
  if (!fill()) return -1;
  return static_cast<unsigned char>(m_buffer[m_pos - m_buffer_start]);
}

bool StreamReader::read_u8(uint8_t& out) {
  if (!fill()) return false;
  out = static_cast<uint8_t>(m_buffer[m_pos - m_buffer_start]);
  ++m_pos;
  return true;
}

bool StreamReader::read_u16le(uint16_t& out) {
  uint8_t a = 0, b = 0;
  if (!read_u8(a) || !read_u8(b)) return false;
  out = static_cast<uint16_t>(a | (b << 8));
  return true;
}

bool StreamReader::read_u32le(uint32_t& out) {
  uint16_t lo = 0, hi = 0;
  if (!read_u16le(lo) || !read_u16le(hi)) return false;
  out = static_cast<uint32_t>(lo) | (static_cast<uint32_t>(hi) << 16);
  return true;
}

bool StreamReader::read_u64le(uint64_t& out) {
  uint32_t lo = 0, hi = 0;
  if (!read_u32le(lo) || !read_u32le(hi)) return false;
  out = static_cast<uint64_t>(lo) | (static_cast<uint64_t>(hi) << 32);
  return true;
}

bool StreamReader::read_bytes(uint64_t n, std::string& out) {
  while (n > 0) {
    if (!fill()) return false;
    const uint64_t in_buffer = m_buffer_start + m_buffer.size() - m_pos;
    const size_t take = static_cast<size_t>(std::min(n, in_buffer));
    out.append(m_buffer, static_cast<size_t>(m_pos - m_buffer_start), take);
    m_pos += take;
    n -= take;
  }
  return true;
}

bool StreamReader::read_line(std::string& out, uint64_t max, char delim) {
  out.clear();
  while (true) {
    if (!fill()) return false;
    const size_t begin = static_cast<size_t>(m_pos - m_buffer_start);
    const size_t found = m_buffer.find(delim, begin);
    const size_t end = found == std::string::npos ? m_buffer.size() : found;
    if (out.size() + (end - begin) > max) {
      const size_t take = static_cast<size_t>(max - out.size());
      out.append(m_buffer, begin, take);
      m_pos += take;
      return false;
    }
    out.append(m_buffer, begin, end - begin);
    m_pos += end - begin;
    if (found != std::string::npos) {
      ++m_pos;  // the delimiter
      return true;
    }
  }
}

bool StreamReader::skip(uint64_t n) {
  if (n > remaining()) {
    m_pos = size();
    return false;
  }
  m_pos += n;
  return true;
}

void StreamReader::seek(uint64_t position) {
  m_pos = std::min(position, size());
}

}  // namespace hfaudit::util
