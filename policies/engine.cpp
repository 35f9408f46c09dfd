#include "policies/engine.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "util/hash.hpp"
#include "util/text.hpp"

namespace hfaudit::policies {

namespace {

using scan::Format;
using scan::Severity;

constexpr size_t k_max_listed = 8;

std::string join(const std::vector<std::string>& items, size_t max_items = k_max_listed) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < max_items; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > max_items) out += ", ... (" + std::to_string(items.size()) + " in all)";
  return out;
}

std::string plural(size_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

bool is_pickle_family(Format f) {
  return f == Format::pickle || f == Format::joblib || f == Format::pytorch_zip ||
         f == Format::pytorch_legacy || f == Format::pytorch_tar;
}

// A file loads through pickle if it, or anything nested in it (an object
// array inside .npy, a pickle inside a tarball), is pickle-based.
bool is_pickle_based(const scan::FileReport& f) {
  if (is_pickle_family(f.format)) return true;
  return std::any_of(f.objects.begin(), f.objects.end(),
                     [](const scan::ObjectReport& o) { return is_pickle_family(o.format); });
}

// Formats that formats.allowed judges: everything that a loader deserialises
// plus unrecognised binaries. Text, JSON, Python source, LFS pointers and
// tokenizer models are left to the code and scan rules.
bool judged_by_allow_list(Format f) {
  return scan::is_model_format(f) || f == Format::unknown;
}

// Scanner findings that mean "an import hfaudit cannot vouch for".
bool is_import_problem(std::string_view rule) {
  return rule == "pickle.import.unknown" || rule == "pickle.import.denied" ||
         rule == "pickle.call.denied" || rule == "pickle.import.unresolved" ||
         rule == "pickle.ext_registry";
}

int hub_rank(hub::ScanStatus s) {
  switch (s) {
    case hub::ScanStatus::caution:
      return 1;
    case hub::ScanStatus::suspicious:
      return 2;
    case hub::ScanStatus::unsafe:
      return 3;
    default:
      return 0;
  }
}

int level_rank(HubLevel l) {
  switch (l) {
    case HubLevel::caution:
      return 1;
    case HubLevel::suspicious:
      return 2;
    case HubLevel::unsafe:
      return 3;
  }
  return 3;
}

bool hub_scanned(hub::ScanStatus s) {
  return s == hub::ScanStatus::safe || hub_rank(s) > 0;
}

bool is_weight_kind(trust::FileKind k) {
  return k == trust::FileKind::pickle_weights || k == trust::FileKind::onnx ||
         k == trust::FileKind::keras || k == trust::FileKind::gguf ||
         k == trust::FileKind::safetensors || k == trust::FileKind::flax_msgpack;
}

Verdict worse(Verdict a, Verdict b) {
  return static_cast<int>(a) >= static_cast<int>(b) ? a : b;
}

Verdict verdict_of(Outcome o) {
  return o == Outcome::block ? Verdict::block : o == Outcome::warn ? Verdict::warn : Verdict::allow;
}

// What a check found before severity and waivers are applied.
struct Check {
  enum class State { pass, fired, not_applicable };
  State state = State::pass;
  std::string evidence;
  std::vector<std::pair<std::string, std::string>> file_hits;  // path, why

  static Check pass(std::string evidence) { return {State::pass, std::move(evidence), {}}; }
  static Check not_applicable(std::string evidence) {
    return {State::not_applicable, std::move(evidence), {}};
  }
  static Check fired(std::string evidence) { return {State::fired, std::move(evidence), {}}; }
};

class Evaluator {
 public:
  Evaluator(const Policy& policy, const EvaluationInput& in) : m_policy(policy), m_in(in) {
    m_d.policy_name = policy.name;
    m_d.policy_sha256 = policy.sha256;
    m_d.policy_source = policy.source;
    m_d.repo = in.trust.repo;
    m_d.commit = in.trust.commit;
    m_d.requested_revision = in.requested_revision;
    m_d.approval = in.approval;
    m_d.approval_detail = in.approval_detail;
    // File rules judge only the files about to be admitted: the scanned ones
    // after download, the Hub's file list before it.
    if (!in.files.empty()) {
      for (const auto& f : in.files) m_candidates.insert(f.path);
    } else {
      for (const auto& f : in.trust.files) m_candidates.insert(f.path);
    }
    for (const auto& path : m_candidates) m_files[path].path = path;
  }

  Decision run() {
    const Rules& r = m_policy.rules;
    if (r.formats_allowed) apply(*r.formats_allowed, formats_allowed(*r.formats_allowed));
    if (r.formats_forbidden) apply(*r.formats_forbidden, formats_forbidden(*r.formats_forbidden));
    if (r.formats_require_safetensors) apply(*r.formats_require_safetensors, require_safetensors());
    if (r.formats_pickle) apply(*r.formats_pickle, pickle_clean(*r.formats_pickle));
    if (r.scan_max_severity) apply(*r.scan_max_severity, max_severity(*r.scan_max_severity));
    if (r.scan_hub_flagged) apply(*r.scan_hub_flagged, hub_flagged(*r.scan_hub_flagged));
    if (r.scan_hub_unscanned) apply(*r.scan_hub_unscanned, hub_unscanned());
    if (r.provenance_allowed_authors)
      apply(*r.provenance_allowed_authors, allowed_authors(*r.provenance_allowed_authors));
    if (r.provenance_denied_authors)
      apply(*r.provenance_denied_authors, denied_authors(*r.provenance_denied_authors));
    if (r.provenance_gated) apply(*r.provenance_gated, gated());
    if (r.provenance_private) apply(*r.provenance_private, is_private());
    if (r.provenance_min_age) apply(*r.provenance_min_age, min_age(*r.provenance_min_age));
    if (r.provenance_pinned_commit) apply(*r.provenance_pinned_commit, pinned_commit());
    if (r.community_min_downloads)
      apply(*r.community_min_downloads,
            minimum(*r.community_min_downloads, m_in.trust.downloads, "downloads (30 days)"));
    if (r.community_min_likes)
      apply(*r.community_min_likes, minimum(*r.community_min_likes, m_in.trust.likes, "likes"));
    if (r.documentation_model_card) apply(*r.documentation_model_card, model_card());
    if (r.license_allowed) apply(*r.license_allowed, license_allowed(*r.license_allowed));
    if (r.license_denied) apply(*r.license_denied, license_denied(*r.license_denied));
    if (r.code_custom_code) apply(*r.code_custom_code, custom_code(*r.code_custom_code));
    if (r.size_max_total) apply(*r.size_max_total, max_total(*r.size_max_total));
    if (r.size_max_file) apply(*r.size_max_file, max_file(*r.size_max_file));
    if (r.approval_required) apply(*r.approval_required, approval());

    for (auto& [path, f] : m_files) m_d.files.push_back(std::move(f));
    return std::move(m_d);
  }

 private:
  bool scanned() const { return !m_in.files.empty(); }

  // A finding counts unless it is an unknown import the policy allows.
  bool counts(const scan::Finding& f) const {
    if (f.rule != "pickle.import.unknown") return true;
    return std::none_of(
        m_policy.allowed_pickle_imports.begin(), m_policy.allowed_pickle_imports.end(),
        [&](const std::string& p) { return glob_match(p, f.subject, Case::sensitive); });
  }

  std::optional<AppliedWaiver> find_waiver(const std::string& rule_id) {
    const std::string repo = util::ascii_lower(m_in.trust.repo);
    const std::string commit = util::ascii_lower(m_in.trust.commit);
    for (size_t i = 0; i < m_policy.waivers.size(); ++i) {
      const Waiver& w = m_policy.waivers[i];
      if (!glob_match(w.repo, repo)) continue;
      if (w.which == WaivedRules::listed &&
          std::find(w.rules.begin(), w.rules.end(), rule_id) == w.rules.end())
        continue;
      const std::string where = "waiver at line " + std::to_string(w.line) + " (" + w.owner + ")";
      if (!w.commit.empty() && w.commit != commit) {
        m_d.notes.push_back(where + " does not apply to " + rule_id + ": it is for commit " +
                            w.commit + ", not " + (commit.empty() ? "(unknown)" : commit));
        continue;
      }
      if (m_in.now_unix >= w.expires_end_unix) {
        m_d.notes.push_back(where + " does not apply to " + rule_id +
                            ": it expired at the end of " + w.expires);
        continue;
      }
      return AppliedWaiver{i, w.line, w.owner, w.reason, w.expires};
    }
    return std::nullopt;
  }

  void apply(const RuleBase& rule, Check check) {
    const RuleInfo* info = find_rule(rule.id);
    RuleResult res;
    res.id = rule.id;
    res.scope = info ? info->scope : Scope::repository;
    res.action = rule.action;
    res.remediation = rule.remediation;
    res.evidence = std::move(check.evidence);
    switch (check.state) {
      case Check::State::pass:
        res.outcome = Outcome::pass;
        break;
      case Check::State::not_applicable:
        res.outcome = Outcome::not_applicable;
        break;
      case Check::State::fired:
        res.waiver = find_waiver(rule.id);
        res.outcome = res.waiver                     ? Outcome::waived
                      : rule.action == Action::block ? Outcome::block
                                                     : Outcome::warn;
        if (res.waiver)
          res.evidence += " [waived until the end of " + res.waiver->expires + " by " +
                          res.waiver->owner + ": " + res.waiver->reason + "]";
        break;
    }
    for (auto& [path, why] : check.file_hits) {
      res.files.push_back(path);
      FileDecision& f = m_files[path];
      f.path = path;
      f.reasons.push_back(FileReason{rule.id, res.outcome, why, rule.remediation});
      if (res.scope == Scope::file) f.verdict = worse(f.verdict, verdict_of(res.outcome));
    }
    m_d.verdict = worse(m_d.verdict, verdict_of(res.outcome));
    if (res.scope == Scope::repository)
      m_d.repository_verdict = worse(m_d.repository_verdict, verdict_of(res.outcome));
    m_d.rules.push_back(std::move(res));
  }

  // Turns per-file hits into a check: fired when any file was hit.
  static Check from_hits(std::vector<std::pair<std::string, std::string>> hits,
                         std::string pass_evidence, std::string_view what) {
    if (hits.empty()) return Check::pass(std::move(pass_evidence));
    std::vector<std::string> listed;
    for (const auto& [path, why] : hits) listed.push_back(path + " (" + why + ")");
    Check c = Check::fired(plural(hits.size(), "file", "files") + " " + std::string(what) + ": " +
                           join(listed));
    c.file_hits = std::move(hits);
    return c;
  }

  static Check before_download(std::string_view what) {
    return Check::not_applicable("no scan reports yet (evaluated before download): " +
                                 std::string(what) + " is judged from file content");
  }

  Check formats_allowed(const FormatListRule& rule) const {
    if (!scanned()) return before_download("the format");
    std::vector<std::pair<std::string, std::string>> hits;
    size_t judged = 0;
    for (const auto& f : m_in.files) {
      if (!judged_by_allow_list(f.format)) continue;
      ++judged;
      if (std::find(rule.formats.begin(), rule.formats.end(), f.format) == rule.formats.end())
        hits.emplace_back(f.path, "detected format " + std::string(scan::to_string(f.format)) +
                                      " is not allowed");
    }
    return from_hits(std::move(hits),
                     plural(judged, "model file is", "model files are") + " in allowed formats",
                     "in a format the policy does not allow");
  }

  Check formats_forbidden(const FormatListRule& rule) const {
    if (!scanned()) return before_download("the format");
    std::vector<std::pair<std::string, std::string>> hits;
    for (const auto& f : m_in.files) {
      std::vector<std::pair<Format, std::string>> seen = {{f.format, ""}};
      for (const auto& o : f.objects) seen.emplace_back(o.format, o.member);
      for (const auto& [format, member] : seen)
        if (std::find(rule.formats.begin(), rule.formats.end(), format) != rule.formats.end()) {
          hits.emplace_back(f.path, "holds " + std::string(scan::to_string(format)) +
                                        (member.empty() ? "" : " at " + member));
          break;
        }
    }
    return from_hits(std::move(hits), "no file holds a forbidden format",
                     "holding a forbidden format");
  }

  Check require_safetensors() const {
    const auto coverage = m_in.trust.safetensors_coverage;
    if (coverage != trust::SafetensorsCoverage::full)
      return Check::not_applicable(
          "the repository does not offer safetensors copies of all its pickle weights "
          "(safetensors coverage: " +
          std::string(trust::to_string(coverage)) + ")");
    std::vector<std::pair<std::string, std::string>> hits;
    if (scanned()) {
      // By content: a pickle renamed .safetensors is still a pickle.
      for (const auto& f : m_in.files)
        if (is_pickle_based(f))
          hits.emplace_back(f.path, "pickle-based (" + std::string(scan::to_string(f.format)) +
                                        ") while safetensors weights exist");
    } else {
      for (const auto& p : m_in.trust.pickle_files)
        if (m_candidates.count(p))
          hits.emplace_back(p, "pickle weights (by name) while safetensors weights exist");
    }
    return from_hits(std::move(hits), "no pickle-based weights are taken; safetensors cover them",
                     "pickle-based although safetensors copies exist");
  }

  Check pickle_clean(const PickleRule& rule) const {
    if (!scanned()) return before_download("whether a file is a pickle");
    std::vector<std::pair<std::string, std::string>> hits;
    size_t pickles = 0;
    for (const auto& f : m_in.files) {
      if (!is_pickle_based(f)) continue;
      ++pickles;
      std::vector<std::string> problems;
      for (const auto& finding : f.findings) {
        if (!counts(finding)) continue;
        if (is_import_problem(finding.rule))
          problems.push_back(finding.rule + " " + finding.subject);
        else if (finding.severity > rule.max_severity)
          problems.push_back(finding.rule + " (" + std::string(scan::to_string(finding.severity)) +
                             ")");
      }
      if (!problems.empty()) hits.emplace_back(f.path, join(problems, 4));
    }
    if (pickles == 0) return Check::pass("no pickle-based files");
    return from_hits(std::move(hits),
                     plural(pickles, "pickle-based file is", "pickle-based files are") +
                         " clean, with allowed imports only",
                     "pickle-based with unvetted imports or findings above " +
                         std::string(scan::to_string(rule.max_severity)));
  }

  Check max_severity(const SeverityRule& rule) const {
    if (!scanned()) return before_download("the scan");
    std::vector<std::pair<std::string, std::string>> hits;
    for (const auto& f : m_in.files) {
      std::optional<Severity> worst;
      std::vector<std::string> over;
      for (const auto& finding : f.findings) {
        if (!counts(finding) || finding.severity <= rule.max) continue;
        if (!worst || finding.severity > *worst) worst = finding.severity;
        over.push_back(finding.rule);
      }
      if (worst) {
        std::sort(over.begin(), over.end());
        over.erase(std::unique(over.begin(), over.end()), over.end());
        hits.emplace_back(f.path, std::string(scan::to_string(*worst)) + ": " + join(over, 4));
      }
    }
    return from_hits(std::move(hits),
                     plural(m_in.files.size(), "file has", "files have") + " no finding above " +
                         std::string(scan::to_string(rule.max)),
                     "with findings above " + std::string(scan::to_string(rule.max)));
  }

  Check hub_flagged(const HubFlaggedRule& rule) const {
    std::vector<std::pair<std::string, std::string>> hits;
    for (const auto& f : m_in.trust.files) {
      if (!m_candidates.count(f.path) || hub_rank(f.hub_status) < level_rank(rule.min_level))
        continue;
      std::string why = "Hub status " + std::string(hub::to_string(f.hub_status));
      for (const auto& [scanner, status] : f.hub_scanners)
        if (status != hub::ScanStatus::safe)
          why += ", " + scanner + "=" + std::string(hub::to_string(status));
      hits.emplace_back(f.path, why);
    }
    if (m_in.trust.files.empty()) return Check::not_applicable("the Hub listed no files");
    return from_hits(
        std::move(hits),
        "no file is flagged " + std::string(to_string(rule.min_level)) + " or worse by the Hub",
        "flagged by the Hub's scanners");
  }

  Check hub_unscanned() const {
    std::vector<std::pair<std::string, std::string>> hits;
    for (const auto& f : m_in.trust.files) {
      if (!m_candidates.count(f.path) || !is_weight_kind(f.kind) || hub_scanned(f.hub_status))
        continue;
      hits.emplace_back(f.path, f.hub_status == hub::ScanStatus::unknown
                                    ? "no Hub scan status"
                                    : "Hub status " + std::string(hub::to_string(f.hub_status)));
    }
    if (m_in.trust.files.empty()) return Check::not_applicable("the Hub listed no files");
    return from_hits(std::move(hits), "every model file was scanned by the Hub",
                     "not scanned by the Hub");
  }

  Check allowed_authors(const GlobListRule& rule) const {
    const std::string& author = m_in.trust.author;
    for (const auto& p : rule.patterns)
      if (glob_match(p, author)) return Check::pass("author " + author + " matches '" + p + "'");
    return Check::fired("author " + (author.empty() ? "(unknown)" : author) +
                        " matches none of the allowed patterns: " + join(rule.patterns));
  }

  Check denied_authors(const GlobListRule& rule) const {
    const std::string& author = m_in.trust.author;
    for (const auto& p : rule.patterns)
      if (glob_match(p, author))
        return Check::fired("author " + author + " matches the denied pattern '" + p + "'");
    return Check::pass("author " + author + " matches no denied pattern");
  }

  Check gated() const {
    const std::string& g = m_in.trust.gated;
    if (g == "no") return Check::pass("the repository is not gated");
    // Anything but an explicit "no" (including values the Hub client did not
    // recognise) counts as gated: a restriction we cannot read is still one.
    return Check::fired("the repository is gated (" + g + ")");
  }

  Check is_private() const {
    return m_in.trust.is_private ? Check::fired("the repository is private")
                                 : Check::pass("the repository is public");
  }

  Check min_age(const DaysRule& rule) const {
    const auto& age = m_in.trust.days_since_last_commit;
    const std::string need = "the policy requires " + std::to_string(rule.days) + " days";
    if (!age)
      return Check::fired("the age of the last commit is unknown (last modified '" +
                          m_in.trust.last_modified + "'); " + need);
    const std::string fact = "last commit " + m_in.trust.last_modified + " is " +
                             plural(static_cast<size_t>(*age), "day", "days") + " old";
    if (*age < rule.days) return Check::fired(fact + "; " + need);
    return Check::pass(fact + " (minimum " + std::to_string(rule.days) + ")");
  }

  Check pinned_commit() const {
    const std::string rev = util::ascii_lower(m_in.requested_revision);
    if (util::is_lower_hex(rev, util::k_sha1_hex_length))
      return Check::pass("the requested revision is the commit " + rev);
    return Check::fired(
        "the requested revision '" +
        (m_in.requested_revision.empty() ? std::string("main") : m_in.requested_revision) +
        "' is not a full commit id (it resolved to " +
        (m_in.trust.commit.empty() ? "an unknown commit" : m_in.trust.commit) + ")");
  }

  Check minimum(const CountRule& rule, const std::optional<uint64_t>& value,
                std::string_view what) const {
    const std::string need = "minimum " + std::to_string(rule.min);
    if (!value) return Check::fired("the Hub reported no " + std::string(what) + "; " + need);
    const std::string fact = std::to_string(*value) + " " + std::string(what);
    return *value < rule.min ? Check::fired(fact + ", below the " + need)
                             : Check::pass(fact + " (" + need + ")");
  }

  Check model_card() const {
    if (!m_in.trust.card_present) return Check::fired("README.md is absent");
    return Check::pass("README.md is present (" + std::to_string(m_in.trust.card_size) + " bytes)");
  }

  std::vector<std::string> licences() const {
    // trust joins several declared licences with ", ".
    std::vector<std::string> out;
    const std::string text = util::ascii_lower(m_in.trust.license);
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find(',', start);
      if (end == std::string::npos) end = text.size();
      std::string item = text.substr(start, end - start);
      item.erase(0, item.find_first_not_of(' '));
      item.erase(item.find_last_not_of(' ') + 1);
      if (!item.empty()) out.push_back(item);
      start = end + 1;
    }
    return out;
  }

  Check license_allowed(const GlobListRule& rule) const {
    const auto declared = licences();
    if (declared.empty()) return Check::fired("no licence is declared");
    std::vector<std::string> outside;
    for (const auto& l : declared)
      if (std::none_of(rule.patterns.begin(), rule.patterns.end(),
                       [&](const std::string& p) { return glob_match(p, l); }))
        outside.push_back(l);
    if (!outside.empty())
      return Check::fired("licence " + join(outside) + " is not on the allow list (" +
                          join(rule.patterns) + ")");
    return Check::pass("licence " + join(declared) + " is allowed");
  }

  Check license_denied(const GlobListRule& rule) const {
    const auto declared = licences();
    if (declared.empty()) return Check::pass("no licence is declared (see license.allowed)");
    for (const auto& l : declared)
      for (const auto& p : rule.patterns)
        if (glob_match(p, l))
          return Check::fired("licence " + l + " matches the denied pattern '" + p + "'");
    return Check::pass("licence " + join(declared) + " is not denied");
  }

  Check custom_code(const CustomCodeRule& rule) const {
    std::vector<std::string> evidence = m_in.trust.custom_code_evidence;
    std::vector<std::pair<std::string, std::string>> hits;
    if (scanned()) {
      for (const auto& f : m_in.files) {
        const bool auto_map =
            std::any_of(f.findings.begin(), f.findings.end(),
                        [](const scan::Finding& x) { return x.rule == "code.auto_map"; });
        if (f.format == Format::python_source)
          hits.emplace_back(f.path, "Python source");
        else if (auto_map)
          hits.emplace_back(f.path, "names custom code (auto_map)");
      }
    } else {
      for (const auto& f : m_in.trust.files)
        if (f.kind == trust::FileKind::code && m_candidates.count(f.path))
          hits.emplace_back(f.path, "Python source (by name)");
    }
    for (const auto& [path, why] : hits)
      if (std::find(evidence.begin(), evidence.end(), path) == evidence.end())
        evidence.push_back(path);
    if (evidence.empty()) return Check::pass("no custom code (no auto_map, no .py files)");
    const std::string fact = "custom code: " + join(evidence);
    const std::string repo = util::ascii_lower(m_in.trust.repo);
    for (const auto& p : rule.approved_repos)
      if (glob_match(p, repo))
        return Check::pass(fact + "; allowed because the repository matches '" + p + "'");
    if (m_in.approval == ApprovalStatus::approved)
      return Check::pass(fact + "; allowed because " + m_in.trust.repo + "@" + m_in.trust.commit +
                         " is approved" + approval_suffix());
    Check c = Check::fired(fact + (m_in.approval == ApprovalStatus::invalidated
                                       ? "; its approval no longer holds" + approval_suffix()
                                       : "; the repository is not approved"));
    c.file_hits = std::move(hits);
    return c;
  }

  Check max_total(const SizeRule& rule) const {
    uint64_t total = 0;
    if (scanned()) {
      for (const auto& f : m_in.files) total += f.size;
    } else {
      total = m_in.trust.total_size;
    }
    const std::string fact = "the files total " + format_size(total);
    if (total > rule.max_bytes)
      return Check::fired(fact + ", over the limit of " + format_size(rule.max_bytes));
    return Check::pass(fact + " (limit " + format_size(rule.max_bytes) + ")");
  }

  Check max_file(const SizeRule& rule) const {
    std::vector<std::pair<std::string, std::string>> hits;
    const auto check = [&](const std::string& path, uint64_t size) {
      if (size > rule.max_bytes) hits.emplace_back(path, format_size(size));
    };
    if (scanned()) {
      for (const auto& f : m_in.files) check(f.path, f.size);
    } else {
      for (const auto& f : m_in.trust.files) check(f.path, f.size);
    }
    return from_hits(std::move(hits), "no file is larger than " + format_size(rule.max_bytes),
                     "larger than " + format_size(rule.max_bytes));
  }

  // " (approved by alice on ...: reason)" when the caller said who and why.
  std::string approval_suffix() const {
    return m_in.approval_detail.empty() ? std::string() : " (" + m_in.approval_detail + ")";
  }

  Check approval() const {
    const std::string what = m_in.trust.repo + "@" + m_in.trust.commit;
    switch (m_in.approval) {
      case ApprovalStatus::approved:
        return Check::pass(what + " is in the approved-model registry" + approval_suffix());
      case ApprovalStatus::invalidated:
        return Check::fired("the approval of " + what +
                            " is invalidated: its files changed since it was approved" +
                            approval_suffix());
      case ApprovalStatus::not_approved:
        break;
    }
    return Check::fired(what + " is not in the approved-model registry");
  }

  const Policy& m_policy;
  const EvaluationInput& m_in;
  Decision m_d;
  std::set<std::string> m_candidates;
  std::map<std::string, FileDecision> m_files;
};

}  // namespace

std::string_view to_string(Verdict verdict) {
  switch (verdict) {
    case Verdict::allow:
      return "allow";
    case Verdict::warn:
      return "warn";
    case Verdict::block:
      return "block";
  }
  return "block";
}

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::pass:
      return "pass";
    case Outcome::warn:
      return "warn";
    case Outcome::block:
      return "block";
    case Outcome::waived:
      return "waived";
    case Outcome::not_applicable:
      return "not_applicable";
  }
  return "block";
}

std::string_view to_string(ApprovalStatus status) {
  switch (status) {
    case ApprovalStatus::approved:
      return "approved";
    case ApprovalStatus::not_approved:
      return "not_approved";
    case ApprovalStatus::invalidated:
      return "invalidated";
  }
  return "not_approved";
}

bool Decision::admits(std::string_view path) const {
  if (repository_verdict == Verdict::block) return false;
  for (const auto& f : files)
    if (f.path == path) return f.verdict != Verdict::block;
  return false;
}

std::vector<std::string> Decision::blocked_files() const {
  std::vector<std::string> out;
  for (const auto& f : files)
    if (f.verdict == Verdict::block) out.push_back(f.path);
  return out;
}

const RuleResult* Decision::find(std::string_view rule_id) const {
  for (const auto& r : rules)
    if (r.id == rule_id) return &r;
  return nullptr;
}

Decision evaluate(const Policy& policy, const EvaluationInput& input) {
  return Evaluator(policy, input).run();
}

nlohmann::json to_json(const Decision& d) {
  nlohmann::json rules = nlohmann::json::array();
  for (const auto& r : d.rules) {
    nlohmann::json item = {{"id", r.id},
                           {"scope", r.scope == Scope::file ? "file" : "repository"},
                           {"severity", to_string(r.action)},
                           {"outcome", to_string(r.outcome)},
                           {"evidence", r.evidence},
                           {"remediation", r.remediation},
                           {"files", r.files}};
    if (r.waiver)
      item["waiver"] = {{"line", r.waiver->line},
                        {"owner", r.waiver->owner},
                        {"reason", r.waiver->reason},
                        {"expires", r.waiver->expires}};
    rules.push_back(std::move(item));
  }
  nlohmann::json files = nlohmann::json::array();
  for (const auto& f : d.files) {
    nlohmann::json reasons = nlohmann::json::array();
    for (const auto& r : f.reasons)
      reasons.push_back({{"rule", r.rule},
                         {"outcome", to_string(r.outcome)},
                         {"evidence", r.evidence},
                         {"remediation", r.remediation}});
    files.push_back({{"path", f.path}, {"verdict", to_string(f.verdict)}, {"reasons", reasons}});
  }
  return {{"verdict", to_string(d.verdict)},
          {"repository_verdict", to_string(d.repository_verdict)},
          {"policy",
           {{"name", d.policy_name}, {"sha256", d.policy_sha256}, {"source", d.policy_source}}},
          {"repo", d.repo},
          {"commit", d.commit},
          {"requested_revision", d.requested_revision},
          {"approval", {{"status", to_string(d.approval)}, {"detail", d.approval_detail}}},
          {"rules", rules},
          {"files", files},
          {"notes", d.notes}};
}

}  // namespace hfaudit::policies
