// Trust signals and risk factors for a repository at a commit, computed from
// what the Hub says (model info, file tree with the Hub's own security scans)
// without downloading weights. Every risk factor carries its evidence and a
// remediation line; the overall risk is the most severe factor. Schema of the
// JSON rendering: docs/json-schemas.md ("hfaudit.info/1").
//
// Pure functions: no I/O, no clock (the caller passes `now`), thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "hub/client.hpp"
#include "hub/types.hpp"
#include "scan/finding.hpp"

namespace hfaudit::trust {

using scan::Severity;

// What a file is expected to hold, judged by its name (content is checked once
// the file is local: `hfaudit scan` / `hfaudit pull`).
enum class FileKind {
  safetensors,
  pickle_weights,  // .bin/.pt/.pth/.ckpt/.pkl/.pickle/.joblib/.npy: loading may unpickle
  onnx,
  keras,
  gguf,
  flax_msgpack,
  code,  // .py
  config,
  tokenizer,
  card,
  other,
};
std::string_view to_string(FileKind kind);
FileKind classify_by_name(std::string_view path);

enum class SafetensorsCoverage { full, partial, none, not_applicable };
std::string_view to_string(SafetensorsCoverage coverage);

struct RiskFactor {
  std::string id;  // stable, e.g. "code.custom_code"
  Severity severity = Severity::info;
  std::string title;
  std::string evidence;     // the facts behind it
  std::string remediation;  // what to do
};

struct FileSignal {
  std::string path;
  uint64_t size = 0;
  bool lfs = false;
  FileKind kind = FileKind::other;
  hub::ScanStatus hub_status = hub::ScanStatus::unknown;  // unknown: the Hub gave none
  std::vector<std::pair<std::string, hub::ScanStatus>> hub_scanners;
  std::vector<hub::PickleImport> hub_pickle_imports;
  std::string local_scan;  // which hfaudit scanner will check it once downloaded
};

struct TrustInput {
  std::string requested_revision;
  hub::ModelInfo info;               // with blobs=true&securityStatus=true
  std::vector<hub::TreeEntry> tree;  // recursive, expand=true
  hub::AuthorKind author_kind = hub::AuthorKind::unknown;
  int64_t now_unix = 0;
};

struct TrustReport {
  // provenance
  std::string repo;
  std::string revision;
  std::string commit;
  std::string author;
  hub::AuthorKind author_kind = hub::AuthorKind::unknown;
  std::string created_at;
  std::string last_modified;
  std::optional<int64_t> days_since_created;  // nullopt for the Hub's pre-2022 sentinel
  std::optional<int64_t> days_since_last_commit;
  std::string gated;  // "no", "auto", "manual", "unknown"
  bool is_private = false;
  bool disabled = false;
  std::vector<std::string> base_models;
  // community
  std::optional<uint64_t> downloads;
  std::optional<uint64_t> likes;
  bool has_eval_results = false;
  // content
  std::map<std::string, std::vector<std::string>> formats;  // kind -> paths
  SafetensorsCoverage safetensors_coverage = SafetensorsCoverage::not_applicable;
  std::vector<std::string> pickle_files;
  bool custom_code = false;
  std::vector<std::string> custom_code_evidence;
  uint64_t total_size = 0;
  uint64_t file_count = 0;
  // documentation
  bool card_present = false;
  uint64_t card_size = 0;
  bool card_has_metadata = false;
  std::string license;
  bool license_known_open = false;
  // per-file Hub security status and local scan plan
  std::vector<FileSignal> files;
  bool hub_scans_done = false;
  // verdict
  std::vector<RiskFactor> risk_factors;  // most severe first
  Severity overall = Severity::info;
};

TrustReport assess(const TrustInput& input);

// The "hfaudit.info/1" document body (without the schema/version envelope), with its keys in
// the documented order (docs/json-schemas.md), so the envelope can be put first.
nlohmann::ordered_json to_json(const TrustReport& report);

}  // namespace hfaudit::trust
