#include "cache/index.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <utility>

namespace hfaudit::cache {

namespace {

using util::ErrorCode;
using util::make_error;
using util::Ok;
using util::Result;
using util::Status;

// ---------------------------------------------------------------------------
// Schema. Each step moves the database from version N-1 to N in one
// transaction; steps are never edited once released, only appended (see
// docs/cache.md, "Index schema").

struct Migration {
  int version;
  const char* sql;
};

constexpr const char* k_schema_v1 = R"sql(
CREATE TABLE repos (
  id            INTEGER PRIMARY KEY,
  repo_id       TEXT NOT NULL UNIQUE,
  first_seen_at INTEGER NOT NULL,
  last_seen_at  INTEGER NOT NULL
);
CREATE TABLE commits (
  repo             INTEGER NOT NULL REFERENCES repos (id),
  commit_sha       TEXT NOT NULL CHECK (length(commit_sha) = 40),
  fetched_at       INTEGER NOT NULL,
  last_accessed_at INTEGER NOT NULL,
  info_json        TEXT NOT NULL DEFAULT '{}',
  PRIMARY KEY (repo, commit_sha)
);
CREATE TABLE refs (
  repo        INTEGER NOT NULL REFERENCES repos (id),
  name        TEXT NOT NULL,
  commit_sha  TEXT NOT NULL CHECK (length(commit_sha) = 40),
  resolved_at INTEGER NOT NULL,
  PRIMARY KEY (repo, name)
);
CREATE TABLE blobs (
  sha256           TEXT PRIMARY KEY CHECK (length(sha256) = 64),
  size             INTEGER NOT NULL CHECK (size >= 0),
  git_sha1         TEXT CHECK (git_sha1 IS NULL OR length(git_sha1) = 40),
  created_at       INTEGER NOT NULL,
  last_verified_at INTEGER,
  last_accessed_at INTEGER NOT NULL,
  state            TEXT NOT NULL CHECK (state IN ('present', 'quarantined', 'deleted'))
);
CREATE INDEX blobs_by_git_sha1 ON blobs (git_sha1);
CREATE TABLE files (
  repo        INTEGER NOT NULL,
  commit_sha  TEXT NOT NULL,
  path        TEXT NOT NULL,
  size        INTEGER NOT NULL CHECK (size >= 0),
  git_oid     TEXT NOT NULL CHECK (length(git_oid) = 40),
  sha256      TEXT CHECK (sha256 IS NULL OR length(sha256) = 64),
  lfs         INTEGER NOT NULL CHECK (lfs IN (0, 1)),
  blob_sha256 TEXT REFERENCES blobs (sha256),
  state       TEXT NOT NULL CHECK (state IN ('pending', 'verified', 'blocked', 'quarantined')),
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (repo, commit_sha, path),
  FOREIGN KEY (repo, commit_sha) REFERENCES commits (repo, commit_sha) ON DELETE CASCADE
);
CREATE INDEX files_by_blob ON files (blob_sha256);
CREATE TABLE audit_log (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  at          INTEGER NOT NULL,
  actor       TEXT NOT NULL,
  pid         INTEGER NOT NULL,
  action      TEXT NOT NULL
              CHECK (action IN ('pull', 'verify', 'block', 'quarantine', 'delete', 'gc', 'approve')),
  repo_id     TEXT,
  commit_sha  TEXT,
  path        TEXT,
  blob_sha256 TEXT,
  detail_json TEXT NOT NULL DEFAULT '{}'
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
)sql";

constexpr const char* k_schema_v2 = R"sql(
CREATE TABLE scan_results (
  id              INTEGER PRIMARY KEY,
  blob_sha256     TEXT NOT NULL REFERENCES blobs (sha256),
  scanner_version TEXT NOT NULL,
  max_severity    TEXT NOT NULL
                  CHECK (max_severity IN ('none', 'info', 'low', 'medium', 'high', 'critical')),
  findings_json   TEXT NOT NULL,
  scanned_at      INTEGER NOT NULL,
  UNIQUE (blob_sha256, scanner_version)
);
CREATE TABLE trust_snapshots (
  id         INTEGER PRIMARY KEY,
  repo       INTEGER NOT NULL REFERENCES repos (id),
  commit_sha TEXT NOT NULL,
  json       TEXT NOT NULL,
  taken_at   INTEGER NOT NULL
);
CREATE INDEX trust_snapshots_by_commit ON trust_snapshots (repo, commit_sha);
CREATE TABLE policy_decisions (
  id            INTEGER PRIMARY KEY,
  repo          INTEGER NOT NULL REFERENCES repos (id),
  commit_sha    TEXT NOT NULL,
  path          TEXT,
  policy_name   TEXT NOT NULL,
  policy_sha256 TEXT NOT NULL,
  decision      TEXT NOT NULL CHECK (decision IN ('allow', 'warn', 'block')),
  reasons_json  TEXT NOT NULL DEFAULT '[]',
  decided_at    INTEGER NOT NULL
);
CREATE INDEX policy_decisions_by_commit ON policy_decisions (repo, commit_sha);
)sql";

// The approved-model registry (hfaudit approve): one row per approved
// repo@commit and the exact file set it covers, with each blob's scan verdict
// at approval time. Revoking deletes the rows; the history is the audit log.
constexpr const char* k_schema_v3_approvals = R"sql(
CREATE TABLE approvals (
  id            INTEGER PRIMARY KEY,
  repo          INTEGER NOT NULL REFERENCES repos (id),
  commit_sha    TEXT NOT NULL CHECK (length(commit_sha) = 40),
  approved_by   TEXT NOT NULL,
  approved_at   INTEGER NOT NULL,
  reason        TEXT NOT NULL,
  policy_name   TEXT NOT NULL,
  policy_sha256 TEXT NOT NULL,
  UNIQUE (repo, commit_sha)
);
CREATE TABLE approval_files (
  approval        INTEGER NOT NULL REFERENCES approvals (id) ON DELETE CASCADE,
  path            TEXT NOT NULL,
  size            INTEGER NOT NULL CHECK (size >= 0),
  git_oid         TEXT NOT NULL CHECK (length(git_oid) = 40),
  sha256          TEXT NOT NULL CHECK (length(sha256) = 64),
  lfs             INTEGER NOT NULL CHECK (lfs IN (0, 1)),
  scanner_version TEXT,
  max_severity    TEXT
                  CHECK (max_severity IS NULL OR
                         max_severity IN ('none', 'info', 'low', 'medium', 'high', 'critical')),
  PRIMARY KEY (approval, path)
);
)sql";

// Audit runs (hfaudit audit): each run, the findings it reported (keyed by a
// stable fingerprint so the next run can say what is new), and what it saw of
// each repository (so the next run re-fetches only what changed).
constexpr const char* k_schema_v4_audit = R"sql(
CREATE TABLE audit_runs (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  scope        TEXT NOT NULL CHECK (scope IN ('lock', 'org', 'cache')),
  target       TEXT NOT NULL,
  started_at   INTEGER NOT NULL,
  finished_at  INTEGER NOT NULL,
  complete     INTEGER NOT NULL CHECK (complete IN (0, 1)),
  summary_json TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_runs_by_target ON audit_runs (scope, target, id);
CREATE TABLE audit_findings (
  run          INTEGER NOT NULL REFERENCES audit_runs (id) ON DELETE CASCADE,
  fingerprint  TEXT NOT NULL,
  rule_id      TEXT NOT NULL,
  repo_id      TEXT NOT NULL,
  severity     TEXT NOT NULL
               CHECK (severity IN ('info', 'low', 'medium', 'high', 'critical')),
  status       TEXT NOT NULL CHECK (status IN ('new', 'present', 'resolved')),
  finding_json TEXT NOT NULL,
  PRIMARY KEY (run, fingerprint)
);
CREATE TABLE audit_repo_states (
  run        INTEGER NOT NULL REFERENCES audit_runs (id) ON DELETE CASCADE,
  repo_id    TEXT NOT NULL,
  state_json TEXT NOT NULL,
  PRIMARY KEY (run, repo_id)
);
)sql";

constexpr std::array<Migration, 4> k_migrations{
    {{1, k_schema_v1}, {2, k_schema_v2}, {3, k_schema_v3_approvals}, {4, k_schema_v4_audit}}};
static_assert(k_migrations.back().version == Index::k_schema_version);

// ---------------------------------------------------------------------------
// Enum <-> text.

template <typename Enum, size_t N>
std::optional<Enum> parse_enum(std::string_view text,
                               const std::array<std::string_view, N>& names) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == text) return static_cast<Enum>(i);
  }
  return std::nullopt;
}

constexpr std::array<std::string_view, 4> k_file_states{"pending", "verified", "blocked",
                                                        "quarantined"};
constexpr std::array<std::string_view, 3> k_blob_states{"present", "quarantined", "deleted"};
constexpr std::array<std::string_view, 6> k_severities{"none",   "info", "low",
                                                       "medium", "high", "critical"};
constexpr std::array<std::string_view, 3> k_audit_scopes{"lock", "org", "cache"};
constexpr std::array<std::string_view, 3> k_finding_statuses{"new", "present", "resolved"};
constexpr std::array<std::string_view, 3> k_decisions{"allow", "warn", "block"};
constexpr std::array<std::string_view, 7> k_actions{"pull",   "verify", "block",  "quarantine",
                                                    "delete", "gc",     "approve"};

// ---------------------------------------------------------------------------
// Binding and reading.

void bind_one(SQLite::Statement& s, int i, std::string_view v) {
  s.bind(i, std::string(v));
}
void bind_one(SQLite::Statement& s, int i, const std::string& v) {
  s.bind(i, v);
}
void bind_one(SQLite::Statement& s, int i, int64_t v) {
  s.bind(i, v);
}
void bind_one(SQLite::Statement& s, int i, uint64_t v) {
  s.bind(i, static_cast<int64_t>(v));
}
void bind_one(SQLite::Statement& s, int i, int v) {
  s.bind(i, v);
}
template <typename T>
void bind_one(SQLite::Statement& s, int i, const std::optional<T>& v) {
  if (v) {
    bind_one(s, i, *v);
  } else {
    s.bind(i);
  }
}

template <typename... Args>
void bind_all(SQLite::Statement& s, const Args&... args) {
  int i = 0;
  (bind_one(s, ++i, args), ...);
}

std::optional<std::string> opt_text(SQLite::Statement& s, int column) {
  if (s.isColumnNull(column)) return std::nullopt;
  return s.getColumn(column).getString();
}

std::optional<int64_t> opt_int(SQLite::Statement& s, int column) {
  if (s.isColumnNull(column)) return std::nullopt;
  return s.getColumn(column).getInt64();
}

template <typename F>
auto guarded(std::string_view what, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const SQLite::Exception& e) {
    const int code = e.getErrorCode() & 0xff;
    const auto error_code = (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
                                ? ErrorCode::corrupt_input
                                : ErrorCode::io;
    return make_error(error_code, "index: " + std::string(what) + ": " + e.what());
  } catch (const std::exception& e) {
    return make_error(ErrorCode::io, "index: " + std::string(what) + ": " + e.what());
  }
}

UnixTime system_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr const char* k_blob_columns =
    "sha256, size, git_sha1, created_at, last_verified_at, last_accessed_at, state";

BlobRecord read_blob(SQLite::Statement& s) {
  BlobRecord b;
  b.sha256 = s.getColumn(0).getString();
  b.size = static_cast<uint64_t>(s.getColumn(1).getInt64());
  b.git_sha1 = opt_text(s, 2);
  b.created_at = s.getColumn(3).getInt64();
  b.last_verified_at = opt_int(s, 4);
  b.last_accessed_at = s.getColumn(5).getInt64();
  b.state =
      parse_enum<BlobState>(s.getColumn(6).getString(), k_blob_states).value_or(BlobState::deleted);
  return b;
}

}  // namespace

std::string_view to_string(FileState state) {
  return k_file_states[static_cast<size_t>(state)];
}
std::string_view to_string(BlobState state) {
  return k_blob_states[static_cast<size_t>(state)];
}
std::string_view to_string(Severity severity) {
  return k_severities[static_cast<size_t>(severity)];
}
std::string_view to_string(Decision decision) {
  return k_decisions[static_cast<size_t>(decision)];
}
std::string_view to_string(AuditAction action) {
  return k_actions[static_cast<size_t>(action)];
}
std::string_view to_string(AuditScope scope) {
  return k_audit_scopes[static_cast<size_t>(scope)];
}
std::string_view to_string(FindingStatus status) {
  return k_finding_statuses[static_cast<size_t>(status)];
}
std::optional<Severity> parse_severity(std::string_view text) {
  return parse_enum<Severity>(text, k_severities);
}

// ---------------------------------------------------------------------------

struct Index::Impl {
  SQLite::Database db;
  std::function<UnixTime()> clock;

  Impl(const std::string& path, const IndexOptions& options)
      : db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE,
           static_cast<int>(options.busy_timeout.count())),
        clock(options.clock ? options.clock : system_now) {}

  UnixTime now() const { return clock(); }

  template <typename... Args>
  int exec(const char* sql, const Args&... args) {
    SQLite::Statement s(db, sql);
    bind_all(s, args...);
    return s.exec();
  }

  // Runs `body` atomically: a real transaction at the outermost level (BEGIN
  // IMMEDIATE takes the write lock up front, so a busy database waits on
  // busy_timeout instead of failing mid-way), a savepoint when nested.
  Status atomically(const std::function<Status()>& body) {
    const bool outermost = sqlite3_get_autocommit(db.getHandle()) != 0;
    db.exec(outermost ? "BEGIN IMMEDIATE" : "SAVEPOINT hfaudit_nested");
    Status result = Ok{};
    try {
      result = body();
    } catch (...) {
      rollback(outermost);
      throw;
    }
    if (!result) {
      rollback(outermost);
      return result;
    }
    db.exec(outermost ? "COMMIT" : "RELEASE hfaudit_nested");
    return result;
  }

  void rollback(bool outermost) noexcept {
    try {
      db.exec(outermost ? "ROLLBACK" : "ROLLBACK TO hfaudit_nested; RELEASE hfaudit_nested");
    } catch (...) {  // NOLINT: the original error is the one to report
    }
  }

  std::optional<int64_t> repo_key(std::string_view repo_id) {
    SQLite::Statement s(db, "SELECT id FROM repos WHERE repo_id = ?");
    bind_all(s, repo_id);
    if (!s.executeStep()) return std::nullopt;
    return s.getColumn(0).getInt64();
  }

  Result<int64_t> require_repo(std::string_view repo_id) {
    auto key = repo_key(repo_id);
    if (!key)
      return make_error(ErrorCode::not_found, "index: unknown repo " + std::string(repo_id));
    return *key;
  }

  int schema_version() {
    SQLite::Statement s(db, "PRAGMA user_version");
    s.executeStep();
    return s.getColumn(0).getInt();
  }

  Status migrate(int target) {
    for (const Migration& step : k_migrations) {
      if (step.version > target) break;
      // Re-read inside the transaction: another process may have migrated
      // between our check and our BEGIN.
      HFAUDIT_TRY(atomically([&]() -> Status {
        if (schema_version() >= step.version) return Ok{};
        db.exec(step.sql);
        db.exec("PRAGMA user_version = " + std::to_string(step.version));
        return Ok{};
      }));
    }
    return Ok{};
  }
};

Index::Index(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Index::~Index() = default;

Result<std::unique_ptr<Index>> Index::open(const std::string& path, IndexOptions options) {
  return guarded("open " + path, [&]() -> Result<std::unique_ptr<Index>> {
    auto impl = std::make_unique<Impl>(path, options);
    const int found = impl->schema_version();
    if (found > k_schema_version) {
      return make_error(ErrorCode::corrupt_input, path + ": index schema version " +
                                                      std::to_string(found) +
                                                      " is newer than this hfaudit understands (" +
                                                      std::to_string(k_schema_version) + ")");
    }
    // WAL lets `hfaudit ls` read while a pull writes. The mode persists in the
    // file: only a new database needs the switch (which takes a write lock).
    if (impl->db.execAndGet("PRAGMA journal_mode").getString() != "wal")
      impl->db.exec("PRAGMA journal_mode = WAL");
    impl->db.exec("PRAGMA synchronous = NORMAL");
    impl->db.exec("PRAGMA foreign_keys = ON");
    // Commands are short-lived: without this, every close by the last
    // connection checkpoints the WAL and deletes it, and the next command's
    // first commit recreates it with a synced header and a synced directory.
    // The WAL is checkpointed when it reaches 1000 pages instead.
    sqlite3_db_config(impl->db.getHandle(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    // Migrations take the write lock: only when the schema is behind.
    const int target = options.target_schema_version.value_or(k_schema_version);
    if (found < target) HFAUDIT_TRY(impl->migrate(target));
    return std::unique_ptr<Index>(new Index(std::move(impl)));
  });
}

Result<int> Index::schema_version() {
  return guarded("schema version", [&]() -> Result<int> { return m_impl->schema_version(); });
}

Status Index::transaction(const std::function<Status()>& body) {
  return guarded("transaction", [&]() -> Status { return m_impl->atomically(body); });
}

// --- repos, refs, commits, files -------------------------------------------

Result<int64_t> Index::upsert_repo(std::string_view repo_id) {
  return guarded("upsert repo", [&]() -> Result<int64_t> {
    const UnixTime now = m_impl->now();
    m_impl->exec(
        "INSERT INTO repos (repo_id, first_seen_at, last_seen_at) VALUES (?1, ?2, ?2) "
        "ON CONFLICT (repo_id) DO UPDATE SET last_seen_at = excluded.last_seen_at",
        repo_id, now);
    return HFAUDIT_TRY(m_impl->require_repo(repo_id));
  });
}

Status Index::upsert_ref(std::string_view repo_id, std::string_view name, std::string_view commit) {
  return guarded("upsert ref", [&]() -> Status {
    const int64_t repo = HFAUDIT_TRY(m_impl->require_repo(repo_id));
    m_impl->exec(
        "INSERT INTO refs (repo, name, commit_sha, resolved_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (repo, name) DO UPDATE SET commit_sha = excluded.commit_sha, "
        "resolved_at = excluded.resolved_at",
        repo, name, commit, m_impl->now());
    return Ok{};
  });
}

Result<std::optional<std::string>> Index::resolve_ref(std::string_view repo_id,
                                                      std::string_view name) {
  return guarded("resolve ref", [&]() -> Result<std::optional<std::string>> {
    SQLite::Statement s(m_impl->db,
                        "SELECT f.commit_sha FROM refs f JOIN repos r ON r.id = f.repo "
                        "WHERE r.repo_id = ? AND f.name = ?");
    bind_all(s, repo_id, name);
    if (!s.executeStep()) return std::optional<std::string>();
    return std::optional<std::string>(s.getColumn(0).getString());
  });
}

Status Index::upsert_commit(std::string_view repo_id, std::string_view commit,
                            std::string_view info_json) {
  return guarded("upsert commit", [&]() -> Status {
    const int64_t repo = HFAUDIT_TRY(m_impl->require_repo(repo_id));
    m_impl->exec(
        "INSERT INTO commits (repo, commit_sha, fetched_at, last_accessed_at, info_json) "
        "VALUES (?1, ?2, ?3, ?3, ?4) ON CONFLICT (repo, commit_sha) DO UPDATE SET "
        "fetched_at = excluded.fetched_at, last_accessed_at = excluded.last_accessed_at, "
        "info_json = excluded.info_json",
        repo, commit, m_impl->now(), info_json);
    return Ok{};
  });
}

Status Index::touch_commit(std::string_view repo_id, std::string_view commit) {
  return guarded("touch commit", [&]() -> Status {
    const int64_t repo = HFAUDIT_TRY(m_impl->require_repo(repo_id));
    if (m_impl->exec("UPDATE commits SET last_accessed_at = ? WHERE repo = ? AND commit_sha = ?",
                     m_impl->now(), repo, commit) == 0) {
      return make_error(ErrorCode::not_found, "index: unknown commit " + std::string(commit));
    }
    return Ok{};
  });
}

Status Index::upsert_files(std::string_view repo_id, std::string_view commit,
                           const std::vector<FileRecord>& files) {
  return guarded("upsert files", [&]() -> Status {
    const int64_t repo = HFAUDIT_TRY(m_impl->require_repo(repo_id));
    return m_impl->atomically([&]() -> Status {
      // SET expressions see the old row, so "unchanged" compares old with new.
      // For regular files the sha256 is learnt at verification, so it is not
      // part of what the Hub listed and does not count as a change.
      const std::string unchanged =
          "(files.size = excluded.size AND files.git_oid = excluded.git_oid AND "
          "files.lfs = excluded.lfs AND (excluded.lfs = 0 OR files.sha256 IS excluded.sha256))";
      SQLite::Statement s(
          m_impl->db,
          "INSERT INTO files (repo, commit_sha, path, size, git_oid, sha256, lfs, blob_sha256, "
          "state, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
          "ON CONFLICT (repo, commit_sha, path) DO UPDATE SET "
          "state = CASE WHEN " +
              unchanged +
              " THEN files.state ELSE excluded.state END, "
              "blob_sha256 = CASE WHEN " +
              unchanged +
              " THEN files.blob_sha256 "
              "ELSE excluded.blob_sha256 END, "
              "sha256 = CASE WHEN " +
              unchanged +
              " THEN coalesce(files.sha256, excluded.sha256) "
              "ELSE excluded.sha256 END, "
              "size = excluded.size, git_oid = excluded.git_oid, lfs = excluded.lfs, "
              "updated_at = excluded.updated_at");
      const UnixTime now = m_impl->now();
      for (const FileRecord& f : files) {
        s.reset();
        bind_all(s, repo, commit, f.path, f.size, f.git_oid, f.sha256,
                 f.storage == Storage::lfs ? 1 : 0, f.blob_sha256, to_string(f.state), now);
        s.exec();
      }
      return Ok{};
    });
  });
}

Result<std::vector<FileRecord>> Index::files(std::string_view repo_id, std::string_view commit) {
  return guarded("list files", [&]() -> Result<std::vector<FileRecord>> {
    SQLite::Statement s(m_impl->db,
                        "SELECT f.path, f.size, f.git_oid, f.sha256, f.lfs, f.blob_sha256, f.state "
                        "FROM files f JOIN repos r ON r.id = f.repo "
                        "WHERE r.repo_id = ? AND f.commit_sha = ? ORDER BY f.path");
    bind_all(s, repo_id, commit);
    std::vector<FileRecord> out;
    while (s.executeStep()) {
      FileRecord f;
      f.path = s.getColumn(0).getString();
      f.size = static_cast<uint64_t>(s.getColumn(1).getInt64());
      f.git_oid = s.getColumn(2).getString();
      f.sha256 = opt_text(s, 3);
      f.storage = s.getColumn(4).getInt() != 0 ? Storage::lfs : Storage::regular;
      f.blob_sha256 = opt_text(s, 5);
      f.state = parse_enum<FileState>(s.getColumn(6).getString(), k_file_states)
                    .value_or(FileState::pending);
      out.push_back(std::move(f));
    }
    return out;
  });
}

Status Index::mark_file_verified(std::string_view repo_id, std::string_view commit,
                                 std::string_view path, std::string_view blob_sha256) {
  return guarded("mark file verified", [&]() -> Status {
    const int64_t repo = HFAUDIT_TRY(m_impl->require_repo(repo_id));
    if (m_impl->exec("UPDATE files SET blob_sha256 = ?1, sha256 = ?1, state = 'verified', "
                     "updated_at = ?2 WHERE repo = ?3 AND commit_sha = ?4 AND path = ?5",
                     blob_sha256, m_impl->now(), repo, commit, path) == 0) {
      return make_error(ErrorCode::not_found, "index: unknown file " + std::string(path));
    }
    return Ok{};
  });
}

Status Index::set_file_state(std::string_view repo_id, std::string_view commit,
                             std::string_view path, FileState state) {
  return guarded("set file state", [&]() -> Status {
    const int64_t repo = HFAUDIT_TRY(m_impl->require_repo(repo_id));
    if (m_impl->exec("UPDATE files SET state = ?, updated_at = ? "
                     "WHERE repo = ? AND commit_sha = ? AND path = ?",
                     to_string(state), m_impl->now(), repo, commit, path) == 0) {
      return make_error(ErrorCode::not_found, "index: unknown file " + std::string(path));
    }
    return Ok{};
  });
}

// --- blobs -------------------------------------------------------------------

Status Index::record_blob(std::string_view sha256, uint64_t size,
                          std::optional<std::string_view> git_sha1) {
  return guarded("record blob", [&]() -> Status {
    m_impl->exec(
        "INSERT INTO blobs (sha256, size, git_sha1, created_at, last_verified_at, "
        "last_accessed_at, state) VALUES (?1, ?2, ?3, ?4, ?4, ?4, 'present') "
        "ON CONFLICT (sha256) DO UPDATE SET state = 'present', size = excluded.size, "
        "git_sha1 = coalesce(excluded.git_sha1, blobs.git_sha1), "
        "last_verified_at = excluded.last_verified_at, last_accessed_at = "
        "excluded.last_accessed_at",
        sha256, size, git_sha1, m_impl->now());
    return Ok{};
  });
}

Result<std::optional<BlobRecord>> Index::find_blob(std::string_view sha256) {
  return guarded("find blob", [&]() -> Result<std::optional<BlobRecord>> {
    SQLite::Statement s(m_impl->db,
                        std::string("SELECT ") + k_blob_columns + " FROM blobs WHERE sha256 = ?");
    bind_all(s, sha256);
    if (!s.executeStep()) return std::optional<BlobRecord>();
    return std::optional<BlobRecord>(read_blob(s));
  });
}

Result<std::optional<BlobRecord>> Index::find_blob_by_git_sha1(std::string_view git_sha1) {
  return guarded("find blob by git sha1", [&]() -> Result<std::optional<BlobRecord>> {
    SQLite::Statement s(m_impl->db, std::string("SELECT ") + k_blob_columns +
                                        " FROM blobs WHERE git_sha1 = ? AND state = 'present' "
                                        "LIMIT 1");
    bind_all(s, git_sha1);
    if (!s.executeStep()) return std::optional<BlobRecord>();
    return std::optional<BlobRecord>(read_blob(s));
  });
}

Result<std::vector<BlobRecord>> Index::blobs(std::optional<BlobState> state) {
  return guarded("list blobs", [&]() -> Result<std::vector<BlobRecord>> {
    SQLite::Statement s(m_impl->db,
                        std::string("SELECT ") + k_blob_columns +
                            " FROM blobs WHERE ?1 IS NULL OR state = ?1 ORDER BY sha256");
    bind_all(s, state ? std::optional<std::string_view>(to_string(*state)) : std::nullopt);
    std::vector<BlobRecord> out;
    while (s.executeStep()) out.push_back(read_blob(s));
    return out;
  });
}

Status Index::set_blob_state(std::string_view sha256, BlobState state) {
  return guarded("set blob state", [&]() -> Status {
    if (m_impl->exec("UPDATE blobs SET state = ? WHERE sha256 = ?", to_string(state), sha256) ==
        0) {
      return make_error(ErrorCode::not_found, "index: unknown blob " + std::string(sha256));
    }
    return Ok{};
  });
}

Status Index::mark_blob_verified(std::string_view sha256) {
  return guarded("mark blob verified", [&]() -> Status {
    m_impl->exec("UPDATE blobs SET last_verified_at = ? WHERE sha256 = ?", m_impl->now(), sha256);
    return Ok{};
  });
}

Status Index::touch_blob(std::string_view sha256) {
  return guarded("touch blob", [&]() -> Status {
    m_impl->exec("UPDATE blobs SET last_accessed_at = ? WHERE sha256 = ?", m_impl->now(), sha256);
    return Ok{};
  });
}

Result<std::vector<std::string>> Index::referenced_blobs() {
  return guarded("referenced blobs", [&]() -> Result<std::vector<std::string>> {
    SQLite::Statement s(m_impl->db,
                        "SELECT DISTINCT blob_sha256 FROM files WHERE blob_sha256 IS NOT NULL "
                        "ORDER BY blob_sha256");
    std::vector<std::string> out;
    while (s.executeStep()) out.push_back(s.getColumn(0).getString());
    return out;
  });
}

Result<std::vector<FileLocation>> Index::files_with_blob(std::string_view sha256) {
  return guarded("files with blob", [&]() -> Result<std::vector<FileLocation>> {
    SQLite::Statement s(
        m_impl->db,
        "SELECT r.repo_id, f.commit_sha, f.path, f.lfs, f.git_oid, f.sha256, f.state "
        "FROM files f JOIN repos r ON r.id = f.repo WHERE f.blob_sha256 = ? "
        "ORDER BY r.repo_id, f.commit_sha, f.path");
    bind_all(s, sha256);
    std::vector<FileLocation> out;
    while (s.executeStep()) {
      FileLocation f;
      f.repo_id = s.getColumn(0).getString();
      f.commit = s.getColumn(1).getString();
      f.path = s.getColumn(2).getString();
      f.storage = s.getColumn(3).getInt() != 0 ? Storage::lfs : Storage::regular;
      f.etag = f.storage == Storage::lfs ? opt_text(s, 5).value_or("") : s.getColumn(4).getString();
      f.state = parse_enum<FileState>(s.getColumn(6).getString(), k_file_states)
                    .value_or(FileState::pending);
      out.push_back(std::move(f));
    }
    return out;
  });
}

Status Index::set_files_state_for_blob(std::string_view sha256, FileState state) {
  return guarded("set files state", [&]() -> Status {
    m_impl->exec("UPDATE files SET state = ?, updated_at = ? WHERE blob_sha256 = ?",
                 to_string(state), m_impl->now(), sha256);
    return Ok{};
  });
}

// --- scans, trust, policy -----------------------------------------------------

Status Index::record_scan(const ScanRecord& scan) {
  return guarded("record scan", [&]() -> Status {
    m_impl->exec(
        "INSERT INTO scan_results (blob_sha256, scanner_version, max_severity, findings_json, "
        "scanned_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (blob_sha256, scanner_version) DO UPDATE "
        "SET max_severity = excluded.max_severity, findings_json = excluded.findings_json, "
        "scanned_at = excluded.scanned_at",
        scan.blob_sha256, scan.scanner_version, to_string(scan.max_severity), scan.findings_json,
        m_impl->now());
    return Ok{};
  });
}

Result<std::optional<ScanRecord>> Index::latest_scan(std::string_view blob_sha256) {
  return guarded("latest scan", [&]() -> Result<std::optional<ScanRecord>> {
    SQLite::Statement s(m_impl->db,
                        "SELECT blob_sha256, scanner_version, max_severity, findings_json, "
                        "scanned_at FROM scan_results WHERE blob_sha256 = ? "
                        "ORDER BY scanned_at DESC, id DESC LIMIT 1");
    bind_all(s, blob_sha256);
    if (!s.executeStep()) return std::optional<ScanRecord>();
    ScanRecord r;
    r.blob_sha256 = s.getColumn(0).getString();
    r.scanner_version = s.getColumn(1).getString();
    r.max_severity = parse_severity(s.getColumn(2).getString()).value_or(Severity::critical);
    r.findings_json = s.getColumn(3).getString();
    r.scanned_at = s.getColumn(4).getInt64();
    return std::optional<ScanRecord>(std::move(r));
  });
}

Result<int64_t> Index::record_trust_snapshot(std::string_view repo_id, std::string_view commit,
                                             std::string_view json) {
  return guarded("record trust snapshot", [&]() -> Result<int64_t> {
    const int64_t repo = HFAUDIT_TRY(m_impl->require_repo(repo_id));
    m_impl->exec(
        "INSERT INTO trust_snapshots (repo, commit_sha, json, taken_at) VALUES (?, ?, ?, ?)", repo,
        commit, json, m_impl->now());
    return m_impl->db.getLastInsertRowid();
  });
}

Result<std::optional<std::string>> Index::latest_trust_snapshot(std::string_view repo_id,
                                                                std::string_view commit) {
  return guarded("latest trust snapshot", [&]() -> Result<std::optional<std::string>> {
    SQLite::Statement s(m_impl->db,
                        "SELECT t.json FROM trust_snapshots t JOIN repos r ON r.id = t.repo "
                        "WHERE r.repo_id = ? AND t.commit_sha = ? ORDER BY t.taken_at DESC, "
                        "t.id DESC LIMIT 1");
    bind_all(s, repo_id, commit);
    if (!s.executeStep()) return std::optional<std::string>();
    return std::optional<std::string>(s.getColumn(0).getString());
  });
}

Result<int64_t> Index::record_decision(const DecisionRecord& d) {
  return guarded("record decision", [&]() -> Result<int64_t> {
    const int64_t repo = HFAUDIT_TRY(m_impl->require_repo(d.repo_id));
    m_impl->exec(
        "INSERT INTO policy_decisions (repo, commit_sha, path, policy_name, policy_sha256, "
        "decision, reasons_json, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        repo, d.commit, d.path, d.policy_name, d.policy_sha256, to_string(d.decision),
        d.reasons_json, m_impl->now());
    return m_impl->db.getLastInsertRowid();
  });
}

Result<std::vector<DecisionRecord>> Index::decisions(std::string_view repo_id,
                                                     std::string_view commit) {
  return guarded("list decisions", [&]() -> Result<std::vector<DecisionRecord>> {
    SQLite::Statement s(
        m_impl->db,
        "SELECT d.path, d.policy_name, d.policy_sha256, d.decision, d.reasons_json, "
        "d.decided_at FROM policy_decisions d JOIN repos r ON r.id = d.repo "
        "WHERE r.repo_id = ? AND d.commit_sha = ? ORDER BY d.decided_at, d.id");
    bind_all(s, repo_id, commit);
    std::vector<DecisionRecord> out;
    while (s.executeStep()) {
      DecisionRecord d;
      d.repo_id = std::string(repo_id);
      d.commit = std::string(commit);
      d.path = opt_text(s, 0);
      d.policy_name = s.getColumn(1).getString();
      d.policy_sha256 = s.getColumn(2).getString();
      d.decision =
          parse_enum<Decision>(s.getColumn(3).getString(), k_decisions).value_or(Decision::block);
      d.reasons_json = s.getColumn(4).getString();
      d.decided_at = s.getColumn(5).getInt64();
      out.push_back(std::move(d));
    }
    return out;
  });
}

// --- approved-model registry -------------------------------------------------------

Status Index::record_approval(const ApprovalRecord& a) {
  return guarded("record approval", [&]() -> Status {
    const int64_t repo = HFAUDIT_TRY(m_impl->require_repo(a.repo_id));
    return m_impl->atomically([&]() -> Status {
      // Replacing deletes the old file set through ON DELETE CASCADE.
      m_impl->exec("DELETE FROM approvals WHERE repo = ? AND commit_sha = ?", repo, a.commit);
      m_impl->exec(
          "INSERT INTO approvals (repo, commit_sha, approved_by, approved_at, reason, "
          "policy_name, policy_sha256) VALUES (?, ?, ?, ?, ?, ?, ?)",
          repo, a.commit, a.approved_by, m_impl->now(), a.reason, a.policy_name, a.policy_sha256);
      const int64_t id = m_impl->db.getLastInsertRowid();
      SQLite::Statement s(m_impl->db,
                          "INSERT INTO approval_files (approval, path, size, git_oid, sha256, lfs, "
                          "scanner_version, max_severity) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
      for (const ApprovedFile& f : a.files) {
        s.reset();
        bind_all(s, id, f.path, f.size, f.git_oid, f.sha256, f.storage == Storage::lfs ? 1 : 0,
                 f.scanner_version,
                 f.max_severity ? std::optional<std::string_view>(to_string(*f.max_severity))
                                : std::nullopt);
        s.exec();
      }
      return Ok{};
    });
  });
}

namespace {

Result<std::vector<ApprovalRecord>> read_approvals(SQLite::Database& db, SQLite::Statement& s) {
  std::vector<ApprovalRecord> out;
  SQLite::Statement files(db,
                          "SELECT path, size, git_oid, sha256, lfs, scanner_version, max_severity "
                          "FROM approval_files WHERE approval = ? ORDER BY path");
  while (s.executeStep()) {
    ApprovalRecord a;
    const int64_t id = s.getColumn(0).getInt64();
    a.repo_id = s.getColumn(1).getString();
    a.commit = s.getColumn(2).getString();
    a.approved_by = s.getColumn(3).getString();
    a.approved_at = s.getColumn(4).getInt64();
    a.reason = s.getColumn(5).getString();
    a.policy_name = s.getColumn(6).getString();
    a.policy_sha256 = s.getColumn(7).getString();
    files.reset();
    bind_all(files, id);
    while (files.executeStep()) {
      ApprovedFile f;
      f.path = files.getColumn(0).getString();
      f.size = static_cast<uint64_t>(files.getColumn(1).getInt64());
      f.git_oid = files.getColumn(2).getString();
      f.sha256 = files.getColumn(3).getString();
      f.storage = files.getColumn(4).getInt() != 0 ? Storage::lfs : Storage::regular;
      f.scanner_version = opt_text(files, 5);
      if (auto severity = opt_text(files, 6)) f.max_severity = parse_severity(*severity);
      a.files.push_back(std::move(f));
    }
    out.push_back(std::move(a));
  }
  return out;
}

constexpr const char* k_approval_query =
    "SELECT a.id, r.repo_id, a.commit_sha, a.approved_by, a.approved_at, a.reason, "
    "a.policy_name, a.policy_sha256 FROM approvals a JOIN repos r ON r.id = a.repo ";

}  // namespace

Result<std::optional<ApprovalRecord>> Index::find_approval(std::string_view repo_id,
                                                           std::string_view commit) {
  return guarded("find approval", [&]() -> Result<std::optional<ApprovalRecord>> {
    SQLite::Statement s(m_impl->db,
                        std::string(k_approval_query) + "WHERE r.repo_id = ? AND a.commit_sha = ?");
    bind_all(s, repo_id, commit);
    auto found = HFAUDIT_TRY(read_approvals(m_impl->db, s));
    if (found.empty()) return std::optional<ApprovalRecord>();
    return std::optional<ApprovalRecord>(std::move(found.front()));
  });
}

Result<std::vector<ApprovalRecord>> Index::approvals(std::optional<std::string_view> repo_id) {
  return guarded("list approvals", [&]() -> Result<std::vector<ApprovalRecord>> {
    SQLite::Statement s(m_impl->db, std::string(k_approval_query) +
                                        "WHERE ?1 IS NULL OR r.repo_id = ?1 "
                                        "ORDER BY r.repo_id, a.approved_at, a.id");
    bind_all(s, repo_id);
    return read_approvals(m_impl->db, s);
  });
}

Result<bool> Index::remove_approval(std::string_view repo_id, std::string_view commit) {
  return guarded("remove approval", [&]() -> Result<bool> {
    auto repo = m_impl->repo_key(repo_id);
    if (!repo) return false;
    return m_impl->exec("DELETE FROM approvals WHERE repo = ? AND commit_sha = ?", *repo, commit) >
           0;
  });
}

// --- audit log -----------------------------------------------------------------

Result<int64_t> Index::append_audit(const AuditEntry& e) {
  return guarded("append audit", [&]() -> Result<int64_t> {
    m_impl->exec(
        "INSERT INTO audit_log (at, actor, pid, action, repo_id, commit_sha, path, blob_sha256, "
        "detail_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        m_impl->now(), e.actor, e.pid != 0 ? e.pid : static_cast<int64_t>(::getpid()),
        to_string(e.action), e.repo_id, e.commit, e.path, e.blob_sha256, e.detail_json);
    return m_impl->db.getLastInsertRowid();
  });
}

Result<std::vector<AuditEntry>> Index::audit_entries(int64_t after_id) {
  return guarded("read audit log", [&]() -> Result<std::vector<AuditEntry>> {
    SQLite::Statement s(
        m_impl->db,
        "SELECT id, at, actor, pid, action, repo_id, commit_sha, path, blob_sha256, "
        "detail_json FROM audit_log WHERE id > ? ORDER BY id");
    bind_all(s, after_id);
    std::vector<AuditEntry> out;
    while (s.executeStep()) {
      AuditEntry e;
      e.id = s.getColumn(0).getInt64();
      e.at = s.getColumn(1).getInt64();
      e.actor = s.getColumn(2).getString();
      e.pid = s.getColumn(3).getInt64();
      e.action = parse_enum<AuditAction>(s.getColumn(4).getString(), k_actions)
                     .value_or(AuditAction::verify);
      e.repo_id = opt_text(s, 5);
      e.commit = opt_text(s, 6);
      e.path = opt_text(s, 7);
      e.blob_sha256 = opt_text(s, 8);
      e.detail_json = s.getColumn(9).getString();
      out.push_back(std::move(e));
    }
    return out;
  });
}

// --- snapshots ---------------------------------------------------------------------

namespace {

constexpr const char* k_snapshot_query = R"sql(
SELECT r.repo_id, c.commit_sha, c.fetched_at, c.last_accessed_at, c.repo,
  (SELECT count(*) FROM files f WHERE f.repo = c.repo AND f.commit_sha = c.commit_sha),
  (SELECT count(*) FROM files f WHERE f.repo = c.repo AND f.commit_sha = c.commit_sha
     AND f.state = 'verified'),
  (SELECT count(*) FROM files f WHERE f.repo = c.repo AND f.commit_sha = c.commit_sha
     AND f.state = 'blocked'),
  (SELECT count(*) FROM files f WHERE f.repo = c.repo AND f.commit_sha = c.commit_sha
     AND f.state = 'quarantined'),
  (SELECT coalesce(sum(f.size), 0) FROM files f WHERE f.repo = c.repo
     AND f.commit_sha = c.commit_sha),
  (SELECT max(CASE s.max_severity WHEN 'none' THEN 0 WHEN 'info' THEN 1 WHEN 'low' THEN 2
                 WHEN 'medium' THEN 3 WHEN 'high' THEN 4 ELSE 5 END)
     FROM files f JOIN scan_results s ON s.blob_sha256 = f.blob_sha256
     WHERE f.repo = c.repo AND f.commit_sha = c.commit_sha
       AND s.scanned_at = (SELECT max(s2.scanned_at) FROM scan_results s2
                           WHERE s2.blob_sha256 = s.blob_sha256)),
  (SELECT d.decision FROM policy_decisions d WHERE d.repo = c.repo
     AND d.commit_sha = c.commit_sha AND d.path IS NULL
     ORDER BY d.decided_at DESC, d.id DESC LIMIT 1)
FROM commits c JOIN repos r ON r.id = c.repo
)sql";

}  // namespace

namespace {

Result<std::vector<SnapshotSummary>> read_snapshots(SQLite::Database& db, SQLite::Statement& s) {
  std::vector<SnapshotSummary> out;
  SQLite::Statement refs(db,
                         "SELECT name FROM refs WHERE repo = ? AND commit_sha = ? ORDER BY name");
  while (s.executeStep()) {
    SnapshotSummary snap;
    snap.repo_id = s.getColumn(0).getString();
    snap.commit = s.getColumn(1).getString();
    snap.fetched_at = s.getColumn(2).getInt64();
    snap.last_accessed_at = s.getColumn(3).getInt64();
    const int64_t repo = s.getColumn(4).getInt64();
    snap.file_count = static_cast<uint64_t>(s.getColumn(5).getInt64());
    snap.verified_count = static_cast<uint64_t>(s.getColumn(6).getInt64());
    snap.blocked_count = static_cast<uint64_t>(s.getColumn(7).getInt64());
    snap.quarantined_count = static_cast<uint64_t>(s.getColumn(8).getInt64());
    snap.total_bytes = static_cast<uint64_t>(s.getColumn(9).getInt64());
    if (!s.isColumnNull(10)) snap.max_severity = static_cast<Severity>(s.getColumn(10).getInt());
    if (!s.isColumnNull(11)) {
      snap.decision = parse_enum<Decision>(s.getColumn(11).getString(), k_decisions);
    }
    refs.reset();
    bind_all(refs, repo, snap.commit);
    while (refs.executeStep()) snap.refs.push_back(refs.getColumn(0).getString());
    out.push_back(std::move(snap));
  }
  return out;
}

}  // namespace

Result<std::vector<SnapshotSummary>> Index::snapshots(std::optional<std::string_view> repo_id) {
  return guarded("list snapshots", [&]() -> Result<std::vector<SnapshotSummary>> {
    SQLite::Statement s(m_impl->db, std::string(k_snapshot_query) +
                                        " WHERE ?1 IS NULL OR r.repo_id = ?1 "
                                        "ORDER BY r.repo_id, c.fetched_at, c.commit_sha");
    bind_all(s, repo_id);
    return read_snapshots(m_impl->db, s);
  });
}

Result<std::vector<SnapshotSummary>> Index::snapshots_by_last_access() {
  return guarded("list snapshots by access", [&]() -> Result<std::vector<SnapshotSummary>> {
    SQLite::Statement s(m_impl->db, std::string(k_snapshot_query) +
                                        " ORDER BY c.last_accessed_at, c.fetched_at, c.rowid");
    return read_snapshots(m_impl->db, s);
  });
}

Status Index::delete_snapshot(std::string_view repo_id, std::string_view commit) {
  return guarded("delete snapshot", [&]() -> Status {
    const int64_t repo = HFAUDIT_TRY(m_impl->require_repo(repo_id));
    return m_impl->atomically([&]() -> Status {
      m_impl->exec("DELETE FROM files WHERE repo = ? AND commit_sha = ?", repo, commit);
      m_impl->exec("DELETE FROM refs WHERE repo = ? AND commit_sha = ?", repo, commit);
      m_impl->exec("DELETE FROM commits WHERE repo = ? AND commit_sha = ?", repo, commit);
      return Ok{};
    });
  });
}

}  // namespace hfaudit::cache

// --- audit runs ----------------------------------------------------------------

namespace hfaudit::cache {

Result<int64_t> Index::record_audit_run(const AuditRunRecord& run,
                                        const std::vector<AuditFindingRecord>& findings,
                                        const std::vector<AuditRepoState>& states) {
  return guarded("record audit run", [&]() -> Result<int64_t> {
    int64_t id = 0;
    HFAUDIT_TRY(m_impl->atomically([&]() -> Status {
      m_impl->exec(
          "INSERT INTO audit_runs (scope, target, started_at, finished_at, complete, summary_json) "
          "VALUES (?, ?, ?, ?, ?, ?)",
          to_string(run.scope), run.target, run.started_at, m_impl->now(), run.complete ? 1 : 0,
          run.summary_json);
      id = m_impl->db.getLastInsertRowid();
      SQLite::Statement f(m_impl->db,
                          "INSERT INTO audit_findings (run, fingerprint, rule_id, repo_id, "
                          "severity, status, finding_json) VALUES (?, ?, ?, ?, ?, ?, ?)");
      for (const auto& finding : findings) {
        f.reset();
        bind_all(f, id, finding.fingerprint, finding.rule_id, finding.repo_id,
                 to_string(finding.severity), to_string(finding.status), finding.finding_json);
        f.exec();
      }
      SQLite::Statement r(
          m_impl->db, "INSERT INTO audit_repo_states (run, repo_id, state_json) VALUES (?, ?, ?)");
      for (const auto& state : states) {
        r.reset();
        bind_all(r, id, state.repo_id, state.state_json);
        r.exec();
      }
      return Ok{};
    }));
    return id;
  });
}

Result<std::optional<AuditRunRecord>> Index::last_audit_run(AuditScope scope,
                                                            std::string_view target) {
  return guarded("last audit run", [&]() -> Result<std::optional<AuditRunRecord>> {
    SQLite::Statement s(
        m_impl->db,
        "SELECT id, started_at, finished_at, complete, summary_json FROM audit_runs "
        "WHERE scope = ? AND target = ? ORDER BY id DESC LIMIT 1");
    bind_all(s, to_string(scope), target);
    if (!s.executeStep()) return std::optional<AuditRunRecord>();
    AuditRunRecord run;
    run.id = s.getColumn(0).getInt64();
    run.scope = scope;
    run.target = std::string(target);
    run.started_at = s.getColumn(1).getInt64();
    run.finished_at = s.getColumn(2).getInt64();
    run.complete = s.getColumn(3).getInt() != 0;
    run.summary_json = s.getColumn(4).getString();
    return std::optional<AuditRunRecord>(std::move(run));
  });
}

Result<std::vector<AuditFindingRecord>> Index::audit_findings(int64_t run_id) {
  return guarded("audit findings", [&]() -> Result<std::vector<AuditFindingRecord>> {
    SQLite::Statement s(m_impl->db,
                        "SELECT fingerprint, rule_id, repo_id, severity, status, finding_json "
                        "FROM audit_findings WHERE run = ? ORDER BY repo_id, rule_id, fingerprint");
    bind_all(s, run_id);
    std::vector<AuditFindingRecord> out;
    while (s.executeStep()) {
      AuditFindingRecord f;
      f.fingerprint = s.getColumn(0).getString();
      f.rule_id = s.getColumn(1).getString();
      f.repo_id = s.getColumn(2).getString();
      f.severity = parse_severity(s.getColumn(3).getString()).value_or(Severity::medium);
      f.status = parse_enum<FindingStatus>(s.getColumn(4).getString(), k_finding_statuses)
                     .value_or(FindingStatus::present);
      f.finding_json = s.getColumn(5).getString();
      out.push_back(std::move(f));
    }
    return out;
  });
}

Result<std::vector<AuditRepoState>> Index::audit_repo_states(int64_t run_id) {
  return guarded("audit repo states", [&]() -> Result<std::vector<AuditRepoState>> {
    SQLite::Statement s(m_impl->db,
                        "SELECT repo_id, state_json FROM audit_repo_states WHERE run = ? "
                        "ORDER BY repo_id");
    bind_all(s, run_id);
    std::vector<AuditRepoState> out;
    while (s.executeStep()) out.push_back({s.getColumn(0).getString(), s.getColumn(1).getString()});
    return out;
  });
}

}  // namespace hfaudit::cache
