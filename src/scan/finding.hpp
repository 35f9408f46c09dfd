// What a scanner reports. One severity scale for every finding in hfaudit
// (docs/scan.md lists every rule id with its severity and meaning).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hfaudit::scan {

enum class Severity { info = 0, low = 1, medium = 2, high = 3, critical = 4 };

std::string_view to_string(Severity severity);
// Parses "info", "low", "medium", "high", "critical"; nullopt otherwise.
std::optional<Severity> parse_severity(std::string_view text);

struct Finding {
  std::string rule;  // stable id, e.g. "pickle.import.denied"
  Severity severity = Severity::info;
  std::string file;     // the path the user gave (or found while recursing a directory)
  std::string member;   // archive member / nested object chain, "!/"-joined; empty at top level
  uint64_t offset = 0;  // byte offset of the evidence within `member` (or within `file`)
  std::string message;  // one human sentence
  std::string subject;  // the import, field or value involved (e.g. "os.system")
};

}  // namespace hfaudit::scan
