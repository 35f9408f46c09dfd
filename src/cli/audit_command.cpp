// `hfaudit audit --lock FILE | --org ORG | --cache`: the periodic re-check (docs/audit.md).
#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

#include "app/audit.hpp"
#include "cli/commands.hpp"
#include "cli/env.hpp"
#include "cli/hub_setup.hpp"
#include "cli/policy_setup.hpp"
#include "hub/http.hpp"
#include "hub/paced_transport.hpp"
#include "lockfile/lockfile.hpp"
#include "report/audit_report.hpp"

namespace hfaudit::cli {

namespace {

struct AuditArgs {
  std::string lock;
  std::string org;
  bool cache = false;
  bool rehash = false;
  bool refresh = false;
  std::string html;
  std::string policy;
  std::string fail_on = "low";
  std::string max_requests;
  size_t jobs = 8;
};

constexpr const char* k_audit_footer =
    R"(Re-checks repositories against the Hub and the cache and reports what is NEW
since the last audit of the same target (runs are kept in the index):
  drift      the branch moved past the pinned/cached/last-seen commit, files
             added, removed or changed, renamed, now gated, or not found or no
             access (deleted and made-private look the same)
  integrity  cached blobs re-hashed (--rehash)
  risk       trust signals and risk factors re-computed, the Hub's per-file
             security scans, cached blobs re-scanned when their verdict came
             from an older scanner
  policy     the current policy on every repository, expired waivers

--org reads the organisation's paginated listing and re-fetches only the
repositories whose commit changed since the last run (--refresh: all of them).
Requests are paced by the Hub's RateLimit headers; --max-requests N/SECONDS
adds a budget of your own (e.g. 1000/300 for a free account's API quota).

Examples:
  hfaudit audit --cache
  hfaudit audit --lock hfaudit.lock --sarif -o audit.sarif
  hfaudit audit --org my-org --html audit.html
  hfaudit audit --org my-org --sarif -o audit.sarif      # GitHub code scanning
  hfaudit audit --cache --rehash --json

Exit codes: 0 clean (no current finding at or above --fail-on), 1 findings,
2 usage error, invalid policy or lock file, 3 cache or lock file unreadable,
4 could not complete (Hub error; the run is recorded as incomplete).)";

const char* k_hub_setup_hint = "check HF_ENDPOINT, the token and the network, then run it again";

std::optional<hub::PaceOptions> parse_budget(const std::string& text) {
  hub::PaceOptions pace;
  if (text.empty()) return pace;
  const auto slash = text.find('/');
  if (slash == std::string::npos) return std::nullopt;
  try {
    const long quota = std::stol(text.substr(0, slash));
    const long seconds = std::stol(text.substr(slash + 1));
    if (quota <= 0 || seconds <= 0) return std::nullopt;
    pace.quota = static_cast<uint64_t>(quota);
    pace.window = std::chrono::seconds(seconds);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  return pace;
}

struct LoadedLock {
  lockfile::Lockfile lock;
  std::map<std::string, int> lines;  // repo -> line of its "repo" key, for SARIF locations
};

// On failure prints the error and sets `code`: 3 unreadable, 2 invalid.
std::optional<LoadedLock> load_lock(const std::string& path, ExitCode& code) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (in) text << in.rdbuf();
  if (!in) {
    print_error("cannot read lock file", path, std::strerror(errno),
                "create it with hfaudit lock org/model, or pass --lock PATH");
    code = ExitCode::input;
    return std::nullopt;
  }
  auto parsed = lockfile::parse(text.str(), path);
  if (!parsed) {
    print_error("invalid lock file", path, parsed.error().message,
                "re-create it with hfaudit lock (docs/lockfile.md)");
    code = ExitCode::usage;
    return std::nullopt;
  }
  LoadedLock loaded{std::move(*parsed), {}};
  // The canonical writer puts each entry's "repo" key on its own line.
  std::istringstream lines(text.str());
  std::string line;
  for (int n = 1; std::getline(lines, line); ++n)
    for (const auto& entry : loaded.lock.repos)
      if (line.find("\"repo\": " + nlohmann::json(entry.repo).dump()) != std::string::npos)
        loaded.lines.emplace(entry.repo, n);
  return loaded;
}

}  // namespace

CommandRunner add_audit_command(CLI::App& app, OutputOptions& output) {
  auto args = std::make_shared<AuditArgs>();
  CLI::App* cmd = app.add_subcommand(
      "audit",
      "Re-check a lock file, an organisation or the cache: drift, integrity, risk, policy");
  cmd->footer(k_audit_footer);
  auto* lock_option =
      cmd->add_option("--lock", args->lock, "Every repository pinned in this lock file");
  auto* org_option = cmd->add_option("--org", args->org, "Every model the organisation publishes");
  auto* cache_option = cmd->add_flag("--cache", args->cache, "Everything already in the cache");
  org_option->excludes(cache_option);
  lock_option->excludes(org_option);
  lock_option->excludes(cache_option);
  cmd->add_flag("--rehash", args->rehash, "Re-hash cached blobs (reads every cached byte)");
  cmd->add_flag("--refresh", args->refresh,
                "--org: fetch every repository, not only those whose commit changed");
  add_policy_option(*cmd, args->policy);
  cmd->add_option("--fail-on", args->fail_on,
                  "Exit 1 when a current finding is at or above this severity (default low)")
      ->check(CLI::IsMember({"info", "low", "medium", "high", "critical"}));
  cmd->add_option("--max-requests", args->max_requests,
                  "Client-side budget of Hub requests, N/SECONDS (e.g. 1000/300)");
  add_jobs_option(*cmd, args->jobs, "Repositories checked at once");
  auto* json = cmd->add_flag("--json", output.json, "Write the hfaudit.audit/1 JSON document");
  auto* sarif = cmd->add_flag("--sarif", output.sarif, "Write SARIF 2.1.0 (GitHub code scanning)");
  json->excludes(sarif);
  cmd->add_option("--html", args->html, "Also write a self-contained HTML report to FILE");
  cmd->add_option("-o,--output", output.output_file,
                  "Write the document to FILE instead of stdout");

  return [args, &output]() {
    if (args->lock.empty() && args->org.empty() && !args->cache) {
      print_error("nothing to audit", "audit", "give --lock FILE, --org ORG or --cache",
                  "hfaudit audit --lock hfaudit.lock, --org my-org, or --cache");
      return ExitCode::usage;
    }
    std::optional<LoadedLock> lock;
    if (!args->lock.empty()) {
      ExitCode lock_error = ExitCode::ok;
      lock = load_lock(args->lock, lock_error);
      if (!lock) return lock_error;
    }
    if (!args->org.empty() && !hub::RepoId::parse(args->org + "/x")) {
      print_error("invalid organisation", args->org, "not a Hub user or organisation name");
      return ExitCode::usage;
    }
    auto pace = parse_budget(args->max_requests);
    if (!pace) {
      print_error("invalid --max-requests", args->max_requests,
                  "expected N/SECONDS with both numbers positive", "e.g. --max-requests 1000/300");
      return ExitCode::usage;
    }
    const Environment env = read_environment();
    ExitCode policy_error = ExitCode::ok;
    const auto policy = load_selected_policy(args->policy, env, policy_error);
    if (!policy) return policy_error;
    auto transport = hub::make_paced_transport(hub::make_curl_transport(), *pace);
    auto client = make_hub_client(env, output.verbose, transport);
    if (!client) return ExitCode::usage;

    app::AuditOptions options;
    options.scope = lock          ? app::AuditScope::lock
                    : args->cache ? app::AuditScope::cache
                                  : app::AuditScope::org;
    options.target = lock ? args->lock : args->cache ? "cache" : args->org;
    if (lock) {
      options.lock = &lock->lock;
      options.lock_lines = lock->lines;
    }
    options.cache = {env.hfaudit_home, env.hf_hub_cache};
    options.policy = &policy->policy;
    options.rehash = args->rehash;
    options.refresh_all = args->refresh;
    options.jobs = args->jobs;
    const auto started = std::chrono::steady_clock::now();
    options.now_unix = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
    std::mutex progress_mutex;
    if (progress_enabled(output))
      options.on_progress = [&](size_t done, size_t total) {
        std::lock_guard guard(progress_mutex);
        show_progress(done == total ? ""
                                    : fmt::format("auditing {} [{}/{} repositories]",
                                                  options.target, done, total));
      };

    const app::AuditReport report = app::run_audit(*client, options);
    if (report.failure) {
      print_error(
          "cannot audit", options.target, report.failure->message,
          report.failure->hint.empty() && report.failure->kind == app::AuditFailure::Kind::hub
              ? k_hub_setup_hint
              : report.failure->hint);
      switch (report.failure->kind) {
        case app::AuditFailure::Kind::hub:
          return ExitCode::hub;
        case app::AuditFailure::Kind::cache:
          return ExitCode::input;
        case app::AuditFailure::Kind::usage:
          return ExitCode::usage;
      }
    }

    report::AuditRenderOptions render;
    render.verbose = output.verbose;
    render.hub_endpoint = env.endpoint;
    render.requests = transport->requests_sent();
    render.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (!args->html.empty()) {
      OutputOptions html = output;
      html.output_file = args->html;
      if (!write_document(html, report::render_audit_html(report, render))) return ExitCode::input;
    }
    std::string document;
    if (output.json) {
      document = report::render_audit_json(report, render);
    } else if (output.sarif) {
      document = report::render_audit_sarif(report, render);
    } else {
      render.color = output.output_file.empty() && stdout_color_enabled();
      document = report::render_audit_text(report, render);
    }
    if (!write_document(output, document)) return ExitCode::input;

    for (const auto& repo : report.repos)
      if (repo.outcome == app::RepoOutcome::error)
        print_error("could not check", repo.repo, repo.error, k_hub_setup_hint);
    if (!report.complete) return ExitCode::hub;
    const auto fail_on = *scan::parse_severity(args->fail_on);
    for (const auto& f : report.findings)
      if (f.severity >= fail_on) return ExitCode::findings;
    return ExitCode::ok;
  };
}

}  // namespace hfaudit::cli
