// ScanContext: what a format scanner sees of the scan in progress. A scanner
// reads bytes from a ByteSource, reports findings and details here, and hands
// anything nested (archive members, decompressed payloads, byte strings that a
// pickle passes to a loader) back through scan_nested(), which sniffs the
// format, enforces the depth and size limits, and dispatches.
//
// Scanners never throw on hostile input: malformed input is a finding.
// Not thread-safe: one context per scanned top-level file.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scan/finding.hpp"
#include "scan/format.hpp"
#include "util/byte_source.hpp"

namespace hfaudit::scan {

struct ScanLimits {
  int max_depth = 8;                          // nested archives and payloads
  uint64_t max_expanded_member = 2ull << 30;  // bytes one decompressed member may hold
  uint64_t max_expanded_total = 8ull << 30;   // decompressed bytes per top-level file
  uint64_t max_compression_ratio = 2000;      // beyond this a member is a zip bomb
  uint64_t max_members = 200000;              // archive entries per archive
  // Objects scanned per top-level file (the file, members, payloads), and of
  // those, objects nested inside something that is itself nested. Fan-out
  // multiplies there: 100 zip entries that all point at one stored zip of 100
  // entries that all point at one ... is a few KB and 100^depth scans.
  uint64_t max_objects = 400000;
  uint64_t max_deep_objects = 10000;
  uint64_t max_pickle_opcodes = 200'000'000;  // per pickle stream
  uint64_t max_pickle_memo = 10'000'000;      // memo entries per stream
  uint64_t max_pickle_stack = 10'000'000;     // stack depth per stream
};

// One object seen during a scan: the file itself or something inside it.
struct ObjectReport {
  std::string member;  // "" for the file itself, else the "!/"-joined chain
  Format format = Format::unknown;
  uint64_t size = 0;
  nlohmann::json details = nlohmann::json::object();  // format-specific facts (tensor list, ...)
};

struct FileReport {
  std::string path;
  uint64_t size = 0;
  Format format = Format::unknown;
  std::vector<ObjectReport> objects;  // objects[0] is the file itself
  std::vector<Finding> findings;

  // Highest severity among findings, or nullopt when there are none.
  std::optional<Severity> max_severity() const;
};

class ScanContext {
 public:
  ScanContext(FileReport& report, const ScanLimits& limits);

  // Records a finding about the object being scanned; `offset` is relative to it.
  void report(std::string rule, Severity severity, uint64_t offset, std::string message,
              std::string subject = {});

  // Scans bytes found inside the current object. `member` names them relative
  // to the current object (an archive member name, or a label such as
  // "@1234:_load_from_bytes"). `as` forces a format instead of sniffing (for
  // members whose role is fixed, e.g. keras config.json); sniffing still runs
  // and a disagreement is reported. Depth and budget limits are enforced here.
  void scan_nested(const util::ByteSource& bytes, std::string_view member,
                   std::optional<Format> as = std::nullopt);

  // Format-specific facts about the current object, shown in reports.
  nlohmann::json& details();
  // Replaces the current object's format once a scanner knows better (a pickle
  // that turns out to be joblib).
  void refine_format(Format format);

  const ScanLimits& limits() const { return m_limits; }
  int depth() const { return static_cast<int>(m_frames.size()) - 1; }
  // Base name of the current object (last path or member component), used for
  // extension checks; may be empty for payloads without a name.
  std::string_view name() const;
  std::string_view member() const;

  // Reserves `bytes` of the decompression budget; false (and a finding) when
  // the per-file total would be exceeded.
  bool charge_expanded(uint64_t bytes, uint64_t offset);

  // Entry point used by the engine for the top-level file.
  void scan_root(const util::ByteSource& bytes, std::string_view name,
                 std::optional<Format> as = std::nullopt);

 private:
  struct Frame {
    size_t object_index;
    std::string name;
  };
  void scan_object(const util::ByteSource& bytes, std::string member, std::string name,
                   std::optional<Format> as);

  // False (and a finding, once) when the per-file object budgets are spent.
  bool charge_object(std::string_view member_name);

  FileReport& m_report;
  const ScanLimits& m_limits;
  std::vector<Frame> m_frames;
  uint64_t m_expanded = 0;
  uint64_t m_deep_objects = 0;
  bool m_objects_reported = false;
  bool m_deep_objects_reported = false;
};

}  // namespace hfaudit::scan
