// Typed Hub responses (reference hub-api.md §1-§4). Every field the Hub may omit is optional
// or empty: nothing in the Hub API is a stable contract, so parsers (hub/parse.hpp) fill what
// they find and leave the rest. Objects whose shapes vary (cardData, config, model-index,
// evalResults, baseModels) are kept as raw JSON for the layers that interpret them.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace hfaudit::hub {

// An ISO-8601 date as sent ("2024-02-19T11:06:12.000Z") and, when it parses, UNIX seconds.
struct Timestamp {
  std::string text;
  std::optional<std::int64_t> unix_seconds;
};

// The Hub's (and its scanners') verdict on a file or a repository.
enum class ScanStatus { safe, caution, suspicious, unsafe, unscanned, queued, error, unknown };
std::string_view to_string(ScanStatus status);
ScanStatus parse_scan_status(std::string_view text);  // unknown for anything unrecognised

// `gated`: JSON false, or "auto" / "manual". `unknown` keeps unrecognised values safe to show.
enum class Gated { no, automatic, manual, unknown };
std::string_view to_string(Gated gated);

// LFS metadata of a sibling (model info with blobs=true): note the key is `sha256` here and
// `oid` in tree entries, for the same value.
struct LfsInfo {
  std::string sha256;  // 64 hex, sha256 of the file content
  std::uint64_t size = 0;
  std::optional<std::uint64_t> pointer_size;
};

struct Sibling {
  std::string rfilename;
  std::optional<std::string> blob_id;  // blobs=true: git blob sha1 (of the pointer for LFS)
  std::optional<std::uint64_t> size;   // blobs=true: real content size
  std::optional<LfsInfo> lfs;          // blobs=true, LFS/Xet files only
};

struct FileIssue {
  std::string path;
  ScanStatus level = ScanStatus::unknown;
  std::string level_text;  // as sent
};

// securityStatus=true: the repository-level scan summary.
struct SecurityRepoStatus {
  std::optional<bool> scans_done;
  std::vector<FileIssue> files_with_issues;
};

struct SafetensorsInfo {
  std::map<std::string, std::uint64_t> parameters;  // dtype -> count
  std::optional<std::uint64_t> total;
};

struct ModelInfo {
  std::string internal_id;  // "_id"
  std::string id;           // canonical "org/name" ("modelId" on old responses)
  std::string author;
  std::string sha;  // full commit of the requested revision; empty when not returned
  Timestamp last_modified;
  Timestamp created_at;  // 2022-03-02T23:29:04.000Z is the Hub's "before March 2022" sentinel
  std::optional<bool> is_private;
  std::optional<bool> disabled;
  std::optional<Gated> gated;
  std::string gated_text;  // the string value when gated is a string
  std::optional<std::uint64_t> downloads;
  std::optional<std::uint64_t> downloads_all_time;
  std::optional<std::uint64_t> likes;
  std::optional<std::uint64_t> used_storage;
  std::vector<std::string> tags;
  std::string pipeline_tag;
  std::string library_name;
  nlohmann::json card_data;  // null when the card has no YAML
  nlohmann::json config;     // null when absent
  nlohmann::json transformers_info;
  std::optional<std::vector<Sibling>> siblings;  // nullopt when not in the response
  std::optional<SecurityRepoStatus> security_repo_status;
  std::optional<SafetensorsInfo> safetensors;
  nlohmann::json base_models;   // raw; null when absent
  nlohmann::json model_index;   // raw "model-index"; null when absent or null
  nlohmann::json eval_results;  // raw "evalResults"; null when absent
  nlohmann::json gguf;          // raw; null when absent
  bool has_base_models() const { return !base_models.is_null(); }
  bool has_model_index() const { return !model_index.is_null(); }
  bool has_eval_results() const { return !eval_results.is_null(); }
};

enum class EntryType { file, directory, unknown };
std::string_view to_string(EntryType type);

// LFS metadata of a tree / paths-info entry (key `oid` = sha256 of the content).
struct TreeLfs {
  std::string oid;
  std::uint64_t size = 0;
  std::optional<std::uint64_t> pointer_size;
};

struct LastCommit {
  std::string id;
  std::string title;
  Timestamp date;
};

enum class PickleSafety { innocuous, suspicious, dangerous, unknown };
std::string_view to_string(PickleSafety safety);

struct PickleImport {
  std::string module;
  std::string name;
  PickleSafety safety = PickleSafety::unknown;
};

// One scanner's verdict ("avScan", "pickleImportScan", "protectAiScan", "jFrogScan",
// "virusTotalScan", ...), sorted by scanner key.
struct ScannerStatus {
  std::string scanner;
  ScanStatus status = ScanStatus::unknown;
  std::string message;
  std::string report_link;
  std::string report_label;
  std::string version;
  std::vector<PickleImport> pickle_imports;
};

enum class SecurityShape { current, legacy };

// Normalised per-file security status. The current shape (`securityFileStatus`) is read as
// is; the legacy one (`security`: {safe, avScan{virusFound}, pickleImportScan
// {highestSafetyLevel, imports}}) is mapped: safe=true -> safe; a virus or a "dangerous"
// import -> unsafe; "suspicious" -> suspicious; safe=false otherwise -> caution.
struct SecurityFileStatus {
  SecurityShape shape = SecurityShape::current;
  ScanStatus status = ScanStatus::unknown;
  std::vector<ScannerStatus> scanners;
  std::vector<PickleImport> pickle_imports;  // from the pickle import scanner
  std::vector<std::string> virus_names;      // legacy avScan.virusNames
};

struct TreeEntry {
  EntryType type = EntryType::unknown;
  std::string path;
  std::string oid;  // git blob sha1 (of the LFS pointer for LFS files) or tree sha1
  std::optional<std::uint64_t> size;
  std::optional<TreeLfs> lfs;
  std::optional<std::string> xet_hash;         // absent when missing or masked ("****...")
  std::optional<LastCommit> last_commit;       // expand=true only
  std::optional<SecurityFileStatus> security;  // expand=true only, may be missing
};

struct GitRef {
  std::string name;  // "main", "v1.0", "refs/pr/1"
  std::string ref;   // "refs/heads/main"
  std::string target_commit;
};

struct Refs {
  std::vector<GitRef> branches;
  std::vector<GitRef> tags;
  std::vector<GitRef> converts;
  std::vector<GitRef> pull_requests;  // only with include_prs
};

// An item of GET /api/models (the §1 shape minus heavy fields; more with full=true).
struct ModelListItem {
  std::string internal_id;
  std::string id;
  std::string author;
  std::string sha;
  Timestamp last_modified;
  Timestamp created_at;
  std::optional<bool> is_private;
  std::optional<Gated> gated;
  std::optional<std::uint64_t> downloads;
  std::optional<std::uint64_t> likes;
  std::vector<std::string> tags;
  std::string pipeline_tag;
  std::string library_name;
  std::optional<std::vector<Sibling>> siblings;
};

// What a HEAD on /resolve/ says about one file (reference hub-api.md §4).
struct FileMetadata {
  std::string commit;  // X-Repo-Commit
  std::string etag;    // X-Linked-Etag or ETag, without W/ and quotes: sha256 (LFS) or blob sha1
  std::optional<std::uint64_t> size;  // X-Linked-Size, else Content-Length of a non-redirect
  std::string location;  // absolute Location to GET (CDN/bridge), or the resolve URL itself
  bool is_lfs = false;   // X-Linked-Etag present: content lives in LFS/Xet storage
  std::optional<std::string> xet_hash;      // X-Xet-Hash
  std::optional<std::string> xet_auth_url;  // Link rel="xet-auth" (or X-Xet-Refresh-Route)
  std::optional<std::string> xet_reconstruction_url;  // Link rel="xet-reconstruction-info"
  bool is_xet() const { return xet_hash.has_value() && xet_auth_url.has_value(); }
  std::string request_id;  // X-Request-Id of the last response
};

}  // namespace hfaudit::hub
