// Choosing and loading the policy a command applies (--policy FILE, then
// HFAUDIT_POLICY, then $HFAUDIT_HOME/policy.yaml, then the built-in default),
// with the contract's error lines when it cannot be used.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "cli/env.hpp"
#include "cli/output.hpp"
#include "policies/policy.hpp"
#include "policies/selection.hpp"

namespace hfaudit::cli {

struct LoadedPolicy {
  policies::Policy policy;
  policies::PolicyChoice choice;
  std::string describe() const;  // "built-in default" or "FILE (from --policy)"
};

// parse_policy's message is "<source>:<line>: <key>: <why>"; split for the
// error line "invalid policy (FILE:LINE): key: why".
struct PolicyError {
  std::string location;  // FILE:LINE
  int line = 0;
  std::string key;
  std::string why;
};
PolicyError split_policy_error(const std::string& file, const std::string& message);

// The --policy option, with the selection order in its help (every command
// that applies a policy offers it the same way).
CLI::Option* add_policy_option(CLI::App& cmd, std::string& flag);

// -j/--jobs: how many things run at once (1-64, default 8).
CLI::Option* add_jobs_option(CLI::App& cmd, size_t& jobs, const std::string& what);

// On failure prints the error and sets `code` (2 invalid, 3 unreadable).
std::optional<LoadedPolicy> load_selected_policy(const std::string& flag, const Environment& env,
                                                 ExitCode& code);

}  // namespace hfaudit::cli
