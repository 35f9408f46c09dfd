#include "report/text_style.hpp"

#include <fmt/format.h>

#include <iterator>

namespace hfaudit::report {

std::string human_size(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(units)) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", value, units[unit]);
}

std::string TextStyle::paint(std::string_view ansi, std::string_view text) const {
  if (!color) return std::string(text);
  return fmt::format("\x1b[{}m{}\x1b[0m", ansi, text);
}

std::string TextStyle::severity(scan::Severity s, std::string_view text) const {
  switch (s) {
    case scan::Severity::critical:
      return paint("1;31", text);
    case scan::Severity::high:
      return paint("31", text);
    case scan::Severity::medium:
      return paint("33", text);
    case scan::Severity::low:
      return paint("36", text);
    case scan::Severity::info:
      return paint("2", text);
  }
  return std::string(text);
}

}  // namespace hfaudit::report
