// Zip archives: the strict structural checks of zip_reader.hpp reported as
// findings, then every member handed on by flavour (PyTorch, npz, Keras 3,
// plain zip). Members are visited by central-directory offset, never looked
// up by name, so shadowed duplicates are scanned too. Stored members are
// passed on as slices of the file (nothing is read unless a scanner asks);
// deflated members are inflated within the limits.
#include <zlib.h>

#include <map>
#include <string>

#include "scan/capped_reporter.hpp"
#include "scan/format_scanners.hpp"
#include "scan/zip_reader.hpp"

namespace hfaudit::scan {

namespace {

constexpr uint16_t k_method_stored = 0;
constexpr uint16_t k_method_deflate = 8;
// Encrypted, compressed-patch data, strong encryption: torch (miniz) refuses
// a member with these bits in the central directory; many scanners skip it.
constexpr uint16_t k_refusal_flags = 0x0001 | 0x0020 | 0x0040;
constexpr size_t k_max_listed_members = 200;
// Ratios only mean "bomb" once the output is big enough to hurt: a 1 KiB
// block of zeros compresses better than 2000:1 and is harmless.
constexpr uint64_t k_ratio_floor = 1ull << 20;
// PyTorch metadata members (`version`, `byteorder`, ...) are tiny text.
constexpr uint64_t k_max_metadata_bytes = 64;

bool starts_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(0, p.size()) == p;
}
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

std::string method_name(uint16_t method) {
  switch (method) {
    case 0:
      return "stored";
    case 8:
      return "deflate";
    case 9:
      return "deflate64";
    case 12:
      return "bzip2";
    case 14:
      return "lzma";
    case 93:
      return "zstd";
    case 95:
      return "xz";
    case 99:
      return "aes";
    default:
      return "method " + std::to_string(method);
  }
}

struct Layout {
  Format format = Format::zip;
  std::string top;  // PyTorch archive folder (no slash)
};

// torch's reader takes the folder of the *first* central-directory entry and
// looks for <folder>/data.pkl there (TorchScript: constants.pkl, code/).
bool is_torch_root(const std::vector<ZipEntry>& entries, const std::string& top) {
  if (top.empty()) return false;
  for (const auto& e : entries)
    if (e.name == top + "/data.pkl" || e.name == top + "/constants.pkl" ||
        starts_with(e.name, top + "/code/"))
      return true;
  return false;
}

Layout classify_entries(const std::vector<ZipEntry>& entries) {
  Layout layout;
  if (entries.empty()) return layout;
  const std::string& first = entries.front().name;
  if (const size_t slash = first.find('/'); slash != std::string::npos && slash > 0)
    layout.top = first.substr(0, slash);
  if (is_torch_root(entries, layout.top)) {
    layout.format = Format::pytorch_zip;
    return layout;
  }
  // A checkpoint with an extra entry put first (to move torch's folder
  // guess) is still a checkpoint to us.
  for (const auto& e : entries) {
    const size_t slash = e.name.find('/');
    if (slash == std::string::npos || slash == 0) continue;
    std::string top = e.name.substr(0, slash);
    if (e.name == top + "/data.pkl") {
      layout.format = Format::pytorch_zip;
      layout.top = std::move(top);
      return layout;
    }
  }
  layout.top.clear();
  bool config = false, metadata = false, weights = false, all_npy = true;
  for (const auto& e : entries) {
    config |= e.name == "config.json";
    metadata |= e.name == "metadata.json";
    weights |= e.name == "model.weights.h5";
    all_npy &= ends_with(e.name, ".npy");
  }
  if (config && (metadata || weights))
    layout.format = Format::keras_zip;
  else if (all_npy)
    layout.format = Format::npz;
  return layout;
}

class ZipScan {
 public:
  ZipScan(ScanContext& ctx, const util::ByteSource& bytes) : m_ctx(ctx), m_bytes(bytes) {}
  void run();

 private:
  void report(const std::string& rule, Severity severity, uint64_t offset, std::string message,
              std::string subject = {}) {
    m_capped.report(rule, severity, offset, std::move(message), std::move(subject));
  }
  void report_suppressed();
  void report_layout_edges();
  void report_duplicates();
  void check_entry(const ZipEntry& entry);
  void scan_entry(const ZipEntry& entry);
  void scan_pytorch_entry(const ZipEntry& entry, const std::string& label);
  bool check_torch_metadata(const ZipEntry& entry, std::string_view rel);
  void scan_unlisted();
  void scan_streamed(const std::vector<ZipUnlistedEntry>& entries);
  // Hands the member's bytes to ctx.scan_nested: a slice when stored, an
  // inflated buffer when deflated.
  void scan_data(uint16_t method, uint64_t data_offset, uint64_t compressed_size,
                 uint64_t uncompressed_size, std::optional<uint32_t> crc, uint64_t evidence,
                 const std::string& label, std::optional<Format> as);
  void record_details();

  ScanContext& m_ctx;
  const util::ByteSource& m_bytes;
  ZipDirectory m_dir;
  std::vector<ZipUnlistedEntry> m_unlisted;
  Layout m_layout;
  CappedReporter m_capped{m_ctx};
  // PyTorch facts
  uint64_t m_storages = 0;
  uint64_t m_storage_bytes = 0;
  uint64_t m_code_files = 0;
  uint64_t m_outside = 0;
  nlohmann::json m_pickles = nlohmann::json::array();
  nlohmann::json m_torch_meta = nlohmann::json::object();
};

void ZipScan::report_suppressed() {
  m_capped.flush();
}

void ZipScan::report_layout_edges() {
  if (m_dir.prefix_size > 0) {
    util::SliceSource prefix(m_bytes, 0, m_dir.prefix_size);
    auto head = prefix.read_string(0, 2);
    const bool pickle_magic = head && head->size() == 2 &&
                              static_cast<unsigned char>((*head)[0]) == 0x80 && (*head)[1] >= 2 &&
                              (*head)[1] <= 5;
    const bool pickle = pickle_magic || probe_pickle(prefix);
    if (pickle)
      report("zip.prefix_data", Severity::high, 0,
             "a pickle precedes the zip archive (" + std::to_string(m_dir.prefix_size) +
                 " bytes): pickle.load and torch.load run the front, zip readers see only the "
                 "archive",
             "<prefix>");
    else
      report("zip.prefix_data", Severity::medium, 0,
             std::to_string(m_dir.prefix_size) +
                 " bytes precede the first local header; loaders and scanners may disagree on "
                 "what this file is",
             "<prefix>");
    m_ctx.scan_nested(prefix, "<prefix>",
                      pickle ? std::optional<Format>(Format::pickle) : std::nullopt);
  }
  if (m_dir.archive_end < m_bytes.size()) {
    const uint64_t n = m_bytes.size() - m_dir.archive_end;
    // Writers put nothing after the end record; bytes there are room for a
    // second file that another reader sees (polyglots), so they fail by default.
    report("zip.trailing_data", Severity::medium, m_dir.archive_end,
           std::to_string(n) + " bytes follow the end-of-central-directory record", "<trailing>");
    m_ctx.scan_nested(util::SliceSource(m_bytes, m_dir.archive_end, n), "<trailing>");
  }
}

void ZipScan::report_duplicates() {
  std::map<std::string_view, std::vector<const ZipEntry*>> by_name;
  for (const auto& e : m_dir.entries) by_name[e.name].push_back(&e);
  for (const auto& [name, list] : by_name) {
    if (list.size() < 2) continue;
    report("zip.duplicate_name", Severity::high, list.back()->central_offset,
           std::to_string(list.size()) +
               " entries share this name; Python's zipfile and torch load the last one (local "
               "header at " +
               std::to_string(list.back()->local_offset) +
               "), other tools the first. All of them were scanned",
           printable_name(name));
  }
}

void ZipScan::check_entry(const ZipEntry& entry) {
  const std::string subject = printable_name(entry.name);
  if (auto reason = unsafe_path_reason(entry.name))
    report("zip.path_traversal", Severity::high, entry.central_offset,
           "member name " + *reason + ": extracting it writes outside the target folder", subject);
  const uint16_t flagged = (entry.flags | entry.local_flags) & k_refusal_flags;
  if (flagged) {
    const bool central = (entry.flags & k_refusal_flags) != 0;
    report("zip.flagged_entry", Severity::medium, entry.central_offset,
           std::string("encryption/patch flag bits ") + ((flagged & 0x1) ? "0x1 " : "") +
               ((flagged & 0x20) ? "0x20 " : "") + ((flagged & 0x40) ? "0x40 " : "") +
               (central ? "are set in the central directory"
                        : "are set only in the local header (torch ignores them there)") +
               "; many scanners skip such members, some loaders read them. Scanned as plain "
               "data",
           subject);
  }
}

void ZipScan::scan_data(uint16_t method, uint64_t data_offset, uint64_t compressed_size,
                        uint64_t uncompressed_size, std::optional<uint32_t> crc, uint64_t evidence,
                        const std::string& label, std::optional<Format> as) {
  if (method == k_method_stored) {
    m_ctx.scan_nested(util::SliceSource(m_bytes, data_offset, compressed_size), label, as);
    return;
  }
  if (method != k_method_deflate) {
    report("zip.unsupported_method", Severity::medium, evidence,
           "compression " + method_name(method) +
               " is not decoded by hfaudit (torch and npz use stored/deflate); the member was "
               "not scanned",
           label);
    return;
  }
  const ScanLimits& limits = m_ctx.limits();
  uint64_t ratio_cap =
      compressed_size > UINT64_MAX / std::max<uint64_t>(1, limits.max_compression_ratio)
          ? UINT64_MAX
          : compressed_size * limits.max_compression_ratio;
  ratio_cap = std::max(ratio_cap, k_ratio_floor);
  const uint64_t cap = std::min(limits.max_expanded_member, ratio_cap);
  bool vetoed = false;
  std::string out;
  const InflateStatus status =
      inflate_member(m_bytes, data_offset, compressed_size, cap, out, [&](uint64_t n) {
        if (m_ctx.charge_expanded(n, evidence)) return true;
        vetoed = true;
        return false;
      });
  switch (status) {
    case InflateStatus::complete:
      if (out.size() != uncompressed_size)
        report("zip.size_mismatch", Severity::medium, evidence,
               "inflates to " + std::to_string(out.size()) + " bytes but declares " +
                   std::to_string(uncompressed_size),
               label);
      else if (crc && crc32(0L, reinterpret_cast<const Bytef*>(out.data()),
                            static_cast<uInt>(out.size())) != *crc)
        report("zip.crc_mismatch", Severity::low, evidence,
               "CRC-32 does not match (torch does not check it; Python's zipfile refuses)", label);
      break;
    case InflateStatus::capped:
      if (vetoed) break;  // ctx reported the exhausted budget
      if (out.size() >= limits.max_expanded_member)
        report("container.bomb", Severity::medium, evidence,
               "member expands beyond the per-member limit of " +
                   std::to_string(limits.max_expanded_member) +
                   " bytes; only the first part was scanned",
               label);
      else
        report("container.bomb", Severity::high, evidence,
               "compression ratio exceeds " + std::to_string(limits.max_compression_ratio) +
                   ":1 (zip bomb); only the first " + std::to_string(out.size()) +
                   " bytes were scanned",
               label);
      break;
    case InflateStatus::corrupt:
    case InflateStatus::truncated:
      report("zip.malformed", Severity::medium, evidence,
             std::string("deflate data is ") +
                 (status == InflateStatus::corrupt ? "corrupt" : "truncated") + "; the " +
                 std::to_string(out.size()) + " bytes decoded were scanned",
             label);
      break;
    case InflateStatus::io_error:
      report("scan.read_error", Severity::medium, evidence, "could not read member data", label);
      break;
  }
  m_ctx.scan_nested(util::MemorySource(std::move(out)), label, as);
}

// `version`, `byteorder` and friends: tiny text a loader parses; anything
// else in them is scanned as an ordinary member.
bool ZipScan::check_torch_metadata(const ZipEntry& entry, std::string_view rel) {
  const bool version = rel == "version" || rel == ".data/version" || rel == ".format_version";
  const bool byteorder = rel == "byteorder";
  const bool numeric = rel == ".storage_alignment" || rel == ".data/serialization_id";
  if (!version && !byteorder && !numeric) return false;
  std::string text;
  if (entry.method == k_method_stored && entry.compressed_size <= k_max_metadata_bytes) {
    auto r = m_bytes.read_string(entry.data_offset, static_cast<size_t>(entry.compressed_size));
    if (r) text = std::move(*r);
  } else if (entry.method == k_method_deflate &&
             entry.compressed_size <= 4 * k_max_metadata_bytes) {
    // Python's zipfile deflates these when the whole archive is deflated.
    const auto status =
        inflate_member(m_bytes, entry.data_offset, entry.compressed_size, k_max_metadata_bytes + 1,
                       text, [](uint64_t) { return true; });
    if (status != InflateStatus::complete) text.assign(1, '\xff');
  } else {
    text.assign(1, '\xff');  // unreadable cheaply: fall through to a full scan
  }
  std::string trimmed = text;
  while (!trimmed.empty() && (trimmed.back() == '\n' || trimmed.back() == '\r')) trimmed.pop_back();
  bool ok = !trimmed.empty();
  for (const char c : trimmed) {
    if (byteorder)
      ok &= c >= 'a' && c <= 'z';
    else if (version)
      ok &= c >= '0' && c <= '9';
    else
      ok &= (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
  }
  if (byteorder) ok &= trimmed == "little" || trimmed == "big";
  if (ok) {
    m_torch_meta[std::string(rel)] = trimmed;
    return true;
  }
  report("pytorch.metadata", Severity::low, entry.data_offset,
         "unexpected content in the checkpoint's '" + std::string(rel) +
             "' record; scanned as an ordinary member",
         printable_name(entry.name));
  return false;
}

void ZipScan::scan_pytorch_entry(const ZipEntry& entry, const std::string& label) {
  const std::string prefix = m_layout.top + "/";
  std::string_view rel = entry.name;
  if (starts_with(rel, prefix)) {
    rel.remove_prefix(prefix.size());
  } else {
    ++m_outside;
    report("pytorch.entry_outside_folder", Severity::medium, entry.central_offset,
           "entry outside the checkpoint folder '" + printable_name(m_layout.top) +
               "' (torch 1.13 refuses such files; other readers may pick it up)",
           label);
  }
  // Raw tensor storages: never unpickled, never read.
  if (starts_with(rel, "data/") && rel.size() > 5 && !ends_with(rel, ".pkl")) {
    ++m_storages;
    m_storage_bytes += entry.uncompressed_size;
    return;
  }
  if (ends_with(rel, ".pkl") || ends_with(rel, ".debug_pkl")) {
    if (m_pickles.size() < k_max_listed_members) m_pickles.push_back(label);
    scan_data(entry.method, entry.data_offset, entry.compressed_size, entry.uncompressed_size,
              entry.crc32, entry.central_offset, label, Format::pickle);
    return;
  }
  if (starts_with(rel, "code/")) ++m_code_files;
  if (check_torch_metadata(entry, rel)) return;
  scan_data(entry.method, entry.data_offset, entry.compressed_size, entry.uncompressed_size,
            entry.crc32, entry.central_offset, label, std::nullopt);
}

void ZipScan::scan_entry(const ZipEntry& entry) {
  check_entry(entry);
  if (!entry.local_ok) return;  // already reported as malformed
  const std::string label = printable_name(entry.name);
  if (ends_with(entry.name, "/") && entry.compressed_size == 0) return;  // a folder
  switch (m_layout.format) {
    case Format::pytorch_zip:
      scan_pytorch_entry(entry, label);
      return;
    case Format::keras_zip:
      scan_data(
          entry.method, entry.data_offset, entry.compressed_size, entry.uncompressed_size,
          entry.crc32, entry.central_offset, label,
          entry.name == "config.json" ? std::optional<Format>(Format::keras_config) : std::nullopt);
      return;
    default:  // npz members sniff as npy; plain zip members as whatever they are
      scan_data(entry.method, entry.data_offset, entry.compressed_size, entry.uncompressed_size,
                entry.crc32, entry.central_offset, label, std::nullopt);
      return;
  }
}

void ZipScan::scan_unlisted() {
  for (const auto& u : m_unlisted) {
    const std::string name = printable_name(u.name);
    const bool sized = u.compressed_size > 0 || !(u.flags & 0x0008);
    report("zip.unlisted_entry", Severity::medium, u.local_offset,
           "a local header the central directory does not list: streaming readers extract it, "
           "directory readers never see it" +
               std::string(sized ? "; scanned" : "; its size is unknown, not scanned"),
           name);
    if (auto reason = unsafe_path_reason(u.name))
      report("zip.path_traversal", Severity::high, u.local_offset,
             "member name " + *reason + ": extracting it writes outside the target folder", name);
    if (!sized) continue;
    scan_data(u.method, u.data_offset, u.compressed_size, 0, std::nullopt, u.local_offset,
              "unlisted@" + std::to_string(u.local_offset) + "/" + name, std::nullopt);
  }
}

// No usable central directory: scan what a streaming reader would extract.
void ZipScan::scan_streamed(const std::vector<ZipUnlistedEntry>& entries) {
  report("zip.malformed", Severity::medium, 0,
         "no usable central directory; " + std::to_string(entries.size()) +
             " members found by walking local headers were scanned");
  for (const auto& u : entries) {
    const std::string name = printable_name(u.name);
    if (auto reason = unsafe_path_reason(u.name))
      report("zip.path_traversal", Severity::high, u.local_offset,
             "member name " + *reason + ": extracting it writes outside the target folder", name);
    if (u.compressed_size == 0 && (u.flags & 0x0008)) continue;
    scan_data(u.method, u.data_offset, u.compressed_size, 0, std::nullopt, u.local_offset, name,
              ends_with(u.name, ".pkl") ? std::optional<Format>(Format::pickle) : std::nullopt);
  }
}

void ZipScan::record_details() {
  nlohmann::json& d = m_ctx.details();
  d["flavour"] = std::string(to_string(m_layout.format));
  d["entries"] = m_dir.entries.size();
  d["zip64"] = m_dir.zip64;
  d["central_directory_offset"] = m_dir.cd_offset;
  if (m_dir.prefix_size) d["prefix_bytes"] = m_dir.prefix_size;
  if (m_dir.archive_end < m_bytes.size()) d["trailing_bytes"] = m_bytes.size() - m_dir.archive_end;
  nlohmann::json members = nlohmann::json::array();
  for (const auto& e : m_dir.entries) {
    if (members.size() >= k_max_listed_members) break;
    members.push_back({{"name", printable_name(e.name)},
                       {"size", e.uncompressed_size},
                       {"compressed", e.compressed_size},
                       {"method", method_name(e.method)}});
  }
  d["members"] = std::move(members);
  if (m_dir.entries.size() > k_max_listed_members)
    d["members_not_listed"] = m_dir.entries.size() - k_max_listed_members;
  if (!m_unlisted.empty()) d["unlisted_entries"] = m_unlisted.size();
  if (m_layout.format == Format::pytorch_zip) {
    nlohmann::json t = {{"folder", printable_name(m_layout.top)},
                        {"storages", m_storages},
                        {"storage_bytes", m_storage_bytes},
                        {"pickles", m_pickles},
                        {"torchscript", m_code_files > 0}};
    if (m_code_files) t["code_files"] = m_code_files;
    if (m_outside) t["entries_outside_folder"] = m_outside;
    for (const auto& [k, v] : m_torch_meta.items()) t[k] = v;
    d["pytorch"] = std::move(t);
  }
}

void ZipScan::run() {
  ZipReadOptions options;
  options.max_entries = m_ctx.limits().max_members;
  m_dir = read_zip_directory(m_bytes, options, &m_unlisted);
  for (const auto& a : m_dir.anomalies) report(a.rule, a.severity, a.offset, a.message, a.subject);
  if (!m_dir.usable) {
    auto streamed = walk_local_headers(m_bytes, 0, options.max_entries);
    m_ctx.details()["flavour"] = "zip";
    m_ctx.details()["streamed_members"] = streamed.size();
    scan_streamed(streamed);
    report_suppressed();
    return;
  }
  m_layout = classify_entries(m_dir.entries);
  report_layout_edges();
  report_duplicates();
  if (m_layout.format == Format::pytorch_zip) {
    for (const auto& e : m_dir.entries) {
      if (starts_with(e.name, m_layout.top + "/code/")) {
        report("pytorch.torchscript", Severity::medium, e.central_offset,
               "TorchScript archive: torch.load hands it to torch.jit.load, which compiles and "
               "runs the code/ sources",
               printable_name(m_layout.top + "/code/"));
        break;
      }
    }
  }
  for (const auto& e : m_dir.entries) scan_entry(e);
  scan_unlisted();
  record_details();
  report_suppressed();
}

}  // namespace

Format classify_zip(const util::ByteSource& bytes) {
  ZipReadOptions options;
  options.verify_local_headers = false;
  const ZipDirectory dir = read_zip_directory(bytes, options);
  if (!dir.usable) return Format::zip;
  return classify_entries(dir.entries).format;
}

void scan_zip(ScanContext& ctx, const util::ByteSource& bytes) {
  ZipScan(ctx, bytes).run();
}

}  // namespace hfaudit::scan
