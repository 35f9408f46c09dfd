#include "scan/zip_reader.hpp"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "util/stream_reader.hpp"

namespace hfaudit::scan {

namespace {

constexpr uint32_t k_local_sig = 0x04034b50;
constexpr uint32_t k_central_sig = 0x02014b50;
constexpr uint32_t k_eocd_sig = 0x06054b50;
constexpr uint32_t k_eocd64_sig = 0x06064b50;
constexpr uint32_t k_locator_sig = 0x07064b50;
constexpr uint32_t k_descriptor_sig = 0x08074b50;

constexpr uint64_t k_eocd_size = 22;
constexpr uint64_t k_locator_size = 20;
constexpr uint64_t k_eocd64_size = 56;
constexpr uint64_t k_central_size = 46;
constexpr uint64_t k_local_size = 30;
constexpr uint64_t k_max_comment = 0xffff;

constexpr uint16_t k_flag_descriptor = 0x0008;
constexpr uint16_t k_zip64_extra_id = 0x0001;
constexpr uint32_t k_saturated32 = 0xffffffffu;
constexpr uint16_t k_saturated16 = 0xffffu;

// The walker keeps at most this many anomalies: a hostile archive with 200k
// bad entries must not turn into 200k findings (the scanner summarises too).
constexpr size_t k_max_anomalies = 10000;
constexpr size_t k_gap_chunk = 64 * 1024;

uint16_t le16(const char* p) {
  return static_cast<uint16_t>(static_cast<unsigned char>(p[0]) |
                               (static_cast<unsigned char>(p[1]) << 8));
}
uint32_t le32(const char* p) {
  return static_cast<uint32_t>(le16(p)) | (static_cast<uint32_t>(le16(p + 2)) << 16);
}
uint64_t le64(const char* p) {
  return static_cast<uint64_t>(le32(p)) | (static_cast<uint64_t>(le32(p + 4)) << 32);
}

// Exactly `n` bytes at `offset`, or nullopt (short file or I/O error).
std::optional<std::string> read_exact(const util::ByteSource& bytes, uint64_t offset, uint64_t n) {
  if (offset > bytes.size() || n > bytes.size() - offset) return std::nullopt;
  auto s = bytes.read_string(offset, static_cast<size_t>(n));
  if (!s || s->size() != n) return std::nullopt;
  return std::move(*s);
}

std::string hex(uint64_t v) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  do {
    s.insert(s.begin(), digits[v & 0xf]);
    v >>= 4;
  } while (v);
  return "0x" + s;
}

class Walker {
 public:
  Walker(const util::ByteSource& bytes, const ZipReadOptions& options, ZipDirectory& dir)
      : m_bytes(bytes), m_options(options), m_dir(dir) {}

  void run(std::vector<ZipUnlistedEntry>* unlisted);

 private:
  void anomaly(std::string rule, Severity severity, uint64_t offset, std::string message,
               std::string subject = {}) {
    if (m_dir.anomalies.size() >= k_max_anomalies) return;
    m_dir.anomalies.push_back(
        ZipAnomaly{std::move(rule), severity, offset, std::move(message), std::move(subject)});
  }
  std::optional<uint64_t> find_eocd();
  bool read_end_records();
  void read_central_directory();
  void parse_central_extra(std::string_view extra, ZipEntry& entry, bool& zip64_disk_bad);
  void verify_local_header(ZipEntry& entry);
  void check_overlaps();
  void scan_gaps(std::vector<ZipUnlistedEntry>& unlisted);

  const util::ByteSource& m_bytes;
  const ZipReadOptions& m_options;
  ZipDirectory& m_dir;
  uint64_t m_cd_limit = 0;  // where the central directory must end (end record or zip64 record)
  uint64_t m_shift = 0;     // offsets are relative to an archive that starts here
  uint64_t m_eocd64_offset = 0;
  bool m_have_eocd64 = false;
};

// Calls on_zip64(payload) for each zip64 extended-information field in a
// header's extra data; false if a field's length runs past the data (the
// walk stops there).
template <typename OnZip64>
bool for_each_zip64_field(std::string_view extra, OnZip64&& on_zip64) {
  size_t pos = 0;
  while (pos + 4 <= extra.size()) {
    const uint16_t id = le16(extra.data() + pos);
    const uint16_t len = le16(extra.data() + pos + 2);
    pos += 4;
    if (len > extra.size() - pos) return false;
    if (id == k_zip64_extra_id) on_zip64(extra.substr(pos, len));
    pos += len;
  }
  return true;
}

// The end record is the last signature in the final 64 KiB + 22 bytes that
// leaves room for a whole record: the choice of Python's zipfile and miniz.
std::optional<uint64_t> Walker::find_eocd() {
  const uint64_t size = m_bytes.size();
  if (size < k_eocd_size) return std::nullopt;
  // Fast path: no comment (every torch checkpoint), one small read.
  if (auto tail = read_exact(m_bytes, size - k_eocd_size, k_eocd_size);
      tail && le32(tail->data()) == k_eocd_sig && le16(tail->data() + 20) == 0)
    return size - k_eocd_size;
  const uint64_t window = std::min<uint64_t>(size, k_eocd_size + k_max_comment);
  auto tail = read_exact(m_bytes, size - window, window);
  if (!tail) return std::nullopt;
  for (uint64_t i = window - k_eocd_size + 1; i-- > 0;)
    if (le32(tail->data() + i) == k_eocd_sig) return size - window + i;
  return std::nullopt;
}

bool Walker::read_end_records() {
  const uint64_t size = m_bytes.size();
  const auto eocd = find_eocd();
  if (!eocd) {
    anomaly("zip.malformed", Severity::medium, 0,
            "no end-of-central-directory record: not a complete zip archive");
    return false;
  }
  auto rec = read_exact(m_bytes, *eocd, k_eocd_size);
  if (!rec) return false;
  const char* p = rec->data();
  const uint16_t disk = le16(p + 4);
  const uint16_t cd_disk = le16(p + 6);
  const uint16_t entries_disk = le16(p + 8);
  const uint16_t entries_total = le16(p + 10);
  const uint32_t cd_size32 = le32(p + 12);
  const uint32_t cd_offset32 = le32(p + 16);
  const uint16_t comment_len = le16(p + 20);
  m_dir.eocd_offset = *eocd;
  m_dir.archive_end = *eocd + k_eocd_size + comment_len;
  if (m_dir.archive_end > size) {
    anomaly("zip.malformed", Severity::medium, *eocd + 20,
            "the archive comment length runs past the end of the file", "comment");
    m_dir.archive_end = size;
  } else if (comment_len > 0) {
    // A comment that holds zip structures is a second archive hidden where
    // only forward-searching readers look.
    if (auto comment = read_exact(m_bytes, *eocd + k_eocd_size, comment_len)) {
      for (const char* sig : {"PK\x01\x02", "PK\x03\x04", "PK\x05\x06", "PK\x06\x06"}) {
        if (comment->find(sig) != std::string::npos) {
          anomaly("zip.trailing_data", Severity::medium, *eocd + k_eocd_size,
                  "the archive comment contains zip record signatures (a second archive hidden "
                  "in the comment; readers disagree on which end record is real)",
                  "comment");
          break;
        }
      }
    }
  }
  m_dir.declared_entries = entries_total;
  uint64_t cd_size = cd_size32;
  uint64_t cd_offset = cd_offset32;
  m_cd_limit = *eocd;

  if (disk != 0 || cd_disk != 0 || entries_disk != entries_total) {
    anomaly("zip.malformed", Severity::medium, *eocd + 4,
            "the end record describes a multi-disk (spanned) archive, which loaders refuse");
  }

  // zip64: a locator right before the end record points at the zip64 record.
  bool locator = false;
  if (*eocd >= k_locator_size) {
    if (auto loc = read_exact(m_bytes, *eocd - k_locator_size, k_locator_size);
        loc && le32(loc->data()) == k_locator_sig) {
      locator = true;
      const uint64_t locator_offset = *eocd - k_locator_size;
      const uint64_t pointed = le64(loc->data() + 8);
      // Python's zipfile reads the record right before the locator; miniz
      // follows the pointer. Accept either, flag the disagreement.
      std::optional<uint64_t> where;
      auto record_at = [&](uint64_t at) -> std::optional<std::string> {
        if (at > locator_offset || locator_offset - at < k_eocd64_size) return std::nullopt;
        auto r = read_exact(m_bytes, at, k_eocd64_size);
        if (!r || le32(r->data()) != k_eocd64_sig) return std::nullopt;
        return r;
      };
      auto r64 = record_at(pointed);
      if (r64) {
        where = pointed;
        if (pointed + k_eocd64_size != locator_offset)
          anomaly("zip.malformed", Severity::low, pointed,
                  "bytes between the zip64 end record and its locator");
      } else if (locator_offset >= k_eocd64_size &&
                 (r64 = record_at(locator_offset - k_eocd64_size))) {
        where = locator_offset - k_eocd64_size;
        anomaly("zip.malformed", Severity::medium, locator_offset + 8,
                "the zip64 locator points at " + hex(pointed) +
                    ", not at the zip64 end record; readers disagree on where the directory is");
      } else {
        anomaly("zip.malformed", Severity::medium, locator_offset,
                "zip64 locator without a zip64 end record");
      }
      if (r64) {
        const char* q = r64->data();
        const uint64_t entries64 = le64(q + 32);
        const uint64_t cd_size64 = le64(q + 40);
        const uint64_t cd_offset64 = le64(q + 48);
        m_dir.zip64 = true;
        m_have_eocd64 = true;
        m_eocd64_offset = *where;
        m_cd_limit = *where;
        // miniz replaces only saturated 32-bit fields; Python's zipfile takes
        // the zip64 values. Different unsaturated values mean two readers see
        // two directories.
        if ((cd_offset32 != k_saturated32 && cd_offset32 != cd_offset64) ||
            (cd_size32 != k_saturated32 && cd_size32 != cd_size64)) {
          anomaly("zip.malformed", Severity::high, *eocd + 12,
                  "the end record and the zip64 end record point at different central "
                  "directories; readers disagree on the archive's contents");
        } else if (entries_total != k_saturated16 && entries_total != entries64) {
          anomaly("zip.malformed", Severity::medium, *eocd + 10,
                  "the end record and the zip64 end record disagree on the entry count");
        }
        cd_size = cd_size64;
        cd_offset = cd_offset64;
        m_dir.declared_entries = entries64;
      }
    }
  }
  if (!locator &&
      (cd_offset32 == k_saturated32 || cd_size32 == k_saturated32 ||
       entries_total == k_saturated16) &&
      entries_total != 0) {
    // Saturated fields without zip64 records. Legal only for the entry count
    // of a genuinely large archive, so note it and carry on with the values.
    anomaly("zip.malformed", Severity::low, *eocd,
            "end record fields are saturated but there is no zip64 end record");
  }

  // Offsets may be relative to the archive rather than the file (data was
  // prepended). Python's zipfile shifts them by the difference; miniz does not.
  if (cd_size > m_cd_limit) {
    anomaly("zip.malformed", Severity::medium, *eocd + 12,
            "the central directory is larger than the file");
    return false;
  }
  if (cd_offset > m_cd_limit - cd_size) {
    anomaly("zip.malformed", Severity::medium, *eocd + 16,
            "the central directory offset points past the end record");
    return false;
  }
  const uint64_t concat = m_cd_limit - cd_size - cd_offset;
  auto central_sig_at = [&](uint64_t at) {
    if (cd_size == 0) return true;
    auto s = read_exact(m_bytes, at, 4);
    return s && le32(s->data()) == k_central_sig;
  };
  if (concat > 0 && central_sig_at(cd_offset + concat)) {
    m_shift = concat;
  } else if (central_sig_at(cd_offset)) {
    if (concat > 0)
      anomaly("zip.malformed", Severity::medium, cd_offset + cd_size,
              "bytes between the central directory and the end record");
  } else {
    anomaly("zip.malformed", Severity::medium, cd_offset,
            "the end record does not point at a central directory");
    return false;
  }
  m_dir.cd_offset = cd_offset + m_shift;
  m_dir.cd_size = cd_size;
  return true;
}

void Walker::parse_central_extra(std::string_view extra, ZipEntry& entry, bool& bad) {
  const bool need_usize = entry.uncompressed_size == k_saturated32;
  const bool need_csize = entry.compressed_size == k_saturated32;
  const bool need_offset = entry.local_offset == k_saturated32;
  const bool complete = for_each_zip64_field(extra, [&](std::string_view field) {
    // In the central directory the field holds only the saturated values, in order.
    size_t at = 0;
    auto take = [&](uint64_t& out) {
      if (at + 8 > field.size()) {
        bad = true;
        return;
      }
      out = le64(field.data() + at);
      at += 8;
    };
    if (need_usize) take(entry.uncompressed_size);
    if (need_csize) take(entry.compressed_size);
    if (need_offset) take(entry.local_offset);
    m_dir.zip64 = true;
  });
  if (!complete) bad = true;
}

void Walker::read_central_directory() {
  util::SliceSource cd(m_bytes, m_dir.cd_offset, m_dir.cd_size);
  util::StreamReader in(cd);
  uint64_t walked = 0;
  while (!in.at_end()) {
    const uint64_t record = m_dir.cd_offset + in.position();
    if (walked >= m_options.max_entries) {
      anomaly("container.limit.members", Severity::medium, record,
              "more than " + std::to_string(m_options.max_entries) +
                  " central-directory entries; the rest were not scanned");
      return;
    }
    std::string fixed;
    if (!in.read_bytes(k_central_size, fixed)) {
      anomaly("zip.malformed", Severity::medium, record, "truncated central-directory record");
      return;
    }
    const char* p = fixed.data();
    if (le32(p) != k_central_sig) {
      anomaly("zip.malformed", Severity::medium, record,
              "unexpected bytes inside the central directory");
      return;
    }
    ZipEntry entry;
    entry.central_offset = record;
    entry.flags = le16(p + 8);
    entry.method = le16(p + 10);
    entry.crc32 = le32(p + 16);
    entry.compressed_size = le32(p + 20);
    entry.uncompressed_size = le32(p + 24);
    const uint16_t name_len = le16(p + 28);
    const uint16_t extra_len = le16(p + 30);
    const uint16_t comment_len = le16(p + 32);
    const uint16_t disk_start = le16(p + 34);
    entry.local_offset = le32(p + 42);
    std::string extra;
    if (!in.read_bytes(name_len, entry.name) || !in.read_bytes(extra_len, extra) ||
        !in.skip(comment_len)) {
      anomaly("zip.malformed", Severity::medium, record,
              "central-directory record runs past the directory", printable_name(entry.name));
      return;
    }
    bool bad_extra = false;
    parse_central_extra(extra, entry, bad_extra);
    if (bad_extra)
      anomaly("zip.malformed", Severity::medium, record, "malformed zip64 extra field",
              printable_name(entry.name));
    if (disk_start != 0 && disk_start != k_saturated16)
      anomaly("zip.malformed", Severity::medium, record + 34,
              "entry claims to start on another disk", printable_name(entry.name));
    if (entry.local_offset > m_bytes.size() - std::min(m_shift, m_bytes.size())) {
      anomaly("zip.malformed", Severity::medium, record + 42,
              "local header offset points past the end of the file", printable_name(entry.name));
      entry.local_offset = m_bytes.size();
    } else {
      entry.local_offset += m_shift;
    }
    m_dir.entries.push_back(std::move(entry));
    ++walked;
  }
  // Python's zipfile walks the directory by its size, miniz by the count.
  if (walked != m_dir.declared_entries && walked < m_options.max_entries)
    anomaly("zip.malformed", Severity::medium, m_dir.eocd_offset + 10,
            "the end record declares " + std::to_string(m_dir.declared_entries) +
                " entries but the central directory holds " + std::to_string(walked) +
                "; readers that trust the count see a different archive");
}

struct LocalHeader {
  uint16_t flags = 0;
  uint16_t method = 0;
  uint32_t crc32 = 0;
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;
  bool zip64 = false;
  std::string name;
  uint64_t data_offset = 0;
};

// Parses the local header at `offset`; nullopt if there is none.
std::optional<LocalHeader> read_local_header(const util::ByteSource& bytes, uint64_t offset) {
  auto fixed = read_exact(bytes, offset, k_local_size);
  if (!fixed || le32(fixed->data()) != k_local_sig) return std::nullopt;
  const char* p = fixed->data();
  LocalHeader h;
  h.flags = le16(p + 6);
  h.method = le16(p + 8);
  h.crc32 = le32(p + 14);
  h.compressed_size = le32(p + 18);
  h.uncompressed_size = le32(p + 22);
  const uint16_t name_len = le16(p + 26);
  const uint16_t extra_len = le16(p + 28);
  auto rest = read_exact(bytes, offset + k_local_size, uint64_t{name_len} + extra_len);
  if (!rest) return std::nullopt;
  h.name = rest->substr(0, name_len);
  const std::string_view extra = std::string_view(*rest).substr(name_len);
  // A malformed extra here is judged by the central-directory comparison.
  for_each_zip64_field(extra, [&](std::string_view field) {
    // In local headers the zip64 field holds both sizes whenever present.
    if (field.size() < 16) return;
    h.zip64 = true;
    if (h.uncompressed_size == k_saturated32) h.uncompressed_size = le64(field.data());
    if (h.compressed_size == k_saturated32) h.compressed_size = le64(field.data() + 8);
  });
  h.data_offset = offset + k_local_size + name_len + extra_len;
  return h;
}

void Walker::verify_local_header(ZipEntry& entry) {
  const std::string subject = printable_name(entry.name);
  auto local = read_local_header(m_bytes, entry.local_offset);
  if (!local) {
    anomaly("zip.malformed", Severity::medium, entry.central_offset,
            "the central directory points at " + hex(entry.local_offset) +
                ", where there is no local header",
            subject);
    return;
  }
  entry.local_ok = true;
  entry.local_flags = local->flags;
  entry.data_offset = local->data_offset;
  if (local->name != entry.name)
    anomaly("zip.header_mismatch", Severity::high, entry.local_offset + k_local_size,
            "the local header names this member '" + printable_name(local->name) +
                "'; tools that read local headers see a different file than loaders",
            subject);
  if (local->method != entry.method)
    anomaly("zip.header_mismatch", Severity::high, entry.local_offset + 8,
            "the local header says compression method " + std::to_string(local->method) +
                ", the central directory " + std::to_string(entry.method),
            subject);
  if (local->flags != entry.flags)
    anomaly("zip.header_mismatch", Severity::medium, entry.local_offset + 6,
            "the local header's flag bits " + hex(local->flags) +
                " differ from the central directory's " + hex(entry.flags) +
                " (loaders honour only one of them)",
            subject);
  const bool descriptor = ((local->flags | entry.flags) & k_flag_descriptor) != 0;
  if (!(local->flags & k_flag_descriptor)) {
    if (local->compressed_size != entry.compressed_size ||
        local->uncompressed_size != entry.uncompressed_size)
      anomaly("zip.header_mismatch", Severity::high, entry.local_offset + 18,
              "the local header's sizes (" + std::to_string(local->compressed_size) + "/" +
                  std::to_string(local->uncompressed_size) +
                  ") differ from the central directory's (" +
                  std::to_string(entry.compressed_size) + "/" +
                  std::to_string(entry.uncompressed_size) + ")",
              subject);
    else if (local->crc32 != entry.crc32)
      anomaly("zip.header_mismatch", Severity::medium, entry.local_offset + 14,
              "the local header's CRC differs from the central directory's", subject);
  }
  const uint64_t size = m_bytes.size();
  if (entry.data_offset > size || entry.compressed_size > size - entry.data_offset) {
    entry.data_truncated = true;
    entry.region_end = size;
    anomaly("zip.malformed", Severity::medium, entry.data_offset,
            "member data runs past the end of the file", subject);
    return;
  }
  entry.region_end = entry.data_offset + entry.compressed_size;
  if (!descriptor) return;
  // Data descriptor: optional signature, CRC, then 4- or 8-byte sizes.
  const bool wide = local->zip64 || entry.compressed_size >= k_saturated32 ||
                    entry.uncompressed_size >= k_saturated32;
  auto desc = m_bytes.read_string(entry.region_end, 24);
  if (!desc) return;
  size_t at = 0;
  if (desc->size() >= 4 && le32(desc->data()) == k_descriptor_sig) at = 4;
  const size_t need = at + 4 + (wide ? 16 : 8);
  if (desc->size() < need) {
    anomaly("zip.malformed", Severity::low, entry.region_end, "truncated data descriptor", subject);
    return;
  }
  const uint32_t crc = le32(desc->data() + at);
  const uint64_t csize = wide ? le64(desc->data() + at + 4) : le32(desc->data() + at + 4);
  const uint64_t usize = wide ? le64(desc->data() + at + 12) : le32(desc->data() + at + 8);
  if (crc != entry.crc32 || csize != entry.compressed_size || usize != entry.uncompressed_size)
    anomaly("zip.header_mismatch", Severity::medium, entry.region_end,
            "the data descriptor disagrees with the central directory (CRC or sizes)", subject);
  entry.region_end += need;
}

void Walker::check_overlaps() {
  std::vector<const ZipEntry*> sorted;
  for (const auto& e : m_dir.entries)
    if (e.local_ok) sorted.push_back(&e);
  std::sort(sorted.begin(), sorted.end(),
            [](const ZipEntry* a, const ZipEntry* b) { return a->local_offset < b->local_offset; });
  uint64_t furthest = 0;
  const ZipEntry* owner = nullptr;
  size_t reported = 0;
  for (const ZipEntry* e : sorted) {
    if (owner && e->local_offset < furthest && reported++ < 20)
      anomaly("zip.overlapping_entries", Severity::medium, e->local_offset,
              "member data overlaps '" + printable_name(owner->name) +
                  "' (overlapping entries are how non-recursive zip bombs and "
                  "reader-disagreement tricks are built)",
              printable_name(e->name));
    if (e->region_end > furthest) {
      furthest = e->region_end;
      owner = e;
    }
  }
  if (owner && furthest > m_dir.cd_offset && !sorted.empty() &&
      sorted.back()->local_offset < m_dir.cd_offset)
    anomaly("zip.overlapping_entries", Severity::medium, m_dir.cd_offset,
            "member data overlaps the central directory", printable_name(owner->name));
}

// Searches every byte range the directory does not account for (prefix, gaps
// between members, after the end record) for local-header signatures: what a
// streaming reader would extract but a central-directory reader never sees.
void Walker::scan_gaps(std::vector<ZipUnlistedEntry>& unlisted) {
  std::vector<std::pair<uint64_t, uint64_t>> covered;
  for (const auto& e : m_dir.entries)
    if (e.local_ok) covered.emplace_back(e.local_offset, e.region_end);
  covered.emplace_back(m_dir.cd_offset, m_dir.cd_offset + m_dir.cd_size);
  if (m_have_eocd64) covered.emplace_back(m_eocd64_offset, m_dir.eocd_offset);
  covered.emplace_back(m_dir.eocd_offset, m_dir.archive_end);
  std::sort(covered.begin(), covered.end());

  std::vector<std::pair<uint64_t, uint64_t>> gaps;
  uint64_t pos = 0;
  for (const auto& [begin, end] : covered) {
    if (begin > pos) gaps.emplace_back(pos, begin);
    pos = std::max(pos, end);
  }
  if (pos < m_bytes.size()) gaps.emplace_back(pos, m_bytes.size());

  uint64_t budget = m_options.max_gap_scan;
  for (const auto& [begin, end] : gaps) {
    uint64_t at = begin;
    while (at + 4 <= end) {
      if (budget == 0) {
        anomaly("zip.malformed", Severity::low, at,
                "large unaccounted regions were not fully searched for hidden entries");
        return;
      }
      const uint64_t want = std::min<uint64_t>({k_gap_chunk, end - at, budget});
      auto chunk = m_bytes.read_string(at, static_cast<size_t>(want));
      if (!chunk || chunk->size() < 4) return;
      budget -= chunk->size();
      size_t hit = chunk->find("PK\x03\x04");
      if (hit == std::string::npos) {
        at += chunk->size() - 3;  // a signature may straddle chunks
        continue;
      }
      const uint64_t header = at + hit;
      auto local = read_local_header(m_bytes, header);
      if (!local) {
        at = header + 1;
        continue;
      }
      if (unlisted.size() < m_options.max_entries) {
        ZipUnlistedEntry u;
        u.name = local->name;
        u.local_offset = header;
        u.data_offset = local->data_offset;
        u.compressed_size = (local->flags & k_flag_descriptor) ? 0 : local->compressed_size;
        u.method = local->method;
        u.flags = local->flags;
        unlisted.push_back(std::move(u));
      }
      at = local->data_offset;
    }
  }
}

void Walker::run(std::vector<ZipUnlistedEntry>* unlisted) {
  if (!read_end_records()) return;
  m_dir.usable = true;
  read_central_directory();
  if (!m_options.verify_local_headers) return;
  for (auto& entry : m_dir.entries) verify_local_header(entry);
  uint64_t first = m_dir.cd_offset;
  for (const auto& e : m_dir.entries)
    if (e.local_ok) first = std::min(first, e.local_offset);
  m_dir.prefix_size = first;
  // The archive starts right after another end record whose comment runs to
  // the end of the file: this archive hides in the comment of the one in
  // front, and readers disagree on which is real.
  if (first >= k_eocd_size) {
    if (auto rec = read_exact(m_bytes, first - k_eocd_size, k_eocd_size);
        rec && le32(rec->data()) == k_eocd_sig && le16(rec->data() + 20) == m_bytes.size() - first)
      anomaly("zip.trailing_data", Severity::medium, first - k_eocd_size,
              "two end-of-central-directory records: this archive hides in the comment of "
              "another archive, and readers disagree on which one is real",
              "comment");
  }
  check_overlaps();
  if (unlisted) scan_gaps(*unlisted);
}

}  // namespace

ZipDirectory read_zip_directory(const util::ByteSource& bytes, const ZipReadOptions& options,
                                std::vector<ZipUnlistedEntry>* unlisted) {
  ZipDirectory dir;
  Walker(bytes, options, dir).run(unlisted);
  return dir;
}

std::vector<ZipUnlistedEntry> walk_local_headers(const util::ByteSource& bytes, uint64_t start,
                                                 uint64_t max_entries) {
  std::vector<ZipUnlistedEntry> out;
  uint64_t pos = start;
  while (out.size() < max_entries) {
    auto local = read_local_header(bytes, pos);
    if (!local) break;
    ZipUnlistedEntry u;
    u.name = local->name;
    u.local_offset = pos;
    u.data_offset = local->data_offset;
    u.compressed_size = (local->flags & k_flag_descriptor) ? 0 : local->compressed_size;
    u.method = local->method;
    u.flags = local->flags;
    out.push_back(u);
    // Without sizes (streamed with a data descriptor) the next header cannot
    // be found without decoding: stop there.
    if (u.compressed_size == 0 && (local->flags & k_flag_descriptor)) break;
    if (u.compressed_size > bytes.size() - std::min(bytes.size(), u.data_offset)) break;
    pos = u.data_offset + u.compressed_size;
  }
  return out;
}

InflateStatus inflate_member(const util::ByteSource& bytes, uint64_t offset,
                             uint64_t compressed_size, uint64_t max_output, std::string& out,
                             const std::function<bool(uint64_t)>& charge) {
  z_stream zs{};
  if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) return InflateStatus::corrupt;
  std::string in_buf(k_gap_chunk, '\0');
  std::string out_buf(256 * 1024, '\0');
  uint64_t consumed = 0;
  InflateStatus status = InflateStatus::truncated;
  bool done = false;
  while (!done) {
    if (zs.avail_in == 0) {
      if (consumed >= compressed_size) break;  // input ended before the stream did
      const size_t want =
          static_cast<size_t>(std::min<uint64_t>(in_buf.size(), compressed_size - consumed));
      auto n = bytes.read_at(offset + consumed, in_buf.data(), want);
      if (!n) {
        status = InflateStatus::io_error;
        break;
      }
      if (*n == 0) break;
      consumed += *n;
      zs.next_in = reinterpret_cast<Bytef*>(in_buf.data());
      zs.avail_in = static_cast<uInt>(*n);
    }
    zs.next_out = reinterpret_cast<Bytef*>(out_buf.data());
    zs.avail_out = static_cast<uInt>(out_buf.size());
    const int rc = inflate(&zs, Z_NO_FLUSH);
    const size_t produced = out_buf.size() - zs.avail_out;
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
      status = InflateStatus::corrupt;
      break;
    }
    if (produced > 0) {
      const uint64_t room = max_output - std::min<uint64_t>(max_output, out.size());
      const uint64_t keep = std::min<uint64_t>(produced, room);
      if (keep > 0 && !charge(keep)) {
        status = InflateStatus::capped;
        break;
      }
      out.append(out_buf.data(), static_cast<size_t>(keep));
      if (keep < produced) {
        status = InflateStatus::capped;
        break;
      }
    }
    if (rc == Z_STREAM_END) {
      status = InflateStatus::complete;
      done = true;
    } else if (rc == Z_BUF_ERROR && zs.avail_in != 0 && produced == 0) {
      status = InflateStatus::corrupt;
      break;
    }
  }
  inflateEnd(&zs);
  return status;
}

std::optional<std::string> unsafe_path_reason(std::string_view name) {
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find_first_of("/\\", start);
    if (end == std::string_view::npos) end = name.size();
    if (name.substr(start, end - start) == "..") return "contains a '..' component";
    start = end + 1;
  }
  if (name.find('\0') != std::string_view::npos) return "contains a NUL byte";
  if (!name.empty() && name.front() == '/') return "is an absolute path";
  if (name.find('\\') != std::string_view::npos)
    return "contains a backslash (a path separator on Windows)";
  if (name.size() >= 2 && std::isalpha(static_cast<unsigned char>(name[0])) && name[1] == ':')
    return "starts with a drive letter";
  return std::nullopt;
}

std::string printable_name(std::string_view name) {
  constexpr size_t k_max = 512;
  std::string out;
  auto escape = [&](unsigned char c) {
    static const char* digits = "0123456789abcdef";
    out += "\\x";
    out += digits[c >> 4];
    out += digits[c & 0xf];
  };
  size_t i = 0;
  while (i < name.size() && out.size() < k_max) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f)
        escape(c);
      else
        out += static_cast<char>(c);
      ++i;
      continue;
    }
    const size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    bool valid = len > 0 && i + len <= name.size() && c != 0xC0 && c != 0xC1 && c <= 0xF4;
    for (size_t k = 1; valid && k < len; ++k)
      valid = (static_cast<unsigned char>(name[i + k]) & 0xC0) == 0x80;
    if (!valid) {
      escape(c);
      ++i;
      continue;
    }
    out.append(name.substr(i, len));
    i += len;
  }
  if (i < name.size()) out += "...";
  return out;
}

}  // namespace hfaudit::scan
