// How a pull result is reported: exit code, error lines, JSON, text, progress.
#include "cli/pull_output.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "report/policy_report.hpp"
#include "report/text_style.hpp"

namespace hfaudit::cli {

namespace {

std::string eta(uint64_t remaining, double rate) {
  if (rate <= 0) return "--:--";
  const auto s = static_cast<uint64_t>(static_cast<double>(remaining) / rate);
  return fmt::format("{:02}:{:02}", s / 60, s % 60);
}

}  // namespace

ExitCode pull_exit_code(const app::PullResult& result) {
  ExitCode code = ExitCode::ok;
  if (result.failure) {
    switch (result.failure->kind) {
      case app::PullFailure::Kind::hub:
        code = ExitCode::hub;
        break;
      case app::PullFailure::Kind::cache:
        code = ExitCode::input;
        break;
      case app::PullFailure::Kind::usage:
        code = ExitCode::usage;
        break;
      case app::PullFailure::Kind::integrity:
        code = ExitCode::integrity;
        break;
    }
  }
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

nlohmann::json pull_json(const app::PullResult& r) {
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
         {"git_oid", f.git_oid.empty() ? nlohmann::json(nullptr) : nlohmann::json(f.git_oid)},
         {"sha256", f.sha256.empty() ? nlohmann::json(nullptr) : nlohmann::json(f.sha256)},
         {"outcome", app::to_string(f.outcome)},
         {"source", app::to_string(f.source)},
         {"bytes_fetched", f.bytes_fetched},
         {"max_severity", f.max_severity ? nlohmann::json(scan::to_string(*f.max_severity))
                                         : nlohmann::json(nullptr)},
         {"reason", f.reason},
         {"findings", findings}});
  }
  return {{"repo", r.repo},
          {"revision", r.revision},
          {"commit", r.commit},
          {"snapshot_dir", r.snapshot_dir},
          {"network_used", r.network_used},
          {"bytes_fetched", r.bytes_fetched},
          {"files_fetched", r.files_fetched},
          {"overall_risk",
           r.trust ? nlohmann::json(scan::to_string(r.trust->overall)) : nlohmann::json(nullptr)},
          {"decision",
           r.decision ? nlohmann::json(policies::to_json(*r.decision)) : nlohmann::json(nullptr)},
          {"files", files}};
}

void print_pull_errors(const app::PullResult& result, std::string_view subject_prefix) {
  if (result.failure)
    print_error("cannot pull", result.repo, result.failure->message, result.failure->hint);
  for (const auto& f : result.files)
    if (f.outcome == app::FileOutcome::failed || f.outcome == app::FileOutcome::blocked)
      print_error(f.outcome == app::FileOutcome::blocked ? "blocked" : "not verified",
                  std::string(subject_prefix) + f.path, f.reason);
}

std::string machine_document(std::string_view schema, nlohmann::json body) {
  nlohmann::json doc = {{"schema", schema}, {"hfaudit_version", HFAUDIT_VERSION}};
  doc.update(body);
  return doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

app::PullOptions pull_options(const Environment& env, const policies::Policy& policy, size_t jobs) {
  app::PullOptions options;
  options.policy = &policy;
  options.cache = {env.hfaudit_home, env.hf_hub_cache};
  options.offline = env.offline;
  options.parallel_downloads = jobs;
  if (env.range_threshold) options.range_threshold = *env.range_threshold;
  if (env.range_part_size) options.range_part_size = *env.range_part_size;
  options.now_unix = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  return options;
}

ProgressDisplay::ProgressDisplay(const OutputOptions& output)
    : m_enabled(progress_enabled(output)), m_started(std::chrono::steady_clock::now()) {}

std::function<void(const app::PullProgress&)> ProgressDisplay::callback(std::string label) {
  if (!m_enabled) return {};
  return [this, label = std::move(label)](const app::PullProgress& p) {
    std::lock_guard lock(m_mutex);
    const auto now = std::chrono::steady_clock::now();
    if (now - m_last_draw < std::chrono::milliseconds(100) && p.files_done < p.files_total) return;
    m_last_draw = now;
    const double elapsed = std::chrono::duration<double>(now - m_started).count();
    const double rate = elapsed > 0 ? static_cast<double>(p.bytes_done) / elapsed : 0;
    show_progress(fmt::format("{} [{}/{} files] {} / {}  {}/s  ETA {}", label, p.files_done,
                              p.files_total, report::human_size(p.bytes_done),
                              report::human_size(p.bytes_total),
                              report::human_size(static_cast<uint64_t>(rate)),
                              eta(p.bytes_total - std::min(p.bytes_done, p.bytes_total), rate)));
  };
}

void ProgressDisplay::clear() {
  if (m_enabled) show_progress("");
}

double ProgressDisplay::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - m_started).count();
}

std::string pull_text(const app::PullResult& r, bool verbose, bool color, double seconds) {
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

}  // namespace hfaudit::cli
