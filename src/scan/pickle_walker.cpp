#include "scan/pickle_walker.hpp"

#include <bzlib.h>
#include <lzma.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "scan/pickle_rules.hpp"
#include "util/stream_reader.hpp"

namespace hfaudit::scan {

namespace {

// str/bytes payloads up to this size are copied into the model; longer ones
// keep a short preview plus their offset and are re-read only if a loader
// needs them, so a large raw pickle is walked without copying its data.
constexpr uint64_t k_inline_payload = 128;
// Longest name an import operand is re-read for.
constexpr uint64_t k_max_import_name = 64 * 1024;
// GLOBAL/INST lines and decimal arguments longer than this are malformed for
// our purposes (real names are short); line-based strings are read in chunks.
constexpr uint64_t k_max_name_line = 64 * 1024;
constexpr size_t k_describe_limit = 160;
constexpr int k_max_decode_depth = 8;
constexpr int k_max_nested_follows = 64;
constexpr size_t k_max_call_reports = 100;
constexpr size_t k_max_summary_entries = 100;
// Shared references are cheap to load but explode for anything that walks the
// object (repr, deepcopy, json): a graph that would expand to this many
// elements is the "billion laughs" shape, not a checkpoint.
constexpr uint64_t k_amplification_limit = 100'000'000;

enum class Kind : uint8_t {
  absent,  // empty memo slot
  none,
  boolean,
  integer,
  big_integer,
  floating,
  str,
  bytes,
  global,
  call,
  tuple,
  list,
  dict,
  set,
  frozenset,
  persistent,
  unknown,
};

struct Node {};
using NodePtr = std::shared_ptr<Node>;

enum class Encoding : uint8_t { raw, string_escape, unicode_escape };

struct Value {
  Value() = default;
  Value(Kind k, int64_t i, NodePtr n) : kind(k), integer(i), node(std::move(n)) {}
  // A str/bytes payload too long to copy: integer is its source offset.
  static Value payload_ref(Kind k, uint64_t offset, uint64_t length, Encoding encoding) {
    Value v(k, static_cast<int64_t>(offset), nullptr);
    v.length = length;
    v.encoding = encoding;
    return v;
  }

  Kind kind = Kind::unknown;
  Encoding encoding = Encoding::raw;  // payload references only
  int64_t integer = 0;                // int/bool value; float bits; payload offset
  uint64_t length = 0;                // payload references: encoded length in the source
  NodePtr node;                       // inline payload, global, call or container; may be null
};

// A str or bytes value held in memory (short ones). For str, `text` is
// UTF-8 (8-bit strings are taken as latin-1).
struct PayloadNode : Node {
  std::string text;
};

struct GlobalNode : Node {
  std::string module;
  std::string name;
  ImportVerdict verdict;
  bool resolved = true;
  std::string qualified() const { return module + "." + name; }
};

// Values nest as deep as the stream asks (TUPLE1 over TUPLE1 costs one byte a
// level), so freeing them through nested shared_ptr destructors would recurse
// once per level and overflow the stack. Nodes with children hand those to this
// queue instead, and the outermost destructor frees them one at a time.
struct ReleaseQueue {
  std::vector<NodePtr> pending;
  bool draining = false;
};

ReleaseQueue& release_queue() {
  thread_local ReleaseQueue queue;
  return queue;
}

void defer_release(Value& v) {
  if (v.node) release_queue().pending.push_back(std::move(v.node));
}

void drain_releases() {
  ReleaseQueue& queue = release_queue();
  if (queue.draining) return;  // an outer destructor is already draining
  queue.draining = true;
  while (!queue.pending.empty()) {
    NodePtr node = std::move(queue.pending.back());
    queue.pending.pop_back();
    node.reset();  // may queue this node's children, never recurses into them
  }
  queue.draining = false;
}

struct CallNode : Node {
  CallNode() = default;
  CallNode(const CallNode&) = delete;
  CallNode& operator=(const CallNode&) = delete;
  ~CallNode() {
    defer_release(callable);
    defer_release(args);
    defer_release(state);
    drain_releases();
  }

  Value callable;
  Value args;
  Value state;  // from BUILD
  bool has_state = false;
  bool in_arena = false;
  uint64_t offset = 0;
  std::string type;  // qualified name of the class this object is an instance of
};

// tuple/list/dict/set/frozenset. Dict items are flattened key, value pairs.
struct ContainerNode : Node {
  ContainerNode() = default;
  ContainerNode(const ContainerNode&) = delete;
  ContainerNode& operator=(const ContainerNode&) = delete;
  ~ContainerNode() {
    for (Value& item : items) defer_release(item);
    drain_releases();
  }

  std::vector<Value> items;
  uint64_t count = 0;     // elements (pairs for dicts), kept or not
  uint64_t expanded = 0;  // elements if every shared reference were copied (saturating)
  bool in_arena = false;
};

// Opaque values that still carry a description (persistent loads, joblib arrays, LONGs).
struct OpaqueNode : Node {
  std::string text;
};

template <typename T>
T& as(const Value& v) {
  return static_cast<T&>(*v.node);
}

bool is_container(Kind k) {
  return k == Kind::tuple || k == Kind::list || k == Kind::dict || k == Kind::set ||
         k == Kind::frozenset;
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.';
}

bool is_identifier_path(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_name_char);
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// codecs.escape_decode (what load_string applies to S arguments), then the
// bytes are taken as latin-1 text, returned as UTF-8. False on an invalid \x.
bool decode_string_escape(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c != '\\' || i + 1 == in.size()) {
      append_utf8(out, static_cast<unsigned char>(c));
      continue;
    }
    const char e = in[++i];
    switch (e) {
      case '\n':
        break;
      case '\\':
        out += '\\';
        break;
      case '\'':
        out += '\'';
        break;
      case '"':
        out += '"';
        break;
      case 'a':
        out += '\a';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'v':
        out += '\v';
        break;
      case 'x': {
        if (i + 2 >= in.size()) return false;
        const int hi = hex_value(in[i + 1]);
        const int lo = hex_value(in[i + 2]);
        if (hi < 0 || lo < 0) return false;
        append_utf8(out, static_cast<uint32_t>(hi * 16 + lo));
        i += 2;
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          uint32_t v = static_cast<uint32_t>(e - '0');
          for (int k = 0; k < 2 && i + 1 < in.size() && in[i + 1] >= '0' && in[i + 1] <= '7'; ++k)
            v = v * 8 + static_cast<uint32_t>(in[++i] - '0');
          append_utf8(out, v & 0xFF);
        } else {
          out += '\\';
          append_utf8(out, static_cast<unsigned char>(e));
        }
    }
  }
  return true;
}

// raw-unicode-escape (UNICODE arguments): only \uXXXX and \UXXXXXXXX are
// escapes; every other byte is a latin-1 code point.
bool decode_raw_unicode_escape(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '\\' && i + 1 < in.size() && (in[i + 1] == 'u' || in[i + 1] == 'U')) {
      // An odd run of backslashes before u escapes; \\u is a literal backslash pair.
      size_t run = 0;
      for (size_t k = i; k > 0 && in[k - 1] == '\\'; --k) ++run;
      if (run % 2 == 0) {
        const size_t digits = in[i + 1] == 'u' ? 4 : 8;
        if (i + 2 + digits > in.size()) return false;
        uint32_t cp = 0;
        for (size_t k = 0; k < digits; ++k) {
          const int h = hex_value(in[i + 2 + k]);
          if (h < 0) return false;
          cp = cp * 16 + static_cast<uint32_t>(h);
        }
        if (cp > 0x10FFFF) return false;
        append_utf8(out, cp);
        i += 1 + digits;
        continue;
      }
    }
    append_utf8(out, static_cast<unsigned char>(c));
  }
  return true;
}

// UTF-8 text to latin-1 bytes, as str.encode('latin1'); false if a code
// point is above 0xFF or the text is not valid UTF-8.
bool utf8_to_latin1(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size();) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
    } else if ((c & 0xE0) == 0xC0 && i + 1 < in.size()) {
      const uint32_t cp = ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(in[i + 1]) & 0x3Fu);
      if (cp > 0xFF) return false;
      out += static_cast<char>(cp);
      i += 2;
    } else {
      return false;
    }
  }
  return true;
}

bool base64_decode(std::string_view in, std::string& out) {
  out.clear();
  uint32_t acc = 0;
  int bits = 0;
  for (const char c : in) {
    int v = -1;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '+' || c == '-')
      v = 62;
    else if (c == '/' || c == '_')
      v = 63;
    else if (c == '=')
      break;
    if (v < 0) continue;  // b64decode(validate=False) discards other characters
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return true;
}

enum class Inflate { ok, error, too_large };

Inflate zlib_inflate(const std::string& in, std::string& out, uint64_t cap) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 32) != Z_OK) return Inflate::error;  // zlib or gzip header
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(std::min<size_t>(in.size(), UINT32_MAX));
  char buf[65536];
  int rc = Z_OK;
  Inflate result = Inflate::ok;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
    if (out.size() > cap) result = Inflate::too_large;
    if (result != Inflate::ok) break;
  }
  inflateEnd(&zs);
  if (result == Inflate::ok && rc != Z_STREAM_END) result = Inflate::error;
  return result;
}

Inflate bz2_inflate(const std::string& in, std::string& out, uint64_t cap) {
  bz_stream bs{};
  if (BZ2_bzDecompressInit(&bs, 0, 0) != BZ_OK) return Inflate::error;
  bs.next_in = const_cast<char*>(in.data());
  bs.avail_in = static_cast<unsigned>(std::min<size_t>(in.size(), UINT32_MAX));
  char buf[65536];
  int rc = BZ_OK;
  Inflate result = Inflate::ok;
  while (rc == BZ_OK) {
    bs.next_out = buf;
    bs.avail_out = sizeof buf;
    rc = BZ2_bzDecompress(&bs);
    out.append(buf, sizeof buf - bs.avail_out);
    if (out.size() > cap) result = Inflate::too_large;
    if (result != Inflate::ok) break;
    if (rc == BZ_OK && bs.avail_in == 0 && bs.avail_out != 0) break;
  }
  BZ2_bzDecompressEnd(&bs);
  if (result == Inflate::ok && rc != BZ_STREAM_END) result = Inflate::error;
  return result;
}

Inflate lzma_inflate(const std::string& in, std::string& out, uint64_t cap) {
  lzma_stream ls = LZMA_STREAM_INIT;
  if (lzma_auto_decoder(&ls, UINT64_MAX, 0) != LZMA_OK) return Inflate::error;
  ls.next_in = reinterpret_cast<const uint8_t*>(in.data());
  ls.avail_in = in.size();
  uint8_t buf[65536];
  lzma_ret rc = LZMA_OK;
  Inflate result = Inflate::ok;
  while (rc == LZMA_OK) {
    ls.next_out = buf;
    ls.avail_out = sizeof buf;
    rc = lzma_code(&ls, LZMA_FINISH);
    out.append(reinterpret_cast<const char*>(buf), sizeof buf - ls.avail_out);
    if (out.size() > cap) result = Inflate::too_large;
    if (result != Inflate::ok) break;
  }
  lzma_end(&ls);
  if (result == Inflate::ok && rc != LZMA_STREAM_END) result = Inflate::error;
  return result;
}

// Python's int(text, 0) for INT/LONG arguments: whitespace, sign, base
// prefix, underscores. Returns false when Python would raise.
bool parse_python_int(std::string_view text, bool& fits, int64_t& value, int base_hint) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  bool negative = false;
  if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  int base = 10;
  if (base_hint == 0 && text.size() > 2 && text[0] == '0') {
    const char p = static_cast<char>(std::tolower(static_cast<unsigned char>(text[1])));
    if (p == 'x') base = 16;
    if (p == 'o') base = 8;
    if (p == 'b') base = 2;
    if (base != 10) text.remove_prefix(2);
  }
  if (text.empty()) return false;
  uint64_t acc = 0;
  fits = true;
  bool last_underscore = true;
  for (const char c : text) {
    if (c == '_') {
      if (last_underscore) return false;
      last_underscore = true;
      continue;
    }
    const int d = hex_value(c);
    if (d < 0 || d >= base) return false;
    last_underscore = false;
    if (fits && (__builtin_mul_overflow(acc, static_cast<uint64_t>(base), &acc) ||
                 __builtin_add_overflow(acc, static_cast<uint64_t>(d), &acc)))
      fits = false;
  }
  if (last_underscore) return false;
  const uint64_t max_magnitude = negative ? uint64_t{1} << 63 : uint64_t{INT64_MAX};
  if (fits && acc > max_magnitude) fits = false;
  if (fits) value = negative ? static_cast<int64_t>(0 - acc) : static_cast<int64_t>(acc);
  return true;
}

std::string repr_text(std::string_view s, char quote, size_t limit) {
  std::string out(1, quote);
  for (size_t i = 0; i < s.size() && out.size() < limit; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == static_cast<unsigned char>(quote) || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c >= 0x80 && quote == '\'') {
      out += static_cast<char>(c);  // UTF-8 text passes through
    } else {
      static constexpr char k_hex[] = "0123456789abcdef";
      out += "\\x";
      out += k_hex[c >> 4];
      out += k_hex[c & 15];
    }
  }
  if (out.size() >= limit) return out + "...";
  return out + quote;
}

const char* opcode_name(uint8_t op) {
  switch (op) {
    case 'R':
      return "REDUCE";
    case 'i':
      return "INST";
    case 'o':
      return "OBJ";
    case 0x81:
      return "NEWOBJ";
    case 0x92:
      return "NEWOBJ_EX";
    case 'b':
      return "BUILD";
    case 'a':
      return "APPEND";
    case 'e':
      return "APPENDS";
    case 's':
      return "SETITEM";
    case 'u':
      return "SETITEMS";
    case 0x90:
      return "ADDITEMS";
    default:
      return "opcode";
  }
}

// Opcodes that plain text rarely starts with: used to tell a protocol-0
// pickle from prose when probing.
bool is_meaningful(uint8_t op) {
  switch (op) {
    case 'c':
    case 'i':
    case 0x93:
    case 'R':
    case 'b':
    case 'o':
    case 0x81:
    case 'p':
    case 'q':
    case 'r':
    case 'g':
    case 'h':
    case 'j':
    case 0x80:
    case 't':
    case 'l':
    case 'd':
    case ']':
    case '}':
    case ')':
    case 'a':
    case 'e':
    case 's':
    case 'u':
    case 'S':
    case 'V':
    case 'X':
    case 0x8c:
    case 'P':
    case 'Q':
    case 0x94:
      return true;
    default:
      return false;
  }
}

struct PendingFinding {
  std::string rule;
  Severity severity;
  uint64_t offset;
  std::string message;
  std::string subject;
};

struct JoblibArray {
  uint64_t count = 0;
  uint64_t itemsize = 0;
  bool has_object = false;
  bool aligned = false;
  std::string dtype;
};

}  // namespace

class PickleWalker::Impl {
 public:
  Impl(ScanContext* ctx, const util::ByteSource& bytes)
      : m_ctx(ctx), m_bytes(bytes), m_reader(bytes) {}

  PickleStreamResult walk_stream(uint64_t offset, const PickleWalkOptions& options);

  void begin_tentative() { m_tentative = true; }
  void commit_tentative() {
    m_tentative = false;
    for (auto& f : m_pending)
      if (m_ctx)
        m_ctx->report(std::move(f.rule), f.severity, f.offset, std::move(f.message),
                      std::move(f.subject));
    m_pending.clear();
  }
  void discard_tentative() {
    m_tentative = false;
    m_pending.clear();
  }

  const std::vector<PickleStorageRef>& storages() const { return m_storages; }
  bool saw_joblib() const { return m_saw_joblib; }
  nlohmann::json summary() const;

 private:
  // --- reporting --------------------------------------------------------
  void report(std::string rule, Severity severity, uint64_t offset, std::string message,
              std::string subject = {}) {
    if (!m_ctx) return;
    if (m_tentative) {
      m_pending.push_back(
          {std::move(rule), severity, offset, std::move(message), std::move(subject)});
      return;
    }
    m_ctx->report(std::move(rule), severity, offset, std::move(message), std::move(subject));
  }
  // Once per (rule, subject) for this object: a model with 10,000 instances
  // of one class gets one finding.
  void report_once(std::string rule, Severity severity, uint64_t offset, std::string message,
                   std::string subject) {
    if (!m_reported.insert(rule + '\0' + subject).second) return;
    report(std::move(rule), severity, offset, std::move(message), std::move(subject));
  }
  // A condition CPython's unpickler raises on: the load stops here, so the
  // walk stops too (after the calls before it, which did run).
  bool fail(std::string rule, std::string message) {
    m_s.failed = true;
    report(std::move(rule), Severity::medium, m_s.op_offset, std::move(message));
    return false;
  }
  bool truncated(const char* what) {
    m_s.truncated = true;
    return fail("pickle.truncated",
                std::string("the stream ends inside ") + what + " before its STOP opcode");
  }
  void saw_code() {
    m_s.result.imported_or_called = true;
    if (m_tentative) commit_tentative();
  }

  // --- reading ------------------------------------------------------------
  bool read_u8(uint8_t& v) { return m_reader.read_u8(v) || truncated("an opcode argument"); }
  // Fixed-width little-endian arguments, read with one buffered copy rather
  // than byte by byte (the hot path of float and length opcodes).
  bool read_le(int n, uint64_t& v) {
    m_scratch.clear();
    if (!m_reader.read_bytes(static_cast<uint64_t>(n), m_scratch))
      return truncated("an opcode argument");
    v = 0;
    for (int i = n - 1; i >= 0; --i)
      v = (v << 8) | static_cast<unsigned char>(m_scratch[static_cast<size_t>(i)]);
    return true;
  }
  bool read_u16(uint16_t& v) {
    uint64_t u = 0;
    if (!read_le(2, u)) return false;
    v = static_cast<uint16_t>(u);
    return true;
  }
  bool read_u32(uint32_t& v) {
    uint64_t u = 0;
    if (!read_le(4, u)) return false;
    v = static_cast<uint32_t>(u);
    return true;
  }
  bool read_u64(uint64_t& v) { return read_le(8, v); }
  bool read_i32(int32_t& v) {
    uint32_t u = 0;
    if (!read_u32(u)) return false;
    v = static_cast<int32_t>(u);
    return true;
  }
  bool read_short_line(std::string& out) {
    if (m_reader.read_line(out, k_max_name_line)) return true;
    if (m_reader.at_end()) return truncated("a text argument");
    return fail("pickle.malformed", "a text opcode argument is longer than 64 KiB");
  }
  bool read_payload(uint64_t length, Encoding encoding, Kind kind, Value& out);
  bool read_line_payload(Encoding encoding, Value& out);

  // --- stack and memo -------------------------------------------------------
  size_t fence() const { return m_s.marks.empty() ? 0 : m_s.marks.back(); }
  bool underflow() {
    return fail("pickle.malformed",
                "stack underflow: an opcode needs more values than the stack holds");
  }
  bool push(Value v) {
    if (m_s.stack.size() + m_s.marks.size() >= m_limits_stack)
      return limit("stack depth", m_limits_stack);
    m_s.stack.push_back(std::move(v));
    return true;
  }
  bool pop(Value& out) {
    if (m_s.stack.size() <= fence()) return underflow();
    out = std::move(m_s.stack.back());
    m_s.stack.pop_back();
    return true;
  }
  Value* top() { return m_s.stack.size() <= fence() ? nullptr : &m_s.stack.back(); }
  bool pop_mark(size_t& begin) {
    if (m_s.marks.empty())
      return fail("pickle.malformed", "an opcode needs a MARK but none is open");
    begin = m_s.marks.back();
    m_s.marks.pop_back();
    return true;
  }
  bool limit(const char* what, uint64_t value) {
    m_s.failed = true;
    report("pickle.limit", Severity::medium, m_s.op_offset,
           std::string("pickle ") + what + " exceeds the limit of " + std::to_string(value) +
               "; the rest of the stream was not scanned");
    return false;
  }
  bool memo_put(uint64_t index, const Value& v);
  bool memo_get(uint64_t index);

  // --- values ---------------------------------------------------------------
  Value make_container(Kind kind, size_t begin, size_t end, bool pairs);
  void container_add(ContainerNode& node, const NodePtr& holder, const Value& v);
  // Adds the expanded size of stack items [begin, end) to `node`; reports the
  // billion-laughs shape once when it grows past k_amplification_limit.
  void add_expansion(ContainerNode& node, size_t begin, size_t end);
  Value make_global(std::string module, std::string name, const char* how);
  Value make_call(const Value& callable, Value args, uint8_t op);
  void mutate(const Value& target, size_t begin, size_t end, uint8_t op);
  bool build(Value state);
  std::string describe(const Value& v, int depth = 0) const;
  void describe_into(const Value& v, int depth, std::string& out) const;
  std::string describe_args(const Value& args) const;
  bool payload_text(const Value& v, std::string& out, uint64_t cap) const;
  std::string short_text(const Value& v) const;
  bool resolve_bytes(const Value& v, std::string& out, int depth);
  void follow_loader(std::string_view label, const GlobalNode& g, const Value& args);
  void check_conditional(const GlobalNode& g, const Value& args);
  const Value* arg(const Value& args, size_t i) const;
  bool allowed_global(const Value& v) const;
  void record_persistent(const Value& pid);
  bool prepare_joblib_array(const CallNode& wrapper);
  bool after_joblib_build();
  bool op(uint8_t code);
  void finish_stream();

  ScanContext* m_ctx;
  const util::ByteSource& m_bytes;
  util::StreamReader m_reader;
  std::string m_scratch;
  uint64_t m_limits_stack = 0;
  uint64_t m_limits_memo = 0;

  // Per stream: saved and restored around the separate pickle of a joblib
  // object array.
  struct StreamState {
    PickleWalkOptions options;
    PickleStreamResult result;
    std::vector<Value> stack;
    std::vector<size_t> marks;
    std::vector<Value> memo_dense;
    std::unordered_map<uint64_t, Value> memo_sparse;
    uint64_t memo_count = 0;
    int proto = 0;
    uint64_t frame_end = 0;  // 0: not inside a frame
    bool frame_reported = false;
    uint64_t op_offset = 0;
    bool failed = false;
    bool stopped = false;
    bool truncated = false;
    bool seen_proto = false;
    std::vector<std::pair<Kind, NodePtr>> arena;  // mutated nodes whose links may form cycles
    std::optional<JoblibArray> pending_array;
    std::unordered_set<uint64_t> followed;  // loader arguments already scanned
    // Keeps every followed node alive: its address is its identity above, and
    // a freed node's address reused by another payload must not pass as seen.
    std::vector<NodePtr> followed_nodes;
  };
  StreamState m_s;

  // Per object.
  bool m_tentative = false;
  std::vector<PendingFinding> m_pending;
  std::set<std::string> m_reported;
  std::map<std::string, std::pair<ImportClass, uint64_t>> m_imports;
  std::map<std::string, uint64_t> m_calls;
  size_t m_call_reports = 0;
  std::vector<PickleStorageRef> m_storages;
  uint64_t m_persistent_ids = 0;
  bool m_saw_joblib = false;
  uint64_t m_joblib_arrays = 0;
  uint64_t m_joblib_bytes = 0;
  int m_nested_follows = 0;
  std::set<int> m_protocols;
  uint64_t m_streams = 0;
  uint64_t m_total_opcodes = 0;
};

// ---------------------------------------------------------------------------
// Reading payloads

bool PickleWalker::Impl::read_payload(uint64_t length, Encoding encoding, Kind kind, Value& out) {
  if (length > m_reader.remaining()) {
    m_s.truncated = true;
    return fail("pickle.truncated", "a string or bytes length of " + std::to_string(length) +
                                        " runs past the end of the data");
  }
  if (length > k_inline_payload) {
    out = Value::payload_ref(kind, m_reader.position(), length, encoding);
    return m_reader.skip(length) || truncated("a string");
  }
  auto node = std::make_shared<PayloadNode>();
  if (!m_reader.read_bytes(length, node->text)) return truncated("a string");
  out = Value{kind, 0, std::move(node)};
  return true;
}

// S and V arguments: a line, possibly long. Short lines are decoded now;
// long ones keep their offset and are decoded again only if needed.
bool PickleWalker::Impl::read_line_payload(Encoding encoding, Value& out) {
  const uint64_t start = m_reader.position();
  std::string line;
  if (!m_reader.read_line(line, k_inline_payload)) {
    if (m_reader.at_end()) return truncated("a text string");
    if (encoding == Encoding::string_escape && line.front() != '\'' && line.front() != '"')
      return fail("pickle.malformed", "STRING argument is not a quoted string");
    std::string chunk;
    uint64_t total = line.size();
    while (!m_reader.read_line(chunk, 1 << 20)) {
      if (m_reader.at_end()) return truncated("a text string");
      total += chunk.size();
    }
    total += chunk.size();
    out = Value::payload_ref(Kind::str, start, total, encoding);
    return true;
  }
  std::string_view body = line;
  if (encoding == Encoding::string_escape) {
    // load_string: the argument must be quoted with matching ' or ".
    if (body.size() < 2 || body.front() != body.back() ||
        (body.front() != '\'' && body.front() != '"'))
      return fail("pickle.malformed", "STRING argument is not a quoted string");
    body = body.substr(1, body.size() - 2);
  }
  auto node = std::make_shared<PayloadNode>();
  const bool ok = encoding == Encoding::string_escape ? decode_string_escape(body, node->text)
                                                      : decode_raw_unicode_escape(body, node->text);
  if (!ok) return fail("pickle.malformed", "invalid escape sequence in a text string");
  out = Value{Kind::str, 0, std::move(node)};
  return true;
}

bool PickleWalker::Impl::payload_text(const Value& v, std::string& out, uint64_t cap) const {
  if (v.kind != Kind::str && v.kind != Kind::bytes) return false;
  if (v.node) {
    out = static_cast<const PayloadNode&>(*v.node).text;
    return true;
  }
  if (v.length > cap) return false;
  auto raw = m_bytes.read_string(static_cast<uint64_t>(v.integer), static_cast<size_t>(v.length));
  if (!raw || raw->size() != v.length) return false;
  switch (v.encoding) {
    case Encoding::raw:
      out = std::move(*raw);
      return true;
    case Encoding::string_escape: {
      std::string_view body = *raw;
      if (body.size() < 2) return false;
      return decode_string_escape(body.substr(1, body.size() - 2), out);
    }
    case Encoding::unicode_escape:
      return decode_raw_unicode_escape(*raw, out);
  }
  return false;
}

// The text of a short str value (keys, dtype codes, storage keys); "" otherwise.
std::string PickleWalker::Impl::short_text(const Value& v) const {
  std::string out;
  if (v.kind != Kind::str || !payload_text(v, out, k_max_import_name)) out.clear();
  return out;
}

// ---------------------------------------------------------------------------
// Memo

bool PickleWalker::Impl::memo_put(uint64_t index, const Value& v) {
  Value* slot = nullptr;
  if (index < m_s.memo_dense.size()) {
    slot = &m_s.memo_dense[index];
  } else if (index < m_s.memo_dense.size() + 4096 && index < m_limits_memo + 4096) {
    m_s.memo_dense.resize(index + 1, Value{Kind::absent, 0, nullptr});
    slot = &m_s.memo_dense[index];
  } else {
    slot = &m_s.memo_sparse[index];
    if (slot->node == nullptr && slot->kind == Kind::unknown && slot->integer == 0)
      slot->kind = Kind::absent;
  }
  if (slot->kind == Kind::absent) {
    if (++m_s.memo_count > m_limits_memo) return limit("memo size", m_limits_memo);
  }
  *slot = v;  // shares the node: GET pushes the same object, never a copy
  return true;
}

bool PickleWalker::Impl::memo_get(uint64_t index) {
  const Value* v = nullptr;
  if (index < m_s.memo_dense.size()) {
    v = &m_s.memo_dense[index];
  } else if (auto it = m_s.memo_sparse.find(index); it != m_s.memo_sparse.end()) {
    v = &it->second;
  }
  if (!v || v->kind == Kind::absent)
    return fail("pickle.malformed",
                "GET of memo index " + std::to_string(index) + ", which was never PUT");
  return push(*v);
}

// ---------------------------------------------------------------------------
// Values

Value PickleWalker::Impl::make_container(Kind kind, size_t begin, size_t end, bool pairs) {
  auto node = std::make_shared<ContainerNode>();
  const size_t n = end - begin;
  node->count = pairs ? n / 2 : n;
  const size_t keep =
      std::min(n, pairs ? m_s.options.max_kept_items * 2 : m_s.options.max_kept_items);
  node->items.assign(m_s.stack.begin() + static_cast<std::ptrdiff_t>(begin),
                     m_s.stack.begin() + static_cast<std::ptrdiff_t>(begin + keep));
  add_expansion(*node, begin, end);
  return Value{kind, 0, std::move(node)};
}

void PickleWalker::Impl::add_expansion(ContainerNode& node, size_t begin, size_t end) {
  for (size_t i = begin; i < end; ++i) {
    const Value& item = m_s.stack[i];
    uint64_t size = 1;
    if (is_container(item.kind) && item.node)
      size += std::min(as<ContainerNode>(item).expanded, k_amplification_limit);
    node.expanded = std::min(node.expanded + size, k_amplification_limit * 16);
  }
  if (node.expanded > k_amplification_limit)
    report_once("pickle.amplification", Severity::medium, m_s.op_offset,
                "shared references would expand to more than " +
                    std::to_string(k_amplification_limit) +
                    " elements (the billion-laughs shape): harmless to load, but it exhausts "
                    "memory in anything that copies or prints the object",
                "amplification");
}

void PickleWalker::Impl::container_add(ContainerNode& node, const NodePtr& holder, const Value& v) {
  if (node.items.size() < m_s.options.max_kept_items * 2) {
    node.items.push_back(v);
    // Only mutation can close a reference cycle (a list appended to itself);
    // such nodes are unlinked when the stream ends.
    if (v.node && !node.in_arena) {
      node.in_arena = true;
      m_s.arena.emplace_back(Kind::list, holder);
    }
  }
}

void PickleWalker::Impl::describe_into(const Value& v, int depth, std::string& out) const {
  if (out.size() > k_describe_limit) return;
  switch (v.kind) {
    case Kind::absent:
    case Kind::unknown:
      out += v.node ? static_cast<const OpaqueNode&>(*v.node).text : "<unknown>";
      return;
    case Kind::none:
      out += "None";
      return;
    case Kind::boolean:
      out += v.integer ? "True" : "False";
      return;
    case Kind::integer:
      out += std::to_string(v.integer);
      return;
    case Kind::big_integer:
      out += "<int>";
      return;
    case Kind::floating: {
      double d = 0;
      std::memcpy(&d, &v.integer, sizeof d);
      char buf[32];
      std::snprintf(buf, sizeof buf, "%g", d);
      out += buf;
      return;
    }
    case Kind::str:
    case Kind::bytes: {
      if (v.kind == Kind::bytes) out += 'b';
      if (v.node) {
        out += repr_text(static_cast<const PayloadNode&>(*v.node).text, '\'', 48);
      } else {
        auto head = m_bytes.read_string(static_cast<uint64_t>(v.integer), 24);
        out += repr_text(head ? *head : std::string(), '\'', 24);
        out += "<" + std::to_string(v.length) + " bytes>";
      }
      return;
    }
    case Kind::global:
      out += as<GlobalNode>(v).qualified();
      return;
    case Kind::persistent:
      out += "<persistent>";
      return;
    case Kind::call: {
      const auto& c = as<CallNode>(v);
      if (depth > 2) {
        out += "<call>";
        return;
      }
      describe_into(c.callable, depth + 1, out);
      out += describe_args(c.args);
      return;
    }
    case Kind::tuple:
    case Kind::list:
    case Kind::dict:
    case Kind::set:
    case Kind::frozenset: {
      const auto& c = as<ContainerNode>(v);
      const char* open = v.kind == Kind::tuple  ? "("
                         : v.kind == Kind::list ? "["
                         : v.kind == Kind::dict ? "{"
                                                : "{";
      const char* close = v.kind == Kind::tuple ? ")" : v.kind == Kind::list ? "]" : "}";
      out += open;
      if (depth > 2) {
        out += "...";
      } else {
        for (size_t i = 0; i < c.items.size() && out.size() <= k_describe_limit; ++i) {
          if (i > 0) out += v.kind == Kind::dict && i % 2 == 1 ? ": " : ", ";
          describe_into(c.items[i], depth + 1, out);
        }
        if (c.items.size() < (v.kind == Kind::dict ? c.count * 2 : c.count)) out += ", ...";
      }
      out += close;
      return;
    }
  }
}

std::string PickleWalker::Impl::describe(const Value& v, int depth) const {
  std::string out;
  describe_into(v, depth, out);
  if (out.size() > k_describe_limit) out = out.substr(0, k_describe_limit) + "...";
  return out;
}

std::string PickleWalker::Impl::describe_args(const Value& args) const {
  std::string inner;
  if (args.kind == Kind::tuple) {
    const auto& c = as<ContainerNode>(args);
    for (size_t i = 0; i < c.items.size() && inner.size() <= k_describe_limit; ++i) {
      if (i > 0) inner += ", ";
      describe_into(c.items[i], 1, inner);
    }
    if (c.items.size() < c.count) inner += ", ...";
  } else {
    inner = "*" + describe(args, 1);
  }
  if (inner.size() > k_describe_limit) inner = inner.substr(0, k_describe_limit) + "...";
  return "(" + inner + ")";
}

const Value* PickleWalker::Impl::arg(const Value& args, size_t i) const {
  if (args.kind != Kind::tuple && args.kind != Kind::list) return nullptr;
  const auto& c = as<ContainerNode>(args);
  return i < c.items.size() ? &c.items[i] : nullptr;
}

bool PickleWalker::Impl::allowed_global(const Value& v) const {
  return v.kind == Kind::global && as<GlobalNode>(v).verdict.klass == ImportClass::allowed;
}

Value PickleWalker::Impl::make_global(std::string module, std::string name, const char* how) {
  saw_code();
  const std::string written = module + "." + name;
  if (m_s.proto < 3) std::tie(module, name) = map_python2_name(module, name);
  auto node = std::make_shared<GlobalNode>();
  node->verdict = classify_import(module, name, m_s.options.joblib);
  node->module = std::move(module);
  node->name = std::move(name);
  const std::string subject = node->qualified();
  auto& entry = m_imports[subject];
  entry.first = node->verdict.klass;
  ++entry.second;
  if (is_joblib_wrapper(node->module, node->name) && m_s.options.joblib && !m_saw_joblib) {
    m_saw_joblib = true;
    if (m_ctx) m_ctx->refine_format(Format::joblib);
  }
  const std::string via =
      written == subject ? std::string() : " (written as " + written + ", mapped for protocol < 3)";
  switch (node->verdict.klass) {
    case ImportClass::denied:
      report_once("pickle.import.denied", node->verdict.severity, m_s.op_offset,
                  std::string(how) + " imports " + subject + via + ", which " +
                      std::string(node->verdict.reason),
                  subject);
      break;
    case ImportClass::unknown:
      report_once("pickle.import.unknown", Severity::medium, m_s.op_offset,
                  std::string(how) + " imports " + subject + via +
                      ", which is on neither the allow list nor the deny list",
                  subject);
      break;
    default:
      break;
  }
  return Value{Kind::global, 0, std::move(node)};
}

void PickleWalker::Impl::check_conditional(const GlobalNode& g, const Value& args) {
  const std::string subject = g.qualified();
  const Value* a0 = arg(args, 0);
  auto flag = [&](const std::string& why) {
    report_once("pickle.call.conditional", Severity::medium, m_s.op_offset,
                subject + describe_args(args) + " " + why, subject + describe_args(args));
  };
  auto denied_callee = [&](const Value* v) {
    if (v && v->kind == Kind::global && as<GlobalNode>(*v).verdict.klass == ImportClass::denied) {
      report("pickle.call.denied", Severity::critical, m_s.op_offset,
             subject + " calls " + as<GlobalNode>(*v).qualified() + " given as its argument",
             as<GlobalNode>(*v).qualified());
      return true;
    }
    return false;
  };
  if (g.module == "_codecs") {
    const Value* a1 = arg(args, 1);
    const bool ok = a0 && a0->kind == Kind::str && a1 && a1->kind == Kind::str &&
                    (short_text(*a1) == "latin1" || short_text(*a1) == "latin-1");
    if (!ok) flag("is not the (str, 'latin1') form protocol-2 pickles use for bytes");
  } else if (g.module == "copyreg") {
    const Value* a1 = arg(args, 1);
    if (denied_callee(a0)) return;
    const bool base_ok =
        a1 && a1->kind == Kind::global &&
        (allowed_global(*a1) || as<GlobalNode>(*a1).qualified() == "builtins.object");
    if (!a0 || !allowed_global(*a0) || !base_ok)
      flag("rebuilds an object of a class that is not on the allow list");
  } else {
    if (denied_callee(a0)) return;
    if (!a0 || !allowed_global(*a0))
      flag("calls a function argument that is not on the allow list");
  }
}

bool PickleWalker::Impl::resolve_bytes(const Value& v, std::string& out, int depth) {
  if (depth > k_max_decode_depth) return false;
  const uint64_t cap = m_ctx ? m_ctx->limits().max_expanded_member : 0;
  if (v.kind == Kind::str || v.kind == Kind::bytes) return payload_text(v, out, cap);
  if (v.kind != Kind::call || !v.node) return false;
  const auto& call = as<CallNode>(v);
  if (call.callable.kind != Kind::global) return false;
  const auto& g = as<GlobalNode>(call.callable);
  const Decoder decoder = decoder_for(g.module, g.name);
  const Value* a0 = arg(call.args, 0);
  if (decoder == Decoder::none || !a0) return false;
  std::string in;
  if (!resolve_bytes(*a0, in, depth + 1)) return false;
  switch (decoder) {
    case Decoder::none:
      return false;
    case Decoder::identity:
      out = std::move(in);
      return true;
    case Decoder::latin1_encode:
      return utf8_to_latin1(in, out);
    case Decoder::base64:
      return base64_decode(in, out);
    case Decoder::zlib:
    case Decoder::bz2:
    case Decoder::lzma: {
      const Inflate r = decoder == Decoder::zlib  ? zlib_inflate(in, out, cap)
                        : decoder == Decoder::bz2 ? bz2_inflate(in, out, cap)
                                                  : lzma_inflate(in, out, cap);
      if (r == Inflate::too_large)
        report(
            "pickle.limit", Severity::medium, m_s.op_offset,
            "a decompressed loader argument exceeds the per-member size limit; it was not scanned");
      return r == Inflate::ok;
    }
  }
  return false;
}

void PickleWalker::Impl::follow_loader(std::string_view label, const GlobalNode& g,
                                       const Value& args) {
  if (!m_ctx) return;
  const bool judged = g.verdict.klass == ImportClass::loader;
  const Value* a0 = arg(args, 0);
  std::string data;
  if (!a0 || !resolve_bytes(*a0, data, 0)) {
    if (judged)
      report("pickle.nested_loader", Severity::high, m_s.op_offset,
             g.qualified() +
                 " is called on something other than literal bytes, so what it "
                 "loads cannot be checked",
             g.qualified());
    return;
  }
  // The same bytes (one memo entry called again, or one payload offset) are scanned once.
  const uint64_t identity = a0->node ? reinterpret_cast<uintptr_t>(a0->node.get())
                                     : (uint64_t{1} << 63) | static_cast<uint64_t>(a0->integer);
  if (!m_s.followed.insert(identity).second) return;
  if (a0->node) m_s.followed_nodes.push_back(a0->node);
  if (++m_nested_follows > k_max_nested_follows) {
    report_once("pickle.limit", Severity::medium, m_s.op_offset,
                "more than " + std::to_string(k_max_nested_follows) +
                    " nested loader payloads; the rest were not scanned",
                "nested_loaders");
    return;
  }
  if (!m_ctx->charge_expanded(data.size(), m_s.op_offset)) return;
  report("pickle.nested_loader", Severity::info, m_s.op_offset,
         g.qualified() + " loads " + std::to_string(data.size()) +
             " bytes embedded in the pickle; they were scanned as a nested object",
         g.qualified());
  const std::string member = "@" + std::to_string(m_s.op_offset) + ":" + std::string(label);
  const bool was_tentative = m_tentative;
  m_tentative = false;
  m_ctx->scan_nested(util::MemorySource(std::move(data)), member);
  m_tentative = was_tentative;
}

Value PickleWalker::Impl::make_call(const Value& callable, Value args, uint8_t code) {
  saw_code();
  auto node = std::make_shared<CallNode>();
  node->callable = callable;
  node->offset = m_s.op_offset;
  if (callable.kind == Kind::global) {
    const auto& g = as<GlobalNode>(callable);
    const std::string subject = g.qualified();
    node->type = subject;
    if (m_calls.size() < k_max_summary_entries || m_calls.count(subject)) ++m_calls[subject];
    switch (g.verdict.klass) {
      case ImportClass::denied:
        if (m_call_reports < k_max_call_reports &&
            m_reported.insert(std::string("call") + '\0' + subject + describe_args(args)).second) {
          ++m_call_reports;
          report("pickle.call.denied", Severity::critical, m_s.op_offset,
                 std::string(opcode_name(code)) + " calls " + subject + describe_args(args) +
                     ", which " + std::string(g.verdict.reason),
                 subject);
        }
        break;
      case ImportClass::conditional:
        check_conditional(g, args);
        if (g.module == "copyreg") {
          if (const Value* cls = arg(args, 0); cls && cls->kind == Kind::global)
            node->type = as<GlobalNode>(*cls).qualified();
        }
        break;
      default:
        break;
    }
    if (auto label = nested_loader_label(g.module, g.name)) follow_loader(*label, g, args);
  } else {
    const std::string what = describe(callable);
    report_once("pickle.call.indirect", Severity::medium, m_s.op_offset,
                std::string(opcode_name(code)) + " calls a value that is not an imported global (" +
                    what + "), so the callable cannot be judged",
                what);
  }
  node->args = std::move(args);
  return Value{Kind::call, 0, std::move(node)};
}

// APPEND(S)/SETITEM(S)/ADDITEMS: plain containers are updated; anything else
// gets its append/extend/__setitem__/add method called.
void PickleWalker::Impl::mutate(const Value& target, size_t begin, size_t end, uint8_t code) {
  if (is_container(target.kind)) {
    auto& c = as<ContainerNode>(target);
    const bool pairs = target.kind == Kind::dict;
    c.count += pairs ? (end - begin) / 2 : end - begin;
    add_expansion(c, begin, end);
    for (size_t i = begin; i < end && c.items.size() < m_s.options.max_kept_items * 2; ++i)
      container_add(c, target.node, m_s.stack[i]);
    return;
  }
  if (target.kind == Kind::call) {
    // An instance: its class was judged when imported; an allow-listed class
    // (OrderedDict of a state_dict) is updated the normal way.
    const auto& call = as<CallNode>(target);
    if (call.callable.kind == Kind::global) {
      const auto& g = as<GlobalNode>(call.callable);
      if (g.verdict.klass == ImportClass::allowed) return;
      const std::string subject = call.type + "." + opcode_name(code);
      if (m_calls.size() < k_max_summary_entries || m_calls.count(subject)) ++m_calls[subject];
      return;
    }
  }
  const std::string what = describe(target);
  report_once("pickle.call.method", Severity::medium, m_s.op_offset,
              std::string(opcode_name(code)) + " on " + what +
                  ", which is not a list, dict or set, calls one of its methods",
              what);
}

void PickleWalker::Impl::record_persistent(const Value& pid) {
  ++m_persistent_ids;
  if (pid.kind != Kind::tuple) return;
  const auto& t = as<ContainerNode>(pid);
  if (t.items.size() < 5 || t.items[0].kind != Kind::str || short_text(t.items[0]) != "storage")
    return;
  PickleStorageRef ref;
  ref.offset = m_s.op_offset;
  if (t.items[1].kind == Kind::global) ref.type = as<GlobalNode>(t.items[1]).qualified();
  ref.key = short_text(t.items[2]);
  ref.location = short_text(t.items[3]);
  if (t.items[4].kind == Kind::integer && t.items[4].integer >= 0)
    ref.numel = static_cast<uint64_t>(t.items[4].integer);
  if (m_storages.size() < 10'000'000) m_storages.push_back(std::move(ref));
}

// joblib.numpy_pickle.NumpyArrayWrapper state (joblib/numpy_pickle.py):
// {'subclass', 'shape', 'order', 'dtype', 'allow_mmap', and since joblib 1.2
// 'numpy_array_alignment_bytes'}. read_array() then reads, for non-object
// dtypes, an optional 1-byte padding length and that many padding bytes
// (written as 0xff) when the alignment key is not None, then
// prod(shape) * itemsize raw bytes; for object dtypes a separate pickle
// (pickle.dump(array, protocol=2)) follows instead.
bool PickleWalker::Impl::prepare_joblib_array(const CallNode& wrapper) {
  if (!wrapper.has_state || wrapper.state.kind != Kind::dict)
    return fail("pickle.joblib.bad_wrapper", "a joblib NumpyArrayWrapper has no state dict");
  const auto& d = as<ContainerNode>(wrapper.state);
  const Value* shape = nullptr;
  const Value* dtype = nullptr;
  const Value* align = nullptr;
  for (size_t i = 0; i + 1 < d.items.size(); i += 2) {
    if (d.items[i].kind != Kind::str) continue;
    const std::string key = short_text(d.items[i]);
    if (key == "shape") shape = &d.items[i + 1];
    if (key == "dtype") dtype = &d.items[i + 1];
    if (key == "numpy_array_alignment_bytes") align = &d.items[i + 1];
  }
  JoblibArray array;
  // Shape: a tuple of non-negative ints; an empty tuple is a scalar (count 1).
  if (!shape || shape->kind != Kind::tuple ||
      as<ContainerNode>(*shape).items.size() != as<ContainerNode>(*shape).count)
    return fail("pickle.joblib.bad_wrapper", "a joblib array wrapper has no readable shape");
  array.count = 1;
  for (const auto& dim : as<ContainerNode>(*shape).items) {
    if (dim.kind != Kind::integer || dim.integer < 0)
      return fail("pickle.joblib.bad_wrapper", "a joblib array shape holds a non-integer");
    if (__builtin_mul_overflow(array.count, static_cast<uint64_t>(dim.integer), &array.count))
      return fail("pickle.joblib.bad_wrapper", "a joblib array shape overflows");
  }
  // dtype: numpy.dtype(descr, False, True) plus a BUILD state
  // (version, byteorder, subarray, names, fields, elsize, alignment, flags).
  // elsize is -1 for fixed-size types and the real size for flexible ones
  // (U, S, V, structured); flags bit 0 is NPY_ITEM_HASOBJECT.
  if (!dtype || dtype->kind != Kind::call)
    return fail("pickle.joblib.bad_wrapper", "a joblib array wrapper has no readable dtype");
  const auto& dcall = as<CallNode>(*dtype);
  const Value* descr = arg(dcall.args, 0);
  if (!descr || descr->kind != Kind::str)
    return fail("pickle.joblib.bad_wrapper", "a joblib array dtype has no type string");
  array.dtype = short_text(*descr);
  std::string_view code = array.dtype;
  if (!code.empty() && (code[0] == '<' || code[0] == '>' || code[0] == '|' || code[0] == '='))
    code.remove_prefix(1);
  if (code.empty())
    return fail("pickle.joblib.bad_wrapper", "a joblib array dtype has an empty type string");
  const char kind = code[0];
  uint64_t digits = 0;
  for (const char c : code.substr(1)) {
    if (c < '0' || c > '9' || digits > 1'000'000'000) break;
    digits = digits * 10 + static_cast<uint64_t>(c - '0');
  }
  array.has_object = kind == 'O';
  int64_t elsize = -1;
  if (dcall.has_state && dcall.state.kind == Kind::tuple) {
    const auto& st = as<ContainerNode>(dcall.state);
    if (st.items.size() >= 8 && st.items[5].kind == Kind::integer) elsize = st.items[5].integer;
    if (st.items.size() >= 8 && st.items[7].kind == Kind::integer && (st.items[7].integer & 1))
      array.has_object = true;
  }
  if (elsize > 0)
    array.itemsize = static_cast<uint64_t>(elsize);
  else if (kind == 'U')
    array.itemsize = digits * 4;  // unsure: numpy writes U<bytes> with elsize in the state
  else
    array.itemsize = digits;
  if (!array.has_object && array.itemsize == 0 && array.count != 0)
    return fail("pickle.joblib.bad_wrapper",
                "cannot tell the item size of joblib array dtype '" + array.dtype + "'");
  array.aligned = align && align->kind == Kind::integer;
  m_s.pending_array = array;
  return true;
}

// Runs after the BUILD of a NumpyArrayWrapper (and its frame check): the
// array data lies in-band here.
bool PickleWalker::Impl::after_joblib_build() {
  const JoblibArray array = *m_s.pending_array;
  m_s.pending_array.reset();
  ++m_joblib_arrays;
  if (array.has_object) {
    // A complete, separate pickle of the object array follows; plain
    // pickle.load reads it, so walk it as a stream of its own, then resume.
    PickleWalkOptions inner_options = m_s.options;
    inner_options.joblib = false;
    StreamState outer = std::move(m_s);
    m_s = StreamState{};
    const PickleStreamResult inner = walk_stream(m_reader.position(), inner_options);
    m_s = std::move(outer);
    m_s.result.opcodes += inner.opcodes;
    m_s.frame_end = 0;
    if (inner.end != PickleStreamResult::End::stop) {
      m_s.failed = true;
      return false;
    }
    m_reader.seek(inner.end_offset);
  } else {
    if (array.aligned) {
      uint8_t padding = 0;
      if (!read_u8(padding)) return false;
      std::string pad;
      if (padding > m_reader.remaining()) return truncated("joblib array padding");
      m_reader.read_bytes(padding, pad);
      if (pad.find_first_not_of('\xff') != std::string::npos)
        report_once("pickle.joblib.padding", Severity::low, m_reader.position() - padding,
                    "joblib array alignment padding is not all 0xff bytes", "padding");
    }
    uint64_t nbytes = 0;
    if (__builtin_mul_overflow(array.count, array.itemsize, &nbytes) ||
        nbytes > m_reader.remaining()) {
      m_s.truncated = true;
      return fail("pickle.truncated", "joblib array data (" + std::to_string(array.count) + " x " +
                                          std::to_string(array.itemsize) +
                                          " bytes) runs past the end of the file");
    }
    m_reader.skip(nbytes);
    m_joblib_bytes += nbytes;
  }
  // NumpyUnpickler replaces the wrapper with the array it read.
  if (!m_s.stack.empty() && m_s.stack.size() > fence()) {
    auto node = std::make_shared<OpaqueNode>();
    node->text = "<ndarray " + array.dtype + ">";
    m_s.stack.back() = Value{Kind::unknown, 0, std::move(node)};
  }
  return true;
}

bool PickleWalker::Impl::build(Value state) {
  Value* inst = top();
  if (!inst) return underflow();
  if (inst->kind == Kind::call) {
    auto& call = as<CallNode>(*inst);
    call.state = std::move(state);
    call.has_state = true;
    if (call.state.node && !call.in_arena) {
      call.in_arena = true;
      m_s.arena.emplace_back(Kind::call, inst->node);
    }
    if (m_s.options.joblib && call.type == "joblib.numpy_pickle.NumpyArrayWrapper")
      return prepare_joblib_array(call);
    return true;
  }
  if (inst->kind == Kind::global) {
    saw_code();
    const auto& g = as<GlobalNode>(*inst);
    const bool denied = g.verdict.klass == ImportClass::denied;
    report_once(denied ? "pickle.call.denied" : "pickle.call.build_on_global",
                denied ? Severity::critical : Severity::medium, m_s.op_offset,
                "BUILD sets state " + describe(state) + " on " + g.qualified() +
                    " itself (a module-level object), which changes it for the whole process",
                g.qualified());
  }
  return true;
}

// ---------------------------------------------------------------------------
// The opcode dispatch: one case per opcode of protocols 0-5
// (Lib/pickletools.py), with the semantics of Lib/pickle.py's _Unpickler.

bool PickleWalker::Impl::op(uint8_t code) {
  switch (code) {
    case '(':  // MARK
      if (m_s.stack.size() + m_s.marks.size() >= m_limits_stack)
        return limit("stack depth", m_limits_stack);
      m_s.marks.push_back(m_s.stack.size());
      return true;
    case '.': {  // STOP
      Value v;
      if (!pop(v)) return false;
      m_s.stopped = true;
      if (v.kind == Kind::integer) m_s.result.result_int = v.integer;
      if (v.kind == Kind::big_integer && v.node)
        m_s.result.result_long = static_cast<const OpaqueNode&>(*v.node).text;
      m_s.result.result_is_dict = v.kind == Kind::dict;
      if (v.kind == Kind::list || v.kind == Kind::tuple) {
        for (const auto& item : as<ContainerNode>(v).items)
          if (item.kind == Kind::str) m_s.result.result_strings.push_back(short_text(item));
        m_s.result.result_count = as<ContainerNode>(v).count;
        m_s.result.result_is_sequence = true;
      }
      if (!m_s.stack.empty() || !m_s.marks.empty())
        report_once("pickle.stack_leftover", Severity::low, m_s.op_offset,
                    "values or marks are left on the stack at STOP; CPython ignores them but "
                    "stricter parsers fail",
                    "stop@" + std::to_string(m_s.op_offset));
      return true;
    }
    case '0': {  // POP: at an open mark it discards the mark (pickle.py pop_mark)
      if (!m_s.marks.empty() && m_s.marks.back() == m_s.stack.size()) {
        m_s.marks.pop_back();
        return true;
      }
      Value v;
      return pop(v);
    }
    case '1': {  // POP_MARK
      size_t begin = 0;
      if (!pop_mark(begin)) return false;
      m_s.stack.resize(begin);
      return true;
    }
    case '2': {  // DUP
      Value* t = top();
      if (!t) return underflow();
      Value copy = *t;
      return push(std::move(copy));
    }
    case 'N':
      return push(Value{Kind::none, 0, nullptr});
    case 0x88:
      return push(Value{Kind::boolean, 1, nullptr});
    case 0x89:
      return push(Value{Kind::boolean, 0, nullptr});
    case 'I':    // INT
    case 'L': {  // LONG
      std::string line;
      if (!read_short_line(line)) return false;
      if (code == 'I' && (line == "00" || line == "01"))
        return push(Value{Kind::boolean, line == "01", nullptr});
      std::string_view text = line;
      if (code == 'L' && !text.empty() && text.back() == 'L') text.remove_suffix(1);
      bool fits = false;
      int64_t v = 0;
      if (!parse_python_int(text, fits, v, 0))
        return fail("pickle.malformed",
                    std::string(code == 'I' ? "INT" : "LONG") + " argument is not an integer");
      return push(fits ? Value{Kind::integer, v, nullptr} : Value{Kind::big_integer, 0, nullptr});
    }
    case 'J': {
      int32_t v = 0;
      if (!read_i32(v)) return false;
      return push(Value{Kind::integer, v, nullptr});
    }
    case 'K': {
      uint8_t v = 0;
      if (!read_u8(v)) return false;
      return push(Value{Kind::integer, v, nullptr});
    }
    case 'M': {
      uint16_t v = 0;
      if (!read_u16(v)) return false;
      return push(Value{Kind::integer, v, nullptr});
    }
    case 0x8a:    // LONG1
    case 0x8b: {  // LONG4
      uint64_t n = 0;
      if (code == 0x8a) {
        uint8_t n8 = 0;
        if (!read_u8(n8)) return false;
        n = n8;
      } else {
        int32_t n32 = 0;
        if (!read_i32(n32)) return false;
        if (n32 < 0) return fail("pickle.malformed", "LONG4 has a negative byte count");
        n = static_cast<uint64_t>(n32);
      }
      if (n > m_reader.remaining()) return truncated("a LONG");
      if (n <= 8) {
        std::string raw;
        m_reader.read_bytes(n, raw);
        uint64_t u = 0;
        for (size_t i = 0; i < raw.size(); ++i)
          u |= static_cast<uint64_t>(static_cast<unsigned char>(raw[i])) << (8 * i);
        if (n > 0 && n < 8 && (static_cast<unsigned char>(raw.back()) & 0x80))
          u |= ~uint64_t{0} << (8 * n);  // sign-extend
        return push(Value{Kind::integer, static_cast<int64_t>(u), nullptr});
      }
      auto node = std::make_shared<OpaqueNode>();
      if (n <= 64)
        m_reader.read_bytes(n, node->text);
      else
        m_reader.skip(n);
      return push(Value{Kind::big_integer, static_cast<int64_t>(n), std::move(node)});
    }
    case 'F': {
      std::string line;
      if (!read_short_line(line)) return false;
      char* end = nullptr;
      const double d = std::strtod(line.c_str(), &end);
      while (end && *end && std::isspace(static_cast<unsigned char>(*end))) ++end;
      if (line.empty() || !end || *end != '\0')
        return fail("pickle.malformed", "FLOAT argument is not a number");
      Value v{Kind::floating, 0, nullptr};
      std::memcpy(&v.integer, &d, sizeof d);
      return push(std::move(v));
    }
    case 'G': {
      uint64_t bits = 0;
      if (!read_u64(bits)) return false;
      // Big-endian on the wire.
      bits = __builtin_bswap64(bits);
      return push(Value{Kind::floating, static_cast<int64_t>(bits), nullptr});
    }
    case 'S':
    case 'V': {
      Value v;
      if (!read_line_payload(code == 'S' ? Encoding::string_escape : Encoding::unicode_escape, v))
        return false;
      return push(std::move(v));
    }
    case 'T':
    case 'U':
    case 'X':
    case 0x8c:
    case 0x8d:
    case 'B':
    case 'C':
    case 0x8e:
    case 0x96: {
      uint64_t n = 0;
      if (code == 'U' || code == 0x8c || code == 'C') {
        uint8_t n8 = 0;
        if (!read_u8(n8)) return false;
        n = n8;
      } else if (code == 'T') {
        int32_t n32 = 0;
        if (!read_i32(n32)) return false;
        if (n32 < 0) return fail("pickle.malformed", "BINSTRING has a negative length");
        n = static_cast<uint64_t>(n32);
      } else if (code == 'X' || code == 'B') {
        uint32_t n32 = 0;
        if (!read_u32(n32)) return false;
        n = n32;
      } else if (!read_u64(n)) {
        return false;
      }
      const bool is_text =
          code == 'T' || code == 'U' || code == 'X' || code == 0x8c || code == 0x8d;
      Value v;
      if (!read_payload(n, Encoding::raw, is_text ? Kind::str : Kind::bytes, v)) return false;
      if ((code == 'T' || code == 'U') && v.node) {
        // 8-bit strings: bytes taken as latin-1 text.
        auto& p = as<PayloadNode>(v);
        std::string utf8;
        for (const char c : p.text) append_utf8(utf8, static_cast<unsigned char>(c));
        p.text = std::move(utf8);
      }
      return push(std::move(v));
    }
    case 0x97: {  // NEXT_BUFFER
      auto node = std::make_shared<OpaqueNode>();
      node->text = "<out-of-band buffer>";
      return push(Value{Kind::unknown, 0, std::move(node)});
    }
    case 0x98:  // READONLY_BUFFER
      return top() != nullptr || underflow();
    case ']':
      return push(make_container(Kind::list, 0, 0, false));
    case ')':
      return push(make_container(Kind::tuple, 0, 0, false));
    case '}':
      return push(make_container(Kind::dict, 0, 0, true));
    case 0x8f:
      return push(make_container(Kind::set, 0, 0, false));
    case 'l':
    case 't':
    case 'd':
    case 0x91: {
      size_t begin = 0;
      if (!pop_mark(begin)) return false;
      const size_t end = m_s.stack.size();
      if (code == 'd' && (end - begin) % 2 != 0)
        return fail("pickle.malformed", "DICT has an odd number of items");
      const Kind kind = code == 'l'   ? Kind::list
                        : code == 't' ? Kind::tuple
                        : code == 'd' ? Kind::dict
                                      : Kind::frozenset;
      Value v = make_container(kind, begin, end, code == 'd');
      m_s.stack.resize(begin);
      return push(std::move(v));
    }
    case 0x85:
    case 0x86:
    case 0x87: {
      const size_t n = static_cast<size_t>(code - 0x84);
      if (m_s.stack.size() < fence() + n) return underflow();
      const size_t begin = m_s.stack.size() - n;
      Value v = make_container(Kind::tuple, begin, m_s.stack.size(), false);
      m_s.stack.resize(begin);
      return push(std::move(v));
    }
    case 'a': {  // APPEND
      if (m_s.stack.size() < fence() + 2) return underflow();
      mutate(m_s.stack[m_s.stack.size() - 2], m_s.stack.size() - 1, m_s.stack.size(), code);
      m_s.stack.pop_back();
      return true;
    }
    case 's': {  // SETITEM
      if (m_s.stack.size() < fence() + 3) return underflow();
      mutate(m_s.stack[m_s.stack.size() - 3], m_s.stack.size() - 2, m_s.stack.size(), code);
      m_s.stack.resize(m_s.stack.size() - 2);
      return true;
    }
    case 'e':
    case 'u':
    case 0x90: {  // APPENDS, SETITEMS, ADDITEMS
      size_t begin = 0;
      if (!pop_mark(begin)) return false;
      if (begin == 0 || begin <= fence()) return underflow();
      if (code == 'u' && (m_s.stack.size() - begin) % 2 != 0)
        return fail("pickle.malformed", "SETITEMS has an odd number of items");
      const Value target = m_s.stack[begin - 1];
      mutate(target, begin, m_s.stack.size(), code);
      m_s.stack.resize(begin);
      return true;
    }
    case 'b': {  // BUILD
      Value state;
      if (!pop(state)) return false;
      return build(std::move(state));
    }
    case 'R': {  // REDUCE
      Value args, callable;
      if (!pop(args) || !pop(callable)) return false;
      return push(make_call(callable, std::move(args), code));
    }
    case 0x81: {  // NEWOBJ
      Value args, cls;
      if (!pop(args) || !pop(cls)) return false;
      return push(make_call(cls, std::move(args), code));
    }
    case 0x92: {  // NEWOBJ_EX
      Value kwargs, args, cls;
      if (!pop(kwargs) || !pop(args) || !pop(cls)) return false;
      return push(make_call(cls, std::move(args), code));
    }
    case 'o': {  // OBJ: callable and args after the mark
      size_t begin = 0;
      if (!pop_mark(begin)) return false;
      if (m_s.stack.size() == begin) return underflow();
      const Value cls = m_s.stack[begin];
      Value args = make_container(Kind::tuple, begin + 1, m_s.stack.size(), false);
      m_s.stack.resize(begin);
      return push(make_call(cls, std::move(args), code));
    }
    case 'c':
    case 'i': {  // GLOBAL, INST
      std::string module, name;
      if (!read_short_line(module) || !read_short_line(name)) return false;
      if (!m_ctx && (!is_identifier_path(module) || !is_identifier_path(name)))
        return fail("pickle.malformed", "not an import name");
      Value g = make_global(std::move(module), std::move(name), code == 'c' ? "GLOBAL" : "INST");
      if (code == 'c') return push(std::move(g));
      size_t begin = 0;
      if (!pop_mark(begin)) return false;
      Value args = make_container(Kind::tuple, begin, m_s.stack.size(), false);
      m_s.stack.resize(begin);
      return push(make_call(g, std::move(args), code));
    }
    case 0x93: {  // STACK_GLOBAL: both operands must be str objects
      Value name, module;
      if (!pop(name) || !pop(module)) return false;
      std::string module_text, name_text;
      const bool ok = module.kind == Kind::str && name.kind == Kind::str &&
                      payload_text(module, module_text, k_max_import_name) &&
                      payload_text(name, name_text, k_max_import_name);
      if (ok)
        return push(make_global(std::move(module_text), std::move(name_text), "STACK_GLOBAL"));
      saw_code();
      const std::string what = describe(module) + ", " + describe(name);
      report("pickle.import.unresolved", Severity::high, m_s.op_offset,
             "STACK_GLOBAL imports a name built from values that are not literal strings (" + what +
                 "), so the import cannot be judged",
             what);
      auto node = std::make_shared<GlobalNode>();
      node->module = "<unresolved>";
      node->name = "<unresolved>";
      node->resolved = false;
      node->verdict = {ImportClass::unknown, Severity::high, {}};
      return push(Value{Kind::global, 0, std::move(node)});
    }
    case 0x82:
    case 0x83:
    case 0x84: {  // EXT1, EXT2, EXT4
      int64_t ext = 0;
      if (code == 0x82) {
        uint8_t v = 0;
        if (!read_u8(v)) return false;
        ext = v;
      } else if (code == 0x83) {
        uint16_t v = 0;
        if (!read_u16(v)) return false;
        ext = v;
      } else {
        int32_t v = 0;
        if (!read_i32(v)) return false;
        ext = v;
      }
      saw_code();
      report_once("pickle.ext_registry", Severity::high, m_s.op_offset,
                  "EXT opcode imports extension code " + std::to_string(ext) +
                      " from the copyreg registry, which is runtime state and cannot be judged",
                  "ext:" + std::to_string(ext));
      auto node = std::make_shared<GlobalNode>();
      node->module = "<copyreg extension>";
      node->name = std::to_string(ext);
      node->resolved = false;
      node->verdict = {ImportClass::unknown, Severity::high, {}};
      return push(Value{Kind::global, 0, std::move(node)});
    }
    case 'p': {  // PUT
      std::string line;
      if (!read_short_line(line)) return false;
      bool fits = false;
      int64_t idx = 0;
      if (!parse_python_int(line, fits, idx, 10) || !fits || idx < 0)
        return fail("pickle.malformed", "PUT argument is not a non-negative integer");
      Value* t = top();
      if (!t) return underflow();
      return memo_put(static_cast<uint64_t>(idx), *t);
    }
    case 'q': {
      uint8_t idx = 0;
      if (!read_u8(idx)) return false;
      Value* t = top();
      if (!t) return underflow();
      return memo_put(idx, *t);
    }
    case 'r': {
      uint32_t idx = 0;
      if (!read_u32(idx)) return false;
      Value* t = top();
      if (!t) return underflow();
      return memo_put(idx, *t);
    }
    case 0x94: {  // MEMOIZE: index len(memo), the number of distinct keys
      Value* t = top();
      if (!t) return underflow();
      return memo_put(m_s.memo_count, *t);
    }
    case 'g': {
      std::string line;
      if (!read_short_line(line)) return false;
      bool fits = false;
      int64_t idx = 0;
      if (!parse_python_int(line, fits, idx, 10) || !fits || idx < 0)
        return fail("pickle.malformed", "GET argument is not a memo index");
      return memo_get(static_cast<uint64_t>(idx));
    }
    case 'h': {
      uint8_t idx = 0;
      if (!read_u8(idx)) return false;
      return memo_get(idx);
    }
    case 'j': {
      uint32_t idx = 0;
      if (!read_u32(idx)) return false;
      return memo_get(idx);
    }
    case 'P':
    case 'Q': {  // PERSID, BINPERSID: the loader's persistent_load(pid)
      Value pid;
      if (code == 'P') {
        std::string line;
        if (!read_short_line(line)) return false;
        auto node = std::make_shared<PayloadNode>();
        node->text = std::move(line);
        pid = Value{Kind::str, 0, std::move(node)};
      } else if (!pop(pid)) {
        return false;
      }
      record_persistent(pid);
      return push(Value{Kind::persistent, 0, nullptr});
    }
    case 0x80: {  // PROTO
      uint8_t proto = 0;
      if (!read_u8(proto)) return false;
      if (proto > 5)
        return fail("pickle.malformed", "unsupported pickle protocol " + std::to_string(proto));
      if (m_s.seen_proto || m_s.result.opcodes > 1)
        report_once("pickle.proto_misplaced", Severity::low, m_s.op_offset,
                    "PROTO appears again or after other opcodes (legal but unusual)",
                    "proto@" + std::to_string(m_s.op_offset));
      m_s.seen_proto = true;
      m_s.proto = proto;
      m_s.result.protocol = proto;
      return true;
    }
    case 0x95: {  // FRAME
      uint64_t n = 0;
      if (!read_u64(n)) return false;
      const uint64_t pos = m_reader.position();
      if (m_s.frame_end != 0 && pos > m_s.frame_end && !m_s.frame_reported) {
        m_s.frame_reported = true;
        report("pickle.frame_violation", Severity::medium, m_s.op_offset,
               "a FRAME opcode's argument runs past the end of the previous frame");
      }
      if (m_s.frame_end != 0 && pos < m_s.frame_end && !m_s.frame_reported) {
        m_s.frame_reported = true;
        report("pickle.frame_violation", Severity::medium, m_s.op_offset,
               "a FRAME starts before the previous frame is consumed; unpicklers disagree on "
               "how to read this");
      }
      if (n > m_reader.remaining() && !m_s.frame_reported) {
        m_s.frame_reported = true;
        report("pickle.frame_violation", Severity::medium, m_s.op_offset,
               "a FRAME claims " + std::to_string(n) + " bytes, more than remain in the data");
      }
      m_s.frame_end = n == 0 ? 0 : pos + n;
      return true;
    }
    default: {
      char buf[8];
      std::snprintf(buf, sizeof buf, "0x%02x", code);
      return fail("pickle.malformed", std::string("unknown opcode ") + buf +
                                          "; CPython stops here, after running what came before");
    }
  }
}

void PickleWalker::Impl::finish_stream() {
  // Unlink mutated nodes so reference cycles (a list appended to itself, an
  // object whose state holds itself) are freed with the stream.
  for (auto& [kind, node] : m_s.arena) {
    if (kind == Kind::call) {
      auto& call = static_cast<CallNode&>(*node);
      call.state = Value{};
      call.args = Value{};
    } else {
      static_cast<ContainerNode&>(*node).items.clear();
    }
  }
  m_s.arena.clear();
  m_s.stack.clear();
  m_s.marks.clear();
  m_s.memo_dense.clear();
  m_s.memo_sparse.clear();
}

PickleStreamResult PickleWalker::Impl::walk_stream(uint64_t offset,
                                                   const PickleWalkOptions& options) {
  m_s.options = options;
  m_s.result = PickleStreamResult{};
  m_s.result.start = offset;
  const ScanLimits defaults;
  const ScanLimits& limits = m_ctx ? m_ctx->limits() : defaults;
  m_limits_stack = limits.max_pickle_stack;
  m_limits_memo = limits.max_pickle_memo;
  const uint64_t max_ops = options.max_opcodes ? options.max_opcodes : limits.max_pickle_opcodes;
  m_s.stack.clear();
  m_s.marks.clear();
  m_s.memo_dense.clear();
  m_s.memo_sparse.clear();
  m_s.memo_count = 0;
  m_s.proto = 0;
  m_s.frame_end = 0;
  m_s.frame_reported = false;
  m_s.failed = m_s.stopped = m_s.truncated = m_s.seen_proto = false;
  m_s.pending_array.reset();
  m_reader.seek(offset);

  while (!m_s.failed && !m_s.stopped) {
    if (m_s.result.opcodes >= max_ops) {
      if (options.max_opcodes) {
        m_s.result.hit_opcode_cap = true;
      } else {
        m_s.op_offset = m_reader.position();
        limit("opcode count", max_ops);
      }
      break;
    }
    m_s.op_offset = m_reader.position();
    uint8_t code = 0;
    if (!m_reader.read_u8(code)) {
      truncated("the opcode sequence");
      break;
    }
    ++m_s.result.opcodes;
    if (is_meaningful(code)) m_s.result.meaningful = true;
    const bool ok = op(code);
    // Frame discipline (section 1.6): an argument running past the frame end
    // is read across it by the C unpickler but rejected by pickle.py.
    const uint64_t pos = m_reader.position();
    if (m_s.frame_end != 0 && code != 0x95) {
      if (pos > m_s.frame_end && !m_s.frame_reported) {
        m_s.frame_reported = true;
        report("pickle.frame_violation", Severity::medium, m_s.op_offset,
               "an opcode's argument runs past the end of its FRAME; unpicklers disagree on how "
               "to read this");
      }
      if (pos >= m_s.frame_end) m_s.frame_end = 0;
    }
    if (ok && m_s.stopped && m_s.frame_end != 0 && pos < m_s.frame_end && !m_s.frame_reported) {
      m_s.frame_reported = true;
      report("pickle.frame_violation", Severity::medium, m_s.op_offset,
             "STOP comes before the end of its FRAME; the next load starts at different "
             "offsets in different unpicklers");
    }
    if (!ok) break;
    if (m_s.pending_array && !after_joblib_build()) break;
  }
  m_s.result.end =
      m_s.stopped && !m_s.failed ? PickleStreamResult::End::stop : PickleStreamResult::End::error;
  m_s.result.truncated = m_s.truncated;
  m_s.result.end_offset = m_reader.position();
  m_protocols.insert(m_s.proto);
  ++m_streams;
  m_total_opcodes += m_s.result.opcodes;
  finish_stream();
  return m_s.result;
}

nlohmann::json PickleWalker::Impl::summary() const {
  nlohmann::json j = nlohmann::json::object();
  j["streams"] = m_streams;
  j["protocols"] = m_protocols;
  j["opcodes"] = m_total_opcodes;
  nlohmann::json imports = nlohmann::json::array();
  for (const auto& [name, info] : m_imports) {
    if (imports.size() >= k_max_summary_entries) break;
    static constexpr const char* k_class_names[] = {"allowed", "conditional", "loader", "denied",
                                                    "unknown"};
    imports.push_back({{"name", name},
                       {"class", k_class_names[static_cast<int>(info.first)]},
                       {"count", info.second}});
  }
  j["imports"] = std::move(imports);
  if (!m_calls.empty()) j["calls"] = m_calls;
  if (m_persistent_ids) j["persistent_ids"] = m_persistent_ids;
  if (!m_storages.empty()) {
    j["storages"] = m_storages.size();
    nlohmann::json first = nlohmann::json::array();
    for (size_t i = 0; i < m_storages.size() && i < 8; ++i) {
      const auto& s = m_storages[i];
      first.push_back({{"key", s.key},
                       {"type", s.type},
                       {"location", s.location},
                       {"numel", s.numel ? nlohmann::json(*s.numel) : nlohmann::json()}});
    }
    j["storage_examples"] = std::move(first);
  }
  if (m_joblib_arrays) {
    j["joblib_arrays"] = m_joblib_arrays;
    j["joblib_array_bytes"] = m_joblib_bytes;
  }
  return j;
}

// ---------------------------------------------------------------------------

PickleWalker::PickleWalker(ScanContext* ctx, const util::ByteSource& bytes)
    : m_impl(std::make_unique<Impl>(ctx, bytes)) {}
PickleWalker::~PickleWalker() = default;

PickleStreamResult PickleWalker::walk_stream(uint64_t offset, const PickleWalkOptions& options) {
  return m_impl->walk_stream(offset, options);
}
void PickleWalker::begin_tentative() {
  m_impl->begin_tentative();
}
void PickleWalker::commit_tentative() {
  m_impl->commit_tentative();
}
void PickleWalker::discard_tentative() {
  m_impl->discard_tentative();
}
const std::vector<PickleStorageRef>& PickleWalker::storages() const {
  return m_impl->storages();
}
bool PickleWalker::saw_joblib() const {
  return m_impl->saw_joblib();
}
nlohmann::json PickleWalker::summary() const {
  return m_impl->summary();
}

}  // namespace hfaudit::scan
