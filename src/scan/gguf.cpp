// GGUF (llama.cpp / ggml): header, metadata key-values and tensor infos are
// validated the way ggml's reader (ggml-org/ggml src/gguf.cpp) does, with
// every count and length checked against the bytes left *before* anything is
// allocated or read. Tensor data is never read: offsets and block-aware sizes
// are checked arithmetically. tokenizer.chat_template* strings go to
// check_chat_template. See shared/reference/model-file-threats.md section 8.
#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "scan/format_scanners.hpp"
#include "util/stream_reader.hpp"

namespace hfaudit::scan {

namespace {

constexpr uint64_t k_max_key = 65535;  // spec limit on key length
// Spec: "at most 64 bytes". ggml itself rejects names of 64 bytes too
// (GGML_MAX_NAME counts the terminating NUL); we follow the spec here.
constexpr uint64_t k_max_tensor_name = 64;
constexpr uint32_t k_max_dims = 4;  // GGML_MAX_DIMS
constexpr int k_max_array_depth = 4;
constexpr uint64_t k_default_alignment = 32;
constexpr uint64_t k_max_template = 16ull << 20;
constexpr uint64_t k_max_detail_string = 256;
constexpr size_t k_max_listed_tensors = 10'000;
constexpr size_t k_max_listed_metadata = 32;
constexpr size_t k_max_violations = 50;

enum ValueType : uint32_t {
  t_u8 = 0,
  t_i8 = 1,
  t_u16 = 2,
  t_i16 = 3,
  t_u32 = 4,
  t_i32 = 5,
  t_f32 = 6,
  t_bool = 7,
  t_string = 8,
  t_array = 9,
  t_u64 = 10,
  t_i64 = 11,
  t_f64 = 12,
};

constexpr std::string_view k_type_names[] = {"u8",   "i8",     "u16",   "i16", "u32", "i32", "f32",
                                             "bool", "string", "array", "u64", "i64", "f64"};

// Size in bytes of a fixed-size value type; 0 for string/array/unknown.
uint64_t fixed_size(uint32_t type) {
  switch (type) {
    case t_u8:
    case t_i8:
    case t_bool:
      return 1;
    case t_u16:
    case t_i16:
      return 2;
    case t_u32:
    case t_i32:
    case t_f32:
      return 4;
    case t_u64:
    case t_i64:
    case t_f64:
      return 8;
    default:
      return 0;
  }
}

// ggml tensor types: elements per block and bytes per block (ggml-common.h).
// Retired ids (4, 5, 31-33, 36-38) have block 0 and are reported as unknown.
struct GgmlType {
  std::string_view name;
  uint64_t block;
  uint64_t bytes;
};

constexpr GgmlType k_ggml_types[] = {
    {"F32", 1, 4},        {"F16", 1, 2},        {"Q4_0", 32, 18},     {"Q4_1", 32, 20},
    {"Q4_2", 0, 0},       {"Q4_3", 0, 0},       {"Q5_0", 32, 22},     {"Q5_1", 32, 24},
    {"Q8_0", 32, 34},     {"Q8_1", 32, 36},     {"Q2_K", 256, 84},    {"Q3_K", 256, 110},
    {"Q4_K", 256, 144},   {"Q5_K", 256, 176},   {"Q6_K", 256, 210},   {"Q8_K", 256, 292},
    {"IQ2_XXS", 256, 66}, {"IQ2_XS", 256, 74},  {"IQ3_XXS", 256, 98}, {"IQ1_S", 256, 50},
    {"IQ4_NL", 32, 18},   {"IQ3_S", 256, 110},  {"IQ2_S", 256, 82},   {"IQ4_XS", 256, 136},
    {"I8", 1, 1},         {"I16", 1, 2},        {"I32", 1, 4},        {"I64", 1, 8},
    {"F64", 1, 8},        {"IQ1_M", 256, 56},   {"BF16", 1, 2},       {"Q4_0_4_4", 0, 0},
    {"Q4_0_4_8", 0, 0},   {"Q4_0_8_8", 0, 0},   {"TQ1_0", 256, 54},   {"TQ2_0", 256, 66},
    {"IQ4_NL_4_4", 0, 0}, {"IQ4_NL_4_8", 0, 0}, {"IQ4_NL_8_8", 0, 0}, {"MXFP4", 32, 17},
};

const GgmlType* find_ggml_type(uint32_t id) {
  if (id >= std::size(k_ggml_types) || k_ggml_types[id].block == 0) return nullptr;
  return &k_ggml_types[id];
}

std::string shorten(std::string s, size_t max) {
  if (s.size() > max) {
    s.resize(max);
    s += "...";
  }
  return s;
}

bool want_string(std::string_view key) {
  return key.substr(0, 8) == "general." || key == "tokenizer.ggml.model";
}

bool is_chat_template_key(std::string_view key) {
  constexpr std::string_view k = "tokenizer.chat_template";
  return key == k ||
         (key.size() > k.size() && key.substr(0, k.size() + 1) == "tokenizer.chat_template.");
}

struct TensorInfo {
  std::string name;
  uint64_t offset;
  uint64_t size;
  bool sized;  // false when the type or shape made the size unknowable
};

class GgufScanner {
 public:
  GgufScanner(ScanContext& ctx, const util::ByteSource& bytes)
      : m_ctx(ctx), m_in(bytes), m_size(bytes.size()) {}

  void run();

 private:
  void violation(const std::string& rule, uint64_t offset, const std::string& message,
                 const std::string& subject = {}) {
    if (m_violations++ < k_max_violations)
      m_ctx.report(rule, Severity::medium, offset, message, subject);
  }
  void truncated(const std::string& what) {
    violation("gguf.truncated", m_in.position(), "file ends inside " + what);
  }

  bool read_u32(uint32_t& v) {
    if (!m_in.read_u32le(v)) return false;
    if (m_big_endian) v = __builtin_bswap32(v);
    return true;
  }
  bool read_u64(uint64_t& v) {
    if (!m_in.read_u64le(v)) return false;
    if (m_big_endian) v = __builtin_bswap64(v);
    return true;
  }
  // Counts and lengths are 32-bit in v1, 64-bit since v2.
  bool read_count(uint64_t& v) {
    if (m_version >= 2) return read_u64(v);
    uint32_t v32 = 0;
    if (!read_u32(v32)) return false;
    v = v32;
    return true;
  }
  uint64_t count_size() const { return m_version >= 2 ? 8 : 4; }

  // Reads a string's length and checks it against the file; on success the
  // position is at the first byte of the string.
  bool read_string_length(uint64_t& len, const std::string& what);
  bool read_string(std::string& out, uint64_t max, const std::string& what, uint64_t& len);
  bool read_value(uint32_t type, int depth, const std::string& key, nlohmann::json* shown);
  bool read_kv(std::set<std::string>& keys, size_t index);
  bool read_tensor_info(std::set<std::string>& names);
  void check_tensor_layout();

  ScanContext& m_ctx;
  util::StreamReader m_in;
  uint64_t m_size;
  bool m_big_endian = false;
  uint32_t m_version = 0;
  uint64_t m_alignment = k_default_alignment;
  size_t m_violations = 0;
  std::vector<TensorInfo> m_tensors;
  std::map<std::string, uint64_t> m_type_counts;
  nlohmann::json m_metadata = nlohmann::json::object();
};

bool GgufScanner::read_string_length(uint64_t& len, const std::string& what) {
  if (!read_count(len)) {
    truncated(what);
    return false;
  }
  if (len > m_in.remaining()) {
    violation("gguf.length_out_of_bounds", m_in.position(),
              what + " claims " + std::to_string(len) + " bytes but only " +
                  std::to_string(m_in.remaining()) + " remain");
    return false;
  }
  return true;
}

bool GgufScanner::read_string(std::string& out, uint64_t max, const std::string& what,
                              uint64_t& len) {
  out.clear();
  if (!read_string_length(len, what)) return false;
  const uint64_t take = std::min(len, max);
  if (!m_in.read_bytes(take, out) || !m_in.skip(len - take)) {
    truncated(what);
    return false;
  }
  return true;
}

bool GgufScanner::read_value(uint32_t type, int depth, const std::string& key,
                             nlohmann::json* shown) {
  const uint64_t start = m_in.position();
  if (const uint64_t n = fixed_size(type); n != 0) {
    std::string raw;
    if (!m_in.read_bytes(n, raw)) {
      truncated("the value of '" + key + "'");
      return false;
    }
    uint64_t v = 0;
    for (uint64_t i = 0; i < n; ++i) {
      const uint64_t b = static_cast<unsigned char>(raw[m_big_endian ? n - 1 - i : i]);
      v |= b << (8 * i);
    }
    if (type == t_bool && v > 1)
      violation("gguf.bool_invalid", start, "boolean value of '" + key + "' is neither 0 nor 1",
                key);
    if (type == t_u32 && key == "general.alignment") {
      // ggml requires a non-zero power of two; the spec, a multiple of 8.
      if (v == 0 || (v & (v - 1)) != 0 || v % 8 != 0)
        violation("gguf.alignment_invalid", start,
                  "general.alignment " + std::to_string(v) +
                      " is not a power of two that is a multiple of 8",
                  key);
      else
        m_alignment = v;
    }
    if (shown) {
      switch (type) {
        case t_i8:
          *shown = static_cast<int8_t>(v);
          break;
        case t_i16:
          *shown = static_cast<int16_t>(v);
          break;
        case t_i32:
          *shown = static_cast<int32_t>(v);
          break;
        case t_i64:
          *shown = static_cast<int64_t>(v);
          break;
        case t_bool:
          *shown = v != 0;
          break;
        case t_f32: {
          float f = 0;
          const auto v32 = static_cast<uint32_t>(v);
          std::memcpy(&f, &v32, 4);
          *shown = f;
          break;
        }
        case t_f64: {
          double d = 0;
          std::memcpy(&d, &v, 8);
          *shown = d;
          break;
        }
        default:
          *shown = v;
      }
    }
    return true;
  }
  if (type == t_string) {
    const bool is_template = is_chat_template_key(key);
    const uint64_t max = is_template ? k_max_template : shown ? k_max_detail_string : 0;
    std::string text;
    uint64_t len = 0;
    if (!read_string(text, max, "the string value of '" + key + "'", len)) return false;
    const uint64_t text_offset = start + count_size();
    if (is_template) {
      if (len > k_max_template)
        violation("gguf.template_too_large", text_offset,
                  "chat template '" + key + "' is larger than 16 MiB and was not checked", key);
      else
        check_chat_template(m_ctx, text, text_offset, key);
    }
    if (shown) *shown = shorten(std::move(text), k_max_detail_string);
    return true;
  }
  if (type == t_array) {
    if (depth >= k_max_array_depth) {
      violation("gguf.nesting_too_deep", start,
                "arrays nest deeper than " + std::to_string(k_max_array_depth) + " levels in '" +
                    key + "'",
                key);
      return false;
    }
    uint32_t item_type = 0;
    uint64_t count = 0;
    if (!read_u32(item_type) || !read_count(count)) {
      truncated("the array header of '" + key + "'");
      return false;
    }
    if (item_type > t_f64) {
      violation("gguf.kv_type_unknown", start,
                "array '" + key + "' has unknown item type " + std::to_string(item_type), key);
      return false;
    }
    // Smallest encoding of one item: checked before looping so a count of
    // 2^63 is rejected at once.
    const uint64_t item_min = fixed_size(item_type) != 0 ? fixed_size(item_type)
                              : item_type == t_string    ? count_size()
                                                         : 4 + count_size();
    if (count > m_in.remaining() / item_min) {
      violation("gguf.count_too_large", start,
                "array '" + key + "' claims " + std::to_string(count) +
                    " items, more than the rest of the file can hold",
                key);
      return false;
    }
    if (shown)
      *shown = "array[" + std::string(k_type_names[item_type]) + "; " + std::to_string(count) + "]";
    // Fixed-size items are skipped in one step (bool items are not checked
    // for 0/1 inside arrays: that would mean reading them one by one).
    if (fixed_size(item_type) != 0) {
      if (!m_in.skip(count * item_min)) {
        truncated("array '" + key + "'");
        return false;
      }
      return true;
    }
    for (uint64_t i = 0; i < count; ++i)
      if (!read_value(item_type, depth + 1, key, nullptr)) return false;
    return true;
  }
  violation("gguf.kv_type_unknown", start,
            "metadata '" + key + "' has unknown value type " + std::to_string(type), key);
  return false;
}

bool GgufScanner::read_kv(std::set<std::string>& keys, size_t index) {
  const uint64_t start = m_in.position();
  std::string key;
  uint64_t len = 0;
  if (!read_string(key, k_max_key, "metadata key #" + std::to_string(index), len)) return false;
  if (len > k_max_key)
    violation("gguf.key_too_long", start,
              "metadata key of " + std::to_string(len) + " bytes exceeds 65535", shorten(key, 64));
  if (!keys.insert(key).second)
    violation("gguf.duplicate_key", start,
              "metadata key '" + shorten(key, 128) +
                  "' appears twice; ggml rejects the file and other readers disagree on the value",
              shorten(key, 128));
  uint32_t type = 0;
  if (!read_u32(type)) {
    truncated("the type of '" + key + "'");
    return false;
  }
  if (key == "general.alignment" && type != t_u32)
    violation("gguf.alignment_invalid", start,
              "general.alignment must be a u32 (ggml aborts on any other type)", key);
  nlohmann::json value;
  const bool show = m_metadata.size() < k_max_listed_metadata &&
                    (want_string(key) || key.find(".context_length") != std::string::npos ||
                     key.find(".block_count") != std::string::npos);
  if (!read_value(type, 0, key, show ? &value : nullptr)) return false;
  if (show) m_metadata[key] = std::move(value);
  return true;
}

bool GgufScanner::read_tensor_info(std::set<std::string>& names) {
  const uint64_t start = m_in.position();
  std::string name;
  uint64_t len = 0;
  if (!read_string(name, 256, "a tensor name", len)) return false;
  if (len > k_max_tensor_name)
    violation("gguf.tensor_name_too_long", start,
              "tensor name of " + std::to_string(len) + " bytes exceeds 64", shorten(name, 64));
  if (!names.insert(name).second)
    violation("gguf.duplicate_tensor", start, "tensor '" + name + "' is listed twice", name);
  uint32_t n_dims = 0;
  if (!read_u32(n_dims)) {
    truncated("tensor info '" + name + "'");
    return false;
  }
  if (n_dims > k_max_dims) {
    violation("gguf.tensor_dims_invalid", start,
              "tensor '" + name + "' has " + std::to_string(n_dims) + " dimensions (at most 4)",
              name);
    if (n_dims > m_in.remaining() / 8) return false;
  }
  std::vector<uint64_t> dims;
  bool sized = true;
  uint64_t elements = 1;
  for (uint32_t i = 0; i < n_dims; ++i) {
    uint64_t d = 0;
    if (!read_count(d)) {
      truncated("the dimensions of tensor '" + name + "'");
      return false;
    }
    dims.push_back(d);
    // ggml keeps dimensions in int64_t and rejects products past INT64_MAX.
    if (d > static_cast<uint64_t>(INT64_MAX) || (d != 0 && elements > INT64_MAX / d)) {
      sized = false;
    } else {
      elements *= d;
    }
  }
  uint32_t type = 0;
  uint64_t offset = 0;
  if (!read_u32(type) || !read_u64(offset)) {
    truncated("tensor info '" + name + "'");
    return false;
  }
  if (!sized)
    violation("gguf.tensor_size_overflow", start,
              "tensor '" + name + "' has dimensions whose product overflows", name);
  const GgmlType* ggml = find_ggml_type(type);
  uint64_t bytes = 0;
  if (!ggml) {
    violation("gguf.tensor_type_unknown", start,
              "tensor '" + name + "' has unknown or retired ggml type " + std::to_string(type),
              name);
    sized = false;
  } else {
    ++m_type_counts[std::string(ggml->name)];
    const uint64_t row = dims.empty() ? 1 : dims[0];
    if (sized && row % ggml->block != 0) {
      violation("gguf.tensor_shape_invalid", start,
                "tensor '" + name + "' has a first dimension of " + std::to_string(row) +
                    ", not a multiple of the " + std::string(ggml->name) + " block size " +
                    std::to_string(ggml->block),
                name);
      sized = false;
    }
    if (sized) {
      const uint64_t blocks = elements / ggml->block;
      if (blocks > UINT64_MAX / ggml->bytes) {
        violation("gguf.tensor_size_overflow", start,
                  "tensor '" + name + "' has a byte size that overflows", name);
        sized = false;
      } else {
        bytes = blocks * ggml->bytes;
      }
    }
  }
  if (m_tensors.size() < k_max_listed_tensors)
    m_ctx.details()["tensors"].push_back(
        {{"name", name},
         {"type", ggml ? std::string(ggml->name) : std::to_string(type)},
         {"dims", dims},
         {"offset", offset}});
  m_tensors.push_back(TensorInfo{name, offset, bytes, sized});
  return true;
}

void GgufScanner::check_tensor_layout() {
  const uint64_t info_end = m_in.position();
  const uint64_t pad = (m_alignment - info_end % m_alignment) % m_alignment;
  const uint64_t data_start = info_end + pad;
  m_ctx.details()["data_offset"] = data_start;
  if (!m_tensors.empty() && data_start > m_size) {
    violation("gguf.data_out_of_bounds", info_end,
              "the tensor data section would start at " + std::to_string(data_start) +
                  ", past the end of the file");
    return;
  }
  const uint64_t data_size = m_size - std::min(data_start, m_size);
  std::vector<const TensorInfo*> sorted;
  for (const auto& t : m_tensors) {
    if (t.offset % m_alignment != 0)
      violation("gguf.tensor_misaligned", data_start,
                "tensor '" + t.name + "' starts at offset " + std::to_string(t.offset) +
                    ", not a multiple of the alignment " + std::to_string(m_alignment),
                t.name);
    if (!t.sized) continue;
    if (t.offset > data_size || t.size > data_size - t.offset) {
      violation("gguf.tensor_out_of_bounds", data_start,
                "tensor '" + t.name + "' needs bytes " + std::to_string(t.offset) + ".." +
                    std::to_string(t.offset) + "+" + std::to_string(t.size) +
                    " of a data section of " + std::to_string(data_size) + " bytes",
                t.name);
      continue;
    }
    sorted.push_back(&t);
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const TensorInfo* a, const TensorInfo* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < sorted.size(); ++i) {
    const TensorInfo& prev = *sorted[i - 1];
    if (sorted[i]->offset < prev.offset + prev.size && sorted[i]->size != 0 && prev.size != 0)
      violation("gguf.tensor_overlap", data_start,
                "tensor '" + sorted[i]->name + "' overlaps tensor '" + prev.name + "'",
                sorted[i]->name);
  }
}

void GgufScanner::run() {
  auto& details = m_ctx.details();
  std::string magic;
  uint32_t raw_version = 0;
  if (!m_in.read_bytes(4, magic) || magic != "GGUF") {
    violation("gguf.bad_magic", 0, "file does not start with the GGUF magic");
    return;
  }
  if (!m_in.read_u32le(raw_version)) {
    truncated("the header");
    return;
  }
  if (raw_version >= 1 && raw_version <= 3) {
    m_version = raw_version;
  } else if (const uint32_t swapped = __builtin_bswap32(raw_version);
             swapped >= 1 && swapped <= 3) {
    // The spec has no endianness flag; a version that only makes sense
    // byte-swapped is the practical hint of a big-endian file.
    m_big_endian = true;
    m_version = swapped;
    m_ctx.report("gguf.big_endian", Severity::low, 4,
                 "big-endian GGUF: little-endian readers misparse it");
  } else {
    violation("gguf.version_unsupported", 4,
              "GGUF version " + std::to_string(raw_version) + " is not 1, 2 or 3");
    return;
  }
  details["version"] = m_version;
  details["big_endian"] = m_big_endian;
  if (m_version == 1)
    m_ctx.report("gguf.version_obsolete", Severity::low, 4,
                 "GGUF version 1 is obsolete (32-bit counts); current readers refuse it");
  uint64_t tensor_count = 0;
  uint64_t kv_count = 0;
  if (!read_count(tensor_count) || !read_count(kv_count)) {
    truncated("the header");
    return;
  }
  details["tensor_count"] = tensor_count;
  details["kv_count"] = kv_count;
  // Smallest possible KV (empty key, type, 1-byte value) and tensor info
  // (empty name, 0 dims, type, offset).
  const uint64_t kv_min = count_size() + 4 + 1;
  const uint64_t tensor_min = count_size() + 4 + 4 + 8;
  const uint64_t left = m_in.remaining();
  if (kv_count > left / kv_min || tensor_count > left / tensor_min ||
      kv_count * kv_min > left - tensor_count * tensor_min) {
    violation("gguf.count_too_large", 8,
              "header claims " + std::to_string(kv_count) + " metadata entries and " +
                  std::to_string(tensor_count) + " tensors, more than the file can hold");
    return;
  }
  details["tensors"] = nlohmann::json::array();
  std::set<std::string> keys;
  bool ok = true;
  for (uint64_t i = 0; ok && i < kv_count; ++i) ok = read_kv(keys, static_cast<size_t>(i));
  std::set<std::string> names;
  for (uint64_t i = 0; ok && i < tensor_count; ++i) ok = read_tensor_info(names);
  details["alignment"] = m_alignment;
  details["metadata"] = m_metadata;
  if (const auto arch = m_metadata.find("general.architecture");
      arch != m_metadata.end() && arch->is_string())
    details["architecture"] = *arch;
  nlohmann::json types = nlohmann::json::object();
  for (const auto& [name, count] : m_type_counts) types[name] = count;
  details["tensor_types"] = std::move(types);
  if (tensor_count > k_max_listed_tensors) details["tensors_truncated"] = true;
  if (ok) check_tensor_layout();
  if (m_violations > k_max_violations)
    m_ctx.report("gguf.violations_truncated", Severity::medium, 0,
                 std::to_string(m_violations - k_max_violations) +
                     " further violations were not listed one by one");
}

}  // namespace

void scan_gguf(ScanContext& ctx, const util::ByteSource& bytes) {
  GgufScanner(ctx, bytes).run();
}

}  // namespace hfaudit::scan
