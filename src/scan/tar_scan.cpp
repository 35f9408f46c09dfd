// Tar archives: POSIX ustar, PAX and GNU headers (checksums validated, long
// names, octal and base-256 sizes), every regular member scanned as nested
// content without copying it, links and escaping names reported (tar-slip).
// Legacy PyTorch 0.1.x checkpoints are tars whose `storages` and `tensors`
// members interleave pickles with raw binary (model-file-threats.md 2.3):
// those are walked record by record so each pickle is scanned on its own and
// the raw data is skipped by size.
#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "scan/capped_reporter.hpp"
#include "scan/format_scanners.hpp"
#include "scan/zip_reader.hpp"
#include "util/stream_reader.hpp"

namespace hfaudit::scan {

namespace {

constexpr uint64_t k_block = 512;
constexpr uint64_t k_max_pax_header = 1 << 20;
constexpr uint64_t k_max_long_name = 64 * 1024;
constexpr size_t k_max_listed_members = 200;
constexpr size_t k_classify_members = 64;
// Longest text argument a pickle opcode may carry in the extent walker.
constexpr uint64_t k_max_pickle_line = 1 << 20;
constexpr uint64_t k_max_pickle_ops = 50'000'000;

struct TarEntry {
  std::string name;
  std::string linkname;
  char type = '0';
  uint64_t size = 0;
  uint64_t header_offset = 0;
  uint64_t data_offset = 0;
};

struct TarIssue {
  std::string rule;
  Severity severity;
  uint64_t offset;
  std::string message;
  std::string subject;
};

struct TarWalk {
  std::vector<TarEntry> entries;
  std::vector<TarIssue> issues;
  uint64_t end = 0;  // offset after the last header/data consumed
  bool end_marker = false;
};

std::string field(const std::string& block, size_t at, size_t len) {
  std::string s = block.substr(at, len);
  if (const size_t nul = s.find('\0'); nul != std::string::npos) s.resize(nul);
  return s;
}

// Octal (space/NUL padded) or GNU base-256 (high bit of the first byte).
std::optional<uint64_t> parse_number(const std::string& block, size_t at, size_t len) {
  const auto first = static_cast<unsigned char>(block[at]);
  if (first & 0x80) {
    if (first == 0xff) return std::nullopt;  // negative
    uint64_t v = first & 0x7f;
    for (size_t i = 1; i < len; ++i) {
      if (v >> 56) return std::nullopt;
      v = (v << 8) | static_cast<unsigned char>(block[at + i]);
    }
    return v;
  }
  size_t i = at;
  const size_t end = at + len;
  while (i < end && (block[i] == ' ' || block[i] == '\0')) ++i;
  uint64_t v = 0;
  bool any = false;
  for (; i < end && block[i] >= '0' && block[i] <= '7'; ++i) {
    if (v >> 60) return std::nullopt;
    v = v * 8 + static_cast<uint64_t>(block[i] - '0');
    any = true;
  }
  for (; i < end; ++i)
    if (block[i] != ' ' && block[i] != '\0') return std::nullopt;
  return any ? v : 0;
}

bool checksum_ok(const std::string& block) {
  const auto stored = parse_number(block, 148, 8);
  if (!stored) return false;
  uint64_t unsigned_sum = 0;
  int64_t signed_sum = 0;
  for (size_t i = 0; i < k_block; ++i) {
    const char c = (i >= 148 && i < 156) ? ' ' : block[i];
    unsigned_sum += static_cast<unsigned char>(c);
    signed_sum += static_cast<signed char>(c);
  }
  // Python's tarfile accepts either sum (old tars used signed chars).
  return *stored == unsigned_sum || static_cast<int64_t>(*stored) == signed_sum;
}

uint64_t padded(uint64_t size) {
  return size + (k_block - size % k_block) % k_block;
}

// PAX records: "<len> <key>=<value>\n".
void parse_pax(const std::string& text, std::optional<std::string>& path,
               std::optional<std::string>& linkpath, std::optional<uint64_t>& size, bool& bad) {
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t space = text.find(' ', pos);
    if (space == std::string::npos) break;
    uint64_t len = 0;
    bool digits = space > pos;
    for (size_t i = pos; i < space; ++i) {
      if (text[i] < '0' || text[i] > '9' || len > text.size()) {
        digits = false;
        break;
      }
      len = len * 10 + static_cast<uint64_t>(text[i] - '0');
    }
    if (!digits || len <= space - pos + 1 || len > text.size() - pos ||
        text[pos + len - 1] != '\n') {
      if (text.find_first_not_of('\0', pos) != std::string::npos) bad = true;
      break;
    }
    const std::string record = text.substr(space + 1, pos + len - 1 - (space + 1));
    const size_t eq = record.find('=');
    if (eq != std::string::npos) {
      const std::string key = record.substr(0, eq);
      const std::string value = record.substr(eq + 1);
      if (key == "path") path = value;
      if (key == "linkpath") linkpath = value;
      if (key == "size") {
        uint64_t v = 0;
        bool ok = !value.empty() && value.size() < 20;
        for (const char c : value) {
          ok &= c >= '0' && c <= '9';
          v = v * 10 + static_cast<uint64_t>(c - '0');
        }
        if (ok)
          size = v;
        else
          bad = true;
      }
    }
    pos += len;
  }
}

TarWalk walk_tar(const util::ByteSource& bytes, uint64_t max_entries) {
  TarWalk walk;
  const uint64_t file_size = bytes.size();
  uint64_t pos = 0;
  // What GNU long-name and PAX records say about the next header.
  struct Overrides {
    std::optional<std::string> path, link;
    std::optional<uint64_t> size;
  } pending;
  auto issue = [&](std::string rule, Severity s, uint64_t off, std::string msg,
                   std::string subject = {}) {
    if (walk.issues.size() < 10000)
      walk.issues.push_back({std::move(rule), s, off, std::move(msg), std::move(subject)});
  };
  while (true) {
    walk.end = pos;
    if (pos >= file_size) {
      issue("tar.malformed", Severity::low, pos,
            "the archive ends without an end-of-archive marker");
      break;
    }
    auto block = bytes.read_string(pos, k_block);
    if (!block || block->size() < k_block) {
      issue("tar.malformed", Severity::medium, pos, "truncated tar header");
      break;
    }
    if (block->find_first_not_of('\0') == std::string::npos) {
      // End of archive; writers pad with more zero blocks (GNU tar to 10 KiB
      // records), so trailing data starts at the first non-zero block.
      walk.end_marker = true;
      uint64_t end = pos + k_block;
      while (end < file_size) {
        auto next = bytes.read_string(end, k_block);
        if (!next || next->find_first_not_of('\0') != std::string::npos) break;
        end += next->size();
      }
      walk.end = end;
      break;
    }
    if (!checksum_ok(*block)) {
      issue("tar.malformed", Severity::medium, pos + 148,
            "header checksum mismatch: tar readers stop (or skip ahead) here; the rest of the "
            "file was not scanned as members");
      break;
    }
    const auto size_field = parse_number(*block, 124, 12);
    if (!size_field) {
      issue("tar.malformed", Severity::medium, pos + 124, "invalid size field");
      break;
    }
    const char type = (*block)[156];
    uint64_t size = *size_field;
    const uint64_t data_offset = pos + k_block;
    // Metadata records that describe the next header.
    if (type == 'x' || type == 'g' || type == 'L' || type == 'K') {
      const uint64_t cap = (type == 'L' || type == 'K') ? k_max_long_name : k_max_pax_header;
      if (size > cap || size > file_size - std::min(file_size, data_offset)) {
        issue("tar.malformed", Severity::medium, pos,
              "extended header record is too large or runs past the end of the file");
        break;
      }
      auto text = bytes.read_string(data_offset, static_cast<size_t>(size));
      if (!text) break;
      if (type == 'L' || type == 'K') {
        std::string name = *text;
        while (!name.empty() && name.back() == '\0') name.pop_back();
        (type == 'L' ? pending.path : pending.link) = std::move(name);
      } else if (type == 'x') {
        bool bad = false;
        parse_pax(*text, pending.path, pending.link, pending.size, bad);
        if (bad) issue("tar.malformed", Severity::low, data_offset, "malformed PAX record");
      }
      pos = data_offset + padded(size);
      continue;
    }
    if (walk.entries.size() >= max_entries) {
      issue("container.limit.members", Severity::medium, pos,
            "more than " + std::to_string(max_entries) + " members; the rest were not scanned");
      break;
    }
    TarEntry entry;
    entry.type = type;
    entry.header_offset = pos;
    entry.data_offset = data_offset;
    std::string name = field(*block, 0, 100);
    if (block->compare(257, 6, std::string("ustar\0", 6)) == 0) {
      const std::string prefix = field(*block, 345, 155);
      if (!prefix.empty()) name = prefix + "/" + name;
    }
    entry.name = pending.path ? *pending.path : name;
    entry.linkname = pending.link ? *pending.link : field(*block, 157, 100);
    if (pending.size) size = *pending.size;
    entry.size = size;
    pending = {};
    // Links, directories and devices carry no data (hard links may, but
    // readers ignore it).
    const bool has_data =
        type != '1' && type != '2' && type != '3' && type != '4' && type != '5' && type != '6';
    if (!has_data) entry.size = 0;
    walk.entries.push_back(entry);
    const uint64_t advance = has_data ? padded(size) : 0;
    if (has_data && size > file_size - std::min(file_size, data_offset)) {
      issue("tar.malformed", Severity::medium, pos + 124,
            "member data runs past the end of the file; the part present was scanned",
            printable_name(entry.name));
      walk.end = file_size;
      break;
    }
    pos = data_offset + advance;
  }
  return walk;
}

// ---- legacy PyTorch tar members ---------------------------------------------

// Where one pickle stream ends, walking opcodes by their argument sizes only
// (nothing is interpreted; the pickle scanner does the judging). Also
// collects GLOBAL names (for storage element sizes) and, for a pickle that is
// a lone integer, its value (the record counts).
struct PickleExtent {
  uint64_t end = 0;
  std::vector<std::string> globals;
  std::optional<uint64_t> lone_int;
};

std::optional<PickleExtent> pickle_extent(const util::ByteSource& src, uint64_t start) {
  util::StreamReader in(src, start);
  PickleExtent ext;
  uint64_t ops = 0;
  uint64_t value_ops = 0;
  std::optional<uint64_t> value;
  std::string arg;
  auto skip = [&](uint64_t n) { return in.skip(n); };
  auto skip_len = [&](int width) {
    uint64_t n = 0;
    if (width == 1) {
      uint8_t v = 0;
      if (!in.read_u8(v)) return false;
      n = v;
    } else if (width == 4) {
      uint32_t v = 0;
      if (!in.read_u32le(v)) return false;
      n = v;
    } else {
      if (!in.read_u64le(n)) return false;
    }
    return in.skip(n);
  };
  auto line = [&]() { return in.read_line(arg, k_max_pickle_line); };
  while (ops++ < k_max_pickle_ops) {
    uint8_t op = 0;
    if (!in.read_u8(op)) return std::nullopt;
    bool ok = true;
    bool counts = true;
    switch (op) {
      case '.':
        ext.end = in.position();
        if (value_ops == 1 && value) ext.lone_int = value;
        return ext;
      case 0x80:
        counts = false;
        ok = skip(1);
        break;  // PROTO
      case 0x95:
        counts = false;
        ok = skip(8);
        break;  // FRAME
      case 'K': {
        uint8_t v = 0;
        ok = in.read_u8(v);
        value = v;
        break;
      }
      case 'M': {
        uint16_t v = 0;
        ok = in.read_u16le(v);
        value = v;
        break;
      }
      case 'J': {
        uint32_t v = 0;
        ok = in.read_u32le(v);
        if (static_cast<int32_t>(v) >= 0) value = v;
        break;
      }
      case 'h':
      case 'q':
      case 0x82:
        ok = skip(1);
        break;
      case 0x83:
        ok = skip(2);
        break;
      case 'j':
      case 'r':
      case 0x84:
        ok = skip(4);
        break;
      case 'G':
        ok = skip(8);
        break;
      case 'U':
      case 'C':
      case 0x8a:
      case 0x8c:
        ok = skip_len(1);
        break;
      case 'T':
      case 'X':
      case 'B':
      case 0x8b:
        ok = skip_len(4);
        break;
      case 0x8d:
      case 0x8e:
      case 0x96:
        ok = skip_len(8);
        break;
      case 'F':
      case 'I':
      case 'L':
      case 'P':
      case 'S':
      case 'V':
      case 'g':
      case 'p':
        ok = line();
        break;
      case 'c':
      case 'i': {
        std::string module;
        ok = line();
        module = arg;
        ok = ok && line();
        if (ok && op == 'c') ext.globals.push_back(module + "." + arg);
        break;
      }
      case '(':
      case '0':
      case '1':
      case '2':
      case 'N':
      case 'Q':
      case 'R':
      case 'a':
      case 'b':
      case 'd':
      case '}':
      case 'e':
      case 'l':
      case ']':
      case 'o':
      case 's':
      case 't':
      case ')':
      case 'u':
      case 0x81:
      case 0x85:
      case 0x86:
      case 0x87:
      case 0x88:
      case 0x89:
      case 0x8f:
      case 0x90:
      case 0x91:
      case 0x92:
      case 0x93:
      case 0x94:
      case 0x97:
      case 0x98:
        break;
      default:
        return std::nullopt;
    }
    if (!ok) return std::nullopt;
    if (counts) ++value_ops;
  }
  return std::nullopt;
}

// Bytes per element of a legacy storage class (torch.FloatStorage, ...).
std::optional<uint64_t> element_size(const std::vector<std::string>& globals) {
  static const std::pair<std::string_view, uint64_t> k_sizes[] = {
      {"ComplexDoubleStorage", 16}, {"ComplexFloatStorage", 8}, {"BFloat16Storage", 2},
      {"DoubleStorage", 8},         {"FloatStorage", 4},        {"HalfStorage", 2},
      {"LongStorage", 8},           {"IntStorage", 4},          {"ShortStorage", 2},
      {"CharStorage", 1},           {"ByteStorage", 1},         {"BoolStorage", 1},
  };
  for (auto it = globals.rbegin(); it != globals.rend(); ++it)
    for (const auto& [suffix, size] : k_sizes)
      if (it->size() >= suffix.size() &&
          std::string_view(*it).substr(it->size() - suffix.size()) == suffix &&
          (it->size() == suffix.size() || (*it)[it->size() - suffix.size() - 1] == '.'))
        return size;
  return std::nullopt;
}

class TarScan {
 public:
  TarScan(ScanContext& ctx, const util::ByteSource& bytes) : m_ctx(ctx), m_bytes(bytes) {}
  void run();

 private:
  void report(const std::string& rule, Severity severity, uint64_t offset, std::string message,
              std::string subject = {}) {
    m_capped.report(rule, severity, offset, std::move(message), std::move(subject));
  }
  void check_entry(const TarEntry& e);
  void scan_member(const TarEntry& e);
  // storages / tensors: count pickle, then per record a pickle plus raw bytes.
  void scan_torch_records(const TarEntry& e, bool storages);

  ScanContext& m_ctx;
  const util::ByteSource& m_bytes;
  bool m_torch = false;
  CappedReporter m_capped{m_ctx};
};

void TarScan::check_entry(const TarEntry& e) {
  const std::string subject = printable_name(e.name);
  if (auto reason = unsafe_path_reason(e.name))
    report("tar.path_traversal", Severity::high, e.header_offset,
           "member name " + *reason + ": extracting it writes outside the target folder (tar-slip)",
           subject);
  if (e.type == '1' || e.type == '2') {
    const auto target_reason = unsafe_path_reason(e.linkname);
    report("tar.link", target_reason ? Severity::high : Severity::medium, e.header_offset,
           std::string(e.type == '2' ? "symbolic" : "hard") + " link to '" +
               printable_name(e.linkname) + "'" +
               (target_reason ? " (target " + *target_reason +
                                    "): extraction can overwrite or "
                                    "expose files outside the target folder"
                              : ": extraction through links is how tar-slip attacks escape"),
           subject);
  } else if (e.type == '3' || e.type == '4' || e.type == '6') {
    report("tar.special_member", Severity::low, e.header_offset,
           "device or FIFO member in a model archive", subject);
  } else if (e.type == 'S') {
    report("tar.unsupported_member", Severity::medium, e.header_offset,
           "GNU sparse member: its stored data was scanned as is, not expanded", subject);
  } else if (e.type != '0' && e.type != '\0' && e.type != '7' && e.type != '5') {
    report("tar.malformed", Severity::low, e.header_offset,
           std::string("unknown member type '") + printable_name(std::string(1, e.type)) +
               "' (Python's tarfile treats it as a regular file; scanned as one)",
           subject);
  }
}

void TarScan::scan_torch_records(const TarEntry& e, bool storages) {
  const std::string base = printable_name(e.name);
  util::SliceSource member(m_bytes, e.data_offset, e.size);
  uint64_t pos = 0;
  auto scan_pickle_at = [&](uint64_t at, uint64_t end, const char* role) {
    m_ctx.scan_nested(util::SliceSource(member, at, end - at),
                      base + "@" + std::to_string(at) + ":" + role, Format::pickle);
  };
  auto give_up = [&](const std::string& why) {
    report("tar.storages_unparsed", Severity::low, e.data_offset + pos,
           "could not follow the layout of '" + base + "' past offset " + std::to_string(pos) +
               " (" + why + "); the rest was scanned as one pickle stream",
           base);
    if (pos < e.size) scan_pickle_at(pos, e.size, "rest");
  };
  auto count_ext = pickle_extent(member, 0);
  if (!count_ext || !count_ext->lone_int) {
    give_up("the record count is not a pickled integer");
    return;
  }
  scan_pickle_at(0, count_ext->end, "count");
  pos = count_ext->end;
  const uint64_t count = *count_ext->lone_int;
  // Each record is at least a few bytes: a larger count cannot be real.
  if (count > e.size / 4 + 1) {
    give_up("record count " + std::to_string(count) + " larger than the member");
    return;
  }
  for (uint64_t i = 0; i < count; ++i) {
    auto rec = pickle_extent(member, pos);
    if (!rec) {
      give_up("record " + std::to_string(i) + " is not a pickle");
      return;
    }
    scan_pickle_at(pos, rec->end, storages ? "storage" : "tensor");
    pos = rec->end;
    auto raw = member.read_string(pos, 8);
    if (!raw || raw->size() < 8) {
      give_up("truncated raw data");
      return;
    }
    uint64_t skip = 0;
    if (storages) {
      uint64_t numel = 0;
      for (int k = 7; k >= 0; --k)
        numel = (numel << 8) | static_cast<unsigned char>((*raw)[static_cast<size_t>(k)]);
      const auto elem = element_size(rec->globals);
      if (!elem) {
        give_up("unknown storage type");
        return;
      }
      if (numel > (UINT64_MAX - 8) / *elem) {
        give_up("storage size overflows");
        return;
      }
      skip = 8 + numel * *elem;
    } else {
      // int32 ndim, 4 bytes padding, ndim int64 sizes, ndim int64 strides, int64 offset.
      uint32_t ndim = 0;
      for (int k = 3; k >= 0; --k)
        ndim = (ndim << 8) | static_cast<unsigned char>((*raw)[static_cast<size_t>(k)]);
      if (ndim > 64) {
        give_up("implausible tensor rank");
        return;
      }
      skip = 8 + 16ull * ndim + 8;
    }
    if (skip > e.size - pos) {
      give_up("raw data runs past the member");
      return;
    }
    pos += skip;
  }
  if (storages) {
    // Storage views follow the storages.
    auto views = pickle_extent(member, pos);
    if (!views) {
      give_up("no storage-views pickle");
      return;
    }
    scan_pickle_at(pos, views->end, "views");
    pos = views->end;
  }
  if (pos < e.size) give_up(std::to_string(e.size - pos) + " unexpected bytes at the end");
}

void TarScan::scan_member(const TarEntry& e) {
  const bool regular = e.type != '1' && e.type != '2' && e.type != '3' && e.type != '4' &&
                       e.type != '5' && e.type != '6';
  if (!regular) return;
  if (e.type == '\0' && !e.name.empty() && e.name.back() == '/') return;  // old-style folder
  const std::string label = printable_name(e.name);
  util::SliceSource data(m_bytes, e.data_offset, e.size);
  if (m_torch) {
    if (e.name == "storages" || e.name == "tensors") {
      scan_torch_records(e, e.name == "storages");
      return;
    }
    if (e.name == "pickle" || e.name == "sys_info") {
      m_ctx.scan_nested(data, label, Format::pickle);
      return;
    }
  }
  m_ctx.scan_nested(data, label);
}

void TarScan::run() {
  const TarWalk walk = walk_tar(m_bytes, m_ctx.limits().max_members);
  std::vector<std::string> names;
  for (const auto& e : walk.entries) names.push_back(e.name);
  auto has = [&](const char* n) { return std::find(names.begin(), names.end(), n) != names.end(); };
  m_torch = has("pickle") && has("storages") && has("tensors");
  for (const auto& i : walk.issues) report(i.rule, i.severity, i.offset, i.message, i.subject);
  if (walk.end_marker && walk.end < m_bytes.size()) {
    {
      report("tar.trailing_data", Severity::low, walk.end,
             std::to_string(m_bytes.size() - walk.end) + " bytes follow the end-of-archive marker",
             "<trailing>");
      m_ctx.scan_nested(util::SliceSource(m_bytes, walk.end, m_bytes.size() - walk.end),
                        "<trailing>");
    }
  }
  for (const auto& e : walk.entries) {
    check_entry(e);
    scan_member(e);
  }
  nlohmann::json& d = m_ctx.details();
  d["flavour"] = m_torch ? "pytorch_tar" : "tar";
  d["entries"] = walk.entries.size();
  nlohmann::json members = nlohmann::json::array();
  for (const auto& e : walk.entries) {
    if (members.size() >= k_max_listed_members) break;
    members.push_back({{"name", printable_name(e.name)},
                       {"size", e.size},
                       {"type", printable_name(std::string(1, e.type == '\0' ? '0' : e.type))}});
  }
  d["members"] = std::move(members);
  if (walk.entries.size() > k_max_listed_members)
    d["members_not_listed"] = walk.entries.size() - k_max_listed_members;
  m_capped.flush();
}

}  // namespace

Format classify_tar(const util::ByteSource& bytes) {
  const TarWalk walk = walk_tar(bytes, k_classify_members);
  bool pickle = false, storages = false, tensors = false;
  for (const auto& e : walk.entries) {
    pickle |= e.name == "pickle";
    storages |= e.name == "storages";
    tensors |= e.name == "tensors";
  }
  return pickle && storages && tensors ? Format::pytorch_tar : Format::tar;
}

void scan_tar(ScanContext& ctx, const util::ByteSource& bytes) {
  TarScan(ctx, bytes).run();
}

}  // namespace hfaudit::scan
