// `hfaudit approve REPO@COMMIT --reason TEXT` (and `--revoke`): the
// approved-model registry; `hfaudit approvals`: list it, with whether each
// approval still holds. docs/policies.md ("The approved-model registry").
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "app/approvals.hpp"
#include "cli/commands.hpp"
#include "cli/env.hpp"
#include "cli/hub_setup.hpp"
#include "cli/policy_setup.hpp"
#include "report/policy_report.hpp"
#include "util/time_format.hpp"

namespace hfaudit::cli {

namespace {

struct ApproveArgs {
  std::string repo;
  std::string reason;
  std::string by;
  std::string policy;
  bool revoke = false;
};

constexpr const char* k_approve_footer =
    R"(Records that a person reviewed REPO at one commit: who (--by, default the login
name from USER/LOGNAME), when, why (--reason), the policy in force (name and
sha256) and the exact files (path, size, git oid, sha256) with each blob's latest
scan verdict, in the cache index, and writes an entry to the audit log. Policies
that require approval (approval.required) or forbid custom code unless approved
(code.custom_code) then admit that commit. The approval stops being valid when
the files of that commit change: one added, removed or changed, or a cached copy
quarantined by hfaudit verify (see hfaudit approvals).

The commit must be in the cache with every file verified. If the policy blocks
it, fetch it for review first: hfaudit pull REPO@COMMIT --review. A full
40-character commit is required: a branch or tag can move to unreviewed files.

Examples:
  hfaudit pull org/model@0123456789abcdef0123456789abcdef01234567 --review
  hfaudit approve org/model@0123456789abcdef0123456789abcdef01234567 \
      --reason 'modeling_x.py reviewed, SEC-1234'
  hfaudit approve --revoke org/model@0123456789abcdef0123456789abcdef01234567 \
      --reason 'superseded by v2'

Exit codes: 0 recorded, 2 usage error (not a full commit, no reason, nothing to
revoke, invalid policy), 3 the commit is not verified in the cache, or the cache
or policy could not be read.)";

constexpr const char* k_approvals_footer =
    R"(Lists the approved-model registry (or one repository's approvals): who approved
which commit, when, why, under which policy, and whether the approval still holds
against the cache as it is now. An approval no longer holds when a file of that
commit was added, removed or changed, or its cached copy was quarantined by
hfaudit verify; the changes are listed. A commit gc evicted is shown as valid,
not in the cache: the next pull checks it against the Hub.

Examples:
  hfaudit approvals
  hfaudit approvals org/model -v
  hfaudit approvals --json | jq '.approvals[] | select(.valid | not)'

Exit codes: 0 listed, 3 the cache index could not be read.)";

ExitCode exit_code_of(const app::ApprovalFailure& f) {
  return f.kind == app::ApprovalFailure::Kind::usage ? ExitCode::usage : ExitCode::input;
}

std::string approve_document(const char* operation, const cache::ApprovalRecord& record) {
  nlohmann::json doc = {{"schema", "hfaudit.approve/1"},
                        {"hfaudit_version", HFAUDIT_VERSION},
                        {"operation", operation},
                        {"approval", report::approval_json(record)}};
  return doc.dump(2) + "\n";
}

ExitCode run_approve(const ApproveArgs& args, const OutputOptions& output) {
  auto ref = parse_repo_argument(args.repo, "");
  if (!ref) return ExitCode::usage;
  const Environment env = read_environment();
  app::ApprovalRequest request;
  request.cache = {env.hfaudit_home, env.hf_hub_cache};
  request.repo = ref->repo.str();
  request.revision = ref->revision;
  request.reason = args.reason;
  request.by = args.by.empty() ? env.user : args.by;
  const std::string what = args.revoke ? "cannot revoke the approval" : "cannot approve";
  if (args.revoke) {
    auto removed = app::revoke(request);
    if (!removed) {
      print_error(what, args.repo, removed.error().message, removed.error().hint);
      return exit_code_of(removed.error());
    }
    const std::string document =
        output.json ? approve_document("revoke", *removed)
                    : fmt::format("revoked the approval of {}@{} (given by {} on {})\n",
                                  removed->repo_id, removed->commit, removed->approved_by,
                                  util::format_utc_minutes(removed->approved_at));
    return write_document(output, document) ? ExitCode::ok : ExitCode::input;
  }

  ExitCode policy_error = ExitCode::ok;
  const auto policy = load_selected_policy(args.policy, env, policy_error);
  if (!policy) return policy_error;
  request.policy_name = policy->policy.name;
  request.policy_sha256 = policy->policy.sha256;
  auto approved = app::approve(request);
  if (!approved) {
    print_error(what, args.repo, approved.error().message, approved.error().hint);
    return exit_code_of(approved.error());
  }
  const std::string document =
      output.json ? approve_document("approve", *approved)
                  : fmt::format("approved {}@{} ({} files) by {} under policy {}\n",
                                approved->repo_id, approved->commit, approved->files.size(),
                                approved->approved_by, policy->describe());
  return write_document(output, document) ? ExitCode::ok : ExitCode::input;
}

}  // namespace

CommandRunner add_approve_command(CLI::App& app, OutputOptions& output) {
  auto args = std::make_shared<ApproveArgs>();
  CLI::App* cmd = app.add_subcommand(
      "approve", "Record (or --revoke) a reviewed repo@commit in the approved-model registry");
  cmd->footer(k_approve_footer);
  cmd->add_option("REPO@COMMIT", args->repo, "Repository and full commit, org/name@COMMIT")
      ->required();
  cmd->add_option("--reason", args->reason, "Why: what was reviewed (required)")->required();
  cmd->add_option("--by", args->by, "Who approves (default: USER, else LOGNAME)");
  cmd->add_option("--policy", args->policy,
                  "Policy recorded with the approval (default: HFAUDIT_POLICY, "
                  "$HFAUDIT_HOME/policy.yaml, built-in)");
  cmd->add_flag("--revoke", args->revoke, "Remove the approval of REPO@COMMIT instead");
  cmd->add_flag("--json", output.json, "Write the hfaudit.approve/1 JSON document");
  cmd->add_option("-o,--output", output.output_file,
                  "Write the document to FILE instead of stdout");
  return [args, &output]() { return run_approve(*args, output); };
}

CommandRunner add_approvals_command(CLI::App& app, OutputOptions& output) {
  auto repo = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "approvals", "List the approved-model registry and whether each approval still holds");
  cmd->footer(k_approvals_footer);
  cmd->add_option("REPO", *repo, "Only this repository's approvals (org/name)");
  cmd->add_flag("--json", output.json, "Write the hfaudit.approvals/1 JSON document");
  cmd->add_option("-o,--output", output.output_file,
                  "Write the document to FILE instead of stdout");
  return [repo, &output]() {
    const Environment env = read_environment();
    auto listed = app::list_approvals({env.hfaudit_home, env.hf_hub_cache},
                                      repo->empty() ? std::nullopt : std::optional(*repo));
    if (!listed) {
      print_error("cannot read the approvals", env.hfaudit_home, listed.error().message);
      return exit_code_of(listed.error());
    }
    const std::string document = output.json
                                     ? report::render_approvals_json(*listed)
                                     : report::render_approvals_text(*listed, output.verbose);
    return write_document(output, document) ? ExitCode::ok : ExitCode::input;
  };
}

}  // namespace hfaudit::cli
