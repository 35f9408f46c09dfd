// ASCII case helpers. Hub names, header names, URL schemes/hosts, licence ids
// and file extensions compare case-insensitively in ASCII only: locale-aware
// folding would make "I" and "ı" equal on some machines and not others.
#pragma once

#include <string>
#include <string_view>

namespace hfaudit::util {

std::string ascii_lower(std::string_view text);
bool iequals(std::string_view a, std::string_view b);
bool contains_icase(std::string_view haystack, std::string_view needle);

}  // namespace hfaudit::util
