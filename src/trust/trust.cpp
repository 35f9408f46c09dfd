#include "trust/trust.hpp"

#include <algorithm>
#include <array>
#include <set>

#include "util/text.hpp"

namespace hfaudit::trust {

namespace {

constexpr int64_t k_seconds_per_day = 86400;
// The Hub stamps every repository created before March 2022 with this date.
constexpr std::string_view k_created_sentinel = "2022-03-02T23:29:04.000Z";
constexpr int64_t k_new_repository_days = 30;
constexpr int64_t k_recent_change_days = 7;
constexpr uint64_t k_low_adoption_downloads = 100;
constexpr uint64_t k_trivial_card_bytes = 300;

// Licences that grant open use (OSI-approved or Creative Commons/ODC open
// licences, as the Hub spells their ids). Anything else, including "other"
// and community licences with use restrictions, needs a human to read it.
constexpr std::array<std::string_view, 28> k_open_licences{
    "apache-2.0",   "mit",     "bsd",       "bsd-2-clause", "bsd-3-clause", "bsd-3-clause-clear",
    "isc",          "cc0-1.0", "cc-by-2.0", "cc-by-3.0",    "cc-by-4.0",    "cc-by-sa-3.0",
    "cc-by-sa-4.0", "mpl-2.0", "gpl-2.0",   "gpl-3.0",      "lgpl-2.1",     "lgpl-3.0",
    "agpl-3.0",     "epl-2.0", "unlicense", "artistic-2.0", "afl-3.0",      "ecl-2.0",
    "eupl-1.1",     "odc-by",  "pddl",      "wtfpl"};

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string_view base_name(std::string_view path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string_view dir_name(std::string_view path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
}

Severity severity_of_hub_status(hub::ScanStatus status) {
  switch (status) {
    case hub::ScanStatus::unsafe:
      return Severity::critical;
    case hub::ScanStatus::suspicious:
      return Severity::medium;
    case hub::ScanStatus::caution:
      return Severity::low;
    default:
      return Severity::info;
  }
}

bool hub_scanned(hub::ScanStatus status) {
  return status == hub::ScanStatus::safe || status == hub::ScanStatus::caution ||
         status == hub::ScanStatus::suspicious || status == hub::ScanStatus::unsafe;
}

std::string local_scan_for(FileKind kind) {
  switch (kind) {
    case FileKind::safetensors:
      return "safetensors header validation";
    case FileKind::pickle_weights:
      return "pickle opcode walk (zip, legacy and tar checkpoints, npy, joblib)";
    case FileKind::onnx:
      return "ONNX graph walk (custom domains, external data)";
    case FileKind::keras:
      return "Keras config (Lambda layers, foreign classes)";
    case FileKind::gguf:
      return "GGUF header validation and chat template check";
    case FileKind::code:
      return "reported as code (runs under trust_remote_code)";
    case FileKind::config:
    case FileKind::tokenizer:
      return "JSON/text inspection (auto_map, chat templates)";
    default:
      return "content sniffing (format recognised by content)";
  }
}

std::vector<std::string> string_list(const nlohmann::json& v) {
  std::vector<std::string> out;
  if (v.is_string()) out.push_back(v.get<std::string>());
  if (v.is_array())
    for (const auto& item : v)
      if (item.is_string()) out.push_back(item.get<std::string>());
  return out;
}

std::optional<int64_t> days_since(const hub::Timestamp& t, int64_t now) {
  if (!t.unix_seconds || now <= 0) return std::nullopt;
  return std::max<int64_t>(0, (now - *t.unix_seconds) / k_seconds_per_day);
}

std::string join(const std::vector<std::string>& items, size_t max_items = 8) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < max_items; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > max_items) out += ", ... (" + std::to_string(items.size()) + " in all)";
  return out;
}

void add(TrustReport& r, std::string id, Severity severity, std::string title, std::string evidence,
         std::string remediation) {
  r.risk_factors.push_back(RiskFactor{std::move(id), severity, std::move(title),
                                      std::move(evidence), std::move(remediation)});
}

void assess_content(TrustReport& r) {
  std::set<std::string> safetensors_dirs;
  std::set<std::string> pickle_dirs;
  for (const auto& f : r.files) {
    if (f.kind == FileKind::safetensors) safetensors_dirs.insert(std::string(dir_name(f.path)));
    if (f.kind == FileKind::pickle_weights) pickle_dirs.insert(std::string(dir_name(f.path)));
  }
  if (pickle_dirs.empty()) {
    r.safetensors_coverage =
        safetensors_dirs.empty() ? SafetensorsCoverage::not_applicable : SafetensorsCoverage::full;
  } else {
    // A pickle weight file is covered when its folder also holds safetensors
    // weights (transformers and diffusers prefer those when both exist).
    size_t covered = 0;
    for (const auto& d : pickle_dirs) covered += safetensors_dirs.count(d);
    r.safetensors_coverage = covered == pickle_dirs.size() ? SafetensorsCoverage::full
                             : covered == 0                ? SafetensorsCoverage::none
                                                           : SafetensorsCoverage::partial;
  }
  if (!r.pickle_files.empty()) {
    if (r.safetensors_coverage == SafetensorsCoverage::full)
      add(r, "content.pickle_alongside_safetensors", Severity::low,
          "pickle weights are present next to safetensors copies", join(r.pickle_files),
          "pull only the safetensors files (e.g. --exclude '*.bin' --exclude '*.pt')");
    else
      add(r, "content.pickle_weights", Severity::medium,
          r.safetensors_coverage == SafetensorsCoverage::none
              ? "weights exist only in pickle-based formats"
              : "some weights exist only in pickle-based formats",
          join(r.pickle_files),
          "loading pickle weights can run code: let hfaudit pull scan them, or ask the "
          "publisher for safetensors weights");
  }
  if (r.custom_code)
    add(r, "code.custom_code", Severity::high,
        "the repository ships custom code that trust_remote_code=True would run",
        join(r.custom_code_evidence),
        "do not pass trust_remote_code=True unless the code was reviewed at this exact commit");
}

void assess_hub_security(TrustReport& r) {
  std::vector<std::string> unscanned;
  for (const auto& f : r.files) {
    const Severity s = severity_of_hub_status(f.hub_status);
    if (s > Severity::info) {
      std::string evidence = f.path + ": Hub status " + std::string(hub::to_string(f.hub_status));
      for (const auto& [scanner, status] : f.hub_scanners)
        if (status != hub::ScanStatus::safe)
          evidence += ", " + scanner + "=" + std::string(hub::to_string(status));
      for (const auto& imp : f.hub_pickle_imports)
        if (imp.safety != hub::PickleSafety::innocuous)
          evidence += ", import " + imp.module + "." + imp.name + " (" +
                      std::string(hub::to_string(imp.safety)) + ")";
      add(r, "hub.flagged", s, "the Hub's own scanners flagged a file", evidence,
          s >= Severity::high ? "do not download this file; report the repository to the Hub"
                              : "review the Hub's scan report before using this file");
    }
    const bool weights = f.kind == FileKind::pickle_weights || f.kind == FileKind::onnx ||
                         f.kind == FileKind::keras || f.kind == FileKind::gguf ||
                         f.kind == FileKind::safetensors;
    if (weights && !hub_scanned(f.hub_status)) unscanned.push_back(f.path);
  }
  if (!unscanned.empty())
    add(r, "hub.not_scanned", Severity::low, "model files not scanned by the Hub", join(unscanned),
        "rely on hfaudit's own scan (hfaudit pull scans every file)");
}

void assess_provenance(TrustReport& r) {
  if (r.disabled)
    add(r, "provenance.disabled", Severity::high, "the Hub disabled this repository",
        "disabled: true", "do not use it; find an alternative");
  if (r.days_since_created && *r.days_since_created < k_new_repository_days)
    add(r, "provenance.new_repository", Severity::medium, "the repository is new",
        "created " + r.created_at + " (" + std::to_string(*r.days_since_created) + " days ago)",
        "wait until it has a track record, or review it before use");
  if (r.days_since_last_commit && *r.days_since_last_commit < k_recent_change_days)
    add(r, "provenance.recent_change", Severity::low, "the last commit is recent",
        "last modified " + r.last_modified + " (" + std::to_string(*r.days_since_last_commit) +
            " days ago)",
        "pin the commit you reviewed (hfaudit lock) rather than a moving branch");
  if (r.author_kind == hub::AuthorKind::user)
    add(r, "provenance.user_account", Severity::low,
        "published by an individual account, not an organisation", "author " + r.author,
        "prefer models published by the organisation that trained them");
}

void assess_community_and_docs(TrustReport& r) {
  if (r.downloads && *r.downloads < k_low_adoption_downloads)
    add(r, "community.low_adoption", Severity::low, "few people use this model",
        std::to_string(*r.downloads) + " downloads in 30 days, " +
            std::to_string(r.likes.value_or(0)) + " likes",
        "little community scrutiny: review it yourself before use");
  if (!r.card_present)
    add(r, "documentation.no_card", Severity::medium, "no model card (README.md)",
        "README.md is absent", "ask the publisher for a card; do not use undocumented models");
  else if (r.card_size < k_trivial_card_bytes || !r.card_has_metadata)
    add(r, "documentation.thin_card", Severity::low, "the model card is trivial",
        "README.md is " + std::to_string(r.card_size) + " bytes" +
            (r.card_has_metadata ? "" : ", with no metadata block"),
        "check intended use, training data and licence elsewhere");
  if (r.license.empty())
    add(r, "license.missing", Severity::medium, "no licence is declared",
        "the card metadata and tags name no licence", "do not use it until the licence is known");
  else if (!r.license_known_open)
    add(r, "license.review", Severity::low, "the licence is not a known open licence",
        "license: " + r.license, "have the licence reviewed before use");
}

}  // namespace

std::string_view to_string(FileKind kind) {
  switch (kind) {
    case FileKind::safetensors:
      return "safetensors";
    case FileKind::pickle_weights:
      return "pickle";
    case FileKind::onnx:
      return "onnx";
    case FileKind::keras:
      return "keras";
    case FileKind::gguf:
      return "gguf";
    case FileKind::flax_msgpack:
      return "flax_msgpack";
    case FileKind::code:
      return "code";
    case FileKind::config:
      return "config";
    case FileKind::tokenizer:
      return "tokenizer";
    case FileKind::card:
      return "card";
    case FileKind::other:
      return "other";
  }
  return "other";
}

std::string_view to_string(SafetensorsCoverage coverage) {
  switch (coverage) {
    case SafetensorsCoverage::full:
      return "full";
    case SafetensorsCoverage::partial:
      return "partial";
    case SafetensorsCoverage::none:
      return "none";
    case SafetensorsCoverage::not_applicable:
      return "not_applicable";
  }
  return "not_applicable";
}

FileKind classify_by_name(std::string_view path) {
  const std::string name = util::ascii_lower(base_name(path));
  if (ends_with(name, ".safetensors")) return FileKind::safetensors;
  for (std::string_view ext : {".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".joblib", ".npy",
                               ".npz", ".dill", ".sav", ".mar"})
    if (ends_with(name, ext)) return FileKind::pickle_weights;
  if (ends_with(name, ".onnx") || ends_with(name, ".onnx_data")) return FileKind::onnx;
  if (ends_with(name, ".keras") || ends_with(name, ".h5") || ends_with(name, ".hdf5"))
    return FileKind::keras;
  if (ends_with(name, ".gguf")) return FileKind::gguf;
  if (ends_with(name, ".msgpack")) return FileKind::flax_msgpack;
  if (ends_with(name, ".py")) return FileKind::code;
  if (name == "readme.md") return FileKind::card;
  if (name.find("tokenizer") != std::string::npos || name == "vocab.txt" || name == "merges.txt" ||
      name == "vocab.json" || ends_with(name, ".model") || ends_with(name, ".jinja"))
    return FileKind::tokenizer;
  if (ends_with(name, ".json") || ends_with(name, ".yaml") || ends_with(name, ".yml"))
    return FileKind::config;
  return FileKind::other;
}

TrustReport assess(const TrustInput& in) {
  const hub::ModelInfo& info = in.info;
  TrustReport r;
  r.repo = info.id;
  r.revision = in.requested_revision;
  r.commit = info.sha;
  r.author = info.author.empty() ? r.repo.substr(0, r.repo.find('/')) : info.author;
  r.author_kind = in.author_kind;
  r.created_at = info.created_at.text;
  r.last_modified = info.last_modified.text;
  if (info.created_at.text != k_created_sentinel)
    r.days_since_created = days_since(info.created_at, in.now_unix);
  r.days_since_last_commit = days_since(info.last_modified, in.now_unix);
  r.gated = info.gated ? std::string(hub::to_string(*info.gated)) : "no";
  r.is_private = info.is_private.value_or(false);
  r.disabled = info.disabled.value_or(false);
  if (info.card_data.is_object() && info.card_data.contains("base_model"))
    r.base_models = string_list(info.card_data["base_model"]);
  r.downloads = info.downloads;
  r.likes = info.likes;
  r.has_eval_results = info.has_model_index() || info.has_eval_results() ||
                       (info.card_data.is_object() && info.card_data.contains("model-index"));

  if (info.security_repo_status)
    r.hub_scans_done = info.security_repo_status->scans_done.value_or(false);
  for (const auto& e : in.tree) {
    if (e.type != hub::EntryType::file) continue;
    FileSignal f;
    f.path = e.path;
    f.size = e.lfs ? e.lfs->size : e.size.value_or(0);
    f.lfs = e.lfs.has_value();
    f.kind = classify_by_name(e.path);
    if (e.security) {
      f.hub_status = e.security->status;
      for (const auto& s : e.security->scanners) f.hub_scanners.emplace_back(s.scanner, s.status);
      f.hub_pickle_imports = e.security->pickle_imports;
    }
    f.local_scan = local_scan_for(f.kind);
    r.total_size += f.size;
    ++r.file_count;
    r.formats[std::string(to_string(f.kind))].push_back(f.path);
    if (f.kind == FileKind::pickle_weights) r.pickle_files.push_back(f.path);
    if (f.kind == FileKind::code) r.custom_code_evidence.push_back(f.path);
    if (f.kind == FileKind::card && dir_name(f.path).empty()) {
      r.card_present = true;
      r.card_size = f.size;
    }
    r.files.push_back(std::move(f));
  }
  if (info.config.is_object() && info.config.contains("auto_map"))
    r.custom_code_evidence.insert(r.custom_code_evidence.begin(),
                                  "config.json auto_map: " + info.config["auto_map"].dump());
  r.custom_code = !r.custom_code_evidence.empty();
  r.card_has_metadata = info.card_data.is_object() && !info.card_data.empty();

  if (info.card_data.is_object() && info.card_data.contains("license"))
    r.license = join(string_list(info.card_data["license"]));
  if (r.license.empty())
    for (const auto& tag : info.tags)
      if (tag.rfind("license:", 0) == 0) r.license = tag.substr(8);
  const std::string licence = util::ascii_lower(r.license);
  r.license_known_open =
      std::find(k_open_licences.begin(), k_open_licences.end(), licence) != k_open_licences.end();

  assess_hub_security(r);
  assess_content(r);
  assess_provenance(r);
  assess_community_and_docs(r);
  std::stable_sort(
      r.risk_factors.begin(), r.risk_factors.end(),
      [](const RiskFactor& a, const RiskFactor& b) { return a.severity > b.severity; });
  r.overall = r.risk_factors.empty() ? Severity::info : r.risk_factors.front().severity;
  return r;
}

nlohmann::ordered_json to_json(const TrustReport& r) {
  using json = nlohmann::ordered_json;
  const auto optional_number = [](const auto& v) { return v ? json(*v) : json(nullptr); };
  json files = json::array();
  for (const auto& f : r.files) {
    json scanners = json::object();
    for (const auto& [name, status] : f.hub_scanners) scanners[name] = hub::to_string(status);
    json imports = json::array();
    for (const auto& i : f.hub_pickle_imports)
      imports.push_back(
          {{"module", i.module}, {"name", i.name}, {"safety", hub::to_string(i.safety)}});
    files.push_back({{"path", f.path},
                     {"size", f.size},
                     {"lfs", f.lfs},
                     {"kind", to_string(f.kind)},
                     {"hub_status", f.hub_status == hub::ScanStatus::unknown
                                        ? json(nullptr)
                                        : json(hub::to_string(f.hub_status))},
                     {"hub_scanners", scanners},
                     {"hub_pickle_imports", imports},
                     {"local_scan", f.local_scan}});
  }
  json factors = json::array();
  for (const auto& f : r.risk_factors)
    factors.push_back({{"id", f.id},
                       {"severity", scan::to_string(f.severity)},
                       {"title", f.title},
                       {"evidence", f.evidence},
                       {"remediation", f.remediation}});
  const char* author_kind = r.author_kind == hub::AuthorKind::organization ? "organization"
                            : r.author_kind == hub::AuthorKind::user       ? "user"
                                                                           : "unknown";
  return json{
      {"repo", r.repo},
      {"revision", r.revision},
      {"commit", r.commit},
      {"provenance",
       {{"author", r.author},
        {"author_kind", author_kind},
        {"created_at", r.created_at},
        {"last_modified", r.last_modified},
        {"days_since_created", optional_number(r.days_since_created)},
        {"days_since_last_commit", optional_number(r.days_since_last_commit)},
        {"gated", r.gated},
        {"private", r.is_private},
        {"disabled", r.disabled},
        {"base_models", r.base_models}}},
      {"community",
       {{"downloads", optional_number(r.downloads)},
        {"likes", optional_number(r.likes)},
        {"has_eval_results", r.has_eval_results}}},
      {"content",
       {{"formats", r.formats},
        {"safetensors_coverage", to_string(r.safetensors_coverage)},
        {"pickle_files", r.pickle_files},
        {"custom_code", r.custom_code},
        {"custom_code_evidence", r.custom_code_evidence},
        {"total_size", r.total_size},
        {"file_count", r.file_count}}},
      {"documentation",
       {{"card_present", r.card_present},
        {"card_size", r.card_size},
        {"card_has_metadata", r.card_has_metadata},
        {"license", r.license.empty() ? json(nullptr) : json(r.license)},
        {"license_known_open", r.license_known_open}}},
      {"hub_security", {{"scans_done", r.hub_scans_done}, {"files", files}}},
      {"risk_factors", factors},
      {"overall_risk", scan::to_string(r.overall)},
  };
}

}  // namespace hfaudit::trust
