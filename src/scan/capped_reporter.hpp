// Reports findings through a ScanContext with a cap per rule, so a hostile
// archive with thousands of bad entries cannot flood the report; flush()
// then says how many of each rule were left out. Used by the archive scanners.
#pragma once

#include <map>
#include <string>

#include "scan/context.hpp"

namespace hfaudit::scan {

class CappedReporter {
 public:
  static constexpr size_t k_max_per_rule = 50;

  explicit CappedReporter(ScanContext& ctx) : m_ctx(ctx) {}

  void report(const std::string& rule, Severity severity, uint64_t offset, std::string message,
              std::string subject = {}) {
    if (m_reported[rule]++ >= k_max_per_rule) return;
    m_ctx.report(rule, severity, offset, std::move(message), std::move(subject));
  }

  // One info finding per capped rule with the number left out.
  void flush() {
    for (const auto& [rule, count] : m_reported)
      if (count > k_max_per_rule)
        m_ctx.report(
            rule, Severity::info, 0,
            std::to_string(count - k_max_per_rule) + " more findings of this kind were not listed");
    m_reported.clear();
  }

 private:
  ScanContext& m_ctx;
  std::map<std::string, size_t> m_reported;
};

}  // namespace hfaudit::scan
