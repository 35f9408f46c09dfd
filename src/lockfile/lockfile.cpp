#include "lockfile/lockfile.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/text.hpp"

namespace hfaudit::lockfile {
namespace {

using nlohmann::json;

// Canonical repository order: case-insensitive id, then the exact text so the
// order is total.
bool repo_less(const LockedRepo& a, const LockedRepo& b) {
  const std::string la = util::ascii_lower(a.repo), lb = util::ascii_lower(b.repo);
  return la != lb ? la < lb : a.repo < b.repo;
}

void sort_unique(std::vector<std::string>& values) {
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
}

// The shape of a Hub model id, checked loosely: the lock file is data, and the
// commands that use an entry validate the id fully (hub::RepoId) before any
// request. This only refuses what cannot be an id at all.
bool looks_like_repo_id(std::string_view id) {
  const size_t slash = id.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == id.size()) return false;
  if (id.find('/', slash + 1) != std::string_view::npos) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
           c == '/';
  });
}

// Thrown inside the parser only, caught in parse() and turned into the Error.
struct Invalid : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Reads one JSON object with a fixed set of keys, naming `where` in errors.
class ObjectReader {
 public:
  ObjectReader(const json& value, std::string where) : m_value(value), m_where(std::move(where)) {
    if (!value.is_object()) fail("", "expected an object");
  }

  // Every key must be one of `known`.
  void allow_only(std::initializer_list<std::string_view> known) const {
    for (const auto& item : m_value.items()) {
      if (std::find(known.begin(), known.end(), item.key()) == known.end())
        fail(item.key(), "unknown key");
    }
  }

  const json& get(std::string_view key) const {
    const auto it = m_value.find(key);
    if (it == m_value.end()) fail(key, "missing");
    return *it;
  }

  std::string string(std::string_view key) const {
    const json& v = get(key);
    if (!v.is_string()) fail(key, "expected a string");
    return v.get<std::string>();
  }

  std::string hex(std::string_view key, size_t length) const {
    std::string v = string(key);
    if (!util::is_lower_hex(v, length))
      fail(key, fmt::format("expected {} lowercase hex characters, got \"{}\"", length, v));
    return v;
  }

  uint64_t unsigned_integer(std::string_view key) const {
    const json& v = get(key);
    if (!v.is_number_unsigned()) fail(key, "expected a non-negative integer");
    return v.get<uint64_t>();
  }

  bool boolean(std::string_view key) const {
    const json& v = get(key);
    if (!v.is_boolean()) fail(key, "expected true or false");
    return v.get<bool>();
  }

  const json& array(std::string_view key) const {
    const json& v = get(key);
    if (!v.is_array()) fail(key, "expected an array");
    return v;
  }

  std::vector<std::string> strings(std::string_view key) const {
    std::vector<std::string> out;
    for (const json& item : array(key)) {
      if (!item.is_string() || item.get_ref<const std::string&>().empty())
        fail(key, "expected an array of non-empty strings");
      out.push_back(item.get<std::string>());
    }
    return out;
  }

  std::string where(std::string_view key) const {
    if (key.empty()) return m_where.empty() ? std::string("top level") : m_where;
    return m_where.empty() ? std::string(key) : fmt::format("{} {}", m_where, key);
  }

  [[noreturn]] void fail(std::string_view key, std::string_view why) const {
    throw Invalid(fmt::format("{}: {}", where(key), why));
  }

 private:
  const json& m_value;
  std::string m_where;
};

LockedFile parse_file(const json& value, const std::string& where) {
  ObjectReader r(value, where);
  r.allow_only({"path", "size", "sha256", "git_oid", "lfs"});
  LockedFile file;
  file.path = r.string("path");
  if (!util::is_safe_relative_path(file.path))
    r.fail("path", fmt::format("\"{}\" is not a safe relative path", file.path));
  ObjectReader named(value, fmt::format("{} \"{}\"", where, file.path));
  file.size = named.unsigned_integer("size");
  file.sha256 = named.hex("sha256", 64);
  file.git_oid = named.hex("git_oid", 40);
  file.lfs = named.boolean("lfs");
  return file;
}

PolicyStamp parse_policy(const json& value, const std::string& where) {
  ObjectReader r(value, where);
  r.allow_only({"name", "sha256", "verdict", "warnings"});
  PolicyStamp stamp;
  stamp.name = r.string("name");
  if (stamp.name.empty()) r.fail("name", "must not be empty");
  stamp.sha256 = r.hex("sha256", 64);
  const std::string verdict = r.string("verdict");
  if (verdict == "allow") {
    stamp.verdict = Verdict::allow;
  } else if (verdict == "warn") {
    stamp.verdict = Verdict::warn;
  } else {
    r.fail("verdict", fmt::format("expected \"allow\" or \"warn\", got \"{}\"", verdict));
  }
  stamp.warnings = r.strings("warnings");
  return stamp;
}

LockedRepo parse_repo(const json& value, const std::string& where) {
  ObjectReader r(value, where);
  r.allow_only({"repo", "revision", "commit", "include", "exclude", "policy", "files"});
  LockedRepo entry;
  entry.repo = r.string("repo");
  if (!looks_like_repo_id(entry.repo))
    r.fail("repo", fmt::format("\"{}\" is not a repository id (org/name)", entry.repo));
  ObjectReader named(value, fmt::format("{} \"{}\"", where, entry.repo));
  entry.revision = named.string("revision");
  if (entry.revision.empty()) named.fail("revision", "must not be empty");
  entry.commit = named.hex("commit", 40);
  entry.include = named.strings("include");
  entry.exclude = named.strings("exclude");
  entry.policy = parse_policy(named.get("policy"), named.where("policy"));

  std::set<std::string> paths;
  const json& files = named.array("files");
  for (size_t i = 0; i < files.size(); ++i) {
    LockedFile file = parse_file(files[i], named.where(fmt::format("files[{}]", i)));
    if (!paths.insert(file.path).second)
      named.fail(fmt::format("files[{}]", i), fmt::format("\"{}\" is listed twice", file.path));
    entry.files.push_back(std::move(file));
  }
  return entry;
}

Lockfile parse_document(const json& document) {
  ObjectReader r(document, "");
  r.allow_only({"version", "repos"});
  const json& version = r.get("version");
  if (!version.is_number_integer()) r.fail("version", "expected an integer");
  const auto number = version.get<int64_t>();
  if (number > k_format_version) {
    r.fail("version", fmt::format("format version {} is newer than this hfaudit reads ({}); "
                                  "upgrade hfaudit",
                                  number, k_format_version));
  }
  if (number != k_format_version)
    r.fail("version",
           fmt::format("unsupported format version {} (expected {})", number, k_format_version));

  Lockfile lock;
  std::set<std::string> ids;
  const json& repos = r.array("repos");
  for (size_t i = 0; i < repos.size(); ++i) {
    LockedRepo entry = parse_repo(repos[i], fmt::format("repos[{}]", i));
    if (!ids.insert(util::ascii_lower(entry.repo)).second)
      r.fail(fmt::format("repos[{}]", i), fmt::format("\"{}\" is listed twice", entry.repo));
    lock.repos.push_back(std::move(entry));
  }
  canonicalize(lock);
  return lock;
}

// nlohmann reports a byte offset; people want a line and a column.
std::string line_and_column(std::string_view text, size_t byte) {
  byte = std::min(byte, text.size());
  size_t line = 1, column = 1;
  for (size_t i = 0; i < byte; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return fmt::format("line {} column {}", line, column);
}

json to_json(const LockedFile& file) {
  return json{{"path", file.path},
              {"size", file.size},
              {"sha256", file.sha256},
              {"git_oid", file.git_oid},
              {"lfs", file.lfs}};
}

json to_json(const LockedRepo& entry) {
  json files = json::array();
  for (const LockedFile& file : entry.files) files.push_back(to_json(file));
  return json{{"repo", entry.repo},
              {"revision", entry.revision},
              {"commit", entry.commit},
              {"include", entry.include},
              {"exclude", entry.exclude},
              {"policy",
               {{"name", entry.policy.name},
                {"sha256", entry.policy.sha256},
                {"verdict", to_string(entry.policy.verdict)},
                {"warnings", entry.policy.warnings}}},
              {"files", std::move(files)}};
}

}  // namespace

std::string_view to_string(Verdict verdict) {
  return verdict == Verdict::warn ? "warn" : "allow";
}

const LockedRepo* Lockfile::find(std::string_view repo) const {
  for (const LockedRepo& entry : repos) {
    if (util::iequals(entry.repo, repo)) return &entry;
  }
  return nullptr;
}

void Lockfile::upsert(LockedRepo entry) {
  std::erase_if(repos, [&](const LockedRepo& e) { return util::iequals(e.repo, entry.repo); });
  repos.push_back(std::move(entry));
  canonicalize(*this);
}

void canonicalize(LockedRepo& entry) {
  sort_unique(entry.include);
  sort_unique(entry.exclude);
  sort_unique(entry.policy.warnings);
  std::sort(entry.files.begin(), entry.files.end(),
            [](const LockedFile& a, const LockedFile& b) { return a.path < b.path; });
}

void canonicalize(Lockfile& lock) {
  for (LockedRepo& entry : lock.repos) canonicalize(entry);
  std::sort(lock.repos.begin(), lock.repos.end(), repo_less);
}

util::Result<Lockfile> parse(std::string_view text, const std::string& source_name) {
  json document;
  try {
    document = json::parse(text);
  } catch (const json::parse_error& e) {
    // e.what() repeats the byte offset in nlohmann's own words; keep its
    // reason (after the last ": ") and say where in lines.
    std::string reason = e.what();
    if (const size_t colon = reason.rfind(": "); colon != std::string::npos)
      reason = reason.substr(colon + 2);
    const size_t byte = e.byte > 0 ? e.byte - 1 : 0;
    return util::make_error(util::ErrorCode::invalid_argument,
                            fmt::format("{}: {}: not valid JSON: {}", source_name,
                                        line_and_column(text, byte), reason));
  }
  try {
    return parse_document(document);
  } catch (const Invalid& e) {
    return util::make_error(util::ErrorCode::invalid_argument,
                            fmt::format("{}: {}", source_name, e.what()));
  }
}

util::Result<Lockfile> read(const std::string& path) {
  const std::string text = HFAUDIT_TRY(util::read_file(path));
  return parse(text, path);
}

std::string serialize(const Lockfile& lock) {
  Lockfile canonical = lock;
  canonicalize(canonical);
  json repos = json::array();
  for (const LockedRepo& entry : canonical.repos) repos.push_back(to_json(entry));
  // nlohmann::json keeps object keys in a std::map: sorted, as the format requires.
  // Invalid UTF-8 (never produced by a Hub JSON response) becomes U+FFFD
  // rather than an exception; write() refuses such a lock by re-parsing it.
  const json document{{"version", k_format_version}, {"repos", std::move(repos)}};
  return document.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

util::Status write(const std::string& path, const Lockfile& lock) {
  const std::string text = serialize(lock);
  // Only what reads back as the same lock is written: an entry that would not
  // (an invalid hash, an unsafe path, replaced UTF-8) is a bug upstream, and a
  // lock file that pull --locked later refuses is worse than no write.
  auto reread = parse(text, path);
  if (!reread) return reread.error();
  Lockfile canonical = lock;
  canonicalize(canonical);
  if (!(*reread == canonical))
    return util::make_error(util::ErrorCode::invalid_argument,
                            fmt::format("{}: refusing to write a lock that does not read back "
                                        "as written (invalid UTF-8?)",
                                        path));
  return util::write_file_atomic(path, text);
}

}  // namespace hfaudit::lockfile
