#include "cache/lock.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <thread>

#include "cache/blob_store.hpp"
#include "tests/cache/test_support.hpp"
#include "util/hash.hpp"

using namespace hfaudit::cache;
using hfaudit::cache::test::ScratchDir;
using namespace std::chrono_literals;

namespace {

// A child process that runs `body` and exits with its result; the parent
// gets a pipe the child writes one byte to once `ready` is reached.
struct Child {
  pid_t pid = -1;
  int ready_fd = -1;

  void wait_ready() const {
    char c = 0;
    BOOST_TEST_REQUIRE(::read(ready_fd, &c, 1) == 1);
  }
  int join() const {
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::close(ready_fd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
};

template <typename F>
Child spawn(F body) {
  int fds[2];
  BOOST_TEST_REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  BOOST_TEST_REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    const int fd = fds[1];
    auto signal_ready = [fd] {
      const char c = 'r';
      (void)!::write(fd, &c, 1);
    };
    ::_exit(body(signal_ready));
  }
  ::close(fds[1]);
  return Child{pid, fds[0]};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(lock_test)

BOOST_AUTO_TEST_CASE(try_lock_fails_while_another_process_holds_it) {
  ScratchDir dir;
  const Layout layout(dir.options());
  BOOST_TEST_REQUIRE(layout.create_directories().ok());
  Child child = spawn([&](auto ready) {
    auto lock = lock_named(layout, "x");
    if (!lock) return 1;
    ready();
    std::this_thread::sleep_for(300ms);
    return 0;
  });
  child.wait_ready();
  auto attempt = try_lock_named(layout, "x");
  BOOST_TEST_REQUIRE(attempt.ok());
  BOOST_TEST(!attempt->has_value());
  const auto start = std::chrono::steady_clock::now();
  auto timed = lock_named(layout, "x", LockMode::exclusive, 50ms);
  BOOST_TEST(!timed.ok());
  BOOST_TEST((std::chrono::steady_clock::now() - start >= 50ms));
  // A shared request also waits for an exclusive holder.
  auto shared = try_lock_named(layout, "x", LockMode::shared);
  BOOST_TEST(!shared->has_value());
  BOOST_TEST(child.join() == 0);
  auto after = try_lock_named(layout, "x");
  BOOST_TEST(after->has_value());
}

BOOST_AUTO_TEST_CASE(shared_locks_coexist_and_exclude_exclusive) {
  ScratchDir dir;
  const Layout layout(dir.options());
  BOOST_TEST_REQUIRE(layout.create_directories().ok());
  auto a = lock_named(layout, "gc", LockMode::shared);
  auto b = lock_named(layout, "gc", LockMode::shared, 100ms);
  BOOST_TEST(a.ok());
  BOOST_TEST(b.ok());
  auto c = try_lock_named(layout, "gc", LockMode::exclusive);
  BOOST_TEST(!c->has_value());
  a->release();
  b->release();
  c = try_lock_named(layout, "gc", LockMode::exclusive);
  BOOST_TEST(c->has_value());
}

BOOST_AUTO_TEST_CASE(lock_is_released_when_the_holder_dies) {
  ScratchDir dir;
  const Layout layout(dir.options());
  BOOST_TEST_REQUIRE(layout.create_directories().ok());
  Child child = spawn([&](auto ready) {
    auto lock = lock_named(layout, "crash");
    ready();
    std::this_thread::sleep_for(10s);
    return 0;
  });
  child.wait_ready();
  ::kill(child.pid, SIGKILL);
  child.join();
  auto lock = lock_named(layout, "crash", LockMode::exclusive, 1000ms);
  BOOST_TEST(lock.ok());
}

BOOST_AUTO_TEST_CASE(lock_names_cannot_escape_the_locks_directory) {
  ScratchDir dir;
  const Layout layout(dir.options());
  BOOST_TEST(!lock_path(layout, "../x").ok());
  BOOST_TEST(!lock_path(layout, "a/b").ok());
  BOOST_TEST(!lock_path(layout, "").ok());
  BOOST_TEST(lock_path(layout, "blob-sha256-abc").ok());
}

BOOST_AUTO_TEST_CASE(two_processes_pulling_one_blob_download_it_once) {
  ScratchDir dir;
  auto opened = BlobStore::open(dir.options());
  BOOST_TEST_REQUIRE(opened.ok());
  const BlobStore& store = *opened;
  const std::string data = test::make_content(256 * 1024, 9);
  const auto expected = ExpectedBlob::lfs(hfaudit::util::sha256_hex(data), data.size());

  // What a pull does per file: lock, check, download if absent, commit, unlock.
  // Returns 10 if it downloaded, 20 if it found the blob already there.
  auto pull = [&](auto on_locked) -> int {
    auto lock = store.lock(expected);
    if (!lock) return 1;
    on_locked();
    if (store.has_blob(expected.digest)) return 20;
    auto writer = store.begin_write(expected);
    if (!writer) return 2;
    for (size_t off = 0; off < data.size(); off += 32 * 1024) {
      if (!(*writer)->write(data.data() + off, 32 * 1024)) return 3;
      std::this_thread::sleep_for(10ms);  // a slow download
    }
    return (*writer)->commit() ? 10 : 4;
  };

  Child child = spawn([&](auto ready) { return pull(ready); });
  child.wait_ready();  // the child holds the lock and is downloading
  const auto start = std::chrono::steady_clock::now();
  const int parent_result = pull([] {});
  const auto waited = std::chrono::steady_clock::now() - start;
  BOOST_TEST(child.join() == 10);
  BOOST_TEST(parent_result == 20);  // waited, then found it committed
  BOOST_TEST((waited >= 50ms));
  auto blobs = store.list();
  BOOST_TEST_REQUIRE(blobs.ok());
  BOOST_TEST(blobs->size() == 1u);
  BOOST_TEST(test::read_all(store.blob_path(expected.digest)) == data);
}

BOOST_AUTO_TEST_SUITE_END()
