// NumPy .npy arrays (numpy/lib/format.py). The header is a Python dict
// literal; numpy reads it with ast.literal_eval, so we parse it with a small
// literal parser (strings, integers, booleans, None, tuples, lists, dicts) and
// never evaluate anything. Object arrays carry a pickle as their body: that
// body is handed to the pickle scanner. Plain arrays must hold exactly
// prod(shape) * itemsize bytes; the data is never read.
#include <cctype>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "scan/format_scanners.hpp"

namespace hfaudit::scan {

namespace {

constexpr std::string_view k_magic("\x93NUMPY", 6);
// numpy itself refuses headers larger than this unless allow_pickle is set.
constexpr uint64_t k_numpy_max_header = 10000;
// Beyond this we do not even parse the header.
constexpr uint64_t k_max_header = 1 << 20;
constexpr int k_max_nesting = 32;

struct DictEntry;

struct Literal {
  enum class Kind { string, integer, boolean, none, tuple, list, dict };
  Kind kind = Kind::none;
  std::string text;       // string
  uint64_t number = 0;    // integer magnitude (saturated)
  bool negative = false;  // integer
  bool overflow = false;  // integer did not fit 64 bits
  bool flag = false;      // boolean
  std::vector<Literal> items;
  // dict (string keys only). DictEntry rather than std::pair: a pair of an
  // incomplete type does not compile with clang and libstdc++.
  std::vector<DictEntry> entries;
};

struct DictEntry {
  std::string key;
  Literal value;
};

// Python literal subset used by numpy headers. Returns nullopt on anything
// else (names, calls, operators, other key types), like a strict literal_eval.
class LiteralParser {
 public:
  explicit LiteralParser(std::string_view text) : m_text(text) {}

  std::optional<Literal> parse_document() {
    auto v = value(0);
    skip_space();
    if (!v || m_pos != m_text.size()) return std::nullopt;
    return v;
  }
  bool duplicate_key() const { return m_duplicate_key; }
  size_t position() const { return m_pos; }

 private:
  void skip_space() {
    while (m_pos < m_text.size() && (m_text[m_pos] == ' ' || m_text[m_pos] == '\t' ||
                                     m_text[m_pos] == '\n' || m_text[m_pos] == '\r'))
      ++m_pos;
  }
  bool eat(char c) {
    skip_space();
    if (m_pos < m_text.size() && m_text[m_pos] == c) {
      ++m_pos;
      return true;
    }
    return false;
  }
  bool keyword(std::string_view word) {
    if (m_text.substr(m_pos, word.size()) != word) return false;
    const size_t end = m_pos + word.size();
    if (end < m_text.size() &&
        (std::isalnum(static_cast<unsigned char>(m_text[end])) || m_text[end] == '_'))
      return false;
    m_pos = end;
    return true;
  }

  std::optional<Literal> value(int depth) {
    if (depth > k_max_nesting) return std::nullopt;
    skip_space();
    if (m_pos >= m_text.size()) return std::nullopt;
    const char c = m_text[m_pos];
    Literal v;
    if (c == '\'' || c == '"' ||
        ((c == 'u' || c == 'b') && m_pos + 1 < m_text.size() &&
         (m_text[m_pos + 1] == '\'' || m_text[m_pos + 1] == '"'))) {
      if (c == 'u' || c == 'b') ++m_pos;
      v.kind = Literal::Kind::string;
      if (!string(v.text)) return std::nullopt;
      return v;
    }
    if (c == '-' || c == '+' || (c >= '0' && c <= '9')) return integer();
    if (keyword("True") || keyword("False")) {
      v.kind = Literal::Kind::boolean;
      v.flag = m_text[m_pos - 1] == 'e' && m_text[m_pos - 4] == 'T';
      return v;
    }
    if (keyword("None")) return v;
    if (c == '(' || c == '[') {
      const char close = c == '(' ? ')' : ']';
      ++m_pos;
      v.kind = c == '(' ? Literal::Kind::tuple : Literal::Kind::list;
      bool comma = false;
      while (!eat(close)) {
        if (!v.items.empty() && !comma) return std::nullopt;
        auto item = value(depth + 1);
        if (!item) return std::nullopt;
        v.items.push_back(std::move(*item));
        comma = eat(',');
      }
      // (x) is a parenthesised value, not a tuple.
      if (c == '(' && v.items.size() == 1 && !comma) return std::move(v.items.front());
      return v;
    }
    if (c == '{') {
      ++m_pos;
      v.kind = Literal::Kind::dict;
      bool comma = false;
      // Key -> index in entries: a 1 MiB header holds ~100 000 keys, too many
      // to compare pairwise.
      std::unordered_map<std::string, size_t> index;
      while (!eat('}')) {
        if (!v.entries.empty() && !comma) return std::nullopt;
        auto key = value(depth + 1);
        if (!key || key->kind != Literal::Kind::string || !eat(':')) return std::nullopt;
        auto item = value(depth + 1);
        if (!item) return std::nullopt;
        if (const auto [it, added] = index.emplace(key->text, v.entries.size()); !added) {
          v.entries[it->second].value = std::move(*item);  // Python: the later key wins
          m_duplicate_key = true;
        } else {
          v.entries.push_back(DictEntry{std::move(key->text), std::move(*item)});
        }
        comma = eat(',');
      }
      return v;
    }
    return std::nullopt;
  }

  std::optional<Literal> integer() {
    Literal v;
    v.kind = Literal::Kind::integer;
    if (m_text[m_pos] == '-' || m_text[m_pos] == '+') {
      v.negative = m_text[m_pos] == '-';
      ++m_pos;
      skip_space();
    }
    const size_t start = m_pos;
    while (m_pos < m_text.size() && m_text[m_pos] >= '0' && m_text[m_pos] <= '9') {
      const uint64_t digit = static_cast<uint64_t>(m_text[m_pos] - '0');
      if (v.number > (UINT64_MAX - digit) / 10)
        v.overflow = true;
      else
        v.number = v.number * 10 + digit;
      ++m_pos;
    }
    if (m_pos == start) return std::nullopt;
    // Python 2 longs ("3L") appear in headers written by old numpy.
    if (m_pos < m_text.size() && (m_text[m_pos] == 'L' || m_text[m_pos] == 'l')) ++m_pos;
    return v;
  }

  bool string(std::string& out) {
    const char quote = m_text[m_pos++];
    while (m_pos < m_text.size()) {
      const char c = m_text[m_pos++];
      if (c == quote) return true;
      if (c == '\n') return false;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (m_pos >= m_text.size()) return false;
      const char e = m_text[m_pos++];
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case '0':
          out += '\0';
          break;
        case 'x': {
          if (m_pos + 2 > m_text.size()) return false;
          const std::string hex(m_text.substr(m_pos, 2));
          if (!std::isxdigit(static_cast<unsigned char>(hex[0])) ||
              !std::isxdigit(static_cast<unsigned char>(hex[1])))
            return false;
          out += static_cast<char>(std::stoi(hex, nullptr, 16));
          m_pos += 2;
          break;
        }
        default:
          out += e;
          break;  // \\, \', \" and anything else taken literally
      }
    }
    return false;
  }

  std::string_view m_text;
  size_t m_pos = 0;
  bool m_duplicate_key = false;
};

// A compact rendering of a literal for reports.
std::string render(const Literal& v) {
  switch (v.kind) {
    case Literal::Kind::string:
      return "'" + v.text + "'";
    case Literal::Kind::integer:
      return (v.negative ? "-" : "") +
             (v.overflow ? std::string("<huge>") : std::to_string(v.number));
    case Literal::Kind::boolean:
      return v.flag ? "True" : "False";
    case Literal::Kind::none:
      return "None";
    case Literal::Kind::tuple:
    case Literal::Kind::list: {
      std::string s(1, v.kind == Literal::Kind::tuple ? '(' : '[');
      for (size_t i = 0; i < v.items.size(); ++i) s += (i ? ", " : "") + render(v.items[i]);
      if (v.kind == Literal::Kind::tuple && v.items.size() == 1) s += ",";
      return s + (v.kind == Literal::Kind::tuple ? ')' : ']');
    }
    case Literal::Kind::dict: {
      std::string s = "{";
      for (size_t i = 0; i < v.entries.size(); ++i)
        s += (i ? ", '" : "'") + v.entries[i].key + "': " + render(v.entries[i].value);
      return s + "}";
    }
  }
  return {};
}

struct Dtype {
  bool known = false;   // itemsize is meaningful
  bool object = false;  // holds Python objects: the body is a pickle
  uint64_t itemsize = 0;
  std::string problem;  // why it is not known
};

uint64_t saturating_mul(uint64_t a, uint64_t b, bool& overflow) {
  if (a != 0 && b > UINT64_MAX / a) {
    overflow = true;
    return UINT64_MAX;
  }
  return a * b;
}

// Array-protocol type strings as numpy writes them: [byteorder]kind[size][unit].
Dtype typestr(std::string_view s) {
  Dtype d;
  if (!s.empty() && std::string_view("<>|=!").find(s.front()) != std::string_view::npos)
    s.remove_prefix(1);
  if (s == "object" || s == "object_" || s == "O" || (!s.empty() && s.front() == 'O')) {
    d.object = true;
    d.known = true;
    d.itemsize = 8;
    return d;
  }
  if (s.empty()) {
    d.problem = "empty type string";
    return d;
  }
  const char kind = s.front();
  s.remove_prefix(1);
  uint64_t digits = 0;
  size_t n = 0;
  while (n < s.size() && s[n] >= '0' && s[n] <= '9' && n < 12)
    digits = digits * 10 + static_cast<uint64_t>(s[n++] - '0');
  std::string_view rest = s.substr(n);
  const bool has_digits = n > 0;
  if ((kind == 'm' || kind == 'M') && !rest.empty()) {
    if (rest.front() != '[' || rest.back() != ']') {
      d.problem = "bad datetime unit";
      return d;
    }
    rest = {};
  }
  if (!rest.empty()) {
    d.problem = "unrecognised type string";
    return d;
  }
  switch (kind) {
    case '?':
      d.itemsize = 1;
      d.known = !has_digits || digits == 1;
      break;
    case 'b':
    case 'i':
    case 'u':
    case 'f':
    case 'c':
    case 'm':
    case 'M':
      d.itemsize = digits;
      d.known = has_digits && digits > 0;
      break;
    case 'S':
    case 'a':
    case 'V':
      d.itemsize = digits;
      d.known = has_digits;
      break;
    case 'U':
      d.itemsize = digits * 4;
      d.known = has_digits;
      break;
    default:
      break;
  }
  if (!d.known) d.problem = "unrecognised type string";
  return d;
}

Dtype dtype_of(const Literal& descr, int depth);

uint64_t shape_product(const Literal& shape, bool& ok, bool& overflow) {
  uint64_t n = 1;
  if (shape.kind == Literal::Kind::integer) {
    ok &= !shape.negative && !shape.overflow;
    return shape.number;
  }
  if (shape.kind != Literal::Kind::tuple) {
    ok = false;
    return 0;
  }
  for (const auto& dim : shape.items) {
    if (dim.kind != Literal::Kind::integer || dim.negative || dim.overflow) {
      ok = false;
      return 0;
    }
    n = saturating_mul(n, dim.number, overflow);
  }
  return n;
}

Dtype dtype_of(const Literal& descr, int depth) {
  Dtype d;
  if (depth > k_max_nesting) {
    d.problem = "dtype nested too deeply";
    return d;
  }
  if (descr.kind == Literal::Kind::string) return typestr(descr.text);
  if (descr.kind == Literal::Kind::tuple && descr.items.size() == 2) {
    // (base dtype, subarray shape)
    Dtype base = dtype_of(descr.items[0], depth + 1);
    bool ok = true, overflow = false;
    const uint64_t count = shape_product(descr.items[1], ok, overflow);
    base.itemsize = saturating_mul(base.itemsize, count, overflow);
    if (!ok || overflow) {
      base.known = false;
      base.problem = "bad subarray shape";
    }
    return base;
  }
  if (descr.kind != Literal::Kind::list) {
    d.problem = "descr is neither a type string nor a field list";
    return d;
  }
  d.known = true;
  bool overflow = false;
  for (const auto& field : descr.items) {
    if (field.kind != Literal::Kind::tuple || field.items.size() < 2 || field.items.size() > 3) {
      d.known = false;
      d.problem = "malformed structured field";
      continue;
    }
    const Literal& name = field.items[0];
    if (name.kind != Literal::Kind::string && name.kind != Literal::Kind::tuple) {
      d.known = false;
      d.problem = "malformed structured field name";
    }
    Dtype f = dtype_of(field.items[1], depth + 1);
    d.object |= f.object;
    uint64_t size = f.itemsize;
    if (field.items.size() == 3) {
      bool ok = true;
      size = saturating_mul(size, shape_product(field.items[2], ok, overflow), overflow);
      if (!ok) f.known = false;
    }
    if (!f.known) {
      d.known = false;
      if (d.problem.empty()) d.problem = f.problem.empty() ? "bad field" : f.problem;
    }
    d.itemsize = d.itemsize > UINT64_MAX - size ? UINT64_MAX : d.itemsize + size;
  }
  if (overflow) {
    d.known = false;
    d.problem = "itemsize overflows";
  }
  return d;
}

// Any string anywhere in descr naming an object type: the conservative
// answer when the dtype as a whole could not be understood.
bool mentions_object(const Literal& v) {
  if (v.kind == Literal::Kind::string) return typestr(v.text).object;
  for (const auto& item : v.items)
    if (mentions_object(item)) return true;
  return false;
}

const Literal* lookup(const Literal& dict, std::string_view key) {
  for (const auto& [k, v] : dict.entries)
    if (k == key) return &v;
  return nullptr;
}

uint64_t le(const std::string& s, size_t at, size_t n) {
  uint64_t v = 0;
  for (size_t i = n; i-- > 0;) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

void scan_npy_impl(ScanContext& ctx, const util::ByteSource& bytes) {
  auto fixed = bytes.read_string(0, 12);
  if (!fixed) {
    ctx.report("scan.read_error", Severity::medium, 0, fixed.error().message);
    return;
  }
  if (fixed->size() < 10 || fixed->substr(0, 6) != k_magic) {
    ctx.report("npy.malformed", Severity::medium, 0, "truncated .npy preamble");
    return;
  }
  const int major = static_cast<unsigned char>((*fixed)[6]);
  const int minor = static_cast<unsigned char>((*fixed)[7]);
  nlohmann::json& details = ctx.details();
  details["version"] = std::to_string(major) + "." + std::to_string(minor);
  if ((major != 1 && major != 2 && major != 3) || minor != 0) {
    ctx.report("npy.malformed", Severity::medium, 6,
               "unknown .npy format version " + std::to_string(major) + "." +
                   std::to_string(minor) + " (numpy refuses it)",
               "version");
    return;
  }
  const size_t length_bytes = major == 1 ? 2 : 4;
  if (fixed->size() < 8 + length_bytes) {
    ctx.report("npy.malformed", Severity::medium, 8, "truncated .npy preamble");
    return;
  }
  const uint64_t header_len = le(*fixed, 8, length_bytes);
  const uint64_t header_start = 8 + length_bytes;
  if (header_len > bytes.size() - header_start) {
    ctx.report("npy.malformed", Severity::medium, 8,
               "header length " + std::to_string(header_len) + " runs past the end of the file",
               "header_len");
    return;
  }
  if (header_len > k_max_header) {
    ctx.report("npy.malformed", Severity::medium, 8,
               "header of " + std::to_string(header_len) + " bytes is too large to parse",
               "header_len");
    return;
  }
  if (header_len > k_numpy_max_header)
    ctx.report("npy.malformed", Severity::low, 8,
               "header larger than numpy's 10000-byte limit (numpy reads it only with "
               "allow_pickle=True)",
               "header_len");
  auto header = bytes.read_string(header_start, static_cast<size_t>(header_len));
  if (!header || header->size() != header_len) {
    ctx.report("npy.malformed", Severity::medium, header_start, "could not read the header");
    return;
  }
  const uint64_t data_offset = header_start + header_len;
  details["data_offset"] = data_offset;

  LiteralParser parser(*header);
  const auto doc = parser.parse_document();
  if (!doc || doc->kind != Literal::Kind::dict) {
    ctx.report("npy.malformed", Severity::medium, header_start + (doc ? 0 : parser.position()),
               "the header is not a Python dict literal (numpy refuses the file)", "header");
    return;
  }
  if (parser.duplicate_key())
    ctx.report("npy.malformed", Severity::low, header_start,
               "duplicate keys in the header (Python keeps the last, other parsers the first)",
               "header");
  const Literal* descr = lookup(*doc, "descr");
  const Literal* fortran = lookup(*doc, "fortran_order");
  const Literal* shape = lookup(*doc, "shape");
  if (!descr || !fortran || !shape || doc->entries.size() != 3) {
    ctx.report("npy.malformed", Severity::medium, header_start,
               "the header must have exactly the keys descr, fortran_order and shape (numpy "
               "refuses the file)",
               "header");
    return;
  }
  details["dtype"] = descr->kind == Literal::Kind::string ? descr->text : render(*descr);
  details["fortran_order"] = fortran->kind == Literal::Kind::boolean && fortran->flag;
  if (fortran->kind != Literal::Kind::boolean)
    ctx.report("npy.malformed", Severity::medium, header_start,
               "fortran_order is not a boolean (numpy refuses the file)", "fortran_order");
  bool shape_ok = shape->kind == Literal::Kind::tuple;
  bool overflow = false;
  uint64_t count = shape_ok ? shape_product(*shape, shape_ok, overflow) : 0;
  if (shape->kind == Literal::Kind::tuple) {
    nlohmann::json dims = nlohmann::json::array();
    for (const auto& dim : shape->items)
      if (dim.kind == Literal::Kind::integer && !dim.negative) dims.push_back(dim.number);
    details["shape"] = std::move(dims);
  }
  if (!shape_ok) {
    ctx.report("npy.malformed", Severity::medium, header_start,
               "shape is not a tuple of non-negative integers: " + render(*shape), "shape");
    return;
  }

  const uint64_t body = bytes.size() - data_offset;
  Dtype dtype = dtype_of(*descr, 0);
  if (!dtype.known && !dtype.object && mentions_object(*descr)) dtype.object = true;
  details["object"] = dtype.object;
  if (dtype.object) {
    ctx.report("npy.object_dtype", Severity::medium, header_start,
               "object array: numpy.load unpickles its body (needs allow_pickle=True); the "
               "pickle was scanned",
               std::string(details["dtype"].get<std::string>()));
    ctx.scan_nested(util::SliceSource(bytes, data_offset, body),
                    "@" + std::to_string(data_offset) + ":object-array", Format::pickle);
    return;
  }
  if (!dtype.known) {
    ctx.report("npy.unknown_dtype", Severity::low, header_start,
               "dtype not understood (" + dtype.problem + "); the data size was not checked",
               std::string(details["dtype"].get<std::string>()));
    return;
  }
  const uint64_t expected = saturating_mul(count, dtype.itemsize, overflow);
  if (overflow) {
    ctx.report("npy.size_mismatch", Severity::medium, header_start,
               "shape times itemsize overflows 64 bits", "shape");
    return;
  }
  details["itemsize"] = dtype.itemsize;
  if (expected == body) return;
  ctx.report("npy.size_mismatch", Severity::medium, data_offset,
             "the data holds " + std::to_string(body) + " bytes but shape and dtype need " +
                 std::to_string(expected),
             "shape");
  // Bytes numpy never reads can carry anything: look at them.
  if (body > expected)
    ctx.scan_nested(util::SliceSource(bytes, data_offset + expected, body - expected),
                    "@" + std::to_string(data_offset + expected) + ":trailing");
}

}  // namespace

void scan_npy(ScanContext& ctx, const util::ByteSource& bytes) {
  scan_npy_impl(ctx, bytes);
}

}  // namespace hfaudit::scan
