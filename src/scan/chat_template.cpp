// Chat templates (Jinja2) that reach Python internals: the CVE-2024-34359
// class, where an unsandboxed renderer (llama-cpp-python before 0.2.72, any
// server using a plain jinja2.Environment) runs
// `().__class__.__base__.__subclasses__()` walks or `lipsum.__globals__`
// chains placed in tokenizer.chat_template. See
// shared/reference/model-file-threats.md section 8.
//
// The template is lexed the way jinja2's lexer splits it: text, `{# #}`
// comments (never evaluated), `{% raw %}` blocks (text), and code inside
// `{{ }}` / `{% %}`, where an end marker only counts outside strings and with
// brackets balanced. Checks run on code tokens, so prose in the template
// ("you can import files") is not flagged, while string literals are decoded
// with Python's unicode-escape rules so `'\x5f\x5fclass\x5f\x5f'` is seen as
// `__class__`.
#include <set>
#include <string>
#include <vector>

#include "scan/format_scanners.hpp"

namespace hfaudit::scan {

namespace {

constexpr size_t k_max_findings_per_template = 20;
constexpr size_t k_max_subject = 120;
constexpr size_t k_max_chain_segments = 12;

// Attributes that only matter for escaping to Python objects.
constexpr std::string_view k_known_dunders[] = {
    "__class__",    "__base__",         "__bases__",    "__subclasses__", "__globals__",
    "__builtins__", "__init__",         "__import__",   "__mro__",        "__getattribute__",
    "__dict__",     "__code__",         "__func__",     "__self__",       "__module__",
    "__reduce__",   "__reduce_ex__",    "__loader__",   "__spec__",       "__getitem__",
    "__call__",     "__closure__",      "__defaults__", "__kwdefaults__", "__new__",
    "__getattr__",  "__subclasshook__", "__qualname__", "__name__",       "__doc__",
};

// Objects every jinja2 environment exposes whose attributes lead to Python
// globals (lipsum.__globals__, cycler.__init__.__globals__, ...), plus the
// Flask globals that SSTI payloads use.
constexpr std::string_view k_global_roots[] = {
    "lipsum",    "cycler",  "joiner",
    "namespace", "self",    "request",
    "config",    "url_for", "get_flashed_messages",
};

// Names that are exploitation in themselves once reachable.
constexpr std::string_view k_high_names[] = {
    "popen",        "subprocess", "importlib", "import_module", "builtins", "execfile",
    "check_output", "spawn",      "spawnv",    "execv",         "execve",   "system",
};
// Names that are exploitation when called.
constexpr std::string_view k_call_names[] = {"eval",    "exec",   "getattr", "setattr",
                                             "globals", "locals", "compile", "__import__"};
// String literals naming these are how payloads pass names to getattr-likes.
constexpr std::string_view k_suspicious_strings[] = {
    "os",   "popen",     "subprocess",    "builtins", "eval",
    "exec", "importlib", "import_module", "getattr",  "globals",
};

template <size_t N>
bool contains(const std::string_view (&list)[N], std::string_view s) {
  for (const auto& item : list)
    if (item == s) return true;
  return false;
}

bool is_known_dunder(std::string_view s) {
  return contains(k_known_dunders, s);
}

bool has_known_dunder(std::string_view s) {
  for (const auto& d : k_known_dunders)
    if (s.find(d) != std::string_view::npos) return true;
  return false;
}

enum class Kind { identifier, string, number, op, boundary };

struct Token {
  Kind kind;
  std::string text;      // identifier / op text, or the decoded string value
  std::string raw;       // source text of a string literal
  bool escaped = false;  // a string literal that spells ASCII word characters with escapes
};

bool is_ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_ident_char(char c) {
  return is_ident_start(c) || (c >= '0' && c <= '9');
}
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | ((cp >> 18) & 0x07)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Decodes the body of a string literal as jinja2 does (Python's
// unicode-escape). Sets `escaped` when an escape produced a character that a
// payload would write plainly (letters, digits, '_', '.'), i.e. obfuscation.
std::string decode_string(std::string_view body, bool& escaped) {
  std::string out;
  const auto note = [&](uint32_t cp) {
    if (cp < 0x80 && (is_ident_char(static_cast<char>(cp)) || cp == '.')) escaped = true;
    append_utf8(out, cp);
  };
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\\' || i + 1 >= body.size()) {
      out.push_back(body[i]);
      continue;
    }
    const char e = body[++i];
    const auto read_hex = [&](size_t digits) -> bool {
      uint32_t cp = 0;
      for (size_t k = 1; k <= digits; ++k) {
        if (i + k >= body.size()) return false;
        const int v = hex_value(body[i + k]);
        if (v < 0) return false;
        cp = (cp << 4) | static_cast<uint32_t>(v);
      }
      i += digits;
      note(cp > 0x10FFFF ? 0xFFFD : cp);
      return true;
    };
    switch (e) {
      case 'x':
        if (!read_hex(2)) out += "\\x";
        break;
      case 'u':
        if (!read_hex(4)) out += "\\u";
        break;
      case 'U':
        if (!read_hex(8)) out += "\\U";
        break;
      case 'N': {
        // \N{LOW LINE}: named characters; any use spells a character by name.
        const size_t close = body.find('}', i);
        escaped = true;
        if (close != std::string_view::npos) {
          const std::string_view name = body.substr(i + 1, close - i - 1);
          out += (name == "{LOW LINE" || name == "{low line") ? "_" : "?";
          i = close;
        }
        break;
      }
      case 'n':
        out.push_back('\n');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case '\\':
      case '\'':
      case '"':
        out.push_back(e);
        break;
      default:
        if (e >= '0' && e <= '7') {
          uint32_t cp = static_cast<uint32_t>(e - '0');
          for (int k = 0; k < 2 && i + 1 < body.size() && body[i + 1] >= '0' && body[i + 1] <= '7';
               ++k)
            cp = cp * 8 + static_cast<uint32_t>(body[++i] - '0');
          note(cp);
        } else {
          out.push_back('\\');
          out.push_back(e);
        }
        break;
    }
  }
  return out;
}

struct Lexed {
  std::vector<Token> tokens;
  std::string text;  // template text outside code, concatenated
};

bool starts_at(std::string_view s, size_t i, std::string_view what) {
  return s.substr(i, what.size()) == what;
}

// True if `{%` at `i` opens a `{% raw %}` block; sets `body` to just after it.
bool is_raw_open(std::string_view s, size_t i, size_t& body) {
  size_t j = i + 2;
  if (j < s.size() && (s[j] == '-' || s[j] == '+')) ++j;
  while (j < s.size() && is_space(s[j])) ++j;
  if (!starts_at(s, j, "raw")) return false;
  j += 3;
  while (j < s.size() && is_space(s[j])) ++j;
  if (j < s.size() && (s[j] == '-' || s[j] == '+')) ++j;
  if (!starts_at(s, j, "%}")) return false;
  body = j + 2;
  return true;
}

// Lexes one code region starting at `i` (just after `{{` or `{%`) up to its
// end marker; returns the position after the marker (or the end).
size_t lex_code(std::string_view s, size_t i, std::string_view end_marker,
                std::vector<Token>& out) {
  int balance = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (is_space(c)) {
      ++i;
      continue;
    }
    if (balance == 0) {
      if ((c == '-' || c == '+') && starts_at(s, i + 1, end_marker))
        return i + 1 + end_marker.size();
      if (starts_at(s, i, end_marker)) return i + end_marker.size();
    }
    if (is_ident_start(c)) {
      size_t j = i;
      while (j < s.size() && is_ident_char(s[j])) ++j;
      out.push_back(Token{Kind::identifier, std::string(s.substr(i, j - i)), {}, false});
      i = j;
    } else if (c >= '0' && c <= '9') {
      size_t j = i;
      while (j < s.size() && (is_ident_char(s[j]) || s[j] == '.')) ++j;
      out.push_back(Token{Kind::number, std::string(s.substr(i, j - i)), {}, false});
      i = j;
    } else if (c == '\'' || c == '"') {
      size_t j = i + 1;
      while (j < s.size() && s[j] != c) j += (s[j] == '\\') ? 2 : 1;
      const size_t close = std::min(j, s.size());
      Token t{Kind::string, {}, std::string(s.substr(i, close + 1 - i)), false};
      t.text = decode_string(s.substr(i + 1, close - i - 1), t.escaped);
      out.push_back(std::move(t));
      i = close + 1;
    } else {
      if (c == '(' || c == '[' || c == '{') ++balance;
      if ((c == ')' || c == ']' || c == '}') && balance > 0) --balance;
      out.push_back(Token{Kind::op, std::string(1, c), {}, false});
      ++i;
    }
  }
  return s.size();
}

Lexed lex_template(std::string_view s) {
  Lexed out;
  size_t i = 0;
  while (i < s.size()) {
    const size_t open = s.find('{', i);
    if (open == std::string_view::npos || open + 1 >= s.size()) {
      out.text.append(s.substr(i));
      break;
    }
    const char kind = s[open + 1];
    if (kind != '{' && kind != '%' && kind != '#') {
      out.text.append(s.substr(i, open + 1 - i));
      i = open + 1;
      continue;
    }
    out.text.append(s.substr(i, open - i));
    if (kind == '#') {
      const size_t close = s.find("#}", open + 2);
      i = close == std::string_view::npos ? s.size() : close + 2;
      continue;
    }
    size_t body = 0;
    if (kind == '%' && is_raw_open(s, open, body)) {
      // Everything up to {% endraw %} is literal text.
      size_t end = s.find("endraw", body);
      const size_t block = end == std::string_view::npos ? s.size() : s.rfind("{%", end);
      out.text.append(s.substr(body, (block == std::string_view::npos ? s.size() : block) - body));
      if (end == std::string_view::npos) break;
      const size_t close = s.find("%}", end);
      i = close == std::string_view::npos ? s.size() : close + 2;
      continue;
    }
    i = lex_code(s, open + 2, kind == '{' ? "}}" : "%}", out.tokens);
    out.tokens.push_back(Token{Kind::boundary, {}, {}, false});
  }
  return out;
}

std::string shorten(std::string s) {
  if (s.size() > k_max_subject) {
    s.resize(k_max_subject);
    s += "...";
  }
  return s;
}

std::string_view token_source(const Token& t) {
  return t.kind == Kind::string ? t.raw : t.text;
}

// Subjects are shortened to k_max_subject anyway; building them further would
// make nested groups quadratic.
void append_capped(std::string& s, std::string_view piece) {
  if (s.size() <= k_max_subject) s.append(piece.substr(0, k_max_subject + 1 - s.size()));
}

// A token inside a [..] or (..) after a global root that makes the chain reach
// Python internals.
bool is_dangerous_in_chain(const Token& t) {
  return (t.kind == Kind::string && (t.text.find('_') != std::string::npos || t.escaped)) ||
         (t.kind == Kind::identifier && t.text.find("__") != std::string::npos);
}

// A token in |attr(..) arguments that computes the attribute name.
bool builds_attr_name(const Token& t) {
  if (t.kind == Kind::op) return t.text == "~" || t.text == "+" || t.text == "*" || t.text == "%";
  if (t.kind == Kind::identifier)
    return t.text == "format" || t.text == "join" || t.text == "replace" || t.text == "lower" ||
           t.text == "upper" || t.text == "reverse" || t.text == "string" || t.text == "first" ||
           t.text == "last";
  return t.kind == Kind::string && (t.text.find('_') != std::string::npos || t.escaped);
}

class Checker {
 public:
  Checker(ScanContext& ctx, uint64_t offset, std::string_view where)
      : m_ctx(ctx), m_offset(offset), m_where(where) {}

  void run(const Lexed& lexed);

 private:
  void flag(Severity severity, const std::string& subject, const std::string& what) {
    const std::string key = shorten(subject);
    if (!m_seen.insert(key).second) return;
    if (m_reported++ >= k_max_findings_per_template) return;
    m_ctx.report("template.injection", severity, m_offset,
                 "chat template '" + std::string(m_where) + "' " + what +
                     "; a renderer without jinja2's sandbox runs such payloads as Python "
                     "(CVE-2024-34359 class)",
                 key);
  }
  // Precomputes group ends and token counts so that every chain and filter
  // check is O(1) in the group size: templates nest thousands of groups.
  void index(const std::vector<Token>& t);
  // Index just past the bracket group opened at `open` (which must be an op):
  // after its closing bracket, else at the end of the code block.
  size_t skip_group(size_t open) const { return m_group_end[open]; }
  // Whether any token in [begin, end) satisfies the predicate behind `prefix`.
  static bool any_in(const std::vector<uint32_t>& prefix, size_t begin, size_t end) {
    return begin < end && prefix[end] != prefix[begin];
  }
  // Follows .name, [..], |attr(..) and (..) after a global root at `i`.
  size_t check_chain(const std::vector<Token>& t, size_t i);
  void check_attr_filter(const std::vector<Token>& t, size_t i);

  ScanContext& m_ctx;
  uint64_t m_offset;
  std::string_view m_where;
  std::set<std::string> m_seen;
  std::set<size_t> m_consumed;  // tokens already reported as part of a chain
  size_t m_reported = 0;
  std::vector<size_t> m_group_end;           // per token; meaningful for opening brackets
  std::vector<uint32_t> m_dangerous_before;  // prefix counts of is_dangerous_in_chain
  std::vector<uint32_t> m_builds_before;     // prefix counts of builds_attr_name
};

void Checker::index(const std::vector<Token>& t) {
  m_group_end.assign(t.size(), t.size());
  m_dangerous_before.assign(t.size() + 1, 0);
  m_builds_before.assign(t.size() + 1, 0);
  std::vector<size_t> open;  // unclosed brackets of the current code block
  for (size_t j = 0; j < t.size(); ++j) {
    m_dangerous_before[j + 1] = m_dangerous_before[j] + (is_dangerous_in_chain(t[j]) ? 1 : 0);
    m_builds_before[j + 1] = m_builds_before[j] + (builds_attr_name(t[j]) ? 1 : 0);
    if (t[j].kind == Kind::boundary) {
      for (const size_t o : open) m_group_end[o] = j;
      open.clear();
      continue;
    }
    if (t[j].kind != Kind::op) continue;
    const char c = t[j].text[0];
    if (c == '(' || c == '[' || c == '{') open.push_back(j);
    if ((c == ')' || c == ']' || c == '}') && !open.empty()) {
      m_group_end[open.back()] = j + 1;
      open.pop_back();
    }
  }
}

bool is_op(const std::vector<Token>& t, size_t i, char c) {
  return i < t.size() && t[i].kind == Kind::op && t[i].text[0] == c;
}
bool is_ident(const std::vector<Token>& t, size_t i, std::string_view name) {
  return i < t.size() && t[i].kind == Kind::identifier && t[i].text == name;
}

size_t Checker::check_chain(const std::vector<Token>& t, size_t i) {
  std::string chain;
  append_capped(chain, t[i].text);
  bool dangerous = false;
  size_t segments = 0;
  size_t j = i + 1;
  while (j < t.size() && segments < k_max_chain_segments) {
    if (is_op(t, j, '.') && j + 1 < t.size() && t[j + 1].kind == Kind::identifier) {
      const std::string& name = t[j + 1].text;
      append_capped(chain, ".");
      append_capped(chain, name);
      if (name.size() > 1 && name[0] == '_') dangerous = true;
      m_consumed.insert(j + 1);
      j += 2;
    } else if (is_op(t, j, '[') || is_op(t, j, '(')) {
      const size_t end = skip_group(j);
      append_capped(chain, t[j].text);
      if (any_in(m_dangerous_before, j + 1, end)) dangerous = true;
      for (size_t k = j + 1; k < end && chain.size() <= k_max_subject; ++k)
        append_capped(chain, token_source(t[k]));
      j = end;
    } else if (is_op(t, j, '|') && is_ident(t, j + 1, "attr")) {
      dangerous = true;
      append_capped(chain, "|attr");
      j += 2;
    } else {
      break;
    }
    ++segments;
  }
  if (segments == 0) return i + 1;
  flag(dangerous ? Severity::high : Severity::medium, chain,
       dangerous ? "walks from the jinja2 global '" + t[i].text + "' into Python internals ('" +
                       shorten(chain) + "')"
                 : "reads attributes of the jinja2 global '" + t[i].text +
                       "', the first step of a walk to Python globals ('" + shorten(chain) + "')");
  return j;
}

void Checker::check_attr_filter(const std::vector<Token>& t, size_t i) {
  // t[i] is '|', t[i+1] is 'attr'.
  std::string text = "|attr";
  bool built = false;
  if (is_op(t, i + 2, '(')) {
    const size_t end = skip_group(i + 2);
    built = any_in(m_builds_before, i + 2, end);
    for (size_t k = i + 2; k < end && text.size() <= k_max_subject; ++k)
      append_capped(text, token_source(t[k]));
  }
  flag(built ? Severity::high : Severity::medium, text,
       built ? "looks up an attribute by a computed or underscore name ('" + shorten(text) + "')"
             : "uses the attr filter ('" + shorten(text) +
                   "'), which chat templates have no use for");
}

void Checker::run(const Lexed& lexed) {
  const auto& t = lexed.tokens;
  index(t);
  for (size_t i = 0; i < t.size(); ++i) {
    const Token& tok = t[i];
    const bool after_dot = i > 0 && is_op(t, i - 1, '.');
    if (tok.kind == Kind::identifier) {
      const std::string& name = tok.text;
      if (!after_dot && contains(k_global_roots, name) &&
          (is_op(t, i + 1, '.') || is_op(t, i + 1, '[') ||
           (is_op(t, i + 1, '|') && is_ident(t, i + 2, "attr")))) {
        check_chain(t, i);
        continue;
      }
      if (m_consumed.count(i)) continue;
      if (is_known_dunder(name)) {
        flag(Severity::high, name, "accesses the Python attribute '" + name + "'");
      } else if (name.find("__") != std::string::npos) {
        flag(Severity::medium, name, "uses the double-underscore name '" + name + "'");
      } else if (name == "import" && !after_dot) {
        flag(Severity::medium, "import", "contains an import statement");
      } else if (contains(k_high_names, name) && (name != "system" || after_dot)) {
        flag(Severity::high, name, "names '" + name + "', a way to run commands");
      } else if (contains(k_call_names, name)) {
        const bool called = is_op(t, i + 1, '(');
        flag(called ? Severity::high : Severity::medium, name + (called ? "(" : ""),
             (called ? "calls '" : "names '") + name + "'");
      } else if ((name == "os" || name == "sys") && !after_dot && is_op(t, i + 1, '.')) {
        const bool deep = i + 2 < t.size() && t[i + 2].kind == Kind::identifier &&
                          contains(k_high_names, t[i + 2].text);
        flag(deep ? Severity::high : Severity::medium, name + ".",
             "refers to the Python module '" + name + "'");
      }
    } else if (tok.kind == Kind::string) {
      const std::string& value = tok.text;
      if (tok.escaped)
        flag(Severity::high, tok.raw,
             "spells '" + shorten(value) + "' with string escapes, a way to hide names");
      if (has_known_dunder(value))
        flag(Severity::high, tok.raw, "names a Python internal in the string " + shorten(tok.raw));
      else if (value.find("__") != std::string::npos)
        flag(Severity::medium, tok.raw,
             "has a double-underscore string " + shorten(tok.raw) +
                 ", a piece of a Python attribute name");
      else if (contains(k_suspicious_strings, value))
        flag(Severity::medium, tok.raw,
             "names the Python module or function " + tok.raw + " in a string");
      if (value.find("%c") != std::string::npos && is_op(t, i + 1, '|') &&
          is_ident(t, i + 2, "format"))
        flag(Severity::high, tok.raw + "|format",
             "builds text from character codes with '%c'|format, a way to hide names");
    } else if (tok.kind == Kind::op && tok.text == "|" && is_ident(t, i + 1, "attr")) {
      check_attr_filter(t, i);
    }
  }
  // Text outside code is printed, not evaluated, but a Python internal there
  // usually means our split and the renderer's differ: say so.
  for (const auto& d : k_known_dunders) {
    if (d == "__name__" || d == "__doc__" || d == "__init__") continue;
    if (lexed.text.find(d) != std::string::npos)
      flag(Severity::medium, std::string(d),
           "mentions '" + std::string(d) + "' outside template code");
  }
}

}  // namespace

void check_chat_template(ScanContext& ctx, std::string_view tmpl, uint64_t offset,
                         std::string_view where) {
  Checker(ctx, offset, where).run(lex_template(tmpl));
}

}  // namespace hfaudit::scan
