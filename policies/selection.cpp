#include "policies/selection.hpp"

#include "policies/builtin.hpp"

namespace hfaudit::policies {

std::string_view to_string(PolicySource source) {
  switch (source) {
    case PolicySource::flag:
      return "--policy";
    case PolicySource::environment:
      return "HFAUDIT_POLICY";
    case PolicySource::home:
      return "HFAUDIT_HOME";
    case PolicySource::builtin:
      return "built-in";
  }
  return "built-in";
}

std::string home_policy_path(std::string_view hfaudit_home) {
  if (hfaudit_home.empty()) return {};
  std::string path(hfaudit_home);
  if (path.back() != '/') path += '/';
  return path + "policy.yaml";
}

PolicyChoice select_policy(std::string_view flag, std::string_view env_policy,
                           std::string_view hfaudit_home, HomePolicy home) {
  if (!flag.empty()) return {PolicySource::flag, std::string(flag)};
  if (!env_policy.empty()) return {PolicySource::environment, std::string(env_policy)};
  if (home == HomePolicy::present && !hfaudit_home.empty())
    return {PolicySource::home, home_policy_path(hfaudit_home)};
  return {PolicySource::builtin, {}};
}

util::Result<Policy> load_policy(const PolicyChoice& choice) {
  if (choice.source == PolicySource::builtin) return builtin_default_policy();
  return load_policy_file(choice.path);
}

}  // namespace hfaudit::policies
