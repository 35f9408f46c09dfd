#include "hub/parse.hpp"

#include <array>
#include <cctype>

namespace hfaudit::hub {

namespace {

using nlohmann::json;

const json& field(const json& j, std::string_view key) {
  static const json k_null;
  if (!j.is_object()) return k_null;
  const auto it = j.find(key);
  return it == j.end() ? k_null : *it;
}

std::string get_string(const json& j, std::string_view key) {
  const json& v = field(j, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

std::optional<std::string> get_opt_string(const json& j, std::string_view key) {
  const json& v = field(j, key);
  if (v.is_string()) return v.get<std::string>();
  return std::nullopt;
}

std::optional<std::uint64_t> get_u64(const json& j, std::string_view key) {
  const json& v = field(j, key);
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0) {
    return static_cast<std::uint64_t>(v.get<std::int64_t>());
  }
  if (v.is_number_float() && v.get<double>() >= 0 && v.get<double>() < 1.8e19) {
    return static_cast<std::uint64_t>(v.get<double>());
  }
  return std::nullopt;
}

std::optional<bool> get_bool(const json& j, std::string_view key) {
  const json& v = field(j, key);
  if (v.is_boolean()) return v.get<bool>();
  return std::nullopt;
}

json get_raw(const json& j, std::string_view key) {
  return field(j, key);
}

std::vector<std::string> get_strings(const json& j, std::string_view key) {
  std::vector<std::string> out;
  const json& v = field(j, key);
  if (v.is_array()) {
    for (const auto& item : v) {
      if (item.is_string()) out.push_back(item.get<std::string>());
    }
  } else if (v.is_string()) {
    out.push_back(v.get<std::string>());
  }
  return out;
}

Timestamp get_timestamp(const json& j, std::string_view key) {
  return make_timestamp(get_string(j, key));
}

std::optional<Gated> get_gated(const json& j, std::string& text) {
  const json& v = field(j, "gated");
  if (v.is_boolean()) return v.get<bool>() ? Gated::unknown : Gated::no;
  if (!v.is_string()) return std::nullopt;
  text = v.get<std::string>();
  if (text == "auto") return Gated::automatic;
  if (text == "manual") return Gated::manual;
  return Gated::unknown;
}

std::vector<Sibling> get_siblings(const json& v) {
  std::vector<Sibling> out;
  if (!v.is_array()) return out;
  for (const auto& s : v) {
    if (!s.is_object()) continue;
    Sibling sibling;
    sibling.rfilename = get_string(s, "rfilename");
    sibling.blob_id = get_opt_string(s, "blobId");
    sibling.size = get_u64(s, "size");
    const json& lfs = field(s, "lfs");
    if (lfs.is_object()) {
      sibling.lfs = LfsInfo{get_string(lfs, "sha256"), get_u64(lfs, "size").value_or(0),
                            get_u64(lfs, "pointerSize")};
    }
    out.push_back(std::move(sibling));
  }
  return out;
}

PickleSafety parse_safety(std::string_view text) {
  if (text == "innocuous") return PickleSafety::innocuous;
  if (text == "suspicious") return PickleSafety::suspicious;
  if (text == "dangerous") return PickleSafety::dangerous;
  return PickleSafety::unknown;
}

std::vector<PickleImport> get_imports(const json& v) {
  std::vector<PickleImport> out;
  if (!v.is_array()) return out;
  for (const auto& item : v) {
    if (!item.is_object()) continue;
    out.push_back(PickleImport{get_string(item, "module"), get_string(item, "name"),
                               parse_safety(get_string(item, "safety"))});
  }
  return out;
}

ScanStatus safety_to_status(PickleSafety safety) {
  switch (safety) {
    case PickleSafety::innocuous:
      return ScanStatus::safe;
    case PickleSafety::suspicious:
      return ScanStatus::suspicious;
    case PickleSafety::dangerous:
      return ScanStatus::unsafe;
    case PickleSafety::unknown:
      break;
  }
  return ScanStatus::unknown;
}

SecurityFileStatus current_security(const json& v) {
  SecurityFileStatus out;
  out.shape = SecurityShape::current;
  out.status = parse_scan_status(get_string(v, "status"));
  for (const auto& [key, value] : v.items()) {
    // Every object member with a "status" is a scanner; new scanners appear over time.
    if (!value.is_object() || !value.contains("status")) continue;
    ScannerStatus scanner;
    scanner.scanner = key;
    scanner.status = parse_scan_status(get_string(value, "status"));
    scanner.message = get_string(value, "message");
    scanner.report_link = get_string(value, "reportLink");
    scanner.report_label = get_string(value, "reportLabel");
    scanner.version = get_string(value, "version");
    scanner.pickle_imports = get_imports(field(value, "pickleImports"));
    out.pickle_imports.insert(out.pickle_imports.end(), scanner.pickle_imports.begin(),
                              scanner.pickle_imports.end());
    out.scanners.push_back(std::move(scanner));
  }
  return out;
}

SecurityFileStatus legacy_security(const json& v) {
  SecurityFileStatus out;
  out.shape = SecurityShape::legacy;
  bool virus = false;
  const json& av = field(v, "avScan");
  if (av.is_object()) {
    virus = get_bool(av, "virusFound").value_or(false);
    out.virus_names = get_strings(av, "virusNames");
    ScannerStatus scanner;
    scanner.scanner = "avScan";
    scanner.status = av.contains("virusFound") ? (virus ? ScanStatus::unsafe : ScanStatus::safe)
                                               : ScanStatus::unknown;
    out.scanners.push_back(std::move(scanner));
  }
  PickleSafety highest = PickleSafety::unknown;
  const json& pickle = field(v, "pickleImportScan");
  if (pickle.is_object()) {
    highest = parse_safety(get_string(pickle, "highestSafetyLevel"));
    ScannerStatus scanner;
    scanner.scanner = "pickleImportScan";
    scanner.status = safety_to_status(highest);
    scanner.pickle_imports = get_imports(field(pickle, "imports"));
    out.pickle_imports = scanner.pickle_imports;
    out.scanners.push_back(std::move(scanner));
  }
  const std::optional<bool> safe = get_bool(v, "safe");
  if (virus || highest == PickleSafety::dangerous) {
    out.status = ScanStatus::unsafe;
  } else if (highest == PickleSafety::suspicious) {
    out.status = ScanStatus::suspicious;
  } else if (safe.has_value()) {
    out.status = *safe ? ScanStatus::safe : ScanStatus::caution;
  } else {
    out.status = ScanStatus::unknown;
  }
  return out;
}

bool is_masked(std::string_view text) {
  return !text.empty() && text.find_first_not_of('*') == std::string_view::npos;
}

template <typename T, typename F>
HubResult<T> parse_body(std::string_view body, std::string_view what, F&& convert) {
  try {
    const json j = json::parse(body.begin(), body.end());
    return convert(j);
  } catch (const std::exception& e) {
    return make_error(
        HubErrorKind::bad_response,
        std::string(what) + " is not valid JSON: " + std::string(e.what()).substr(0, 200),
        "the endpoint may not be a Hugging Face Hub (check HF_ENDPOINT)");
  }
}

HubError wrong_shape(std::string_view what, std::string_view expected) {
  return make_error(HubErrorKind::bad_response,
                    std::string(what) + ": expected a JSON " + std::string(expected),
                    "the endpoint may not be a Hugging Face Hub (check HF_ENDPOINT)");
}

std::vector<GitRef> get_refs(const json& v) {
  std::vector<GitRef> out;
  if (!v.is_array()) return out;
  for (const auto& item : v) {
    if (!item.is_object()) continue;
    out.push_back(GitRef{get_string(item, "name"), get_string(item, "ref"),
                         get_string(item, "targetCommit")});
  }
  return out;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool read_digits(std::string_view text, std::size_t pos, std::size_t count, int& out) {
  if (pos + count > text.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
    out = out * 10 + (text[i] - '0');
  }
  return true;
}

bool valid_date_time(int month, int day, int hour, int minute, int second) {
  return month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour <= 23 && minute <= 59 &&
         second <= 60;
}

}  // namespace

std::string_view to_string(ScanStatus status) {
  switch (status) {
    case ScanStatus::safe:
      return "safe";
    case ScanStatus::caution:
      return "caution";
    case ScanStatus::suspicious:
      return "suspicious";
    case ScanStatus::unsafe:
      return "unsafe";
    case ScanStatus::unscanned:
      return "unscanned";
    case ScanStatus::queued:
      return "queued";
    case ScanStatus::error:
      return "error";
    case ScanStatus::unknown:
      break;
  }
  return "unknown";
}

ScanStatus parse_scan_status(std::string_view text) {
  static constexpr std::array<ScanStatus, 7> k_all = {
      ScanStatus::safe,      ScanStatus::caution, ScanStatus::suspicious, ScanStatus::unsafe,
      ScanStatus::unscanned, ScanStatus::queued,  ScanStatus::error};
  for (const auto status : k_all) {
    if (to_string(status) == text) return status;
  }
  return ScanStatus::unknown;
}

std::string_view to_string(Gated gated) {
  switch (gated) {
    case Gated::no:
      return "no";
    case Gated::automatic:
      return "auto";
    case Gated::manual:
      return "manual";
    case Gated::unknown:
      break;
  }
  return "unknown";
}

std::string_view to_string(EntryType type) {
  switch (type) {
    case EntryType::file:
      return "file";
    case EntryType::directory:
      return "directory";
    case EntryType::unknown:
      break;
  }
  return "unknown";
}

std::string_view to_string(PickleSafety safety) {
  switch (safety) {
    case PickleSafety::innocuous:
      return "innocuous";
    case PickleSafety::suspicious:
      return "suspicious";
    case PickleSafety::dangerous:
      return "dangerous";
    case PickleSafety::unknown:
      break;
  }
  return "unknown";
}

std::optional<std::int64_t> parse_iso8601(std::string_view text) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!read_digits(text, 0, 4, year) || text.size() < 19 || text[4] != '-' ||
      !read_digits(text, 5, 2, month) || text[7] != '-' || !read_digits(text, 8, 2, day) ||
      (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || !read_digits(text, 11, 2, hour) ||
      text[13] != ':' || !read_digits(text, 14, 2, minute) || text[16] != ':' ||
      !read_digits(text, 17, 2, second) || !valid_date_time(month, day, hour, minute, second)) {
    return std::nullopt;
  }
  std::size_t pos = 19;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const std::size_t digits_start = pos;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) ++pos;
    if (pos == digits_start) return std::nullopt;
  }
  std::int64_t offset = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int oh = 0, om = 0;
    if (!read_digits(text, pos + 1, 2, oh) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
        !read_digits(text, pos + 4, 2, om)) {
      return std::nullopt;
    }
    offset = (oh * 3600 + om * 60) * (text[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return std::nullopt;  // a date without a zone is ambiguous
  }
  if (pos != text.size()) return std::nullopt;
  const std::int64_t days =
      days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  return days * 86400 + hour * 3600 + minute * 60 + second - offset;
}

Timestamp make_timestamp(std::string text) {
  Timestamp t;
  t.unix_seconds = parse_iso8601(text);
  t.text = std::move(text);
  return t;
}

std::optional<std::int64_t> parse_http_date(std::string_view text) {
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"; RFC 850: "Sunday, 06-Nov-94 ..." is not
  // supported (two-digit years), which no current server sends.
  static constexpr std::array<std::string_view, 12> k_months = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto comma = text.find(", ");
  if (comma == std::string_view::npos) return std::nullopt;
  std::string_view rest = text.substr(comma + 2);
  int day = 0, year = 0, hour = 0, minute = 0, second = 0;
  if (rest.size() < 24 || !read_digits(rest, 0, 2, day) || (rest[2] != ' ' && rest[2] != '-')) {
    return std::nullopt;
  }
  int month = 0;
  for (std::size_t i = 0; i < k_months.size(); ++i) {
    if (rest.substr(3, 3) == k_months[i]) month = static_cast<int>(i) + 1;
  }
  if (month == 0 || (rest[6] != ' ' && rest[6] != '-') || !read_digits(rest, 7, 4, year) ||
      rest[11] != ' ' || !read_digits(rest, 12, 2, hour) || rest[14] != ':' ||
      !read_digits(rest, 15, 2, minute) || rest[17] != ':' || !read_digits(rest, 18, 2, second) ||
      rest[20] != ' ' || rest.substr(21, 3) != "GMT" ||
      !valid_date_time(month, day, hour, minute, second)) {
    return std::nullopt;
  }
  return days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
         hour * 3600 + minute * 60 + second;
}

std::optional<SecurityFileStatus> security_from_json(const json& value, SecurityShape shape) {
  if (!value.is_object()) return std::nullopt;
  return shape == SecurityShape::current ? current_security(value) : legacy_security(value);
}

ModelInfo model_info_from_json(const json& j) {
  ModelInfo info;
  info.internal_id = get_string(j, "_id");
  info.id = get_string(j, "id");
  if (info.id.empty()) info.id = get_string(j, "modelId");
  info.author = get_string(j, "author");
  info.sha = get_string(j, "sha");
  info.last_modified = get_timestamp(j, "lastModified");
  info.created_at = get_timestamp(j, "createdAt");
  info.is_private = get_bool(j, "private");
  info.disabled = get_bool(j, "disabled");
  info.gated = get_gated(j, info.gated_text);
  info.downloads = get_u64(j, "downloads");
  info.downloads_all_time = get_u64(j, "downloadsAllTime");
  info.likes = get_u64(j, "likes");
  info.used_storage = get_u64(j, "usedStorage");
  info.tags = get_strings(j, "tags");
  info.pipeline_tag = get_string(j, "pipeline_tag");
  info.library_name = get_string(j, "library_name");
  info.card_data = get_raw(j, "cardData");
  info.config = get_raw(j, "config");
  info.transformers_info = get_raw(j, "transformersInfo");
  if (field(j, "siblings").is_array()) info.siblings = get_siblings(field(j, "siblings"));
  const json& security = field(j, "securityRepoStatus");
  if (security.is_object()) {
    SecurityRepoStatus status;
    status.scans_done = get_bool(security, "scansDone");
    const json& issues = field(security, "filesWithIssues");
    if (issues.is_array()) {
      for (const auto& issue : issues) {
        if (!issue.is_object()) continue;
        const std::string level = get_string(issue, "level");
        status.files_with_issues.push_back(
            FileIssue{get_string(issue, "path"), parse_scan_status(level), level});
      }
    }
    info.security_repo_status = std::move(status);
  }
  const json& safetensors = field(j, "safetensors");
  if (safetensors.is_object()) {
    SafetensorsInfo st;
    const json& parameters = field(safetensors, "parameters");
    if (parameters.is_object()) {
      for (const auto& [dtype, count] : parameters.items()) {
        if (count.is_number_integer() && count.get<std::int64_t>() >= 0) {
          st.parameters[dtype] = count.get<std::uint64_t>();
        }
      }
    }
    st.total = get_u64(safetensors, "total");
    info.safetensors = std::move(st);
  }
  info.base_models = get_raw(j, "baseModels");
  info.model_index = get_raw(j, "model-index");
  info.eval_results = get_raw(j, "evalResults");
  info.gguf = get_raw(j, "gguf");
  return info;
}

TreeEntry tree_entry_from_json(const json& j) {
  TreeEntry entry;
  const std::string type = get_string(j, "type");
  entry.type = type == "file"        ? EntryType::file
               : type == "directory" ? EntryType::directory
                                     : EntryType::unknown;
  entry.path = get_string(j, "path");
  entry.oid = get_string(j, "oid");
  entry.size = get_u64(j, "size");
  const json& lfs = field(j, "lfs");
  if (lfs.is_object()) {
    entry.lfs = TreeLfs{get_string(lfs, "oid"), get_u64(lfs, "size").value_or(0),
                        get_u64(lfs, "pointerSize")};
  }
  if (auto xet = get_opt_string(j, "xetHash"); xet && !xet->empty() && !is_masked(*xet)) {
    entry.xet_hash = std::move(xet);
  }
  const json& last_commit = field(j, "lastCommit");
  if (last_commit.is_object()) {
    entry.last_commit = LastCommit{get_string(last_commit, "id"), get_string(last_commit, "title"),
                                   get_timestamp(last_commit, "date")};
  }
  if (const json& current = field(j, "securityFileStatus"); current.is_object()) {
    entry.security = security_from_json(current, SecurityShape::current);
  } else if (const json& legacy = field(j, "security"); legacy.is_object()) {
    entry.security = security_from_json(legacy, SecurityShape::legacy);
  }
  return entry;
}

ModelListItem model_list_item_from_json(const json& j) {
  ModelListItem item;
  item.internal_id = get_string(j, "_id");
  item.id = get_string(j, "id");
  if (item.id.empty()) item.id = get_string(j, "modelId");
  item.author = get_string(j, "author");
  item.sha = get_string(j, "sha");
  item.last_modified = get_timestamp(j, "lastModified");
  item.created_at = get_timestamp(j, "createdAt");
  item.is_private = get_bool(j, "private");
  std::string gated_text;
  item.gated = get_gated(j, gated_text);
  item.downloads = get_u64(j, "downloads");
  item.likes = get_u64(j, "likes");
  item.tags = get_strings(j, "tags");
  item.pipeline_tag = get_string(j, "pipeline_tag");
  item.library_name = get_string(j, "library_name");
  if (field(j, "siblings").is_array()) item.siblings = get_siblings(field(j, "siblings"));
  return item;
}

HubResult<ModelInfo> parse_model_info(std::string_view body) {
  return parse_body<ModelInfo>(body, "model info", [](const json& j) -> HubResult<ModelInfo> {
    if (!j.is_object()) return wrong_shape("model info", "object");
    return model_info_from_json(j);
  });
}

HubResult<std::vector<TreeEntry>> parse_tree(std::string_view body) {
  return parse_body<std::vector<TreeEntry>>(body, "tree listing",
                                            [](const json& j) -> HubResult<std::vector<TreeEntry>> {
                                              if (!j.is_array())
                                                return wrong_shape("tree listing", "array");
                                              std::vector<TreeEntry> entries;
                                              entries.reserve(j.size());
                                              for (const auto& item : j) {
                                                if (item.is_object())
                                                  entries.push_back(tree_entry_from_json(item));
                                              }
                                              return entries;
                                            });
}

HubResult<Refs> parse_refs(std::string_view body) {
  return parse_body<Refs>(body, "refs", [](const json& j) -> HubResult<Refs> {
    if (!j.is_object()) return wrong_shape("refs", "object");
    return Refs{get_refs(field(j, "branches")), get_refs(field(j, "tags")),
                get_refs(field(j, "converts")), get_refs(field(j, "pullRequests"))};
  });
}

HubResult<std::vector<ModelListItem>> parse_model_list(std::string_view body) {
  return parse_body<std::vector<ModelListItem>>(
      body, "model list", [](const json& j) -> HubResult<std::vector<ModelListItem>> {
        if (!j.is_array()) return wrong_shape("model list", "array");
        std::vector<ModelListItem> items;
        items.reserve(j.size());
        for (const auto& item : j) {
          if (item.is_object()) items.push_back(model_list_item_from_json(item));
        }
        return items;
      });
}

std::optional<std::string> find_link(const std::vector<std::string>& link_headers,
                                     std::string_view rel) {
  for (const auto& header : link_headers) {
    std::string_view rest = header;
    while (true) {
      const auto open = rest.find('<');
      if (open == std::string_view::npos) break;
      const auto close = rest.find('>', open);
      if (close == std::string_view::npos) break;
      const std::string_view target = rest.substr(open + 1, close - open - 1);
      // Parameters run to the next "<" (URLs cannot contain a raw '<').
      const auto next = rest.find('<', close);
      const std::string_view params = rest.substr(
          close + 1, next == std::string_view::npos ? std::string_view::npos : next - close - 1);
      std::size_t pos = 0;
      while ((pos = params.find("rel", pos)) != std::string_view::npos) {
        std::size_t p = pos + 3;
        while (p < params.size() && params[p] == ' ') ++p;
        if (p < params.size() && params[p] == '=') {
          ++p;
          while (p < params.size() && params[p] == ' ') ++p;
          const bool quoted = p < params.size() && params[p] == '"';
          if (quoted) ++p;
          const auto end = params.find_first_of(quoted ? "\"" : " ;,", p);
          const std::string_view values =
              params.substr(p, end == std::string_view::npos ? std::string_view::npos : end - p);
          // rel may hold several space-separated relation types.
          std::size_t s = 0;
          while (s <= values.size()) {
            const auto space = values.find(' ', s);
            const auto one = values.substr(
                s, space == std::string_view::npos ? std::string_view::npos : space - s);
            if (one == rel) return std::string(target);
            if (space == std::string_view::npos) break;
            s = space + 1;
          }
        }
        pos += 3;
      }
      if (next == std::string_view::npos) break;
      rest = rest.substr(next);
    }
  }
  return std::nullopt;
}

std::string normalize_etag(std::string_view etag) {
  if (etag.rfind("W/", 0) == 0) etag.remove_prefix(2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  return std::string(etag);
}

std::optional<std::uint64_t> parse_uint(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.empty() || text.size() > 19) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return value;
}

std::optional<std::uint64_t> parse_content_range_total(std::string_view value) {
  const auto slash = value.rfind('/');
  if (slash == std::string_view::npos) return std::nullopt;
  return parse_uint(value.substr(slash + 1));
}

std::optional<std::uint64_t> parse_content_range_start(std::string_view value) {
  if (value.rfind("bytes ", 0) != 0) return std::nullopt;
  value.remove_prefix(6);
  const auto dash = value.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  return parse_uint(value.substr(0, dash));
}

std::optional<RateLimit> parse_rate_limit(std::string_view value) {
  // '"api";r=0;t=55' (draft-ietf-httpapi-ratelimit-headers-09); several comma-separated
  // policies may appear, the first with a parameter we understand wins.
  RateLimit limit;
  std::size_t pos = 0;
  bool any = false;
  while (pos <= value.size()) {
    const auto semi = value.find_first_of(";,", pos);
    std::string_view part =
        value.substr(pos, semi == std::string_view::npos ? std::string_view::npos : semi - pos);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    if (part.size() >= 2 && part.front() == '"' && part.back() == '"') {
      if (any) break;  // next policy
      limit.policy = std::string(part.substr(1, part.size() - 2));
    } else if (part.rfind("r=", 0) == 0) {
      limit.remaining = parse_uint(part.substr(2));
      any = true;
    } else if (part.rfind("t=", 0) == 0) {
      limit.reset_seconds = parse_uint(part.substr(2));
      any = true;
    }
    if (semi == std::string_view::npos) break;
    pos = semi + 1;
  }
  if (!any) return std::nullopt;
  return limit;
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::int64_t now_unix) {
  if (auto seconds = parse_uint(value))
    return std::chrono::seconds(static_cast<std::int64_t>(*seconds));
  if (auto date = parse_http_date(value)) {
    return std::chrono::seconds(std::max<std::int64_t>(0, *date - now_unix));
  }
  return std::nullopt;
}

}  // namespace hfaudit::hub
