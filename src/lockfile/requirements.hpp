// Requirement lists for `hfaudit lock -r FILE`: one `org/name[@rev]` per
// line, `#` starts a comment (a whole line or the rest of one), blank lines
// are ignored. Only the shape of the file is checked here; the CLI validates
// each requirement as a repository reference and reports FILE:LINE.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace hfaudit::lockfile {

struct Requirement {
  size_t line = 0;   // 1-based
  std::string spec;  // "org/name" or "org/name@rev", trimmed
};

// Success: the requirements in file order (possibly none).
// Failure: invalid_argument "<source_name>:<line>: <why>" for a line holding
// more than one word (e.g. "org/a org/b", or a space inside a revision) or a
// NUL byte.
util::Result<std::vector<Requirement>> parse_requirements(std::string_view text,
                                                          const std::string& source_name);

}  // namespace hfaudit::lockfile
