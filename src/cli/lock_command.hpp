// `hfaudit lock` and the --locked mode of `hfaudit pull` (docs/lockfile.md).
#pragma once

#include <string>

#include "cli/output.hpp"

namespace hfaudit::cli {

// `hfaudit pull --locked [LOCKFILE]`: every entry of the lock file at its
// pinned commit, restricted to its pinned files. `policy_flag` is --policy.
ExitCode run_locked_pull(const std::string& lockfile_path, const std::string& policy_flag,
                         bool offline, size_t jobs, OutputOptions& output);

}  // namespace hfaudit::cli
