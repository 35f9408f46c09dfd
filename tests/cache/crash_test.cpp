// Crash consistency: a process killed at any point leaves the store and the
// view consistent (no unverified blob in the store, no snapshot link to a
// missing blob, refs only to existing snapshots), partial downloads stay
// resumable, and a later run finishes the job. Crashes are real: a forked
// child doing the work gets SIGKILL.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <thread>

#include "cache/blob_store.hpp"
#include "cache/hf_view.hpp"
#include "tests/cache/test_support.hpp"
#include "util/hash.hpp"

using namespace hfaudit::cache;
using hfaudit::cache::test::ScratchDir;
using namespace std::chrono_literals;

namespace {

const std::string k_repo = "org/model";
const std::string k_commit(40, 'c');

struct File {
  std::string path;
  std::string content;
};

std::vector<File> model_files() {
  return {{"config.json", "{\"a\":1}\n"},
          {"model.safetensors", test::make_content(400 * 1024, 21)},
          {"tokenizer/vocab.txt", test::make_content(64 * 1024, 22)}};
}

// One pull of the whole repo, slowed down so a kill lands mid-way. Every step
// is idempotent, so re-running it after a crash finishes the job.
bool pull(const BlobStore& store, const HfView& view, std::chrono::microseconds pause) {
  for (const File& f : model_files()) {
    const auto expected = ExpectedBlob::lfs(hfaudit::util::sha256_hex(f.content), f.content.size());
    auto lock = store.lock(expected);
    if (!lock) return false;
    if (!store.has_blob(expected.digest)) {
      auto writer = store.begin_write(expected, {Resume::yes, OnAbandon::keep_partial});
      if (!writer) return false;
      for (uint64_t off = (*writer)->resume_offset(); off < f.content.size(); off += 16 * 1024) {
        const size_t n = std::min<size_t>(16 * 1024, f.content.size() - off);
        if (!(*writer)->write(f.content.data() + off, n)) return false;
        std::this_thread::sleep_for(pause);
      }
      if (!(*writer)->commit()) return false;
    }
    if (!view.put_blob(RepoType::model, k_repo, expected.digest,
                       store.blob_path(expected.digest))) {
      return false;
    }
    std::this_thread::sleep_for(pause);
    if (!view.link_file(RepoType::model, k_repo, k_commit, f.path, expected.digest)) return false;
  }
  return view.write_ref(RepoType::model, k_repo, "main", k_commit).ok();
}

// Every file in the store hashes to its name.
void check_store_holds_only_verified_blobs(const BlobStore& store) {
  auto blobs = store.list();
  BOOST_TEST_REQUIRE(blobs.ok());
  for (const auto& b : *blobs) {
    auto digests = store.rehash(b.sha256);
    BOOST_TEST_REQUIRE(digests.ok());
    BOOST_TEST(digests->sha256 == b.sha256);
  }
}

void check_view_complete(const CacheOptions& options) {
  const std::string snap = options.hf_hub_cache + "/models--org--model/snapshots/" + k_commit;
  for (const File& f : model_files()) {
    BOOST_TEST(test::read_all(snap + "/" + f.path) == f.content);
  }
  BOOST_TEST(test::read_all(options.hf_hub_cache + "/models--org--model/refs/main") == k_commit);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(crash_test)

BOOST_AUTO_TEST_CASE(killed_mid_write_leaves_a_resumable_partial_and_no_blob) {
  ScratchDir dir;
  BlobStore store = std::move(BlobStore::open(dir.options())).value();
  const std::string data = test::make_content(1 << 20, 5);
  const auto expected = ExpectedBlob::lfs(hfaudit::util::sha256_hex(data), data.size());
  int fds[2];
  BOOST_TEST_REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  BOOST_TEST_REQUIRE(pid >= 0);
  if (pid == 0) {
    auto writer = store.begin_write(expected, {Resume::yes, OnAbandon::keep_partial});
    if (!writer) ::_exit(1);
    for (size_t off = 0; off < data.size(); off += 64 * 1024) {
      if (!(*writer)->write(data.data() + off, 64 * 1024)) ::_exit(2);
      if (off == 256 * 1024) (void)!::write(fds[1], "r", 1);
      std::this_thread::sleep_for(20ms);
    }
    ::_exit(3);  // never commits
  }
  char c = 0;
  BOOST_TEST_REQUIRE(::read(fds[0], &c, 1) == 1);
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  ::close(fds[0]);
  ::close(fds[1]);

  BOOST_TEST(!store.has_blob(expected.digest));
  check_store_holds_only_verified_blobs(store);
  auto writer = store.begin_write(expected, {Resume::yes, OnAbandon::keep_partial});
  BOOST_TEST_REQUIRE(writer.ok());  // the dead writer's flock is gone
  const uint64_t offset = (*writer)->resume_offset();
  BOOST_TEST(offset >= 320u * 1024);
  BOOST_TEST(offset < data.size());
  BOOST_TEST((*writer)->write(data.data() + offset, data.size() - offset).ok());
  auto committed = (*writer)->commit();
  BOOST_TEST_REQUIRE(committed.ok());
  BOOST_TEST(test::read_all(committed->path) == data);
}

BOOST_AUTO_TEST_CASE(pull_killed_at_any_point_is_consistent_and_finished_by_a_rerun) {
  ScratchDir dir;
  const CacheOptions options = dir.options();
  BlobStore store = std::move(BlobStore::open(options)).value();
  HfView view(options.hf_hub_cache);
  // Kill successive children later and later: each run resumes the last.
  for (const auto delay : {5ms, 20ms, 40ms, 80ms, 120ms, 200ms}) {
    const pid_t pid = ::fork();
    BOOST_TEST_REQUIRE(pid >= 0);
    if (pid == 0) ::_exit(pull(store, view, 2ms) ? 0 : 1);
    std::this_thread::sleep_for(delay);
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    BOOST_TEST_INFO("killed after " << delay.count() << " ms");
    check_store_holds_only_verified_blobs(store);
    BOOST_TEST(test::check_hf_layout(options.hf_hub_cache) == 0);
  }
  BOOST_TEST_REQUIRE(pull(store, view, 0ms));
  check_store_holds_only_verified_blobs(store);
  BOOST_TEST(test::check_hf_layout(options.hf_hub_cache) == 0);
  check_view_complete(options);
}

BOOST_AUTO_TEST_SUITE_END()
