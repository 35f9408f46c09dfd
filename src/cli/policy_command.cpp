// `hfaudit policy check FILE`: validate a policy file and summarise it.
// `hfaudit policy explain REPO[@REV]`: judge a repository against the policy
// before downloading anything (repository facts and the Hub's file statuses).
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "app/approvals.hpp"
#include "app/info.hpp"
#include "cli/commands.hpp"
#include "cli/env.hpp"
#include "cli/hub_setup.hpp"
#include "cli/policy_setup.hpp"
#include "policies/engine.hpp"
#include "policies/selection.hpp"
#include "report/policy_report.hpp"

namespace hfaudit::cli {

namespace {

struct PolicyArgs {
  std::string file;
  std::string repo;
  std::string revision;
  std::string policy;
};

constexpr const char* k_policy_footer =
    R"(Policies are YAML files (version: 1) listing the rules that gate a pull: formats
judged by content, scan findings, the Hub's own scans, provenance, community,
model card and licence, custom code, size, approval, plus waivers with an owner
and an expiry date. Reference: docs/policies.md; shipped examples: policies/.

Policy selection for gated commands: --policy FILE, then HFAUDIT_POLICY, then
$HFAUDIT_HOME/policy.yaml if it exists, then the built-in default.

Examples:
  hfaudit policy check policies/strict.yaml
  hfaudit policy check --json my-policy.yaml
  hfaudit policy explain org/model@v1.0 --policy policies/strict.yaml

Exit codes: check: 0 valid, 2 invalid policy (the error names FILE:LINE and the
key), 3 the file could not be read. explain: 0 allowed (possibly with warnings),
6 blocked by policy, 2 invalid policy, 3 unreadable policy, 4 Hub error.)";

int64_t now_unix() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

ExitCode run_check(const PolicyArgs& args, const OutputOptions& output) {
  auto policy = policies::load_policy_file(args.file);
  if (!policy && policy.error().code != util::ErrorCode::invalid_argument) {
    print_error("cannot read policy", args.file, policy.error().message);
    return ExitCode::input;
  }
  nlohmann::json doc = {{"schema", "hfaudit.policy-check/1"},
                        {"hfaudit_version", HFAUDIT_VERSION},
                        {"file", args.file}};
  if (!policy) {
    const PolicyError e = split_policy_error(args.file, policy.error().message);
    print_error("invalid policy", e.location, e.key.empty() ? e.why : e.key + ": " + e.why,
                "see docs/policies.md for every key and its type");
    if (output.json) {
      doc["valid"] = false;
      doc["error"] = {{"line", e.line}, {"key", e.key}, {"message", e.why}};
      if (!write_document(output, doc.dump(2) + "\n")) return ExitCode::input;
    }
    return ExitCode::usage;
  }

  const int64_t now = now_unix();
  size_t expired = 0;
  nlohmann::json waivers = nlohmann::json::array();
  for (const auto& w : policy->waivers) {
    const bool is_expired = now >= w.expires_end_unix;
    if (is_expired) {
      ++expired;
      print_warning(fmt::format("{}:{}: waiver for {} expired on {}; it no longer applies",
                                args.file, w.line, w.repo, w.expires));
    }
    waivers.push_back(
        {{"repo", w.repo},
         {"commit", w.commit.empty() ? nlohmann::json(nullptr) : nlohmann::json(w.commit)},
         {"rules",
          w.which == policies::WaivedRules::all ? nlohmann::json("all") : nlohmann::json(w.rules)},
         {"reason", w.reason},
         {"owner", w.owner},
         {"expires", w.expires},
         {"expired", is_expired}});
  }
  const std::vector<std::string> ids = policy->rule_ids();
  if (output.json) {
    nlohmann::json rules = nlohmann::json::array();
    for (const auto& id : ids) rules.push_back(id);
    doc["valid"] = true;
    doc["name"] = policy->name;
    doc["description"] = policy->description;
    doc["version"] = policy->version;
    doc["sha256"] = policy->sha256;
    doc["rule_count"] = ids.size();
    doc["rules"] = rules;
    doc["allowed_pickle_imports"] = policy->allowed_pickle_imports;
    doc["waivers"] = waivers;
    return write_document(output, doc.dump(2) + "\n") ? ExitCode::ok : ExitCode::input;
  }
  std::string line =
      fmt::format("valid policy '{}' ({}): version {}, {} {}, {} {}{}, sha256 {}\n", policy->name,
                  args.file, policy->version, ids.size(), ids.size() == 1 ? "rule" : "rules",
                  policy->waivers.size(), policy->waivers.size() == 1 ? "waiver" : "waivers",
                  expired ? fmt::format(" ({} expired)", expired) : "", policy->sha256);
  return write_document(output, line) ? ExitCode::ok : ExitCode::input;
}

ExitCode run_explain(const PolicyArgs& args, const OutputOptions& output) {
  auto ref = parse_repo_argument(args.repo, args.revision);
  if (!ref) return ExitCode::usage;
  const Environment env = read_environment();
  ExitCode policy_error = ExitCode::ok;
  auto loaded = load_selected_policy(args.policy, env, policy_error);
  if (!loaded) return policy_error;
  const policies::Policy* policy = &loaded->policy;
  const policies::PolicyChoice& choice = loaded->choice;
  auto client = make_hub_client(env, output.verbose);
  if (!client) return ExitCode::usage;
  const int64_t now = now_unix();
  auto state = app::fetch_repo_state(*client, *ref, now);
  if (!state) return report_hub_error("cannot assess repository", ref->repo.str(), state.error());

  // The approved-model registry lives in the cache index; explain reads it
  // (checked against the Hub's listing of the commit) but never creates a cache.
  const app::ApprovalLookup approval =
      app::lookup_approval(cache::CacheOptions{env.hfaudit_home, env.hf_hub_cache},
                           state->trust.repo, state->trust.commit, &state->tree);
  policies::EvaluationInput in;
  in.trust = std::move(state->trust);
  in.requested_revision = ref->revision;
  in.now_unix = now;
  in.approval = approval.status;
  in.approval_detail = approval.detail;
  const policies::Decision d = policies::evaluate(*policy, in);

  const std::string source =
      choice.source == policies::PolicySource::builtin
          ? std::string("built-in")
          : fmt::format("{} from {}", choice.path, policies::to_string(choice.source));
  std::string document;
  if (output.json) {
    nlohmann::json doc = {{"schema", "hfaudit.policy-explain/1"},
                          {"hfaudit_version", HFAUDIT_VERSION},
                          {"policy_source", policies::to_string(choice.source)},
                          {"policy_path", choice.path},
                          {"decision", policies::to_json(d)}};
    document = doc.dump(2) + "\n";
  } else {
    document = report::render_decision_text(d, source);
  }
  if (!write_document(output, document)) return ExitCode::input;
  return d.verdict == policies::Verdict::block ? ExitCode::policy_blocked : ExitCode::ok;
}

}  // namespace

CommandRunner add_policy_command(CLI::App& app, OutputOptions& output) {
  auto args = std::make_shared<PolicyArgs>();
  CLI::App* cmd = app.add_subcommand("policy", "Validate and inspect policy files");
  cmd->footer(k_policy_footer);
  cmd->require_subcommand(1);
  CLI::App* check = cmd->add_subcommand("check", "Validate a policy file and summarise it");
  check->footer(k_policy_footer);
  check->add_option("FILE", args->file, "The policy file (YAML)")->required();
  check->add_flag("--json", output.json, "Write the hfaudit.policy-check/1 JSON document");
  check->add_option("-o,--output", output.output_file,
                    "Write the document to FILE instead of stdout");

  CLI::App* explain = cmd->add_subcommand(
      "explain", "Judge a Hub repository against the policy before downloading anything");
  explain->footer(k_policy_footer);
  explain->add_option("REPO", args->repo, "Repository as org/name or org/name@revision")
      ->required();
  explain->add_option("--revision", args->revision,
                      "Branch, tag, commit or refs/pr/N (instead of @REV; default main)");
  add_policy_option(*explain, args->policy);
  explain->add_flag("--json", output.json, "Write the hfaudit.policy-explain/1 JSON document");
  explain->add_option("-o,--output", output.output_file,
                      "Write the document to FILE instead of stdout");

  return [args, check, explain, &output]() {
    if (check->parsed()) return run_check(*args, output);
    if (explain->parsed()) return run_explain(*args, output);
    return ExitCode::usage;
  };
}

}  // namespace hfaudit::cli
