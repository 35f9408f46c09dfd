// A policy document: which rules gate a repository, with what severity, which
// waivers apply. The YAML grammar (every key, type and default) is documented
// in docs/policies.md; the shipped policies live beside this file.
//
// parse_policy() is a pure function (no I/O, no clock); load_policy_file() is
// the only function here that touches the file system. Policies are plain
// values: copy them, share them between threads read-only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scan/finding.hpp"
#include "scan/format.hpp"
#include "util/result.hpp"

namespace hfaudit::policies {

// The only schema version this build reads (`version: 1` at the top of a file).
inline constexpr int k_policy_version = 1;

// What a rule does when it fires.
enum class Action { warn, block };
std::string_view to_string(Action action);

// What a repository- or file-level rule looks at.
enum class Scope {
  repository,  // a fact about the repository at the commit (author, licence, age...)
  file,        // judged per file; a block keeps only those files out of the snapshot
};

// The rule catalogue: every rule id this build knows, its scope and defaults.
// Waivers and `rules:` keys are checked against this list.
struct RuleInfo {
  std::string_view id;  // stable, e.g. "provenance.min_age"
  Scope scope;
  Action default_action;
  std::string_view default_remediation;
  std::string_view summary;  // one line: what it checks
};
const std::vector<RuleInfo>& rule_catalogue();
// nullptr for an unknown id.
const RuleInfo* find_rule(std::string_view id);

// Settings every rule carries: its id, what it does when it fires and what to
// tell the user. `line` is where the rule starts in the file (1-based), for
// messages; 0 for rules not read from a file.
struct RuleBase {
  std::string id;
  Action action = Action::block;
  std::string remediation;
  int line = 0;
};

struct FormatListRule : RuleBase {
  std::vector<scan::Format> formats;
};
struct PickleRule : RuleBase {
  scan::Severity max_severity = scan::Severity::low;  // highest finding a pickle file may carry
};
struct SeverityRule : RuleBase {
  scan::Severity max = scan::Severity::low;  // highest finding severity a file may carry
};
// The Hub's per-file verdicts, from least to most alarming.
enum class HubLevel { caution, suspicious, unsafe };
std::string_view to_string(HubLevel level);
struct HubFlaggedRule : RuleBase {
  HubLevel min_level = HubLevel::suspicious;  // flagged at or above this level
};
struct GlobListRule : RuleBase {
  std::vector<std::string> patterns;  // validated globs ('*' and '?'), lowercase
};
struct DaysRule : RuleBase {
  int64_t days = 0;
};
struct CountRule : RuleBase {
  uint64_t min = 0;
};
struct SizeRule : RuleBase {
  uint64_t max_bytes = 0;
};
struct CustomCodeRule : RuleBase {
  std::vector<std::string> approved_repos;  // repository globs ("org/*")
};

// Every rule a policy may enable; an absent rule is off. Field names follow
// the rule ids (formats.allowed -> formats_allowed).
struct Rules {
  std::optional<FormatListRule> formats_allowed;
  std::optional<FormatListRule> formats_forbidden;
  std::optional<RuleBase> formats_require_safetensors;
  std::optional<PickleRule> formats_pickle;
  std::optional<SeverityRule> scan_max_severity;
  std::optional<HubFlaggedRule> scan_hub_flagged;
  std::optional<RuleBase> scan_hub_unscanned;
  std::optional<GlobListRule> provenance_allowed_authors;
  std::optional<GlobListRule> provenance_denied_authors;
  std::optional<RuleBase> provenance_gated;
  std::optional<RuleBase> provenance_private;
  std::optional<DaysRule> provenance_min_age;
  std::optional<RuleBase> provenance_pinned_commit;
  std::optional<CountRule> community_min_downloads;
  std::optional<CountRule> community_min_likes;
  std::optional<RuleBase> documentation_model_card;
  std::optional<GlobListRule> license_allowed;
  std::optional<GlobListRule> license_denied;
  std::optional<CustomCodeRule> code_custom_code;
  std::optional<SizeRule> size_max_total;
  std::optional<SizeRule> size_max_file;
  std::optional<RuleBase> approval_required;
};

// Which rules a waiver covers.
enum class WaivedRules { listed, all };

// An exception for one repository (optionally one commit), with a reason, an
// owner and an expiry date. It applies through the whole expiry day (UTC) and
// stops applying at 00:00 UTC the day after, by itself.
struct Waiver {
  std::string repo;    // repository glob, lowercase ("org/name", "org/*")
  std::string commit;  // full 40-hex commit, lowercase; empty: any commit
  WaivedRules which = WaivedRules::listed;
  std::vector<std::string> rules;  // rule ids when `which` is listed
  std::string reason;
  std::string owner;
  std::string expires;           // YYYY-MM-DD as written
  int64_t expires_end_unix = 0;  // first second after the expiry day (UTC)
  int line = 0;
};

struct Policy {
  int version = k_policy_version;
  std::string name;
  std::string description;
  std::string source;  // the file name (or "builtin:default") given to parse_policy
  std::string sha256;  // of the exact text parsed, lowercase hex
  Rules rules;
  // Pickle globals ("module.name", globs allowed) the policy adds to the
  // scanner's allow list: a pickle.import.unknown finding naming one of them
  // counts in no rule.
  std::vector<std::string> allowed_pickle_imports;
  std::vector<Waiver> waivers;

  // Ids of the enabled rules, in catalogue order.
  std::vector<std::string> rule_ids() const;
};

// Parses and validates a policy document. `source_name` names it in errors
// (a path, or "builtin:default").
// Success: the policy, with `sha256` of `text` and `source` set.
// Failure: ErrorCode::invalid_argument with the message
//   "<source_name>:<line>: <key>: <why>"
// where <line> is 1-based and <key> is the dotted path of the offending key
// ("rules.provenance.min_age.days", "waivers[1].expires"). Unknown keys, wrong
// types, unknown severities, formats or rule ids, impossible dates, malformed
// globs and duplicate keys are all errors; nothing falls back to a default
// silently.
util::Result<Policy> parse_policy(std::string_view text, const std::string& source_name);

// Reads `path` and parses it (source name = path).
// Failure: not_found / io when the file cannot be read (the CLI's exit 3),
// invalid_argument as parse_policy (exit 2).
util::Result<Policy> load_policy_file(const std::string& path);

// Helpers shared with the engine and exposed for tests.

// "10GiB", "500MB", "123" (bytes). Units: B, KB, MB, GB, TB (powers of 1000),
// KiB, MiB, GiB, TiB (powers of 1024); integers only. nullopt when invalid or
// out of range.
std::optional<uint64_t> parse_size(std::string_view text);
// "1.5 GiB"-style rendering for evidence text.
std::string format_size(uint64_t bytes);
// A strict YYYY-MM-DD calendar date -> days since 1970-01-01; nullopt when invalid.
std::optional<int64_t> parse_date(std::string_view text);
// Match of `text` against a glob of literal characters, '*' (any run,
// including empty) and '?' (one character). Hub names compare without case;
// Python globals (allowed_pickle_imports) with it.
enum class Case { insensitive, sensitive };
bool glob_match(std::string_view pattern, std::string_view text, Case c = Case::insensitive);

}  // namespace hfaudit::policies
