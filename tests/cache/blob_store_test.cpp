#include "cache/blob_store.hpp"

#include <sys/stat.h>

#include <boost/test/unit_test.hpp>

#include "tests/cache/test_support.hpp"
#include "util/hash.hpp"

using namespace hfaudit::cache;
using hfaudit::cache::test::ScratchDir;
using hfaudit::util::ErrorCode;

namespace {

BlobStore open_store(const ScratchDir& dir) {
  auto store = BlobStore::open(dir.options());
  BOOST_TEST_REQUIRE(store.ok());
  return std::move(store).value();
}

std::string partial_path(const BlobStore& store, const ExpectedBlob& e) {
  return store.layout().partial_dir() + "/" +
         (e.kind == ExpectedHash::sha256 ? "sha256-" : "gitsha1-") + e.digest + ".partial";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(blob_store_test)

BOOST_AUTO_TEST_CASE(commit_of_lfs_content_lands_read_only_in_the_fanout) {
  ScratchDir dir;
  BlobStore store = open_store(dir);
  const std::string data = test::make_content(100000);
  const std::string sha = hfaudit::util::sha256_hex(data);
  auto writer = store.begin_write(ExpectedBlob::lfs(sha, data.size()));
  BOOST_TEST_REQUIRE(writer.ok());
  BOOST_TEST((*writer)->resume_offset() == 0u);
  BOOST_TEST((*writer)->write(data.data(), 1000).ok());
  BOOST_TEST(!store.has_blob(sha));  // nothing visible before commit
  BOOST_TEST((*writer)->write(data.data() + 1000, data.size() - 1000).ok());
  auto committed = (*writer)->commit();
  BOOST_TEST_REQUIRE(committed.ok());
  BOOST_TEST(committed->sha256 == sha);
  BOOST_TEST((committed->stored == Stored::new_blob));
  BOOST_TEST(committed->path == dir.options().hfaudit_home + "/blobs/sha256/" + sha.substr(0, 2) +
                                    "/" + sha.substr(2, 2) + "/" + sha);
  BOOST_TEST(store.has_blob(sha));
  BOOST_TEST(test::read_all(committed->path) == data);
  struct stat st {};
  BOOST_TEST(::stat(committed->path.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0444u);
  BOOST_TEST(!test::exists_nofollow(partial_path(store, ExpectedBlob::lfs(sha, data.size()))));
  auto source = store.open_blob(sha);
  BOOST_TEST_REQUIRE(source.ok());
  BOOST_TEST((*source)->size() == data.size());
}

BOOST_AUTO_TEST_CASE(regular_file_is_checked_against_its_git_blob_id) {
  ScratchDir dir;
  BlobStore store = open_store(dir);
  const std::string data = "hello world\n";
  auto writer = store.begin_write(
      ExpectedBlob::regular("3b18e512dba79e4c8300dd08aeb37f8e728b8dad", data.size()));
  BOOST_TEST_REQUIRE(writer.ok());
  BOOST_TEST((*writer)->write(data.data(), data.size()).ok());
  auto committed = (*writer)->commit();
  BOOST_TEST_REQUIRE(committed.ok());
  BOOST_TEST(committed->git_sha1 == "3b18e512dba79e4c8300dd08aeb37f8e728b8dad");
  BOOST_TEST(committed->sha256 == hfaudit::util::sha256_hex(data));
  BOOST_TEST(store.has_blob(committed->sha256));
}

BOOST_AUTO_TEST_CASE(byte_flip_is_rejected_at_commit_and_nothing_is_kept) {
  ScratchDir dir;
  BlobStore store = open_store(dir);
  const std::string data = test::make_content(50000);
  const std::string sha = hfaudit::util::sha256_hex(data);
  std::string flipped = data;
  flipped[12345] ^= 0x01;
  const auto expected = ExpectedBlob::lfs(sha, data.size());
  auto writer = store.begin_write(expected, {Resume::yes, OnAbandon::keep_partial});
  BOOST_TEST_REQUIRE(writer.ok());
  BOOST_TEST((*writer)->write(flipped.data(), flipped.size()).ok());
  auto committed = (*writer)->commit();
  BOOST_TEST_REQUIRE(!committed.ok());
  BOOST_TEST((committed.error().code == ErrorCode::integrity));
  BOOST_TEST(committed.error().message.find(sha) != std::string::npos);
  BOOST_TEST_REQUIRE((*writer)->mismatch().has_value());
  BOOST_TEST((*writer)->mismatch()->what == "sha256");
  BOOST_TEST((*writer)->mismatch()->expected == sha);
  BOOST_TEST((*writer)->mismatch()->actual == hfaudit::util::sha256_hex(flipped));
  BOOST_TEST(!store.has_blob(sha));
  BOOST_TEST(!store.has_blob(hfaudit::util::sha256_hex(flipped)));
  // Even with keep_partial, bad bytes are not kept for a later resume.
  writer->reset();
  BOOST_TEST(!test::exists_nofollow(partial_path(store, expected)));
}

BOOST_AUTO_TEST_CASE(wrong_git_blob_id_is_rejected) {
  ScratchDir dir;
  BlobStore store = open_store(dir);
  auto writer =
      store.begin_write(ExpectedBlob::regular("3b18e512dba79e4c8300dd08aeb37f8e728b8dad", 12));
  BOOST_TEST_REQUIRE(writer.ok());
  BOOST_TEST((*writer)->write("hello World\n", 12).ok());
  auto committed = (*writer)->commit();
  BOOST_TEST((committed.error().code == ErrorCode::integrity));
  BOOST_TEST((*writer)->mismatch()->what == "git sha1");
}

BOOST_AUTO_TEST_CASE(more_bytes_than_expected_fail_immediately) {
  ScratchDir dir;
  BlobStore store = open_store(dir);
  const std::string data = "0123456789";
  const auto expected = ExpectedBlob::lfs(hfaudit::util::sha256_hex("01234"), 5);
  auto writer = store.begin_write(expected);
  BOOST_TEST_REQUIRE(writer.ok());
  auto st = (*writer)->write(data.data(), data.size());
  BOOST_TEST((st.error().code == ErrorCode::integrity));
  BOOST_TEST((*writer)->mismatch()->what == "size");
  BOOST_TEST(!test::exists_nofollow(partial_path(store, expected)));
  BOOST_TEST(!(*writer)->write("0", 1).ok());  // poisoned
}

BOOST_AUTO_TEST_CASE(commit_before_all_bytes_is_refused_and_writer_stays_usable) {
  ScratchDir dir;
  BlobStore store = open_store(dir);
  const std::string data = test::make_content(1000);
  auto writer = store.begin_write(ExpectedBlob::lfs(hfaudit::util::sha256_hex(data), data.size()));
  BOOST_TEST_REQUIRE(writer.ok());
  BOOST_TEST((*writer)->write(data.data(), 500).ok());
  auto early = (*writer)->commit();
  BOOST_TEST((early.error().code == ErrorCode::invalid_argument));
  BOOST_TEST((*writer)->write(data.data() + 500, 500).ok());
  BOOST_TEST((*writer)->commit().ok());
}

BOOST_AUTO_TEST_CASE(abandoned_writer_is_resumed_without_refetching_the_prefix) {
  ScratchDir dir;
  BlobStore store = open_store(dir);
  const std::string data = test::make_content(300000, 7);
  const auto expected = ExpectedBlob::lfs(hfaudit::util::sha256_hex(data), data.size());
  {
    auto writer = store.begin_write(expected, {Resume::yes, OnAbandon::keep_partial});
    BOOST_TEST_REQUIRE(writer.ok());
    BOOST_TEST((*writer)->write(data.data(), 123457).ok());
    // connection cut: the writer goes away without commit
  }
  BOOST_TEST(test::exists_nofollow(partial_path(store, expected)));
  BOOST_TEST(!store.has_blob(expected.digest));
  auto writer = store.begin_write(expected, {Resume::yes, OnAbandon::keep_partial});
  BOOST_TEST_REQUIRE(writer.ok());
  BOOST_TEST((*writer)->resume_offset() == 123457u);
  BOOST_TEST((*writer)->hashed_bytes() == 123457u);
  BOOST_TEST((*writer)->write(data.data() + 123457, data.size() - 123457).ok());
  auto committed = (*writer)->commit();
  BOOST_TEST_REQUIRE(committed.ok());
  BOOST_TEST(test::read_all(committed->path) == data);
}

BOOST_AUTO_TEST_CASE(abandoned_out_of_order_ranges_are_resumed_with_only_the_gaps_missing) {
  ScratchDir dir;
  BlobStore store = open_store(dir);
  const std::string data = test::make_content(40000, 3);
  const auto expected = ExpectedBlob::lfs(hfaudit::util::sha256_hex(data), data.size());
  {
    auto writer = store.begin_write(expected, {Resume::yes, OnAbandon::keep_partial});
    BOOST_TEST_REQUIRE(writer.ok());
    BOOST_TEST((*writer)->write_at(0, data.data(), 10000).ok());
    BOOST_TEST((*writer)->write_at(30000, data.data() + 30000, 5000).ok());
    BOOST_TEST(((*writer)->missing() == std::vector<ByteRange>{{10000, 30000}, {35000, 40000}}));
  }  // abandoned: the destructor checkpoints the range beyond the gap
  auto writer = store.begin_write(expected);
  BOOST_TEST_REQUIRE(writer.ok());
  BOOST_TEST((*writer)->resume_offset() == 10000u);
  BOOST_TEST((*writer)->resumed_bytes() == 15000u);
  BOOST_TEST(((*writer)->missing() == std::vector<ByteRange>{{10000, 30000}, {35000, 40000}}));
  BOOST_TEST((*writer)->write_at(35000, data.data() + 35000, 5000).ok());
  BOOST_TEST((*writer)->write_at(10000, data.data() + 10000, 20000).ok());
  BOOST_TEST((*writer)->missing().empty());
  BOOST_TEST((*writer)->reread_bytes() == 10000u);  // the two ranges that arrived early
  auto committed = (*writer)->commit();
  BOOST_TEST_REQUIRE(committed.ok());
  BOOST_TEST(test::read_all(committed->path) == data);
  BOOST_TEST(!test::exists_nofollow(partial_path(store, expected) + ".ranges"));
}

// A kill -9 runs no destructor: what the last checkpoint recorded is resumed, and
// without one only the data before the first hole.
BOOST_AUTO_TEST_CASE(a_killed_range_writer_resumes_from_its_last_checkpoint) {
  ScratchDir dir;
  BlobStore store = open_store(dir);
  const std::string data = test::make_content(1 << 20, 5);
  const auto expected = ExpectedBlob::lfs(hfaudit::util::sha256_hex(data), data.size());
  const auto killed_writer = [&](bool checkpoint) {
    const pid_t child = ::fork();
    BOOST_TEST_REQUIRE(child >= 0);
    if (child == 0) {
      auto writer = store.begin_write(expected, {Resume::no, OnAbandon::keep_partial});
      bool ok = writer.ok() && (*writer)->write_at(0, data.data(), 100000).ok() &&
                (*writer)->write_at(524288, data.data() + 524288, 262144).ok() &&
                (!checkpoint || (*writer)->checkpoint().ok()) &&
                (*writer)->write_at(100000, data.data() + 100000, 50000).ok();  // after it
      ::_exit(ok ? 0 : 1);  // no destructor, no cleanup: as after SIGKILL
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    BOOST_TEST_REQUIRE((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  };
  killed_writer(true);
  {
    auto writer = store.begin_write(expected, {Resume::yes, OnAbandon::delete_partial});
    BOOST_TEST_REQUIRE(writer.ok());
    BOOST_TEST((*writer)->resume_offset() == 100000u);  // the prefix at the checkpoint
    BOOST_TEST(
        ((*writer)->missing() == std::vector<ByteRange>{{100000, 524288}, {786432, 1 << 20}}));
    BOOST_TEST((*writer)->write_at(100000, data.data() + 100000, 424288).ok());
    BOOST_TEST((*writer)->write_at(786432, data.data() + 786432, 262144).ok());
    BOOST_TEST((*writer)->commit().ok());
  }
  BOOST_TEST_REQUIRE(store.remove(expected.digest).ok());
  killed_writer(false);
  auto writer = store.begin_write(expected, {Resume::yes, OnAbandon::delete_partial});
  BOOST_TEST_REQUIRE(writer.ok());
  BOOST_TEST((*writer)->resume_offset() <= 150000u);  // at most up to the first hole
  BOOST_TEST((*writer)->missing().size() == 1u);
  BOOST_TEST((*writer)
                 ->write_at((*writer)->resume_offset(), data.data() + (*writer)->resume_offset(),
                            data.size() - (*writer)->resume_offset())
                 .ok());
  BOOST_TEST((*writer)->commit().ok());
}

BOOST_AUTO_TEST_CASE(an_inconsistent_checkpoint_is_ignored) {
  ScratchDir dir;
  BlobStore store = open_store(dir);
  const std::string data = test::make_content(50000, 9);
  const auto expected = ExpectedBlob::lfs(hfaudit::util::sha256_hex(data), data.size());
  test::write_all(partial_path(store, expected), data.substr(0, 20000));
  for (const char* bad : {"not json", R"({"frontier": 30000, "ranges": []})",
                          R"({"frontier": 100, "ranges": [[5000, 90000]]})",
                          R"({"frontier": 100, "ranges": [[5000, 6000], [5500, 7000]]})"}) {
    test::write_all(partial_path(store, expected) + ".ranges", bad);
    auto writer = store.begin_write(expected, {Resume::yes, OnAbandon::keep_partial});
    BOOST_TEST_REQUIRE(writer.ok());
    BOOST_TEST((*writer)->resume_offset() == 20000u, bad);  // the file's own prefix
    BOOST_TEST(((*writer)->missing() == std::vector<ByteRange>{{20000, 50000}}), bad);
  }
}

BOOST_AUTO_TEST_CASE(restart_ignores_a_partial_and_delete_on_abandon_removes_it) {
  ScratchDir dir;
  BlobStore store = open_store(dir);
  const std::string data = test::make_content(5000);
  const auto expected = ExpectedBlob::lfs(hfaudit::util::sha256_hex(data), data.size());
  {
    auto writer = store.begin_write(expected, {Resume::yes, OnAbandon::keep_partial});
    BOOST_TEST_REQUIRE(writer.ok());
    BOOST_TEST((*writer)->write(data.data(), 100).ok());
  }
  {
    auto writer = store.begin_write(expected, {Resume::no, OnAbandon::delete_partial});
    BOOST_TEST_REQUIRE(writer.ok());
    BOOST_TEST((*writer)->resume_offset() == 0u);
    BOOST_TEST((*writer)->write(data.data(), 100).ok());
  }
  BOOST_TEST(!test::exists_nofollow(partial_path(store, expected)));
}

BOOST_AUTO_TEST_CASE(resume_of_a_wrong_prefix_fails_verification_and_is_discarded) {
  ScratchDir dir;
  BlobStore store = open_store(dir);
  const std::string data = test::make_content(5000);
  const auto expected = ExpectedBlob::lfs(hfaudit::util::sha256_hex(data), data.size());
  // A partial whose bytes never were a correct prefix (e.g. lost in a crash).
  test::write_all(partial_path(store, expected), std::string(1000, '\0'));
  auto writer = store.begin_write(expected);
  BOOST_TEST_REQUIRE(writer.ok());
  BOOST_TEST((*writer)->resume_offset() == 1000u);
  BOOST_TEST((*writer)->write(data.data() + 1000, data.size() - 1000).ok());
  BOOST_TEST(((*writer)->commit().error().code == ErrorCode::integrity));
  BOOST_TEST(!test::exists_nofollow(partial_path(store, expected)));
  auto again = store.begin_write(expected, {Resume::no, OnAbandon::delete_partial});
  BOOST_TEST_REQUIRE(again.ok());
  BOOST_TEST((*again)->write(data.data(), data.size()).ok());
  BOOST_TEST((*again)->commit().ok());
}

BOOST_AUTO_TEST_CASE(out_of_order_ranges_hash_correctly_and_reread_only_what_arrived_early) {
  ScratchDir dir;
  BlobStore store = open_store(dir);
  const size_t chunk = 64 * 1024 + 17;
  const std::string data = test::make_content(4 * chunk + 5, 11);
  const auto expected = ExpectedBlob::lfs(hfaudit::util::sha256_hex(data), data.size());
  auto writer = store.begin_write(expected);
  BOOST_TEST_REQUIRE(writer.ok());
  auto put = [&](size_t index, size_t length) {
    BOOST_TEST((*writer)->write_at(index * chunk, data.data() + index * chunk, length).ok());
  };
  put(2, chunk);  // ahead of the frontier: written, not hashed
  BOOST_TEST((*writer)->hashed_bytes() == 0u);
  put(4, 5);      // ahead too
  put(0, chunk);  // at the frontier: hashed from the buffer
  BOOST_TEST((*writer)->hashed_bytes() == chunk);
  BOOST_TEST((*writer)->reread_bytes() == 0u);
  put(1, chunk);  // fills the gap: chunk 2 is read back once
  BOOST_TEST((*writer)->hashed_bytes() == 3 * chunk);
  BOOST_TEST((*writer)->reread_bytes() == chunk);
  put(3, chunk);  // fills the last gap: the 5-byte tail is read back
  BOOST_TEST((*writer)->complete());
  BOOST_TEST((*writer)->reread_bytes() == chunk + 5);
  auto committed = (*writer)->commit();
  BOOST_TEST_REQUIRE(committed.ok());
  BOOST_TEST(test::read_all(committed->path) == data);
}

BOOST_AUTO_TEST_CASE(overlapping_and_repeated_ranges_are_harmless) {
  ScratchDir dir;
  BlobStore store = open_store(dir);
  const std::string data = test::make_content(30000, 5);
  const auto expected = ExpectedBlob::lfs(hfaudit::util::sha256_hex(data), data.size());
  auto writer = store.begin_write(expected);
  BOOST_TEST_REQUIRE(writer.ok());
  auto& w = **writer;
  BOOST_TEST(w.write_at(20000, data.data() + 20000, 10000).ok());
  BOOST_TEST(w.write_at(15000, data.data() + 15000, 10000).ok());  // overlaps a pending range
  BOOST_TEST(w.write_at(0, data.data(), 10000).ok());
  BOOST_TEST(w.write_at(5000, data.data() + 5000, 5000).ok());  // already hashed: ignored
  BOOST_TEST(w.write_at(8000, data.data() + 8000, 7000).ok());  // straddles the frontier
  BOOST_TEST(w.complete());
  BOOST_TEST(w.reread_bytes() == 15000u);
  BOOST_TEST(w.commit().ok());
}

BOOST_AUTO_TEST_CASE(identical_content_is_stored_once) {
  ScratchDir dir;
  BlobStore store = open_store(dir);
  const std::string data = "same bytes";
  const auto expected = ExpectedBlob::lfs(hfaudit::util::sha256_hex(data), data.size());
  std::string first_path;
  ino_t first_inode = 0;
  for (int i = 0; i < 2; ++i) {
    auto writer = store.begin_write(expected);
    BOOST_TEST_REQUIRE(writer.ok());
    BOOST_TEST((*writer)->write(data.data(), data.size()).ok());
    auto committed = (*writer)->commit();
    BOOST_TEST_REQUIRE(committed.ok());
    BOOST_TEST((committed->stored == (i == 0 ? Stored::new_blob : Stored::already_present)));
    struct stat st {};
    ::stat(committed->path.c_str(), &st);
    if (i == 0) first_inode = st.st_ino;
    BOOST_TEST(st.st_ino == first_inode);  // the existing inode is kept
  }
  auto listed = store.list();
  BOOST_TEST_REQUIRE(listed.ok());
  BOOST_TEST(listed->size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_second_writer_for_the_same_blob_is_refused) {
  ScratchDir dir;
  BlobStore store = open_store(dir);
  const auto expected = ExpectedBlob::lfs(hfaudit::util::sha256_hex("x"), 1);
  auto first = store.begin_write(expected);
  BOOST_TEST_REQUIRE(first.ok());
  auto second = store.begin_write(expected);
  BOOST_TEST(!second.ok());
}

BOOST_AUTO_TEST_CASE(malformed_expected_digest_is_refused) {
  ScratchDir dir;
  BlobStore store = open_store(dir);
  BOOST_TEST(!store.begin_write(ExpectedBlob::lfs("../../etc/passwd", 1)).ok());
  BOOST_TEST(!store.begin_write(ExpectedBlob::regular(std::string(64, 'a'), 1)).ok());
  BOOST_TEST(!store.begin_write(ExpectedBlob::lfs(std::string(64, 'A'), 1)).ok());
}

BOOST_AUTO_TEST_CASE(rehash_quarantine_and_remove) {
  ScratchDir dir;
  BlobStore store = open_store(dir);
  const std::string data = test::make_content(2000);
  const auto expected = ExpectedBlob::lfs(hfaudit::util::sha256_hex(data), data.size());
  auto writer = store.begin_write(expected);
  BOOST_TEST_REQUIRE(writer.ok());
  BOOST_TEST((*writer)->write(data.data(), data.size()).ok());
  auto committed = (*writer)->commit();
  BOOST_TEST_REQUIRE(committed.ok());

  auto digests = store.rehash(expected.digest);
  BOOST_TEST_REQUIRE(digests.ok());
  BOOST_TEST(digests->sha256 == expected.digest);
  test::flip_byte(committed->path, 10);
  digests = store.rehash(expected.digest);
  BOOST_TEST(digests->sha256 != expected.digest);

  auto quarantined = store.quarantine(expected.digest, "test: flipped");
  BOOST_TEST_REQUIRE(quarantined.ok());
  BOOST_TEST(!store.has_blob(expected.digest));
  BOOST_TEST(test::exists_nofollow(*quarantined + "/blob"));  // evidence kept
  BOOST_TEST(test::read_all(*quarantined + "/reason.json").find("test: flipped") !=
             std::string::npos);
  BOOST_TEST((store.quarantine(expected.digest, "again").error().code == ErrorCode::not_found));

  BOOST_TEST(store.remove(expected.digest).ok());  // absent: fine
}

BOOST_AUTO_TEST_SUITE_END()
