// The shipped policies/default.yaml, embedded in the binary at build time
// (policies/CMakeLists.txt reads the file into a generated .cpp), so hfaudit
// needs no policy file on disk. Tests check that the text equals the file.
#pragma once

#include <string_view>

#include "policies/policy.hpp"

namespace hfaudit::policies {

// The source name the built-in policy carries in errors and decisions.
inline constexpr std::string_view k_builtin_default_source = "builtin:default";

// The exact bytes of policies/default.yaml at build time.
std::string_view builtin_default_policy_text();
// Lowercase hex sha256 of that text, computed by CMake at build time.
std::string_view builtin_default_policy_sha256();

// The parsed built-in policy. The text is validated by the unit tests, so a
// failure here is a build defect: it throws std::logic_error (abort the command).
const Policy& builtin_default_policy();

}  // namespace hfaudit::policies
