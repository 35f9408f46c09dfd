// Small shared helpers of the human renderings: sizes and severity colours.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "scan/finding.hpp"

namespace hfaudit::report {

// "1.3 GiB", "512 B".
std::string human_size(uint64_t bytes);

struct TextStyle {
  bool color = false;
  // `text` in the colour of `severity` when colours are on.
  std::string severity(scan::Severity severity, std::string_view text) const;
  std::string paint(std::string_view ansi, std::string_view text) const;
};

}  // namespace hfaudit::report
