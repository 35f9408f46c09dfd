#include "cache/index.hpp"

#include <sqlite3.h>

#include <boost/test/unit_test.hpp>

#include "tests/cache/test_support.hpp"

using namespace hfaudit::cache;
using hfaudit::cache::test::ScratchDir;
using hfaudit::util::ErrorCode;

namespace {

const std::string k_commit_a(40, 'a');
const std::string k_commit_b(40, 'b');
const std::string k_sha_1(64, '1');
const std::string k_sha_2(64, '2');
const std::string k_oid_1(40, '1');
const std::string k_oid_2(40, '2');

struct FakeClock {
  UnixTime now = 1000;
  IndexOptions options() {
    IndexOptions o;
    o.clock = [this] { return now; };
    return o;
  }
};

std::unique_ptr<Index> open_index(const std::string& path, IndexOptions options = {}) {
  auto index = Index::open(path, std::move(options));
  BOOST_TEST_REQUIRE(index.ok(), (index.ok() ? "" : index.error().message));
  return std::move(index).value();
}

// Runs raw SQL outside the Index API; returns the SQLite error message or "".
std::string raw_exec(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open(db_path.c_str(), &db);
  char* error = nullptr;
  sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  std::string message = error ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  return message;
}

FileRecord regular(const std::string& path, const std::string& oid, uint64_t size) {
  FileRecord f;
  f.path = path;
  f.git_oid = oid;
  f.size = size;
  return f;
}

FileRecord lfs(const std::string& path, const std::string& sha, uint64_t size) {
  FileRecord f;
  f.path = path;
  f.git_oid = k_oid_2;
  f.sha256 = sha;
  f.storage = Storage::lfs;
  f.size = size;
  return f;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(index_test)

BOOST_AUTO_TEST_CASE(new_index_is_at_the_latest_schema_in_wal_mode) {
  ScratchDir dir;
  auto index = open_index(dir / "index.sqlite");
  BOOST_TEST(*index->schema_version() == Index::k_schema_version);
  // WAL persists in the file.
  BOOST_TEST(raw_exec(dir / "index.sqlite", "PRAGMA journal_mode") == "");
  BOOST_TEST(test::exists_nofollow(dir / "index.sqlite-wal"));
}

BOOST_AUTO_TEST_CASE(v1_database_migrates_to_latest_keeping_its_data) {
  ScratchDir dir;
  const std::string path = dir / "index.sqlite";
  {
    IndexOptions v1;
    v1.target_schema_version = 1;
    auto index = open_index(path, v1);
    BOOST_TEST(*index->schema_version() == 1);
    BOOST_TEST(index->upsert_repo("org/model").ok());
    BOOST_TEST(index->upsert_commit("org/model", k_commit_a).ok());
    BOOST_TEST(index->record_blob(k_sha_1, 10).ok());
    // v2 tables do not exist yet.
    BOOST_TEST(!index->record_scan({k_sha_1, "scan/1", Severity::low, "[]", 0}).ok());
  }
  auto index = open_index(path);
  BOOST_TEST(*index->schema_version() == Index::k_schema_version);
  BOOST_TEST(index->snapshots()->size() == 1u);
  BOOST_TEST(index->find_blob(k_sha_1)->has_value());
  BOOST_TEST(index->record_scan({k_sha_1, "scan/1", Severity::low, "[]", 0}).ok());
  // Re-opening an up-to-date index is a no-op.
  index.reset();
  BOOST_TEST(*open_index(path)->schema_version() == Index::k_schema_version);
}

BOOST_AUTO_TEST_CASE(newer_schema_and_non_databases_are_refused) {
  ScratchDir dir;
  const std::string path = dir / "index.sqlite";
  open_index(path).reset();
  raw_exec(path, "PRAGMA user_version = 99");
  auto newer = Index::open(path);
  BOOST_TEST_REQUIRE(!newer.ok());
  BOOST_TEST((newer.error().code == ErrorCode::corrupt_input));

  test::write_all(dir / "junk.sqlite", std::string(4096, 'x'));
  auto junk = Index::open(dir / "junk.sqlite");
  BOOST_TEST_REQUIRE(!junk.ok());
  BOOST_TEST((junk.error().code == ErrorCode::corrupt_input));
}

BOOST_AUTO_TEST_CASE(audit_log_is_append_only) {
  ScratchDir dir;
  const std::string path = dir / "index.sqlite";
  auto index = open_index(path);
  AuditEntry entry;
  entry.actor = "test";
  entry.action = AuditAction::remove;
  entry.repo_id = "org/model";
  entry.detail_json = R"({"why":"test"})";
  auto id = index->append_audit(entry);
  BOOST_TEST_REQUIRE(id.ok());
  const std::string update = raw_exec(path, "UPDATE audit_log SET actor = 'mallory'");
  BOOST_TEST(update.find("append-only") != std::string::npos);
  const std::string remove = raw_exec(path, "DELETE FROM audit_log");
  BOOST_TEST(remove.find("append-only") != std::string::npos);
  auto entries = index->audit_entries();
  BOOST_TEST_REQUIRE(entries->size() == 1u);
  BOOST_TEST((*entries)[0].actor == "test");
  BOOST_TEST(((*entries)[0].action == AuditAction::remove));
  BOOST_TEST((*entries)[0].pid > 0);
  BOOST_TEST(raw_exec(path, "SELECT 1 FROM audit_log WHERE action = 'delete'") == "");
  // An unknown action is refused by the CHECK constraint.
  BOOST_TEST(!raw_exec(path,
                       "INSERT INTO audit_log (at, actor, pid, action) "
                       "VALUES (1, 'x', 1, 'tamper')")
                  .empty());
}

BOOST_AUTO_TEST_CASE(pull_flow_records_refs_files_blobs_and_summaries) {
  ScratchDir dir;
  FakeClock clock;
  auto index = open_index(dir / "index.sqlite", clock.options());
  BOOST_TEST(index->upsert_repo("org/model").ok());
  BOOST_TEST(index->upsert_commit("org/model", k_commit_a, R"({"sha":"a"})").ok());
  BOOST_TEST(index->upsert_ref("org/model", "main", k_commit_a).ok());
  BOOST_TEST(index->upsert_ref("org/model", "refs/pr/1", k_commit_a).ok());
  BOOST_TEST(
      index
          ->upsert_files("org/model", k_commit_a,
                         {regular("config.json", k_oid_1, 10), lfs("model.bin", k_sha_2, 20)})
          .ok());
  BOOST_TEST((*index->resolve_ref("org/model", "main") == k_commit_a));
  BOOST_TEST(!index->resolve_ref("org/model", "dev")->has_value());

  BOOST_TEST(index->record_blob(k_sha_1, 10, k_oid_1).ok());
  BOOST_TEST(index->record_blob(k_sha_2, 20).ok());
  BOOST_TEST(index->mark_file_verified("org/model", k_commit_a, "config.json", k_sha_1).ok());
  BOOST_TEST(index->mark_file_verified("org/model", k_commit_a, "model.bin", k_sha_2).ok());
  BOOST_TEST(!index->mark_file_verified("org/model", k_commit_a, "nope", k_sha_2).ok());
  BOOST_TEST((*index->find_blob_by_git_sha1(k_oid_1))->sha256 == k_sha_1);

  BOOST_TEST(index->record_scan({k_sha_2, "scan/1", Severity::medium, "[{}]", 0}).ok());
  BOOST_TEST(index->record_scan({k_sha_1, "scan/1", Severity::info, "[]", 0}).ok());
  DecisionRecord decision;
  decision.repo_id = "org/model";
  decision.commit = k_commit_a;
  decision.policy_name = "default";
  decision.policy_sha256 = k_sha_1;
  decision.decision = Decision::warn;
  BOOST_TEST(index->record_decision(decision).ok());
  BOOST_TEST(index->record_trust_snapshot("org/model", k_commit_a, R"({"trust":1})").ok());
  BOOST_TEST(**index->latest_trust_snapshot("org/model", k_commit_a) == R"({"trust":1})");

  auto snaps = index->snapshots();
  BOOST_TEST_REQUIRE(snaps->size() == 1u);
  const SnapshotSummary& s = (*snaps)[0];
  BOOST_TEST(s.file_count == 2u);
  BOOST_TEST(s.verified_count == 2u);
  BOOST_TEST(s.total_bytes == 30u);
  BOOST_TEST((s.refs == std::vector<std::string>{"main", "refs/pr/1"}));
  BOOST_TEST((s.max_severity == Severity::medium));
  BOOST_TEST((s.decision == Decision::warn));

  // Re-listing the same tree keeps verification; a changed file goes pending.
  BOOST_TEST(
      index
          ->upsert_files("org/model", k_commit_a,
                         {regular("config.json", k_oid_1, 10), lfs("model.bin", k_sha_1, 20)})
          .ok());
  auto files = index->files("org/model", k_commit_a);
  BOOST_TEST_REQUIRE(files->size() == 2u);
  BOOST_TEST(((*files)[0].state == FileState::verified));
  BOOST_TEST(*(*files)[0].sha256 == k_sha_1);  // learnt at verification, kept
  BOOST_TEST(((*files)[1].state == FileState::pending));
  BOOST_TEST(!(*files)[1].blob_sha256.has_value());
  BOOST_TEST((*files)[1].etag() == k_sha_1);
  BOOST_TEST((*files)[0].etag() == k_oid_1);
}

BOOST_AUTO_TEST_CASE(referenced_blobs_and_lru_order) {
  ScratchDir dir;
  FakeClock clock;
  auto index = open_index(dir / "index.sqlite", clock.options());
  BOOST_TEST(index->upsert_repo("org/a").ok());
  BOOST_TEST(index->record_blob(k_sha_1, 1).ok());
  BOOST_TEST(index->record_blob(k_sha_2, 2).ok());
  clock.now = 100;
  BOOST_TEST(index->upsert_commit("org/a", k_commit_a).ok());
  clock.now = 200;
  BOOST_TEST(index->upsert_commit("org/a", k_commit_b).ok());
  BOOST_TEST(index->upsert_files("org/a", k_commit_a, {lfs("x", k_sha_1, 1)}).ok());
  BOOST_TEST(index->mark_file_verified("org/a", k_commit_a, "x", k_sha_1).ok());
  BOOST_TEST((*index->referenced_blobs() == std::vector<std::string>{k_sha_1}));
  BOOST_TEST(index->files_with_blob(k_sha_1)->size() == 1u);

  auto lru = index->snapshots_by_last_access();
  BOOST_TEST_REQUIRE(lru->size() == 2u);
  BOOST_TEST((*lru)[0].commit == k_commit_a);
  clock.now = 300;
  BOOST_TEST(index->touch_commit("org/a", k_commit_a).ok());
  lru = index->snapshots_by_last_access();
  BOOST_TEST((*lru)[0].commit == k_commit_b);

  BOOST_TEST(index->upsert_ref("org/a", "main", k_commit_a).ok());
  BOOST_TEST(index->delete_snapshot("org/a", k_commit_a).ok());
  BOOST_TEST(index->referenced_blobs()->empty());
  BOOST_TEST(!index->resolve_ref("org/a", "main")->has_value());
  BOOST_TEST(index->snapshots()->size() == 1u);
}

BOOST_AUTO_TEST_CASE(constraints_surface_as_errors_not_exceptions) {
  ScratchDir dir;
  auto index = open_index(dir / "index.sqlite");
  BOOST_TEST(index->upsert_repo("org/a").ok());
  // Unknown repo.
  BOOST_TEST((index->upsert_commit("org/none", k_commit_a).error().code == ErrorCode::not_found));
  // Malformed commit (CHECK constraint).
  auto bad = index->upsert_commit("org/a", "short");
  BOOST_TEST_REQUIRE(!bad.ok());
  BOOST_TEST((bad.error().code == ErrorCode::io));
  // Files of an unknown commit (foreign key).
  BOOST_TEST(!index->upsert_files("org/a", k_commit_b, {regular("x", k_oid_1, 1)}).ok());
  // A failing transaction rolls back everything in it.
  auto st = index->transaction([&]() -> hfaudit::util::Status {
    HFAUDIT_TRY(index->upsert_commit("org/a", k_commit_a));
    return hfaudit::util::make_error(ErrorCode::io, "abort");
  });
  BOOST_TEST(!st.ok());
  BOOST_TEST(index->snapshots()->empty());
}

BOOST_AUTO_TEST_CASE(audit_runs_keep_findings_and_states_per_scope_and_target) {
  ScratchDir dir;
  FakeClock clock;
  auto index = open_index(dir / "index.sqlite", clock.options());
  BOOST_TEST(!index->last_audit_run(AuditScope::org, "org-a")->has_value());

  AuditRunRecord run;
  run.scope = AuditScope::org;
  run.target = "org-a";
  run.started_at = 900;
  run.complete = false;
  AuditFindingRecord finding{"fp1",
                             "drift.commit_moved",
                             "org-a/m",
                             Severity::medium,
                             FindingStatus::new_,
                             R"({"title":"t"})"};
  const auto first = index->record_audit_run(run, {finding}, {{"org-a/m", R"({"commit":"c"})"}});
  BOOST_TEST_REQUIRE(first.ok());
  clock.now = 2000;
  run.complete = true;
  finding.status = FindingStatus::present;
  const auto second = index->record_audit_run(run, {finding}, {});
  BOOST_TEST_REQUIRE(second.ok());
  BOOST_TEST(*second > *first);
  // Another target does not see them.
  BOOST_TEST(!index->last_audit_run(AuditScope::org, "org-b")->has_value());
  BOOST_TEST(!index->last_audit_run(AuditScope::cache, "org-a")->has_value());

  const auto last = index->last_audit_run(AuditScope::org, "org-a");
  BOOST_TEST_REQUIRE((last.ok() && last->has_value()));
  BOOST_TEST((*last)->id == *second);
  BOOST_TEST((*last)->complete);
  BOOST_TEST((*last)->finished_at == 2000);
  const auto findings = index->audit_findings(*first);
  BOOST_TEST_REQUIRE(findings->size() == 1u);
  BOOST_TEST((*findings)[0].rule_id == "drift.commit_moved");
  BOOST_TEST(to_string((*findings)[0].status) == "new");
  BOOST_TEST(to_string((*index->audit_findings(*second))[0].status) == "present");
  const auto states = index->audit_repo_states(*first);
  BOOST_TEST_REQUIRE(states->size() == 1u);
  BOOST_TEST((*states)[0].state_json == R"({"commit":"c"})");
  BOOST_TEST(index->audit_repo_states(*second)->empty());
  // A severity outside the finding scale is refused (and nothing is half-written).
  finding.severity = Severity::none;
  BOOST_TEST(!index->record_audit_run(run, {finding}, {}).ok());
  BOOST_TEST((*index->last_audit_run(AuditScope::org, "org-a"))->id == *second);
}

BOOST_AUTO_TEST_SUITE_END()
