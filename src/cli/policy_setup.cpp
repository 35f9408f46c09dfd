#include "cli/policy_setup.hpp"

#include <cctype>
#include <filesystem>

namespace hfaudit::cli {

std::string LoadedPolicy::describe() const {
  if (choice.source == policies::PolicySource::builtin) return "built-in " + policy.name;
  return policy.name + " (" + choice.path + ", from " +
         std::string(policies::to_string(choice.source)) + ")";
}

PolicyError split_policy_error(const std::string& file, const std::string& message) {
  PolicyError e;
  std::string rest = message;
  if (rest.rfind(file + ":", 0) == 0) {
    rest = rest.substr(file.size() + 1);
    size_t digits = 0;
    while (digits < rest.size() && std::isdigit(static_cast<unsigned char>(rest[digits]))) ++digits;
    if (digits > 0) e.line = std::stoi(rest.substr(0, digits));
    rest = rest.substr(digits);
    if (rest.rfind(": ", 0) == 0) rest = rest.substr(2);
  }
  e.location = e.line > 0 ? file + ":" + std::to_string(e.line) : file;
  const size_t colon = rest.find(": ");
  e.key = colon == std::string::npos ? std::string() : rest.substr(0, colon);
  e.why = colon == std::string::npos ? rest : rest.substr(colon + 2);
  return e;
}

CLI::Option* add_policy_option(CLI::App& cmd, std::string& flag) {
  return cmd.add_option("--policy", flag,
                        "Policy file (default: HFAUDIT_POLICY, then $HFAUDIT_HOME/policy.yaml, "
                        "then the built-in default)");
}

CLI::Option* add_jobs_option(CLI::App& cmd, size_t& jobs, const std::string& what) {
  return cmd.add_option("-j,--jobs", jobs, what)->check(CLI::Range(1, 64))->default_str("8");
}

std::optional<LoadedPolicy> load_selected_policy(const std::string& flag, const Environment& env,
                                                 ExitCode& code) {
  std::error_code ec;
  const auto home = std::filesystem::exists(policies::home_policy_path(env.hfaudit_home), ec)
                        ? policies::HomePolicy::present
                        : policies::HomePolicy::absent;
  const policies::PolicyChoice choice =
      policies::select_policy(flag, env.policy, env.hfaudit_home, home);
  auto policy = policies::load_policy(choice);
  if (!policy) {
    if (policy.error().code != util::ErrorCode::invalid_argument) {
      print_error("cannot read policy", choice.path, policy.error().message);
      code = ExitCode::input;
      return std::nullopt;
    }
    const PolicyError e = split_policy_error(choice.path, policy.error().message);
    print_error("invalid policy", e.location, e.key.empty() ? e.why : e.key + ": " + e.why,
                "hfaudit policy check FILE shows the problem; docs/policies.md lists every key");
    code = ExitCode::usage;
    return std::nullopt;
  }
  return LoadedPolicy{std::move(*policy), choice};
}

}  // namespace hfaudit::cli
