#include "cache/maintenance.hpp"

#include <boost/test/unit_test.hpp>
#include <filesystem>

#include "cache/blob_store.hpp"
#include "tests/cache/test_support.hpp"
#include "util/hash.hpp"

using namespace hfaudit::cache;
using hfaudit::cache::test::ScratchDir;

namespace {

struct PulledFile {
  std::string path;
  std::string content;
  Storage storage = Storage::lfs;
};

// A minimal pull: what the pull use case will do with this module's API.
struct Cache {
  ScratchDir dir;
  CacheOptions options = dir.options();
  UnixTime now = 1000;
  MaintenanceOptions maintenance;
  BlobStore store = std::move(BlobStore::open(options)).value();
  HfView view{options.hf_hub_cache};
  std::unique_ptr<Index> index;

  Cache() {
    maintenance.index.clock = [this] { return now; };
    index = std::move(Index::open(store.layout().index_path(), maintenance.index)).value();
  }

  void pull(const std::string& repo, const std::string& commit,
            const std::vector<PulledFile>& files) {
    BOOST_TEST_REQUIRE(index->upsert_repo(repo).ok());
    BOOST_TEST_REQUIRE(index->upsert_commit(repo, commit).ok());
    std::vector<FileRecord> records;
    for (const auto& f : files) {
      FileRecord r;
      r.path = f.path;
      r.size = f.content.size();
      r.storage = f.storage;
      if (f.storage == Storage::lfs) {
        r.sha256 = hfaudit::util::sha256_hex(f.content);
        r.git_oid = hfaudit::util::git_blob_id_hex("pointer:" + f.content);
      } else {
        r.git_oid = hfaudit::util::git_blob_id_hex(f.content);
      }
      records.push_back(r);
    }
    BOOST_TEST_REQUIRE(index->upsert_files(repo, commit, records).ok());
    for (size_t i = 0; i < files.size(); ++i) {
      const auto& r = records[i];
      const auto expected = r.storage == Storage::lfs ? ExpectedBlob::lfs(*r.sha256, r.size)
                                                      : ExpectedBlob::regular(r.git_oid, r.size);
      auto writer = store.begin_write(expected);
      BOOST_TEST_REQUIRE(writer.ok());
      BOOST_TEST_REQUIRE((*writer)->write(files[i].content.data(), files[i].content.size()).ok());
      auto committed = (*writer)->commit();
      BOOST_TEST_REQUIRE(committed.ok());
      BOOST_TEST_REQUIRE(
          index
              ->record_blob(committed->sha256, committed->size,
                            committed->git_sha1.empty()
                                ? std::nullopt
                                : std::optional<std::string_view>(committed->git_sha1))
              .ok());
      BOOST_TEST_REQUIRE(index->mark_file_verified(repo, commit, r.path, committed->sha256).ok());
      BOOST_TEST_REQUIRE(view.put_blob(RepoType::model, repo, r.etag(), committed->path).ok());
      BOOST_TEST_REQUIRE(view.link_file(RepoType::model, repo, commit, r.path, r.etag()).ok());
    }
    BOOST_TEST_REQUIRE(view.write_ref(RepoType::model, repo, "main", commit).ok());
  }

  std::string repo_dir(const std::string& repo) {
    return options.hf_hub_cache + "/" + *HfView::repo_folder_name(RepoType::model, repo);
  }
};

const std::string k_c1(40, '1');
const std::string k_c2(40, '2');
const std::string k_c3(40, '3');

}  // namespace

BOOST_AUTO_TEST_SUITE(maintenance_test)

BOOST_AUTO_TEST_CASE(verify_of_an_intact_cache_reports_nothing) {
  Cache c;
  c.pull("org/a", k_c1,
         {{"model.bin", "weights", Storage::lfs}, {"config.json", "{}", Storage::regular}});
  auto report = verify(c.options, {}, c.maintenance);
  BOOST_TEST_REQUIRE(report.ok());
  BOOST_TEST(report->ok());
  BOOST_TEST(report->blobs_checked == 2u);
  BOOST_TEST(report->bytes_checked == 9u);
  BOOST_TEST(test::check_hf_layout(c.options.hf_hub_cache) == 0);
}

BOOST_AUTO_TEST_CASE(byte_flip_found_by_verify_is_quarantined_and_leaves_the_view) {
  Cache c;
  const std::string weights = test::make_content(5000);
  c.pull("org/a", k_c1,
         {{"model.bin", weights, Storage::lfs}, {"config.json", "{}", Storage::regular}});
  c.pull("org/b", k_c2, {{"sub/copy.bin", weights, Storage::lfs}});
  const std::string sha = hfaudit::util::sha256_hex(weights);
  // Bit rot, or someone editing the hard link in the view.
  test::flip_byte(c.store.blob_path(sha), 4000);

  auto report = verify(c.options, {}, c.maintenance);
  BOOST_TEST_REQUIRE(report.ok());
  BOOST_TEST_REQUIRE(report->corrupted.size() == 1u);
  const CorruptBlob& bad = report->corrupted[0];
  BOOST_TEST(bad.sha256 == sha);
  BOOST_TEST(bad.actual_sha256 != sha);
  BOOST_TEST(bad.affected.size() == 2u);
  BOOST_TEST(bad.view_removal.links_removed == 2u);
  BOOST_TEST(bad.view_removal.blobs_removed == 2u);
  BOOST_TEST(test::exists_nofollow(bad.quarantine_dir + "/blob"));
  BOOST_TEST(!c.store.has_blob(sha));
  BOOST_TEST(!test::exists_nofollow(c.repo_dir("org/a") + "/blobs/" + sha));
  BOOST_TEST(!test::exists_nofollow(c.repo_dir("org/a") + "/snapshots/" + k_c1 + "/model.bin"));
  BOOST_TEST(!test::exists_nofollow(c.repo_dir("org/b") + "/blobs/" + sha));
  BOOST_TEST(test::exists_nofollow(c.repo_dir("org/a") + "/snapshots/" + k_c1 + "/config.json"));
  BOOST_TEST(test::check_hf_layout(c.options.hf_hub_cache) == 0);

  BOOST_TEST(((*c.index->find_blob(sha))->state == BlobState::quarantined));
  const auto files = c.index->files("org/a", k_c1);
  BOOST_TEST_REQUIRE(files.ok());
  for (const auto& f : *files) {
    BOOST_TEST_INFO(f.path);
    BOOST_TEST((f.state == (f.path == "model.bin" ? FileState::quarantined : FileState::verified)));
  }
  auto audit_log = c.index->audit_entries();
  BOOST_TEST_REQUIRE(audit_log->size() == 2u);
  BOOST_TEST(((*audit_log)[0].action == AuditAction::quarantine));
  BOOST_TEST(*(*audit_log)[0].blob_sha256 == sha);
  BOOST_TEST(((*audit_log)[1].action == AuditAction::verify));

  // A second verify finds a clean cache.
  auto again = verify(c.options, {}, c.maintenance);
  BOOST_TEST(again->ok());
}

BOOST_AUTO_TEST_CASE(verify_can_be_limited_to_one_repo_and_reports_missing_blobs) {
  Cache c;
  c.pull("org/a", k_c1, {{"a.bin", "aaa", Storage::lfs}});
  c.pull("org/b", k_c2, {{"b.bin", "bbb", Storage::lfs}});
  auto report = verify(c.options, {std::string("org/a")}, c.maintenance);
  BOOST_TEST(report->blobs_checked == 1u);

  const std::string sha_b = hfaudit::util::sha256_hex("bbb");
  std::filesystem::remove(c.store.blob_path(sha_b));
  report = verify(c.options, {}, c.maintenance);
  BOOST_TEST_REQUIRE(report->missing.size() == 1u);
  BOOST_TEST(report->missing[0] == sha_b);
  BOOST_TEST(!test::exists_nofollow(c.repo_dir("org/b") + "/blobs/" + sha_b));
  BOOST_TEST((c.index->files("org/b", k_c2)->at(0).state == FileState::pending));
  BOOST_TEST(test::check_hf_layout(c.options.hf_hub_cache) == 0);
}

BOOST_AUTO_TEST_CASE(gc_removes_unreferenced_blobs) {
  Cache c;
  c.pull("org/a", k_c1, {{"a.bin", "aaa", Storage::lfs}});
  // A blob committed by a run that died before indexing it.
  const std::string orphan = "orphan";
  auto writer = c.store.begin_write(ExpectedBlob::lfs(hfaudit::util::sha256_hex(orphan), 6));
  BOOST_TEST_REQUIRE((*writer)->write(orphan.data(), 6).ok());
  BOOST_TEST_REQUIRE((*writer)->commit().ok());

  auto report = gc(c.options, {}, c.maintenance);
  BOOST_TEST_REQUIRE(report.ok());
  BOOST_TEST(
      (report->removed_blobs == std::vector<std::string>{hfaudit::util::sha256_hex(orphan)}));
  BOOST_TEST(report->bytes_before == 9u);
  BOOST_TEST(report->bytes_after == 3u);
  BOOST_TEST(report->evicted.empty());
  BOOST_TEST(c.store.has_blob(hfaudit::util::sha256_hex("aaa")));
}

BOOST_AUTO_TEST_CASE(gc_with_a_cap_evicts_least_recently_used_snapshots_first) {
  Cache c;
  c.now = 100;
  c.pull("org/old", k_c1, {{"w.bin", std::string(1000, 'o'), Storage::lfs}});
  c.now = 200;
  c.pull("org/mid", k_c2,
         {{"w.bin", std::string(1000, 'm'), Storage::lfs},
          {"shared.bin", std::string(500, 's'), Storage::lfs}});
  c.now = 300;
  c.pull("org/new", k_c3,
         {{"w.bin", std::string(1000, 'n'), Storage::lfs},
          {"shared.bin", std::string(500, 's'), Storage::lfs}});
  c.now = 400;
  BOOST_TEST(c.index->touch_commit("org/old", k_c1).ok());  // used recently: now mid is LRU

  auto report = gc(c.options, {2600}, c.maintenance);
  BOOST_TEST_REQUIRE(report.ok());
  BOOST_TEST(report->bytes_before == 3500u);
  BOOST_TEST_REQUIRE(report->evicted.size() == 1u);
  BOOST_TEST(report->evicted[0].repo_id == "org/mid");
  BOOST_TEST(report->bytes_after == 2500u);  // the shared blob stays for org/new
  BOOST_TEST(!test::exists_nofollow(c.repo_dir("org/mid")));
  BOOST_TEST(c.store.has_blob(hfaudit::util::sha256_hex(std::string(500, 's'))));
  BOOST_TEST(test::check_hf_layout(c.options.hf_hub_cache) == 0);

  report = gc(c.options, {999}, c.maintenance);
  BOOST_TEST_REQUIRE(report->evicted.size() == 2u);
  BOOST_TEST(report->evicted[0].repo_id == "org/new");
  BOOST_TEST(report->evicted[1].repo_id == "org/old");
  BOOST_TEST(report->bytes_after == 0u);
  BOOST_TEST(test::check_hf_layout(c.options.hf_hub_cache) == 0);
  auto listing = list(c.options, c.maintenance);
  BOOST_TEST(listing->repos.empty());
}

BOOST_AUTO_TEST_CASE(list_reports_repos_revisions_sizes_and_verdicts) {
  Cache c;
  c.pull("org/a", k_c1,
         {{"model.bin", "12345", Storage::lfs}, {"config.json", "{}", Storage::regular}});
  BOOST_TEST(c.index->upsert_ref("org/a", "main", k_c1).ok());
  BOOST_TEST(
      c.index->record_scan({hfaudit::util::sha256_hex("12345"), "scan/1", Severity::high, "[]", 0})
          .ok());
  auto listing = list(c.options, c.maintenance);
  BOOST_TEST_REQUIRE(listing.ok());
  BOOST_TEST_REQUIRE(listing->repos.size() == 1u);
  const auto& repo = listing->repos[0];
  BOOST_TEST(repo.repo_id == "org/a");
  BOOST_TEST(repo.total_bytes == 7u);
  BOOST_TEST_REQUIRE(repo.snapshots.size() == 1u);
  BOOST_TEST(repo.snapshots[0].file_count == 2u);
  BOOST_TEST((repo.snapshots[0].refs == std::vector<std::string>{"main"}));
  BOOST_TEST((repo.snapshots[0].max_severity == Severity::high));
  BOOST_TEST(listing->blob_count == 2u);
  BOOST_TEST(listing->store_bytes == 7u);

  ScratchDir empty;
  auto none = list(empty.options());
  BOOST_TEST(none->repos.empty());
}

BOOST_AUTO_TEST_SUITE_END()
