// `hfaudit pull REPO[@REV]`: verified, scanned, gated download into the cache.
#include <fmt/format.h>

#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>

#include "app/pull.hpp"
#include "cli/commands.hpp"
#include "cli/env.hpp"
#include "cli/hub_setup.hpp"
#include "cli/policy_setup.hpp"
#include "report/policy_report.hpp"
#include "report/text_style.hpp"

namespace hfaudit::cli {

namespace {

struct PullArgs {
  std::string repo;
  std::string revision;
  std::vector<std::string> include;
  std::vector<std::string> exclude;
  std::string policy;
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

Exit codes: 0 everything selected is in the snapshot, 2 usage error, 3 cache
not writable, 4 Hub error, 5 bytes did not match their hash, 6 blocked by the
policy (or an unsafe path in the repository).

The policy is --policy FILE, else HFAUDIT_POLICY, else $HFAUDIT_HOME/policy.yaml,
else the built-in default (docs/policies.md). It is evaluated on the Hub's
metadata before any download, and on the scan reports after. Rules such as
approval.required and code.custom_code read the approved-model registry
(hfaudit approve, hfaudit approvals).)";

std::string eta(uint64_t remaining, double rate) {
  if (rate <= 0) return "--:--";
  const auto s = static_cast<uint64_t>(static_cast<double>(remaining) / rate);
  return fmt::format("{:02}:{:02}", s / 60, s % 60);
}

ExitCode exit_code_of(const app::PullResult& result) {
  ExitCode code = ExitCode::ok;
  if (result.decision && result.decision->verdict == policies::Verdict::block)
    code = ExitCode::policy_blocked;
  for (const auto& f : result.files) {
    if (f.outcome == app::FileOutcome::blocked) code = most_serious(code, ExitCode::policy_blocked);
    if (f.outcome != app::FileOutcome::failed) continue;
    switch (f.failure) {
      case app::FailureKind::integrity:
        code = most_serious(code, ExitCode::integrity);
        break;
      case app::FailureKind::unsafe_path:
        code = most_serious(code, ExitCode::policy_blocked);
        break;
      case app::FailureKind::io:
        code = most_serious(code, ExitCode::input);
        break;
      default:
        code = most_serious(code, ExitCode::hub);
        break;
    }
  }
  return code;
}

std::string render_json(const app::PullResult& r) {
  nlohmann::json files = nlohmann::json::array();
  for (const auto& f : r.files) {
    nlohmann::json findings = nlohmann::json::array();
    for (const auto& x : f.findings)
      findings.push_back({{"rule", x.rule},
                          {"severity", scan::to_string(x.severity)},
                          {"member", x.member},
                          {"offset", x.offset},
                          {"message", x.message},
                          {"subject", x.subject}});
    files.push_back(
        {{"path", f.path},
         {"size", f.size},
         {"lfs", f.lfs},
         {"etag", f.etag},
         {"sha256", f.sha256.empty() ? nlohmann::json(nullptr) : nlohmann::json(f.sha256)},
         {"outcome", app::to_string(f.outcome)},
         {"source", app::to_string(f.source)},
         {"bytes_fetched", f.bytes_fetched},
         {"max_severity", f.max_severity ? nlohmann::json(scan::to_string(*f.max_severity))
                                         : nlohmann::json(nullptr)},
         {"reason", f.reason},
         {"findings", findings}});
  }
  nlohmann::json doc = {{"schema", "hfaudit.pull/1"},
                        {"hfaudit_version", HFAUDIT_VERSION},
                        {"repo", r.repo},
                        {"revision", r.revision},
                        {"commit", r.commit},
                        {"snapshot_dir", r.snapshot_dir},
                        {"network_used", r.network_used},
                        {"bytes_fetched", r.bytes_fetched},
                        {"files_fetched", r.files_fetched},
                        {"overall_risk", r.trust ? nlohmann::json(scan::to_string(r.trust->overall))
                                                 : nlohmann::json(nullptr)},
                        {"decision", r.decision ? nlohmann::json(policies::to_json(*r.decision))
                                                : nlohmann::json(nullptr)},
                        {"files", files}};
  return doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string render_text(const app::PullResult& r, bool verbose, bool color, double seconds) {
  const report::TextStyle style{color};
  std::string out = fmt::format("{}@{} -> {}\n", r.repo, r.revision, r.commit);
  size_t counts[4] = {0, 0, 0, 0};
  for (const auto& f : r.files) {
    ++counts[static_cast<size_t>(f.outcome)];
    if (f.outcome == app::FileOutcome::excluded && !verbose) continue;
    if (f.outcome == app::FileOutcome::linked && !verbose && f.findings.empty()) continue;
    std::string label(app::to_string(f.outcome));
    if (f.outcome == app::FileOutcome::blocked) label = style.paint("31", label);
    if (f.outcome == app::FileOutcome::failed) label = style.paint("1;31", label);
    if (f.outcome == app::FileOutcome::linked) label = style.paint("32", label);
    out += fmt::format("  {:<8} {:<48} {:>10}  {}{}\n", label, f.path, report::human_size(f.size),
                       app::to_string(f.source), f.reason.empty() ? "" : "  " + f.reason);
    for (const auto& x : f.findings)
      if (x.severity >= scan::Severity::medium || verbose)
        out += fmt::format("           {} {} {}{}\n",
                           style.severity(x.severity, scan::to_string(x.severity)), x.rule,
                           x.message, x.subject.empty() ? "" : " [" + x.subject + "]");
  }
  out +=
      fmt::format("{} linked, {} blocked, {} failed, {} excluded; {} fetched in {:.2f} s{}\n",
                  counts[0], counts[1], counts[2], counts[3], report::human_size(r.bytes_fetched),
                  seconds, r.network_used ? "" : " (from the cache, no request)");
  if (r.decision) out += report::render_decision_summary(*r.decision);
  if (!r.snapshot_dir.empty()) out += fmt::format("snapshot: {}\n", r.snapshot_dir);
  return out;
}

}  // namespace

CommandRunner add_pull_command(CLI::App& app, OutputOptions& output) {
  auto args = std::make_shared<PullArgs>();
  CLI::App* cmd = app.add_subcommand("pull", "Verified, scanned, gated download into the cache");
  cmd->footer(k_pull_footer);
  cmd->add_option("REPO", args->repo, "Repository as org/name or org/name@revision")->required();
  cmd->add_option("--revision", args->revision, "Branch, tag, commit or refs/pr/N (default main)");
  cmd->add_option("--include", args->include, "Only files matching this glob (repeatable)");
  cmd->add_option("--exclude", args->exclude, "Skip files matching this glob (repeatable)");
  cmd->add_option("--policy", args->policy,
                  "Policy file (default: HFAUDIT_POLICY, then $HFAUDIT_HOME/policy.yaml, then the "
                  "built-in default)");
  cmd->add_option("-j,--jobs", args->jobs, "Files downloaded in parallel")
      ->check(CLI::Range(1, 64))
      ->default_str("8");
  cmd->add_flag("--offline", args->offline, "Serve from the cache only (as HF_HUB_OFFLINE=1)");
  cmd->add_flag("--review", args->review,
                "Fetch, verify and scan the files even when the policy blocks the repository, "
                "for review before hfaudit approve (blocked files stay out of the snapshot)");
  cmd->add_flag("--json", output.json, "Write the hfaudit.pull/1 JSON document");
  cmd->add_option("-o,--output", output.output_file,
                  "Write the document to FILE instead of stdout");

  return [args, &output]() {
    auto ref = parse_repo_argument(args->repo, args->revision);
    if (!ref) return ExitCode::usage;
    std::string warnings;
    const Environment env = read_environment(&warnings);
    print_warnings(warnings);
    ExitCode policy_error = ExitCode::ok;
    const auto policy = load_selected_policy(args->policy, env, policy_error);
    if (!policy) return policy_error;
    auto client = make_hub_client(env, output.verbose);
    if (!client) return ExitCode::usage;

    app::PullOptions options;
    options.policy = &policy->policy;
    options.cache = {env.hfaudit_home, env.hf_hub_cache};
    options.include = args->include;
    options.exclude = args->exclude;
    options.offline = args->offline || env.offline;
    options.review = args->review;
    options.parallel_downloads = args->jobs;
    if (env.range_threshold) options.range_threshold = *env.range_threshold;
    if (env.range_part_size) options.range_part_size = *env.range_part_size;
    const auto started = std::chrono::steady_clock::now();
    options.now_unix = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
    const bool progress = progress_enabled(output);
    std::mutex progress_mutex;
    auto last_draw = started;
    if (progress)
      options.on_progress = [&](const app::PullProgress& p) {
        std::lock_guard lock(progress_mutex);
        const auto now = std::chrono::steady_clock::now();
        if (now - last_draw < std::chrono::milliseconds(100) && p.files_done < p.files_total)
          return;
        last_draw = now;
        const double elapsed = std::chrono::duration<double>(now - started).count();
        const double rate = elapsed > 0 ? static_cast<double>(p.bytes_done) / elapsed : 0;
        show_progress(fmt::format(
            "pulling {} [{}/{} files] {} / {}  {}/s  ETA {}", args->repo, p.files_done,
            p.files_total, report::human_size(p.bytes_done), report::human_size(p.bytes_total),
            report::human_size(static_cast<uint64_t>(rate)),
            eta(p.bytes_total - std::min(p.bytes_done, p.bytes_total), rate)));
      };

    const app::PullResult result = app::pull(*client, *ref, options);
    if (progress) show_progress("");
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (result.failure) {
      print_error("cannot pull", ref->repo.str(), result.failure->message, result.failure->hint);
      switch (result.failure->kind) {
        case app::PullFailure::Kind::hub:
          return ExitCode::hub;
        case app::PullFailure::Kind::cache:
          return ExitCode::input;
        case app::PullFailure::Kind::usage:
          return ExitCode::usage;
      }
    }
    for (const auto& f : result.files)
      if (f.outcome == app::FileOutcome::failed || f.outcome == app::FileOutcome::blocked)
        print_error(f.outcome == app::FileOutcome::blocked ? "blocked" : "not verified", f.path,
                    f.reason);
    const std::string document =
        output.json ? render_json(result)
                    : render_text(result, output.verbose,
                                  output.output_file.empty() && stdout_color_enabled(), seconds);
    if (!write_document(output, document)) return ExitCode::input;
    return exit_code_of(result);
  };
}

}  // namespace hfaudit::cli
