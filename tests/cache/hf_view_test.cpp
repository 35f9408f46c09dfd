#include "cache/hf_view.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>

#include "cache/blob_store.hpp"
#include "tests/cache/test_support.hpp"
#include "util/hash.hpp"

using namespace hfaudit::cache;
using hfaudit::cache::test::ScratchDir;
using hfaudit::util::ErrorCode;

namespace {

const std::string k_commit = "2439f60ef33a0d46d85da5001d52aeda5b00ce9f";
const std::string k_repo = "julien-c/EsperBERTo-small";
const std::string k_folder = "models--julien-c--EsperBERTo-small";

struct Fixture {
  ScratchDir dir;
  BlobStore store = std::move(BlobStore::open(dir.options())).value();
  HfView view{dir.options().hf_hub_cache};
  std::string hub = dir.options().hf_hub_cache;
  std::string repo = hub + "/" + k_folder;

  // Commits `content` to the store as a regular git file; returns its etag.
  std::string stored_regular(const std::string& content) {
    const std::string oid = hfaudit::util::git_blob_id_hex(content);
    auto writer = store.begin_write(ExpectedBlob::regular(oid, content.size()));
    BOOST_TEST_REQUIRE(writer.ok());
    BOOST_TEST((*writer)->write(content.data(), content.size()).ok());
    auto committed = (*writer)->commit();
    BOOST_TEST_REQUIRE(committed.ok());
    m_paths[oid] = committed->path;
    return oid;
  }
  const std::string& store_path(const std::string& etag) { return m_paths[etag]; }

  void add(const std::string& path, const std::string& content) {
    const std::string etag = stored_regular(content);
    BOOST_TEST_REQUIRE(view.put_blob(RepoType::model, k_repo, etag, store_path(etag)).ok());
    auto st = view.link_file(RepoType::model, k_repo, k_commit, path, etag);
    BOOST_TEST_REQUIRE(st.ok(), (st.ok() ? "" : st.error().message));
  }

 private:
  std::map<std::string, std::string> m_paths;
};

std::string link_target(const std::string& path) {
  return std::filesystem::read_symlink(path).string();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(hf_view_test)

BOOST_AUTO_TEST_CASE(repo_folder_names_follow_huggingface_hub) {
  BOOST_TEST(*HfView::repo_folder_name(RepoType::model, "org/name") == "models--org--name");
  BOOST_TEST(*HfView::repo_folder_name(RepoType::model, "gpt2") == "models--gpt2");
  BOOST_TEST(*HfView::repo_folder_name(RepoType::dataset, "a/b") == "datasets--a--b");
  for (const char* bad : {"", "a/b/c", "../x", "a--b/c", "a/..", "a b/c", "/abs"}) {
    BOOST_TEST_INFO(bad);
    BOOST_TEST(!HfView::repo_folder_name(RepoType::model, bad).ok());
  }
}

BOOST_AUTO_TEST_CASE(snapshot_links_are_relative_for_depth_0_1_2) {
  Fixture f;
  f.add("README.md", "readme\n");
  f.add("unet/config.json", "{}\n");
  f.add("a/b/c.bin", "ccc");
  const std::string snap = f.repo + "/snapshots/" + k_commit;
  const std::string readme_etag = hfaudit::util::git_blob_id_hex("readme\n");
  BOOST_TEST(link_target(snap + "/README.md") == "../../blobs/" + readme_etag);
  BOOST_TEST(link_target(snap + "/unet/config.json") ==
             "../../../blobs/" + hfaudit::util::git_blob_id_hex("{}\n"));
  BOOST_TEST(link_target(snap + "/a/b/c.bin") ==
             "../../../../blobs/" + hfaudit::util::git_blob_id_hex("ccc"));
  BOOST_TEST(test::read_all(snap + "/a/b/c.bin") == "ccc");
  BOOST_TEST(f.view.write_ref(RepoType::model, k_repo, "main", k_commit).ok());
  BOOST_TEST(test::check_hf_layout(f.hub) == 0);
}

BOOST_AUTO_TEST_CASE(blob_is_a_hard_link_to_the_store_on_the_same_file_system) {
  Fixture f;
  const std::string etag = f.stored_regular("content");
  auto placed = f.view.put_blob(RepoType::model, k_repo, etag, f.store_path(etag));
  BOOST_TEST_REQUIRE(placed.ok());
  BOOST_TEST((*placed == BlobPlacement::hard_link));
  struct stat view_st {};
  struct stat store_st {};
  BOOST_TEST(::stat((f.repo + "/blobs/" + etag).c_str(), &view_st) == 0);
  BOOST_TEST(::stat(f.store_path(etag).c_str(), &store_st) == 0);
  BOOST_TEST(view_st.st_ino == store_st.st_ino);
  BOOST_TEST((view_st.st_mode & 0111) == 0u);
  placed = f.view.put_blob(RepoType::model, k_repo, etag, f.store_path(etag));
  BOOST_TEST((*placed == BlobPlacement::already_present));
}

BOOST_AUTO_TEST_CASE(copy_mode_copies_and_replaces_a_foreign_blob) {
  Fixture f;
  HfView copying(f.hub, ViewOptions{BlobLinking::copy});
  const std::string etag = f.stored_regular("copied");
  // A blob someone else put there under that name, with other bytes.
  std::filesystem::create_directories(f.repo + "/blobs");
  test::write_all(f.repo + "/blobs/" + etag, "not the content");
  auto placed = copying.put_blob(RepoType::model, k_repo, etag, f.store_path(etag));
  BOOST_TEST_REQUIRE(placed.ok());
  BOOST_TEST((*placed == BlobPlacement::copy));
  BOOST_TEST(test::read_all(f.repo + "/blobs/" + etag) == "copied");
  struct stat view_st {};
  struct stat store_st {};
  ::stat((f.repo + "/blobs/" + etag).c_str(), &view_st);
  ::stat(f.store_path(etag).c_str(), &store_st);
  BOOST_TEST(view_st.st_ino != store_st.st_ino);
}

BOOST_AUTO_TEST_CASE(refs_are_exact_hex_without_newline_and_nested_for_prs) {
  Fixture f;
  f.add("README.md", "x");
  BOOST_TEST(f.view.write_ref(RepoType::model, k_repo, "main", k_commit).ok());
  BOOST_TEST(f.view.write_ref(RepoType::model, k_repo, "refs/pr/1", k_commit).ok());
  BOOST_TEST(f.view.write_ref(RepoType::model, k_repo, "v1.0", k_commit).ok());
  BOOST_TEST(test::read_all(f.repo + "/refs/main") == k_commit);  // 40 bytes, no '\n'
  BOOST_TEST(test::read_all(f.repo + "/refs/refs/pr/1") == k_commit);
  BOOST_TEST(test::read_all(f.repo + "/refs/v1.0").size() == 40u);
  // A full-sha revision writes no ref, as huggingface_hub does.
  BOOST_TEST(f.view.write_ref(RepoType::model, k_repo, k_commit, k_commit).ok());
  BOOST_TEST(!test::exists_nofollow(f.repo + "/refs/" + k_commit));
  BOOST_TEST(!f.view.write_ref(RepoType::model, k_repo, "../escape", k_commit).ok());
  BOOST_TEST(!f.view.write_ref(RepoType::model, k_repo, "main", "not-a-commit").ok());
  BOOST_TEST(test::check_hf_layout(f.hub) == 0);
}

BOOST_AUTO_TEST_CASE(traversal_names_are_rejected_before_touching_disk) {
  Fixture f;
  const std::string etag = f.stored_regular("x");
  BOOST_TEST_REQUIRE(f.view.put_blob(RepoType::model, k_repo, etag, f.store_path(etag)).ok());
  for (const char* bad : {"../x", "/etc/passwd", "a/../../b", "C:\\x", "a\\b", "", "a//b", "./a"}) {
    BOOST_TEST_INFO(bad);
    auto st = f.view.link_file(RepoType::model, k_repo, k_commit, bad, etag);
    BOOST_TEST_REQUIRE(!st.ok());
    BOOST_TEST((st.error().code == ErrorCode::invalid_argument));
  }
  // put_blob made an empty snapshots/ (scan_cache_dir needs it); the bad
  // names added nothing to it.
  BOOST_TEST(std::filesystem::is_empty(f.repo + "/snapshots"));
  BOOST_TEST(!test::exists_nofollow(f.dir / "x"));
  BOOST_TEST(!f.view.put_blob(RepoType::model, k_repo, "../../x", f.store_path(etag)).ok());
}

BOOST_AUTO_TEST_CASE(planted_symlinked_directory_cannot_redirect_writes) {
  Fixture f;
  const std::string etag = f.stored_regular("x");
  BOOST_TEST_REQUIRE(f.view.put_blob(RepoType::model, k_repo, etag, f.store_path(etag)).ok());
  const std::string outside = f.dir / "outside";
  std::filesystem::create_directories(outside);
  // snapshots/<commit>/unet -> outside
  std::filesystem::create_directories(f.repo + "/snapshots/" + k_commit);
  std::filesystem::create_directory_symlink(outside, f.repo + "/snapshots/" + k_commit + "/unet");
  auto st = f.view.link_file(RepoType::model, k_repo, k_commit, "unet/config.json", etag);
  BOOST_TEST_REQUIRE(!st.ok());
  BOOST_TEST((st.error().code == ErrorCode::invalid_argument));
  BOOST_TEST(std::filesystem::is_empty(outside));
  // refs -> outside
  std::filesystem::create_directory_symlink(outside, f.repo + "/refs");
  BOOST_TEST(!f.view.write_ref(RepoType::model, k_repo, "main", k_commit).ok());
  BOOST_TEST(std::filesystem::is_empty(outside));
  // A repo folder that is a symlink.
  std::filesystem::create_directory_symlink(outside, f.hub + "/models--evil--repo");
  BOOST_TEST(!f.view.put_blob(RepoType::model, "evil/repo", etag, f.store_path(etag)).ok());
  BOOST_TEST(std::filesystem::is_empty(outside));
}

BOOST_AUTO_TEST_CASE(link_to_a_blob_not_in_the_view_is_refused) {
  Fixture f;
  auto st = f.view.link_file(RepoType::model, k_repo, k_commit, "x", std::string(40, 'a'));
  BOOST_TEST_REQUIRE(!st.ok());
  BOOST_TEST((st.error().code == ErrorCode::not_found));
}

BOOST_AUTO_TEST_CASE(relinking_replaces_the_link_atomically_and_clears_no_exist) {
  Fixture f;
  std::filesystem::create_directories(f.repo + "/.no_exist/" + k_commit);
  test::write_all(f.repo + "/.no_exist/" + k_commit + "/config.json", "");
  f.add("config.json", "one");
  BOOST_TEST(!test::exists_nofollow(f.repo + "/.no_exist/" + k_commit + "/config.json"));
  f.add("config.json", "two");
  BOOST_TEST(test::read_all(f.repo + "/snapshots/" + k_commit + "/config.json") == "two");
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e :
       std::filesystem::directory_iterator(f.repo + "/snapshots/" + k_commit)) {
    ++entries;
  }
  BOOST_TEST(entries == 1u);  // no temp link left behind
}

BOOST_AUTO_TEST_CASE(relinking_an_intact_link_leaves_it_untouched) {
  Fixture f;
  f.add("sub/config.json", "same");
  const std::string link = f.repo + "/snapshots/" + k_commit + "/sub/config.json";
  struct stat before {};
  BOOST_TEST_REQUIRE(::lstat(link.c_str(), &before) == 0);
  f.add("sub/config.json", "same");
  struct stat after {};
  BOOST_TEST_REQUIRE(::lstat(link.c_str(), &after) == 0);
  BOOST_TEST(after.st_ino == before.st_ino);  // not replaced by a new symlink
  BOOST_TEST(link_target(link) == "../../../blobs/" + hfaudit::util::git_blob_id_hex("same"));
}

BOOST_AUTO_TEST_CASE(remove_blob_everywhere_removes_links_then_blobs) {
  Fixture f;
  f.add("a.txt", "shared");
  f.add("sub/b.txt", "shared");
  f.add("c.txt", "other");
  BOOST_TEST(f.view.write_ref(RepoType::model, k_repo, "main", k_commit).ok());
  const std::string etag = hfaudit::util::git_blob_id_hex("shared");
  auto removed = f.view.remove_blob_everywhere(etag);
  BOOST_TEST_REQUIRE(removed.ok());
  BOOST_TEST(removed->links_removed == 2u);
  BOOST_TEST(removed->blobs_removed == 1u);
  BOOST_TEST(!test::exists_nofollow(f.repo + "/blobs/" + etag));
  BOOST_TEST(!test::exists_nofollow(f.repo + "/snapshots/" + k_commit + "/a.txt"));
  BOOST_TEST(test::exists_nofollow(f.repo + "/snapshots/" + k_commit + "/c.txt"));
  BOOST_TEST(test::check_hf_layout(f.hub) == 0);
}

BOOST_AUTO_TEST_CASE(remove_snapshot_keeps_shared_blobs_and_drops_empty_repos) {
  Fixture f;
  const std::string other = "1111111111111111111111111111111111111111";
  f.add("shared.txt", "shared");
  f.add("only_a.txt", "only a");
  const std::string shared = hfaudit::util::git_blob_id_hex("shared");
  BOOST_TEST(f.view.link_file(RepoType::model, k_repo, other, "shared.txt", shared).ok());
  BOOST_TEST(f.view.write_ref(RepoType::model, k_repo, "main", k_commit).ok());
  BOOST_TEST(f.view.write_ref(RepoType::model, k_repo, "dev", other).ok());

  auto removed = f.view.remove_snapshot(RepoType::model, k_repo, k_commit);
  BOOST_TEST_REQUIRE(removed.ok());
  BOOST_TEST(removed->refs_removed == 1u);
  BOOST_TEST(removed->blobs_removed == 1u);
  BOOST_TEST(!test::exists_nofollow(f.repo + "/refs/main"));
  BOOST_TEST(test::exists_nofollow(f.repo + "/blobs/" + shared));
  BOOST_TEST(test::check_hf_layout(f.hub) == 0);

  BOOST_TEST(f.view.remove_snapshot(RepoType::model, k_repo, other).ok());
  BOOST_TEST(!test::exists_nofollow(f.repo));
  BOOST_TEST(f.view.remove_snapshot(RepoType::model, k_repo, other).ok());  // absent: fine
}

BOOST_AUTO_TEST_CASE(checker_catches_what_huggingface_hub_calls_corruption) {
  Fixture f;
  f.add("README.md", "x");
  BOOST_TEST(f.view.write_ref(RepoType::model, k_repo, "main", k_commit).ok());
  BOOST_TEST(test::check_hf_layout(f.hub) == 0);
  test::write_all(f.repo + "/refs/dev", k_commit + "\n");  // trailing newline
  BOOST_TEST(test::check_hf_layout(f.hub) == 1);
  std::filesystem::remove(f.repo + "/refs/dev");
  std::filesystem::create_symlink("../../blobs/" + std::string(40, 'f'),
                                  f.repo + "/snapshots/" + k_commit + "/dangling");
  BOOST_TEST(test::check_hf_layout(f.hub) == 1);
  std::filesystem::remove(f.repo + "/snapshots/" + k_commit + "/dangling");
  test::write_all(f.hub + "/index.sqlite", "");  // hfaudit's own file in the view
  BOOST_TEST(test::check_hf_layout(f.hub) == 1);
}

BOOST_AUTO_TEST_SUITE_END()
