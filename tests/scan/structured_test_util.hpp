// Helpers shared by the structured-format scanner tests (safetensors, GGUF,
// ONNX, Keras/HDF5, chat templates): little-endian byte builders and finding
// queries over a FileReport.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "scan/context.hpp"
#include "scan/engine.hpp"
#include "util/byte_source.hpp"

namespace hfaudit::scan::test {

inline void put_u8(std::string& out, uint8_t v) {
  out.push_back(static_cast<char>(v));
}
inline void put_u16(std::string& out, uint16_t v) {
  for (int i = 0; i < 2; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
inline void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
inline void put_u64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

// Whole-engine scan of in-memory bytes named `name`.
inline FileReport scan_bytes(const std::string& bytes, const std::string& name) {
  return scan_source(util::MemorySource(bytes), name, ScanOptions{});
}

// Runs the scanner for `format` directly (no sniffing decides for it), the way
// a container hands over a member whose role is fixed.
inline FileReport scan_as(const std::string& bytes, const std::string& name, Format format) {
  FileReport report;
  report.path = name;
  ScanLimits limits;
  ScanContext ctx(report, limits);
  ctx.scan_nested(util::MemorySource(bytes), name, format);
  return report;
}

inline bool has_rule(const FileReport& report, std::string_view rule) {
  for (const auto& f : report.findings)
    if (f.rule == rule) return true;
  return false;
}

inline bool has_rule(const FileReport& report, std::string_view rule, Severity severity) {
  for (const auto& f : report.findings)
    if (f.rule == rule && f.severity == severity) return true;
  return false;
}

inline const Finding* find_rule(const FileReport& report, std::string_view rule) {
  for (const auto& f : report.findings)
    if (f.rule == rule) return &f;
  return nullptr;
}

// Findings at or above `severity` whose rule starts with `prefix`.
inline size_t count_at_least(const FileReport& report, Severity severity,
                             std::string_view prefix = {}) {
  size_t n = 0;
  for (const auto& f : report.findings)
    if (f.severity >= severity && std::string_view(f.rule).substr(0, prefix.size()) == prefix) ++n;
  return n;
}

// "rule(severity): message" lines, for failure output.
inline std::string dump(const FileReport& report) {
  std::string out;
  for (const auto& f : report.findings)
    out += f.rule + "(" + std::string(to_string(f.severity)) + ") [" + f.subject +
           "]: " + f.message + "\n";
  return out;
}

}  // namespace hfaudit::scan::test
