#include "policies/policy.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "util/hash.hpp"
#include "util/text.hpp"

namespace hfaudit::policies {

namespace {

using scan::Format;
using scan::Severity;

const std::vector<RuleInfo> k_catalogue = {
    {"formats.allowed", Scope::file, Action::block,
     "pull only files in an allowed format (--include/--exclude), or ask the publisher for "
     "safetensors weights",
     "every model file's format, detected from its content, is on the list"},
    {"formats.forbidden", Scope::file, Action::block,
     "exclude these files from the pull, or use a copy of the model in an allowed format",
     "no file (or anything nested in one) has a forbidden format, detected from its content"},
    {"formats.require_safetensors", Scope::file, Action::block,
     "pull only the safetensors weights (e.g. --exclude '*.bin' --exclude '*.pt')",
     "pickle-based weights are refused when the repository has safetensors copies of them"},
    {"formats.pickle", Scope::file, Action::block,
     "prefer safetensors weights; if you must load this pickle, review its imports and add "
     "known-safe classes to allowed_pickle_imports",
     "a pickle-based file is admitted only if its scan is clean and every import is allowed"},
    {"scan.max_severity", Scope::file, Action::block,
     "read the findings (hfaudit scan -v FILE); exclude the file or waive it with a reason",
     "no file carries a scan finding above the tolerated severity"},
    {"scan.hub_flagged", Scope::file, Action::block,
     "do not use this file; read the Hub's scan report and report the repository if it is "
     "malicious",
     "no file is flagged by the Hub's own security scanners"},
    {"scan.hub_unscanned", Scope::file, Action::warn,
     "rely on hfaudit's own scan, or wait until the Hub has scanned the files",
     "every model file has been scanned by the Hub"},
    {"provenance.allowed_authors", Scope::repository, Action::block,
     "use a model published by an allowed organisation, or add this author to the policy",
     "the author (organisation or user) matches an allowed pattern"},
    {"provenance.denied_authors", Scope::repository, Action::block,
     "this publisher is denied by policy: use a model from another publisher",
     "the author matches no denied pattern"},
    {"provenance.gated", Scope::repository, Action::warn,
     "gated repositories need an access agreement: check its terms before use",
     "the repository is not gated"},
    {"provenance.private", Scope::repository, Action::warn,
     "private repositories are not publicly reviewable: make sure you may use it",
     "the repository is public"},
    {"provenance.min_age", Scope::repository, Action::block,
     "wait until the last commit is old enough, or pin an older reviewed commit",
     "the last commit is at least N days old (a quarantine for brand-new uploads)"},
    {"provenance.pinned_commit", Scope::repository, Action::block,
     "request a full 40-character commit (REPO@COMMIT), e.g. from hfaudit lock",
     "the requested revision is a full commit id, not a branch or tag"},
    {"community.min_downloads", Scope::repository, Action::warn,
     "little community scrutiny: review the model yourself or waive this rule",
     "the repository has at least N downloads (last 30 days)"},
    {"community.min_likes", Scope::repository, Action::warn,
     "little community scrutiny: review the model yourself or waive this rule",
     "the repository has at least N likes"},
    {"documentation.model_card", Scope::repository, Action::warn,
     "ask the publisher for a model card (README.md); do not use undocumented models",
     "the repository has a model card (README.md at its root)"},
    {"license.allowed", Scope::repository, Action::block,
     "have the licence reviewed and add it to the policy, or use another model",
     "every declared licence is on the allow list (no licence fails)"},
    {"license.denied", Scope::repository, Action::block,
     "this licence is denied by policy: use a model under another licence",
     "no declared licence is on the deny list"},
    {"code.custom_code", Scope::repository, Action::block,
     "review the code at this commit (hfaudit pull REPO@COMMIT --review fetches it without "
     "admitting it) and record it with hfaudit approve REPO@COMMIT --reason TEXT, or use a model "
     "that needs no trust_remote_code",
     "no custom code (config auto_map, .py files) unless the repository is approved"},
    {"size.max_total", Scope::repository, Action::block,
     "pull fewer files (--include/--exclude), or raise the limit",
     "the files total at most the given size"},
    {"size.max_file", Scope::file, Action::block, "exclude the file, or raise the limit",
     "no single file exceeds the given size"},
    {"approval.required", Scope::repository, Action::block,
     "fetch the commit for review (hfaudit pull REPO@COMMIT --review), review it, and record it "
     "with hfaudit approve REPO@COMMIT --reason TEXT",
     "the repository at this commit is in the approved-model registry"},
};

// Parse errors travel as an exception inside this file only (the parser is
// deeply nested and yaml-cpp throws anyway); parse_policy turns them into a
// Result at the module edge.
struct Invalid {
  int line;
  std::string key;
  std::string why;
};

[[noreturn]] void fail(int line, std::string key, std::string why) {
  throw Invalid{line, std::move(key), std::move(why)};
}

int line_of(const YAML::Node& node, int fallback) {
  // yaml-cpp marks are 0-based; null nodes created on lookup have no mark.
  const YAML::Mark mark = node.Mark();
  return mark.line >= 0 && mark.pos >= 0 ? mark.line + 1 : fallback;
}

std::string kind_of(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Scalar:
      return "a scalar '" + node.Scalar() + "'";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    default:
      return "an undefined value";
  }
}

// A value with where it sits, so every check can name file, line and key.
struct Value {
  YAML::Node node;
  std::string key;
  int line;
};

// Reads a mapping key by key; finish() rejects keys nobody asked for, so
// a misspelt key is an error instead of a rule silently left off.
class MapReader {
 public:
  MapReader(const Value& v) : m_key(v.key), m_line(v.line) {  // NOLINT: implicit by design
    if (!v.node.IsMap()) fail(v.line, v.key, "expected a mapping, got " + kind_of(v.node));
    for (const auto& item : v.node) {
      const YAML::Node& k = item.first;
      const int line = line_of(k, v.line);
      if (!k.IsScalar()) fail(line, v.key, "keys must be plain words, got " + kind_of(k));
      const std::string name = k.Scalar();
      for (const auto& e : m_entries)
        if (e.name == name)
          fail(line, child_key(name),
               "duplicate key (first at line " + std::to_string(e.line) + ")");
      m_entries.push_back(Entry{name, item.second, line, false});
    }
  }

  std::string child_key(std::string_view name) const {
    return m_key.empty() ? std::string(name) : m_key + "." + std::string(name);
  }
  int line() const { return m_line; }

  std::optional<Value> take(std::string_view name) {
    for (auto& e : m_entries)
      if (e.name == name) {
        e.used = true;
        // Scalars are reported where they are; a mapping, list or empty value
        // where its key is (its own mark is its first child, or end of input).
        const int line = e.value.IsScalar() ? line_of(e.value, e.line) : e.line;
        return Value{e.value, child_key(name), line};
      }
    return std::nullopt;
  }

  Value require(std::string_view name) {
    auto v = take(name);
    if (!v) fail(m_line, child_key(name), "required key is missing");
    return *v;
  }

  // Keys in file order, for mappings whose keys are data (rule ids).
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& e : m_entries) out.push_back(e.name);
    return out;
  }
  int line_of_key(std::string_view name) const {
    for (const auto& e : m_entries)
      if (e.name == name) return e.line;
    return m_line;
  }

  void finish(std::string_view allowed_hint) const {
    for (const auto& e : m_entries)
      if (!e.used)
        fail(e.line, child_key(e.name),
             "unknown key" + (allowed_hint.empty()
                                  ? std::string()
                                  : " (expected " + std::string(allowed_hint) + ")"));
  }

 private:
  struct Entry {
    std::string name;
    YAML::Node value;
    int line;
    bool used;
  };
  std::string m_key;
  int m_line;
  std::vector<Entry> m_entries;
};

std::string scalar(const Value& v, std::string_view what = "a string") {
  if (!v.node.IsScalar())
    fail(v.line, v.key, "expected " + std::string(what) + ", got " + kind_of(v.node));
  return v.node.Scalar();
}

std::string non_empty_text(const Value& v) {
  std::string s = scalar(v);
  if (s.find_first_not_of(" \t\r\n") == std::string::npos) fail(v.line, v.key, "must not be empty");
  return s;
}

std::vector<Value> sequence(const Value& v, std::string_view what) {
  if (!v.node.IsSequence())
    fail(v.line, v.key, "expected a list of " + std::string(what) + ", got " + kind_of(v.node));
  std::vector<Value> out;
  size_t i = 0;
  for (const auto& item : v.node)
    out.push_back(Value{item, v.key + "[" + std::to_string(i++) + "]", line_of(item, v.line)});
  return out;
}

template <typename T>
T integer(const Value& v, T max = std::numeric_limits<T>::max()) {
  const std::string s = scalar(v, "a whole number");
  if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos)
    fail(v.line, v.key, "expected a whole number, got '" + s + "'");
  const uint64_t n = std::stoull(s);
  if (n > static_cast<uint64_t>(max))
    fail(v.line, v.key, "number too large (at most " + std::to_string(max) + ")");
  return static_cast<T>(n);
}

Action action(const Value& v) {
  const std::string s = scalar(v);
  if (s == "block") return Action::block;
  if (s == "warn") return Action::warn;
  fail(v.line, v.key, "expected 'block' or 'warn', got '" + s + "'");
}

Severity finding_severity(const Value& v) {
  const std::string s = scalar(v);
  if (auto sev = scan::parse_severity(s)) return *sev;
  fail(v.line, v.key, "expected one of info, low, medium, high, critical, got '" + s + "'");
}

HubLevel hub_level(const Value& v) {
  const std::string s = scalar(v);
  if (s == "caution") return HubLevel::caution;
  if (s == "suspicious") return HubLevel::suspicious;
  if (s == "unsafe") return HubLevel::unsafe;
  fail(v.line, v.key, "expected one of caution, suspicious, unsafe, got '" + s + "'");
}

std::optional<Format> format_by_name(std::string_view name) {
  // Format is a dense enum ending at sentencepiece (src/scan/format.hpp).
  for (int i = 0; i <= static_cast<int>(Format::sentencepiece); ++i)
    if (scan::to_string(static_cast<Format>(i)) == name) return static_cast<Format>(i);
  return std::nullopt;
}

std::vector<Format> format_list(const Value& v) {
  std::vector<Format> out;
  for (const auto& item : sequence(v, "format names")) {
    const std::string s = scalar(item);
    auto f = format_by_name(s);
    if (!f)
      fail(item.line, item.key,
           "unknown format '" + s +
               "' (formats are named as hfaudit scan reports them, e.g. "
               "safetensors, pickle, pytorch_zip, gguf, onnx; see docs/policies.md)");
    out.push_back(*f);
  }
  if (out.empty()) fail(v.line, v.key, "the list is empty");
  return out;
}

enum class GlobKind { author, repo, licence, pickle_import };

// Globs are checked against the characters the Hub allows in the thing they
// match, so a typo ('org /x', 'org/[a-z]*') fails loudly instead of matching nothing.
std::string glob(const Value& v, GlobKind kind) {
  const std::string s = scalar(v);
  const auto bad = [&](const std::string& why) {
    fail(v.line, v.key, "bad pattern '" + s + "': " + why);
  };
  if (s.empty()) bad("empty");
  if (s.find("**") != std::string::npos) bad("'**' is not supported; '*' already matches any run");
  std::string_view extra;
  switch (kind) {
    case GlobKind::author:
    case GlobKind::repo:
      extra = "-_./";
      break;
    case GlobKind::licence:
      extra = "-_.+";
      break;
    case GlobKind::pickle_import:
      extra = "_.";
      break;
  }
  for (char c : s) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '*' || c == '?' ||
                    extra.find(c) != std::string_view::npos;
    if (!ok)
      bad(std::string("character '") + c + "' is not allowed (only letters, digits, " +
          std::string(extra) + " and the wildcards * and ?)");
  }
  const auto slashes = std::count(s.begin(), s.end(), '/');
  if (kind == GlobKind::author && slashes != 0)
    bad("an author has no '/'; use provenance rules on the namespace only");
  if (kind == GlobKind::repo) {
    const size_t slash = s.find('/');
    if (slashes != 1 || slash == 0 || slash + 1 == s.size()) bad("expected org/name");
  }
  return kind == GlobKind::pickle_import ? s : util::ascii_lower(s);
}

std::vector<std::string> glob_list(const Value& v, GlobKind kind, bool allow_empty) {
  std::vector<std::string> out;
  for (const auto& item : sequence(v, "patterns")) out.push_back(glob(item, kind));
  if (out.empty() && !allow_empty) fail(v.line, v.key, "the list is empty");
  return out;
}

uint64_t size_value(const Value& v) {
  const std::string s = scalar(v, "a size");
  if (auto n = parse_size(s)) return *n;
  fail(v.line, v.key, "expected a size such as 500MB or 10GiB, got '" + s + "'");
}

// The settings of each rule type besides severity and remediation. Each reads
// its keys from `r` and sets `params` to their names (for the unknown-key hint).
void read_settings(RuleBase&, MapReader&, std::string&) {}
void read_settings(FormatListRule& rule, MapReader& r, std::string& params) {
  rule.formats = format_list(r.require("formats"));
  params = "formats, ";
}
void read_settings(PickleRule& rule, MapReader& r, std::string& params) {
  if (auto m = r.take("max_severity")) rule.max_severity = finding_severity(*m);
  params = "max_severity, ";
}
void read_settings(SeverityRule& rule, MapReader& r, std::string& params) {
  rule.max = finding_severity(r.require("max"));
  params = "max, ";
}
void read_settings(HubFlaggedRule& rule, MapReader& r, std::string& params) {
  if (auto m = r.take("min_level")) rule.min_level = hub_level(*m);
  params = "min_level, ";
}
void read_settings(GlobListRule& rule, MapReader& r, std::string& params) {
  // Two families share the shape: provenance.*_authors and license.*.
  const bool licences = rule.id.rfind("license.", 0) == 0;
  const char* key = licences ? "licenses" : "authors";
  rule.patterns = glob_list(r.require(key), licences ? GlobKind::licence : GlobKind::author, false);
  params = std::string(key) + ", ";
}
void read_settings(DaysRule& rule, MapReader& r, std::string& params) {
  rule.days = integer<int64_t>(r.require("days"), 36500);
  params = "days, ";
}
void read_settings(CountRule& rule, MapReader& r, std::string& params) {
  rule.min = integer<uint64_t>(r.require("min"));
  params = "min, ";
}
void read_settings(SizeRule& rule, MapReader& r, std::string& params) {
  rule.max_bytes = size_value(r.require("max"));
  params = "max, ";
}
void read_settings(CustomCodeRule& rule, MapReader& r, std::string& params) {
  if (auto m = r.take("approved_repos")) rule.approved_repos = glob_list(*m, GlobKind::repo, true);
  params = "approved_repos, ";
}

// Calls visit(id, slot) for every rule slot of `rules`, in catalogue order:
// the one list tying rule ids to the fields of Rules.
template <typename R, typename Visit>
void for_each_slot(R& rules, Visit&& visit) {
  visit("formats.allowed", rules.formats_allowed);
  visit("formats.forbidden", rules.formats_forbidden);
  visit("formats.require_safetensors", rules.formats_require_safetensors);
  visit("formats.pickle", rules.formats_pickle);
  visit("scan.max_severity", rules.scan_max_severity);
  visit("scan.hub_flagged", rules.scan_hub_flagged);
  visit("scan.hub_unscanned", rules.scan_hub_unscanned);
  visit("provenance.allowed_authors", rules.provenance_allowed_authors);
  visit("provenance.denied_authors", rules.provenance_denied_authors);
  visit("provenance.gated", rules.provenance_gated);
  visit("provenance.private", rules.provenance_private);
  visit("provenance.min_age", rules.provenance_min_age);
  visit("provenance.pinned_commit", rules.provenance_pinned_commit);
  visit("community.min_downloads", rules.community_min_downloads);
  visit("community.min_likes", rules.community_min_likes);
  visit("documentation.model_card", rules.documentation_model_card);
  visit("license.allowed", rules.license_allowed);
  visit("license.denied", rules.license_denied);
  visit("code.custom_code", rules.code_custom_code);
  visit("size.max_total", rules.size_max_total);
  visit("size.max_file", rules.size_max_file);
  visit("approval.required", rules.approval_required);
}

void parse_rule(const RuleInfo& info, const Value& v, Rules& rules) {
  MapReader r(v);
  RuleBase base;
  base.id = std::string(info.id);
  base.line = r.line();
  base.action = info.default_action;
  base.remediation = std::string(info.default_remediation);
  if (auto s = r.take("severity")) base.action = action(*s);
  if (auto s = r.take("remediation")) base.remediation = non_empty_text(*s);
  std::string params;
  for_each_slot(rules, [&](std::string_view id, auto& slot) {
    if (id != info.id) return;
    typename std::decay_t<decltype(slot)>::value_type rule{};
    static_cast<RuleBase&>(rule) = base;
    read_settings(rule, r, params);
    slot = std::move(rule);
  });
  r.finish(params + "severity, remediation");
}

Waiver parse_waiver(const Value& v) {
  MapReader r(v);
  Waiver w;
  w.line = r.line();
  w.repo = glob(r.require("repo"), GlobKind::repo);
  if (auto c = r.take("commit")) {
    w.commit = util::ascii_lower(scalar(*c));
    if (!util::is_lower_hex(w.commit, util::k_sha1_hex_length))
      fail(c->line, c->key, "expected a full 40-character commit id, got '" + scalar(*c) + "'");
  }
  const Value rules = r.require("rules");
  if (rules.node.IsScalar()) {
    if (rules.node.Scalar() != "all")
      fail(rules.line, rules.key,
           "expected a list of rule ids or 'all', got '" + rules.node.Scalar() + "'");
    w.which = WaivedRules::all;
  } else {
    for (const auto& item : sequence(rules, "rule ids")) {
      const std::string id = scalar(item);
      if (!find_rule(id)) fail(item.line, item.key, "unknown rule id '" + id + "'");
      w.rules.push_back(id);
    }
    if (w.rules.empty())
      fail(rules.line, rules.key, "the list is empty (write 'all' to waive every rule)");
  }
  w.reason = non_empty_text(r.require("reason"));
  w.owner = non_empty_text(r.require("owner"));
  const Value expires = r.require("expires");
  w.expires = scalar(expires, "a date");
  const auto day = parse_date(w.expires);
  if (!day) fail(expires.line, expires.key, "expected a date YYYY-MM-DD, got '" + w.expires + "'");
  w.expires_end_unix = (*day + 1) * 86400;
  r.finish("repo, commit, rules, reason, owner, expires");
  return w;
}

Policy parse_document(const YAML::Node& root, const std::string& source) {
  if (!root.IsDefined() || root.IsNull()) fail(1, "version", "the document is empty");
  MapReader top(Value{root, "", line_of(root, 1)});
  Policy p;
  p.source = source;

  const Value version = top.require("version");
  const std::string vs = scalar(version, "a number");
  if (vs != std::to_string(k_policy_version))
    fail(version.line, version.key,
         "unsupported version '" + vs + "' (this hfaudit reads version " +
             std::to_string(k_policy_version) + ")");
  p.name = non_empty_text(top.require("name"));
  if (auto d = top.take("description")) p.description = scalar(*d);
  if (auto a = top.take("allowed_pickle_imports"))
    p.allowed_pickle_imports = glob_list(*a, GlobKind::pickle_import, true);

  const Value rules = top.require("rules");
  MapReader rules_map(rules);
  for (const auto& id : rules_map.names()) {
    const RuleInfo* info = find_rule(id);
    if (!info)
      fail(rules_map.line_of_key(id), rules_map.child_key(id),
           "unknown rule id (see docs/policies.md for the list)");
    parse_rule(*info, *rules_map.take(id), p.rules);
  }

  if (auto w = top.take("waivers"))
    for (const auto& item : sequence(*w, "waivers")) p.waivers.push_back(parse_waiver(item));

  top.finish("version, name, description, allowed_pickle_imports, rules, waivers");
  return p;
}

bool glob_match_from(std::string_view p, std::string_view t, Case c) {
  // Iterative wildcard match with one backtrack point: linear in practice, no recursion.
  size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  const auto eq = [c](char a, char b) {
    if (c == Case::sensitive) return a == b;
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  };
  while (ti < t.size()) {
    if (pi < p.size() && (p[pi] == '?' || (p[pi] != '*' && eq(p[pi], t[ti])))) {
      ++pi;
      ++ti;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

}  // namespace

std::string_view to_string(Action action) {
  return action == Action::block ? "block" : "warn";
}

std::string_view to_string(HubLevel level) {
  switch (level) {
    case HubLevel::caution:
      return "caution";
    case HubLevel::suspicious:
      return "suspicious";
    case HubLevel::unsafe:
      return "unsafe";
  }
  return "unsafe";
}

const std::vector<RuleInfo>& rule_catalogue() {
  return k_catalogue;
}

const RuleInfo* find_rule(std::string_view id) {
  for (const auto& r : k_catalogue)
    if (r.id == id) return &r;
  return nullptr;
}

std::vector<std::string> Policy::rule_ids() const {
  std::vector<std::string> out;
  for_each_slot(rules, [&out](std::string_view, const auto& slot) {
    if (slot) out.push_back(slot->id);
  });
  return out;
}

util::Result<Policy> parse_policy(std::string_view text, const std::string& source_name) {
  const auto error = [&](int line, const std::string& key, const std::string& why) {
    return util::make_error(util::ErrorCode::invalid_argument,
                            source_name + ":" + std::to_string(line) + ": " + key + ": " + why);
  };
  try {
    const YAML::Node root = YAML::Load(std::string(text));
    Policy p = parse_document(root, source_name);
    p.sha256 = util::sha256_hex(text);
    return p;
  } catch (const Invalid& e) {
    return error(e.line, e.key.empty() ? "(document)" : e.key, e.why);
  } catch (const YAML::Exception& e) {
    // Syntax errors (bad indentation, unclosed quotes, tabs) carry their own mark.
    return error(e.mark.line >= 0 ? e.mark.line + 1 : 1, "(yaml syntax)", e.msg);
  }
}

util::Result<Policy> load_policy_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    return util::make_error(util::ErrorCode::not_found, "no such file or directory");
  if (std::filesystem::is_directory(path, ec))
    return util::make_error(util::ErrorCode::io, "is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) return util::make_error(util::ErrorCode::io, "cannot be opened");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return util::make_error(util::ErrorCode::io, "read error");
  return parse_policy(text.str(), path);
}

std::optional<uint64_t> parse_size(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0 || digits > 19) return std::nullopt;
  const uint64_t n = std::stoull(std::string(text.substr(0, digits)));
  std::string_view unit = text.substr(digits);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  struct Unit {
    std::string_view name;
    uint64_t factor;
  };
  static constexpr Unit k_units[] = {
      {"", 1},
      {"B", 1},
      {"KB", 1000ull},
      {"MB", 1000ull * 1000},
      {"GB", 1000ull * 1000 * 1000},
      {"TB", 1000ull * 1000 * 1000 * 1000},
      {"KiB", 1ull << 10},
      {"MiB", 1ull << 20},
      {"GiB", 1ull << 30},
      {"TiB", 1ull << 40},
  };
  for (const auto& u : k_units)
    if (u.name == unit) {
      if (n > std::numeric_limits<uint64_t>::max() / u.factor) return std::nullopt;
      return n * u.factor;
    }
  return std::nullopt;
}

std::string format_size(uint64_t bytes) {
  static constexpr const char* k_units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double v = static_cast<double>(bytes);
  int unit = 0;
  while (v >= 1024 && unit < 4) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, k_units[unit]);
  return std::string(buf) + " (" + std::to_string(bytes) + " bytes)";
}

std::optional<int64_t> parse_date(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
  const int y = std::stoi(std::string(text.substr(0, 4)));
  const unsigned m = static_cast<unsigned>(std::stoi(std::string(text.substr(5, 2))));
  const unsigned d = static_cast<unsigned>(std::stoi(std::string(text.substr(8, 2))));
  const std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{m},
                                        std::chrono::day{d}};
  if (!ymd.ok()) return std::nullopt;
  return std::chrono::sys_days{ymd}.time_since_epoch().count();
}

bool glob_match(std::string_view pattern, std::string_view text, Case c) {
  return glob_match_from(pattern, text, c);
}

}  // namespace hfaudit::policies
