// Builders for hand-written pickle byte strings and helpers to run a whole
// scan over them, shared by the tests/scan/pickle_*_test.cpp suites.
#pragma once

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "scan/engine.hpp"
#include "scan/pickle_rules.hpp"
#include "util/byte_source.hpp"

BOOST_TEST_DONT_PRINT_LOG_VALUE(hfaudit::scan::Severity)
BOOST_TEST_DONT_PRINT_LOG_VALUE(hfaudit::scan::Format)
BOOST_TEST_DONT_PRINT_LOG_VALUE(hfaudit::scan::ImportClass)

namespace pickle_test {

using hfaudit::scan::FileReport;
using hfaudit::scan::Finding;
using hfaudit::scan::Severity;

inline std::string le(uint64_t v, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
  return out;
}

inline std::string proto(int p) {
  return std::string("\x80", 1) + static_cast<char>(p);
}
inline std::string frame(uint64_t n) {
  return std::string("\x95", 1) + le(n, 8);
}
// SHORT_BINUNICODE, BINUNICODE, SHORT_BINBYTES, BINBYTES, BINSTRING.
inline std::string su(std::string_view s) {
  return std::string("\x8c", 1) + static_cast<char>(s.size()) + std::string(s);
}
inline std::string bu(std::string_view s) {
  return "X" + le(s.size(), 4) + std::string(s);
}
inline std::string sb(std::string_view s) {
  return "C" + std::string(1, static_cast<char>(s.size())) + std::string(s);
}
inline std::string bb(std::string_view s) {
  return "B" + le(s.size(), 4) + std::string(s);
}
inline std::string global(std::string_view module, std::string_view name) {
  return "c" + std::string(module) + "\n" + std::string(name) + "\n";
}
inline std::string binput(int i) {
  return "q" + std::string(1, static_cast<char>(i));
}
inline std::string binget(int i) {
  return "h" + std::string(1, static_cast<char>(i));
}
inline const std::string k_tuple1("\x85", 1);
inline const std::string k_tuple2("\x86", 1);
inline const std::string k_tuple3("\x87", 1);
inline const std::string k_memoize("\x94", 1);
inline const std::string k_stack_global("\x93", 1);
inline const std::string k_newobj("\x81", 1);
inline const std::string k_newfalse("\x89", 1);
inline const std::string k_newtrue("\x88", 1);

// bytes -> UTF-8 of the same code points (how protocol 2 stores bytes as text).
inline std::string latin1_to_utf8(std::string_view bytes) {
  std::string out;
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

inline std::string base64(std::string_view in) {
  static constexpr char k_abc[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += k_abc[v >> 18];
    out += k_abc[(v >> 12) & 63];
    out += k_abc[(v >> 6) & 63];
    out += k_abc[v & 63];
  }
  if (i + 1 == in.size()) {
    const uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    out += k_abc[v >> 18];
    out += k_abc[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const uint32_t v =
        (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += k_abc[v >> 18];
    out += k_abc[(v >> 12) & 63];
    out += k_abc[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// A protocol-2 pickle that calls os.system('id').
inline std::string evil_pickle() {
  return proto(2) + global("os", "system") + bu("id") + k_tuple1 + "R.";
}

inline FileReport scan_bytes(std::string bytes, const std::string& name = "model.pkl",
                             hfaudit::scan::ScanOptions options = {}) {
  return hfaudit::scan::scan_source(hfaudit::util::MemorySource(std::move(bytes)), name, options);
}

// The first finding with `rule` (and `subject`, when given), or null.
inline const Finding* find(const FileReport& report, std::string_view rule,
                           std::string_view subject = {}) {
  for (const auto& f : report.findings)
    if (f.rule == rule && (subject.empty() || f.subject == subject)) return &f;
  return nullptr;
}

inline bool any_at_least(const FileReport& report, Severity severity) {
  for (const auto& f : report.findings)
    if (f.severity >= severity) return true;
  return false;
}

inline std::string dump(const FileReport& report) {
  std::string out;
  for (const auto& f : report.findings)
    out += "[" + std::string(hfaudit::scan::to_string(f.severity)) + "] " + f.rule + " " +
           f.member + "@" + std::to_string(f.offset) + " " + f.subject + ": " + f.message + "\n";
  return out;
}

}  // namespace pickle_test
