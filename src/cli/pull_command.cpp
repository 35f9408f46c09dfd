// `hfaudit pull REPO[@REV]`: verified, scanned, gated download into the cache.
#include "app/pull.hpp"
#include "cli/commands.hpp"
#include "cli/env.hpp"
#include "cli/hub_setup.hpp"
#include "cli/lock_command.hpp"
#include "cli/policy_setup.hpp"
#include "cli/pull_output.hpp"
#include "lockfile/lockfile.hpp"

namespace hfaudit::cli {

namespace {

struct PullArgs {
  std::string repo;
  std::string revision;
  std::vector<std::string> include;
  std::vector<std::string> exclude;
  std::string policy;
  std::string locked;  // --locked [LOCKFILE]
  bool offline = false;
  bool review = false;
  size_t jobs = 8;
};

constexpr const char* k_pull_footer =
    R"(Resolves the revision to a commit, downloads every selected file into hfaudit's
content-addressed store while verifying it against the Hub's sha256 / git sha1,
scans it statically, and only then makes it visible in the huggingface_hub cache
($HF_HUB_CACHE/models--org--name/snapshots/COMMIT/...), so transformers and
huggingface_hub use it offline (HF_HUB_OFFLINE=1) unchanged. Files the gate
refuses stay out of the snapshot. Already-cached blobs are never fetched again;
a pull of a cached commit makes no request. Interrupted downloads resume.

Examples:
  hfaudit pull google-bert/bert-base-uncased
  hfaudit pull org/model@v1.0 --include '*.safetensors' --include '*.json'
  hfaudit pull org/model --exclude '*.bin' --exclude '*.pt' --json
  HF_HUB_OFFLINE=1 hfaudit pull org/model@COMMIT      # from the cache only
  hfaudit pull org/model@COMMIT --review    # fetch a blocked commit for review,
  hfaudit approve org/model@COMMIT --reason 'reviewed modeling.py'   # then approve it
  hfaudit pull --locked                  # exactly the files pinned in ./hfaudit.lock
  HF_HUB_OFFLINE=1 hfaudit pull --locked ci/hfaudit.lock   # warm cache: no request

With --locked, every repository of the lock file (docs/lockfile.md) is pulled at
its pinned commit, restricted to its pinned files; a file the Hub now lists or
serves with another size, git oid or sha256, or no longer lists, fails with exit
5 and never becomes visible. When every pinned file is already verified in the
cache, no request is made at all; the snapshots and refs are still (re)written
and the current policy's recorded verdict applies.

Exit codes: 0 everything selected is in the snapshot, 2 usage error or invalid
lock file, 3 cache or lock file not readable/writable, 4 Hub error, 5 bytes did
not match their hash (or the pins of the lock file), 6 blocked by the policy (or
an unsafe path in the repository).

The policy is --policy FILE, else HFAUDIT_POLICY, else $HFAUDIT_HOME/policy.yaml,
else the built-in default (docs/policies.md). It is evaluated on the Hub's
metadata before any download, and on the scan reports after. Rules such as
approval.required and code.custom_code read the approved-model registry
(hfaudit approve, hfaudit approvals).)";

}  // namespace

CommandRunner add_pull_command(CLI::App& app, OutputOptions& output) {
  auto args = std::make_shared<PullArgs>();
  CLI::App* cmd = app.add_subcommand("pull", "Verified, scanned, gated download into the cache");
  cmd->footer(k_pull_footer);
  cmd->add_option("REPO", args->repo, "Repository as org/name or org/name@revision");
  cmd->add_option("--revision", args->revision, "Branch, tag, commit or refs/pr/N (default main)");
  cmd->add_option("--include", args->include, "Only files matching this glob (repeatable)");
  cmd->add_option("--exclude", args->exclude, "Skip files matching this glob (repeatable)");
  add_policy_option(*cmd, args->policy);
  add_jobs_option(*cmd, args->jobs, "Files downloaded in parallel");
  cmd->add_flag("--offline", args->offline, "Serve from the cache only (as HF_HUB_OFFLINE=1)");
  cmd->add_flag("--review", args->review,
                "Fetch, verify and scan the files even when the policy blocks the repository, "
                "for review before hfaudit approve (blocked files stay out of the snapshot)");
  CLI::Option* locked =
      cmd->add_option(
             "--locked", args->locked,
             "Install exactly what LOCKFILE pins (default ./hfaudit.lock; see 'hfaudit lock')")
          ->expected(0, 1)
          ->default_str(std::string(lockfile::k_default_file_name))
          ->type_name("[LOCKFILE]");
  cmd->add_flag("--json", output.json,
                "Write the hfaudit.pull/1 (with --locked: hfaudit.pull-locked/1) JSON document");
  cmd->add_option("-o,--output", output.output_file,
                  "Write the document to FILE instead of stdout");

  return [args, &output, locked]() {
    if (locked->count() > 0) {
      if (!args->repo.empty() || !args->revision.empty() || !args->include.empty() ||
          !args->exclude.empty()) {
        print_error("invalid arguments", "--locked",
                    "REPO, --revision, --include and --exclude come from the lock file",
                    "run 'hfaudit pull --locked [LOCKFILE]' alone");
        return ExitCode::usage;
      }
      return run_locked_pull(args->locked, args->policy, args->offline, args->jobs, output);
    }
    if (args->repo.empty()) {
      print_error("invalid arguments", "pull", "a repository (or --locked) is required",
                  "run 'hfaudit pull --help'");
      return ExitCode::usage;
    }
    auto ref = parse_repo_argument(args->repo, args->revision);
    if (!ref) return ExitCode::usage;
    const Environment env = read_environment();
    ExitCode policy_error = ExitCode::ok;
    const auto policy = load_selected_policy(args->policy, env, policy_error);
    if (!policy) return policy_error;
    auto client = make_hub_client(env, output.verbose);
    if (!client) return ExitCode::usage;

    app::PullOptions options = pull_options(env, policy->policy, args->jobs);
    options.include = args->include;
    options.exclude = args->exclude;
    options.offline = options.offline || args->offline;
    options.review = args->review;
    ProgressDisplay progress(output);
    options.on_progress = progress.callback("pulling " + args->repo);

    const app::PullResult result = app::pull(*client, *ref, options);
    progress.clear();
    print_pull_errors(result, "");
    if (result.failure) return pull_exit_code(result);
    const std::string document =
        output.json
            ? machine_document("hfaudit.pull/1", pull_json(result))
            : pull_text(result, output.verbose,
                        output.output_file.empty() && stdout_color_enabled(), progress.seconds());
    if (!write_document(output, document)) return ExitCode::input;
    return pull_exit_code(result);
  };
}

}  // namespace hfaudit::cli
