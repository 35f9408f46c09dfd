// The approved-model registry in the index (record, replace, list, remove) and
// the validity check of an approval against the files known now.
#include "cache/approval.hpp"

#include <boost/test/unit_test.hpp>

#include "cache/index.hpp"
#include "tests/cache/test_support.hpp"

using namespace hfaudit::cache;
using hfaudit::cache::test::ScratchDir;

namespace {

const std::string k_commit(40, 'c');
const std::string k_oid_config(40, '1');
const std::string k_oid_code(40, '2');
const std::string k_oid_pointer(40, '3');
const std::string k_sha_config(64, 'a');
const std::string k_sha_code(64, 'b');
const std::string k_sha_weights(64, 'd');

std::unique_ptr<Index> open_index(const std::string& path) {
  IndexOptions options;
  options.clock = [] { return UnixTime{1700000000}; };
  auto index = Index::open(path, options);
  BOOST_TEST_REQUIRE(index.ok(), (index.ok() ? "" : index.error().message));
  return std::move(index).value();
}

ApprovedFile approved(const std::string& path, const std::string& oid, const std::string& sha,
                      Storage storage, uint64_t size) {
  ApprovedFile f;
  f.path = path;
  f.git_oid = oid;
  f.sha256 = sha;
  f.storage = storage;
  f.size = size;
  return f;
}

ApprovalRecord sample_approval() {
  ApprovalRecord a;
  a.repo_id = "org/model";
  a.commit = k_commit;
  a.approved_by = "alice";
  a.reason = "modeling.py reviewed";
  a.policy_name = "default";
  a.policy_sha256 = std::string(64, 'e');
  a.files = {approved("config.json", k_oid_config, k_sha_config, Storage::regular, 10),
             approved("model.safetensors", k_oid_pointer, k_sha_weights, Storage::lfs, 1000),
             approved("modeling.py", k_oid_code, k_sha_code, Storage::regular, 20)};
  a.files[0].scanner_version = "scan/1";
  a.files[0].max_severity = Severity::info;
  return a;
}

// The rows of the same files as a pull leaves them: verified, backed by blobs.
std::vector<FileRecord> rows_of(const ApprovalRecord& a) {
  std::vector<FileRecord> rows;
  for (const auto& f : a.files) {
    FileRecord r;
    r.path = f.path;
    r.size = f.size;
    r.git_oid = f.git_oid;
    r.storage = f.storage;
    r.sha256 = f.sha256;
    r.blob_sha256 = f.sha256;
    r.state = FileState::verified;
    rows.push_back(r);
  }
  return rows;
}

// The Hub's listing: no blob, and no sha256 for regular files.
std::vector<FileRecord> listing_of(const ApprovalRecord& a) {
  auto rows = rows_of(a);
  for (auto& r : rows) {
    r.blob_sha256.reset();
    r.state = FileState::pending;
    if (r.storage == Storage::regular) r.sha256.reset();
  }
  return rows;
}

const std::set<std::string> k_none;

}  // namespace

BOOST_AUTO_TEST_SUITE(approval_test)

BOOST_AUTO_TEST_CASE(index_records_replaces_lists_and_removes_approvals) {
  ScratchDir dir;
  auto index = open_index(dir / "index.sqlite");
  BOOST_TEST_REQUIRE(index->upsert_repo("org/model").ok());
  BOOST_TEST(!index->find_approval("org/model", k_commit)->has_value());

  BOOST_TEST_REQUIRE(index->record_approval(sample_approval()).ok());
  auto found = index->find_approval("org/model", k_commit);
  BOOST_TEST_REQUIRE(found->has_value());
  const ApprovalRecord& a = **found;
  BOOST_TEST(a.approved_by == "alice");
  BOOST_TEST(a.approved_at == 1700000000);
  BOOST_TEST(a.policy_name == "default");
  BOOST_TEST_REQUIRE(a.files.size() == 3u);
  BOOST_TEST(a.files[0].path == "config.json");
  BOOST_TEST((a.files[0].max_severity == Severity::info));
  BOOST_TEST(*a.files[0].scanner_version == "scan/1");
  BOOST_TEST(!a.files[1].max_severity.has_value());
  BOOST_TEST((a.files[1].storage == Storage::lfs));

  // Approving the same commit again replaces the approval and its file set.
  ApprovalRecord again = sample_approval();
  again.approved_by = "bob";
  again.files.pop_back();
  BOOST_TEST_REQUIRE(index->record_approval(again).ok());
  auto listed = index->approvals();
  BOOST_TEST_REQUIRE(listed->size() == 1u);
  BOOST_TEST((*listed)[0].approved_by == "bob");
  BOOST_TEST((*listed)[0].files.size() == 2u);
  BOOST_TEST(index->approvals("other/repo")->empty());

  BOOST_TEST(*index->remove_approval("org/model", k_commit) == true);
  BOOST_TEST(*index->remove_approval("org/model", k_commit) == false);
  BOOST_TEST(*index->remove_approval("never/seen", k_commit) == false);
  BOOST_TEST(index->approvals()->empty());
}

BOOST_AUTO_TEST_CASE(approval_of_an_unknown_repo_is_an_error) {
  ScratchDir dir;
  auto index = open_index(dir / "index.sqlite");
  BOOST_TEST(!index->record_approval(sample_approval()).ok());
}

BOOST_AUTO_TEST_CASE(unchanged_files_keep_the_approval_valid) {
  const ApprovalRecord a = sample_approval();
  const ApprovalCheck cached = check_approval(a, rows_of(a), &k_none);
  BOOST_TEST(cached.valid);
  BOOST_TEST(cached.cached);
  BOOST_TEST(cached.changes.empty());
  const ApprovalCheck with_hub = check_approval(a, rows_of(a), nullptr, listing_of(a));
  BOOST_TEST(with_hub.valid);
}

BOOST_AUTO_TEST_CASE(a_changed_added_or_missing_row_invalidates) {
  const ApprovalRecord a = sample_approval();
  auto changed = rows_of(a);
  changed[2].git_oid = std::string(40, '9');
  auto check = check_approval(a, changed, &k_none);
  BOOST_TEST(!check.valid);
  BOOST_TEST_REQUIRE(check.changes.size() == 1u);
  BOOST_TEST(check.changes[0] == "modeling.py changed (git oid 222222222222 -> 999999999999)");

  auto lfs_changed = rows_of(a);
  lfs_changed[1].sha256 = std::string(64, 'f');
  check = check_approval(a, lfs_changed, &k_none);
  BOOST_TEST(!check.valid);
  BOOST_TEST(check.changes[0].find("model.safetensors changed (sha256") == 0);

  auto added = rows_of(a);
  FileRecord extra;
  extra.path = "pytorch_model.bin";
  extra.git_oid = std::string(40, '7');
  added.push_back(extra);
  check = check_approval(a, added, &k_none);
  BOOST_TEST(!check.valid);
  BOOST_TEST(check.changes[0] == "pytorch_model.bin added (not covered by the approval)");

  auto missing = rows_of(a);
  missing.erase(missing.begin());
  check = check_approval(a, missing, &k_none);
  BOOST_TEST(!check.valid);
  BOOST_TEST(check.changes[0] == "config.json missing from the cache at this commit");
}

BOOST_AUTO_TEST_CASE(a_quarantined_copy_invalidates_unless_about_to_be_reverified) {
  const ApprovalRecord a = sample_approval();
  auto rows = rows_of(a);
  rows[1].state = FileState::quarantined;
  auto check = check_approval(a, rows, &k_none);
  BOOST_TEST(!check.valid);
  BOOST_TEST(check.changes[0].find("model.safetensors quarantined") == 0);

  // The blob quarantined while the row still says verified (another repo's verify).
  const std::set<std::string> bad = {k_sha_code};
  check = check_approval(a, rows_of(a), &bad);
  BOOST_TEST(!check.valid);
  BOOST_TEST(check.changes[0].find("modeling.py quarantined") == 0);

  // A pull checks against the Hub's listing and re-verifies the bytes.
  check = check_approval(a, rows, nullptr, listing_of(a));
  BOOST_TEST(check.valid);
}

BOOST_AUTO_TEST_CASE(the_hub_listing_reveals_removed_and_changed_files) {
  const ApprovalRecord a = sample_approval();
  auto listing = listing_of(a);
  listing.erase(listing.begin() + 2);  // modeling.py gone
  listing[0].git_oid = std::string(40, '8');
  auto check = check_approval(a, rows_of(a), nullptr, listing);
  BOOST_TEST(!check.valid);
  BOOST_TEST_REQUIRE(check.changes.size() == 2u);
  BOOST_TEST(check.changes[0].find("config.json changed on the Hub (git oid") == 0);
  BOOST_TEST(check.changes[1] == "modeling.py removed (the Hub no longer lists it at this commit)");
}

BOOST_AUTO_TEST_CASE(an_evicted_commit_is_not_cached_but_not_contradicted) {
  const ApprovalRecord a = sample_approval();
  const ApprovalCheck check = check_approval(a, {}, &k_none);
  BOOST_TEST(check.valid);
  BOOST_TEST(!check.cached);
}

BOOST_AUTO_TEST_SUITE_END()
