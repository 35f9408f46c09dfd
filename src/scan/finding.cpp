#include "scan/finding.hpp"

#include <array>

namespace hfaudit::scan {

namespace {
constexpr std::array<std::string_view, 5> k_names{"info", "low", "medium", "high", "critical"};
}

std::string_view to_string(Severity severity) {
  return k_names[static_cast<size_t>(severity)];
}

std::optional<Severity> parse_severity(std::string_view text) {
  for (size_t i = 0; i < k_names.size(); ++i)
    if (k_names[i] == text) return static_cast<Severity>(i);
  return std::nullopt;
}

}  // namespace hfaudit::scan
