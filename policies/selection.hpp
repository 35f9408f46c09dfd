// Which policy a command applies (../shared/docs/cli-contract.md): --policy
// FILE, then HFAUDIT_POLICY, then $HFAUDIT_HOME/policy.yaml if it exists,
// then the built-in default. The caller reads the environment and checks the
// home file; this module only decides (no getenv here).
#pragma once

#include <string>
#include <string_view>

#include "policies/policy.hpp"
#include "util/result.hpp"

namespace hfaudit::policies {

enum class PolicySource { flag, environment, home, builtin };
// "--policy", "HFAUDIT_POLICY", "HFAUDIT_HOME", "built-in".
std::string_view to_string(PolicySource source);

// Whether $HFAUDIT_HOME/policy.yaml exists (the caller looks).
enum class HomePolicy { present, absent };

struct PolicyChoice {
  PolicySource source = PolicySource::builtin;
  std::string path;  // the file to read; empty for the built-in policy
};

// "$HFAUDIT_HOME/policy.yaml"; empty when `hfaudit_home` is empty.
std::string home_policy_path(std::string_view hfaudit_home);

// Applies the precedence. Empty `flag` / `env_policy` mean "not given".
// A given path wins even if the file is missing: loading it then fails
// loudly instead of falling back to a weaker policy.
PolicyChoice select_policy(std::string_view flag, std::string_view env_policy,
                           std::string_view hfaudit_home, HomePolicy home);

// Reads and parses the chosen file, or returns the built-in default.
// Failure: as load_policy_file().
util::Result<Policy> load_policy(const PolicyChoice& choice);

}  // namespace hfaudit::policies
