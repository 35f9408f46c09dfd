// safetensors: strict validation of the header, as the reference reader
// (huggingface/safetensors, safetensors/src/tensor.rs) enforces it, plus the
// checks it leaves to luck (duplicate names, trailing bytes). Only the header
// is read; tensor bytes are never touched. See
// shared/reference/model-file-threats.md section 5.
#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "scan/format_scanners.hpp"

namespace hfaudit::scan {

namespace {

constexpr uint64_t k_max_header = 100'000'000;  // the reference reader's limit
constexpr size_t k_max_listed_tensors = 10'000;
constexpr size_t k_max_reported_metadata = 100;
constexpr size_t k_max_metadata_value_shown = 200;
// A valid header nests three levels deep (root, tensor entry, shape array);
// anything deeper is discarded while parsing so a hostile header cannot make
// the DOM huge.
constexpr int k_max_json_depth = 4;
// Violations stop being reported one by one after this many (the file is
// invalid either way).
constexpr size_t k_max_violations = 50;

struct Dtype {
  std::string_view name;
  uint32_t bits;
  bool newer;  // unknown to older readers: valid, but noted
};

constexpr Dtype k_dtypes[] = {
    {"BOOL", 8, false},    {"U8", 8, false},     {"I8", 8, false},         {"F8_E5M2", 8, false},
    {"F8_E4M3", 8, false}, {"F8_E8M0", 8, true}, {"F8_E4M3FNUZ", 8, true}, {"F8_E5M2FNUZ", 8, true},
    {"I16", 16, false},    {"U16", 16, false},   {"F16", 16, false},       {"BF16", 16, false},
    {"I32", 32, false},    {"U32", 32, false},   {"F32", 32, false},       {"F64", 64, false},
    {"I64", 64, false},    {"U64", 64, false},   {"C64", 64, false},       {"F4", 4, true},
    {"F6_E2M3", 6, true},  {"F6_E3M2", 6, true},
};

const Dtype* find_dtype(std::string_view name) {
  for (const auto& d : k_dtypes)
    if (d.name == name) return &d;
  return nullptr;
}

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are invalid UTF-8.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  return true;
}

// A non-negative JSON integer (shape entries and offsets); nlohmann stores
// big values as unsigned and negative ones as signed.
bool as_u64(const nlohmann::json& v, uint64_t& out) {
  if (v.is_number_unsigned()) {
    out = v.get<uint64_t>();
    return true;
  }
  if (v.is_number_integer() && v.get<int64_t>() >= 0) {
    out = static_cast<uint64_t>(v.get<int64_t>());
    return true;
  }
  return false;
}

std::string shorten(std::string s, size_t max) {
  if (s.size() > max) {
    s.resize(max);
    s += "...";
  }
  return s;
}

struct Tensor {
  std::string name;
  uint64_t begin;
  uint64_t end;
};

class Validator {
 public:
  Validator(ScanContext& ctx, uint64_t data_size) : m_ctx(ctx), m_data_size(data_size) {}

  // Checks every entry of the parsed header object and the tiling of the
  // data section; records the tensor list in the details.
  void run(const nlohmann::json& doc);

 private:
  void violation(const std::string& rule, const std::string& message, const std::string& subject) {
    ++m_violations;
    if (m_violations <= k_max_violations) m_ctx.report(rule, Severity::medium, 0, message, subject);
  }
  void check_metadata(const nlohmann::json& metadata);
  void check_tensor(const std::string& name, const nlohmann::json& entry);
  void check_tiling();

  ScanContext& m_ctx;
  uint64_t m_data_size;
  size_t m_violations = 0;
  size_t m_listed = 0;
  size_t m_extra_fields = 0;
  std::vector<Tensor> m_tensors;
  std::set<std::string> m_newer_dtypes;
  std::map<std::string, uint64_t> m_dtype_counts;
};

void Validator::check_metadata(const nlohmann::json& metadata) {
  if (!metadata.is_object()) {
    violation("safetensors.metadata_invalid",
              "__metadata__ must be an object mapping strings to strings", "__metadata__");
    return;
  }
  nlohmann::json shown = nlohmann::json::object();
  size_t reported = 0;
  for (const auto& [key, value] : metadata.items()) {
    if (!value.is_string()) {
      violation("safetensors.metadata_invalid",
                "__metadata__ value for '" + key +
                    "' is not a string; the reference reader rejects the file",
                "__metadata__." + key);
      continue;
    }
    const std::string& text = value.get_ref<const std::string&>();
    if (shown.size() < k_max_reported_metadata) shown[key] = shorten(text, 4096);
    // Metadata is free text that tools show to users and copy into cards.
    if (reported++ < k_max_reported_metadata)
      m_ctx.report(
          "safetensors.metadata", Severity::info, 0,
          "__metadata__ '" + key + "' = '" + shorten(text, k_max_metadata_value_shown) + "'", key);
  }
  m_ctx.details()["metadata"] = std::move(shown);
  m_ctx.details()["metadata_count"] = metadata.size();
}

void Validator::check_tensor(const std::string& name, const nlohmann::json& entry) {
  if (!entry.is_object()) {
    violation("safetensors.tensor_invalid",
              "tensor '" + name + "' is not an object with dtype, shape and data_offsets", name);
    return;
  }
  const auto dtype_it = entry.find("dtype");
  const auto shape_it = entry.find("shape");
  const auto offsets_it = entry.find("data_offsets");
  for (const auto& [key, value] : entry.items()) {
    (void)value;
    if (key != "dtype" && key != "shape" && key != "data_offsets" &&
        m_extra_fields++ < k_max_violations)
      m_ctx.report("safetensors.extra_field", Severity::info, 0,
                   "tensor '" + name + "' has an unknown field '" + key +
                       "' (ignored by the reference reader)",
                   name + "." + key);
  }
  if (dtype_it == entry.end() || !dtype_it->is_string()) {
    violation("safetensors.tensor_invalid", "tensor '" + name + "' has no string dtype", name);
    return;
  }
  const std::string& dtype_name = dtype_it->get_ref<const std::string&>();
  const Dtype* dtype = find_dtype(dtype_name);
  if (!dtype) {
    violation("safetensors.dtype_unknown",
              "tensor '" + name + "' has unknown dtype '" + shorten(dtype_name, 64) + "'", name);
    return;
  }
  ++m_dtype_counts[dtype_name];
  if (dtype->newer) m_newer_dtypes.insert(dtype_name);

  if (shape_it == entry.end() || !shape_it->is_array()) {
    violation("safetensors.tensor_invalid", "tensor '" + name + "' has no shape array", name);
    return;
  }
  uint64_t count = 1;
  bool overflow = false;
  nlohmann::json shape = nlohmann::json::array();
  for (const auto& dim : *shape_it) {
    uint64_t d = 0;
    if (!as_u64(dim, d)) {
      violation("safetensors.tensor_invalid",
                "tensor '" + name + "' has a shape entry that is not a non-negative integer", name);
      return;
    }
    shape.push_back(d);
    if (d != 0 && count > UINT64_MAX / d)
      overflow = true;
    else
      count *= d;
  }
  if (offsets_it == entry.end() || !offsets_it->is_array() || offsets_it->size() != 2) {
    violation("safetensors.tensor_invalid",
              "tensor '" + name + "' has no data_offsets pair [begin, end]", name);
    return;
  }
  uint64_t begin = 0;
  uint64_t end = 0;
  if (!as_u64((*offsets_it)[0], begin) || !as_u64((*offsets_it)[1], end)) {
    violation("safetensors.tensor_invalid",
              "tensor '" + name + "' has data_offsets that are not non-negative integers", name);
    return;
  }
  if (m_listed++ < k_max_listed_tensors) {
    m_ctx.details()["tensors"].push_back(
        {{"name", name}, {"dtype", dtype_name}, {"shape", shape}, {"data_offsets", {begin, end}}});
  }
  if (end < begin) {
    violation("safetensors.offsets_invalid",
              "tensor '" + name + "' ends (" + std::to_string(end) + ") before it begins (" +
                  std::to_string(begin) + ")",
              name);
    return;
  }
  m_tensors.push_back(Tensor{name, begin, end});
  if (overflow || count > UINT64_MAX / dtype->bits) {
    violation("safetensors.size_overflow",
              "tensor '" + name + "' has a shape whose byte size overflows 64 bits", name);
    return;
  }
  const uint64_t bits = count * dtype->bits;
  if (bits % 8 != 0) {
    violation("safetensors.size_mismatch",
              "tensor '" + name + "' (" + dtype_name + ") holds " + std::to_string(count) +
                  " elements, which is not a whole number of bytes",
              name);
    return;
  }
  if (bits / 8 != end - begin) {
    violation("safetensors.size_mismatch",
              "tensor '" + name + "' spans " + std::to_string(end - begin) +
                  " bytes but its shape and dtype need " + std::to_string(bits / 8),
              name);
  }
}

void Validator::check_tiling() {
  std::sort(m_tensors.begin(), m_tensors.end(), [](const Tensor& a, const Tensor& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t expected = 0;
  for (const auto& t : m_tensors) {
    if (t.begin > expected) {
      violation("safetensors.gap",
                "tensor '" + t.name + "' begins at " + std::to_string(t.begin) +
                    " but the previous data ends at " + std::to_string(expected) +
                    ": unaccounted bytes in the data section",
                t.name);
    } else if (t.begin < expected) {
      violation("safetensors.overlap",
                "tensor '" + t.name + "' begins at " + std::to_string(t.begin) +
                    ", inside the previous tensor (which ends at " + std::to_string(expected) + ")",
                t.name);
    }
    expected = std::max(expected, t.end);
  }
  if (expected > m_data_size) {
    violation("safetensors.out_of_bounds",
              "tensor data extends to " + std::to_string(expected) +
                  " but the data section holds only " + std::to_string(m_data_size) + " bytes",
              m_tensors.empty() ? std::string() : m_tensors.back().name);
  } else if (expected < m_data_size) {
    // Bytes no tensor claims are room for a second file (a polyglot).
    violation(
        "safetensors.trailing_bytes",
        std::to_string(m_data_size - expected) + " bytes after the last tensor belong to no tensor",
        "");
  }
}

void Validator::run(const nlohmann::json& doc) {
  auto& details = m_ctx.details();
  details["tensors"] = nlohmann::json::array();
  size_t tensor_count = 0;
  for (const auto& [key, value] : doc.items()) {
    if (key == "__metadata__") {
      check_metadata(value);
      continue;
    }
    ++tensor_count;
    check_tensor(key, value);
  }
  details["tensor_count"] = tensor_count;
  if (tensor_count > k_max_listed_tensors) details["tensors_truncated"] = true;
  nlohmann::json dtypes = nlohmann::json::object();
  for (const auto& [name, count] : m_dtype_counts) dtypes[name] = count;
  details["dtypes"] = std::move(dtypes);
  for (const auto& dtype : m_newer_dtypes)
    m_ctx.report("safetensors.dtype_newer", Severity::info, 0,
                 "dtype " + dtype + " is valid but unknown to older safetensors readers", dtype);
  check_tiling();
  if (m_violations > k_max_violations)
    m_ctx.report("safetensors.violations_truncated", Severity::medium, 0,
                 std::to_string(m_violations - k_max_violations) +
                     " further header violations were not listed one by one");
}

// Parses the header, remembering duplicate keys (nlohmann keeps the last one
// silently; the reference reader does the same, other readers keep the
// first) and discarding anything nested deeper than a valid header can be.
struct ParsedHeader {
  nlohmann::json doc;
  std::vector<std::string> duplicates;
  bool too_deep = false;
};

ParsedHeader parse_header(const std::string& text) {
  ParsedHeader out;
  std::vector<std::set<std::string>> keys;
  auto callback = [&](int depth, nlohmann::json::parse_event_t event,
                      nlohmann::json& parsed) -> bool {
    using Event = nlohmann::json::parse_event_t;
    if (depth > k_max_json_depth) {
      out.too_deep = true;
      return false;
    }
    switch (event) {
      case Event::object_start:
        keys.emplace_back();
        break;
      case Event::object_end:
        if (!keys.empty()) keys.pop_back();
        break;
      case Event::key:
        if (!keys.empty() && parsed.is_string()) {
          const auto& key = parsed.get_ref<const std::string&>();
          if (!keys.back().insert(key).second && out.duplicates.size() < k_max_violations)
            out.duplicates.push_back(key);
        }
        break;
      default:
        break;
    }
    return true;
  };
  out.doc = nlohmann::json::parse(text, callback, /*allow_exceptions=*/false);
  return out;
}

}  // namespace

void scan_safetensors(ScanContext& ctx, const util::ByteSource& bytes) {
  const uint64_t size = bytes.size();
  auto& details = ctx.details();
  if (size < 8) {
    ctx.report("safetensors.truncated", Severity::medium, 0,
               "file is shorter than the 8-byte header length");
    return;
  }
  auto prefix = bytes.read_string(0, 8);
  if (!prefix || prefix->size() != 8) {
    ctx.report("scan.read_error", Severity::medium, 0,
               prefix ? "short read of the header length" : prefix.error().message);
    return;
  }
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i)
    n = (n << 8) | static_cast<unsigned char>((*prefix)[static_cast<size_t>(i)]);
  details["header_size"] = n;
  if (n > k_max_header) {
    ctx.report("safetensors.header_too_large", Severity::medium, 0,
               "header length " + std::to_string(n) +
                   " exceeds the 100,000,000-byte limit of the reference reader");
    return;
  }
  if (n > size - 8) {
    ctx.report("safetensors.header_out_of_bounds", Severity::medium, 0,
               "header length " + std::to_string(n) + " runs past the end of the " +
                   std::to_string(size) + "-byte file");
    return;
  }
  const uint64_t data_size = size - 8 - n;
  details["data_size"] = data_size;
  auto header = bytes.read_string(8, static_cast<size_t>(n));
  if (!header || header->size() != n) {
    ctx.report("scan.read_error", Severity::medium, 8,
               header ? "short read of the header" : header.error().message);
    return;
  }
  if (!valid_utf8(*header)) {
    ctx.report("safetensors.header_not_utf8", Severity::medium, 8, "header is not valid UTF-8");
    return;
  }
  // The reference reader requires the JSON to start at byte 8 (no leading
  // whitespace); trailing 0x20 padding is what the writer emits.
  if (header->empty() || header->front() != '{') {
    ctx.report("safetensors.header_invalid", Severity::medium, 8, "header does not start with '{'");
    return;
  }
  ParsedHeader parsed = parse_header(*header);
  if (parsed.doc.is_discarded() || !parsed.doc.is_object()) {
    ctx.report("safetensors.header_invalid", Severity::medium, 8,
               "header is not a single JSON object");
    return;
  }
  if (parsed.too_deep)
    ctx.report("safetensors.header_invalid", Severity::medium, 8,
               "header nests JSON deeper than a valid header can; the excess was ignored");
  for (const auto& dup : parsed.duplicates)
    ctx.report("safetensors.duplicate_name", Severity::medium, 8,
               "header repeats the key '" + dup +
                   "'; readers disagree on which entry wins, so they see different tensors",
               dup);

  Validator(ctx, data_size).run(parsed.doc);
}

}  // namespace hfaudit::scan
