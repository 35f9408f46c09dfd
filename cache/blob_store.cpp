#include "cache/blob_store.hpp"

#include <fcntl.h>
#include <stdio.h>  // renameat2
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <system_error>

namespace hfaudit::cache {

namespace {

using util::errno_error;
using util::ErrorCode;
using util::make_error;
using util::Result;
using util::Status;
using util::UniqueFd;

// Fixed-size I/O buffer: memory stays flat whatever the blob size.
constexpr size_t k_io_buffer_size = 1 << 16;
constexpr mode_t k_blob_mode = 0444;

std::string kind_name(ExpectedHash kind) {
  return kind == ExpectedHash::sha256 ? "sha256" : "gitsha1";
}

size_t digest_length(ExpectedHash kind) {
  return kind == ExpectedHash::sha256 ? util::k_sha256_hex_length : util::k_sha1_hex_length;
}

Status pwrite_all(int fd, const char* data, size_t size, uint64_t offset, const std::string& path) {
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pwrite(fd, data + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(path, "write", errno);
    }
    done += static_cast<size_t>(n);
  }
  return util::Ok{};
}

// Moves `from` to `to` unless `to` exists. True if moved, false if `to` was
// already there. Never replaces: a concurrent committer of the same content
// keeps its inode (and any hard links the view made to it).
Result<bool> rename_no_replace(const std::string& from, const std::string& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return true;
  if (errno == EEXIST) return false;
  if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
    return errno_error(to, "rename", errno);
  // File systems without RENAME_NOREPLACE: link() also refuses to replace.
  if (::link(from.c_str(), to.c_str()) != 0) {
    if (errno == EEXIST) return false;
    return errno_error(to, "link", errno);
  }
  ::unlink(from.c_str());
  return true;
}

bool is_blob_name(std::string_view name) {
  return util::is_lower_hex(name, util::k_sha256_hex_length);
}

}  // namespace

std::string blob_lock_name(const ExpectedBlob& expected) {
  return "blob-" + kind_name(expected.kind) + "-" + expected.digest;
}

// ---------------------------------------------------------------------------
// BlobWriter

BlobWriter::BlobWriter(const Layout& layout, ExpectedBlob expected, WriterOptions options)
    : m_layout(layout),
      m_expected(std::move(expected)),
      m_options(options),
      m_partial_path(layout.partial_dir() + "/" + kind_name(m_expected.kind) + "-" +
                     m_expected.digest + ".partial"),
      m_hasher(m_expected.kind == ExpectedHash::git_sha1 ? util::GitBlobId::compute
                                                         : util::GitBlobId::skip,
               m_expected.size) {}

BlobWriter::~BlobWriter() {
  if (m_state != State::open) return;
  if (m_options.on_abandon == OnAbandon::keep_partial) {
    // Keep every written range for a later resume. Without a checkpoint,
    // bytes after a gap cannot be told apart from the hole: keep the prefix.
    if (checkpoint()) return;
    remove_checkpoint();
    if (::ftruncate(m_fd.get(), static_cast<off_t>(m_frontier)) != 0) discard();
    return;
  }
  discard();
}

Status BlobWriter::open_partial() {
  // The lock-file dance: after flock() succeeds, make sure the name still
  // refers to the file we locked. A previous writer may have committed
  // (renamed it into the store) between our open() and flock(); writing
  // through that descriptor would modify a committed blob.
  for (int attempt = 0; attempt < 100; ++attempt) {
    UniqueFd fd(::open(m_partial_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd.valid()) return errno_error(m_partial_path, "open", errno);
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) {
        return make_error(ErrorCode::io, m_partial_path +
                                             ": another writer is downloading this blob (hold "
                                             "the blob lock to wait for it)");
      }
      return errno_error(m_partial_path, "flock", errno);
    }
    struct stat by_fd {};
    struct stat by_name {};
    if (::fstat(fd.get(), &by_fd) != 0) return errno_error(m_partial_path, "fstat", errno);
    if (::lstat(m_partial_path.c_str(), &by_name) == 0 && by_name.st_ino == by_fd.st_ino &&
        by_name.st_dev == by_fd.st_dev) {
      m_fd = std::move(fd);
      return util::Ok{};
    }
  }
  return make_error(ErrorCode::io, m_partial_path + ": partial file keeps changing");
}

Status BlobWriter::hash_from_file(uint64_t end) {
  std::unique_ptr<char[]> buffer(new char[k_io_buffer_size]);
  while (m_frontier < end) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(k_io_buffer_size, end - m_frontier));
    const ssize_t n = ::pread(m_fd.get(), buffer.get(), want, static_cast<off_t>(m_frontier));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(m_partial_path, "read", errno);
    }
    if (n == 0) return make_error(ErrorCode::io, m_partial_path + ": unexpected end of file");
    m_hasher.update(buffer.get(), static_cast<size_t>(n));
    m_frontier += static_cast<uint64_t>(n);
  }
  return util::Ok{};
}

Status BlobWriter::drain_pending() {
  while (!m_pending.empty() && m_pending.begin()->first <= m_frontier) {
    const uint64_t end = m_pending.begin()->second;
    m_pending.erase(m_pending.begin());
    if (end <= m_frontier) continue;
    const uint64_t before = m_frontier;
    HFAUDIT_TRY(hash_from_file(end));
    m_reread += m_frontier - before;
  }
  return util::Ok{};
}

util::Error BlobWriter::fail_integrity(IntegrityMismatch mismatch) {
  discard();
  m_state = State::failed;
  std::string message = "integrity error: " + m_expected.digest + ": " + mismatch.what +
                        " mismatch: expected " + mismatch.expected + ", got " + mismatch.actual +
                        " (bytes discarded)";
  m_mismatch = std::move(mismatch);
  return make_error(ErrorCode::integrity, std::move(message));
}

void BlobWriter::discard() {
  if (m_fd.valid()) {
    // We hold the partial's flock, so the names are still ours to remove.
    remove_checkpoint();
    ::unlink(m_partial_path.c_str());
    m_fd.reset();
  }
  m_pending.clear();
}

void BlobWriter::remove_checkpoint() {
  ::unlink(ranges_path().c_str());
  ::unlink((ranges_path() + ".tmp").c_str());
}

std::vector<ByteRange> BlobWriter::missing() const {
  std::vector<ByteRange> out;
  uint64_t at = m_frontier;
  for (const auto& [start, end] : m_pending) {
    if (start > at) out.push_back({at, start});
    at = std::max(at, end);
  }
  if (at < m_expected.size) out.push_back({at, m_expected.size});
  return out;
}

Status BlobWriter::checkpoint() {
  if (m_state != State::open) {
    return make_error(ErrorCode::invalid_argument, m_partial_path + ": writer is closed");
  }
  if (m_pending.empty()) {
    // The partial is one contiguous prefix: its size says it all.
    remove_checkpoint();
    return util::Ok{};
  }
  nlohmann::json ranges = nlohmann::json::array();
  for (const auto& [start, end] : m_pending) ranges.push_back({start, end});
  const std::string text =
      nlohmann::json{{"frontier", m_frontier}, {"ranges", std::move(ranges)}}.dump();
  // No fsync: the partial's bytes are not synced either, and commit() verifies both.
  const std::string temp = ranges_path() + ".tmp";
  UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return errno_error(temp, "open", errno);
  HFAUDIT_TRY(pwrite_all(fd.get(), text.data(), text.size(), 0, temp));
  fd.reset();
  if (::rename(temp.c_str(), ranges_path().c_str()) != 0)
    return errno_error(ranges_path(), "rename", errno);
  return util::Ok{};
}

std::optional<BlobWriter::Checkpoint> BlobWriter::read_checkpoint(uint64_t file_size) const {
  auto text = util::read_file(ranges_path());
  if (!text) return std::nullopt;
  const auto doc = nlohmann::json::parse(*text, nullptr, false);
  if (!doc.is_object() || !doc.contains("frontier") || !doc["frontier"].is_number_unsigned() ||
      !doc.contains("ranges") || !doc["ranges"].is_array())
    return std::nullopt;
  Checkpoint saved;
  saved.frontier = doc["frontier"].get<uint64_t>();
  const uint64_t limit = std::min(file_size, m_expected.size);
  if (saved.frontier > limit) return std::nullopt;
  // Ranges as write_at keeps them: beyond the frontier, sorted, disjoint, not touching.
  uint64_t previous_end = saved.frontier;
  for (const auto& range : doc["ranges"]) {
    if (!range.is_array() || range.size() != 2 || !range[0].is_number_unsigned() ||
        !range[1].is_number_unsigned())
      return std::nullopt;
    const auto start = range[0].get<uint64_t>();
    const auto end = range[1].get<uint64_t>();
    if (start <= previous_end || end <= start || end > limit) return std::nullopt;
    saved.ranges.emplace(start, end);
    previous_end = end;
  }
  return saved;
}

Status BlobWriter::resume(uint64_t file_size, uint64_t block_size) {
  uint64_t keep = 0;
  std::map<uint64_t, uint64_t> ranges;
  if (auto saved = read_checkpoint(file_size)) {
    keep = saved->frontier;
    ranges = std::move(saved->ranges);
  } else if (file_size <= m_expected.size) {
    keep = file_size;
    // A writer killed before its first checkpoint can leave ranges after a
    // hole; only data before the first hole can be a real prefix. A hole
    // starts on a block boundary and the block before it may end in zeros
    // never written, so that block is dropped too. (A hint either way:
    // commit() verifies everything.)
    const off_t hole = ::lseek(m_fd.get(), 0, SEEK_HOLE);
    if (hole >= 0 && static_cast<uint64_t>(hole) < keep) {
      const uint64_t block = std::max<uint64_t>(4096, block_size);
      const uint64_t at = static_cast<uint64_t>(hole) / block * block;
      keep = at >= block ? at - block : 0;
    }
  }
  const uint64_t extent = ranges.empty() ? keep : std::max(keep, ranges.rbegin()->second);
  if (extent != file_size && ::ftruncate(m_fd.get(), static_cast<off_t>(extent)) != 0)
    return errno_error(m_partial_path, "truncate", errno);
  // Re-hash the kept prefix once: digest state cannot be saved across processes.
  HFAUDIT_TRY(hash_from_file(keep));
  m_resume_offset = keep;
  m_append_at = keep;
  m_resumed_bytes = keep;
  for (const auto& [start, end] : ranges) m_resumed_bytes += end - start;
  m_pending = std::move(ranges);
  return util::Ok{};
}

Status BlobWriter::write(const char* data, size_t size) {
  HFAUDIT_TRY(write_at(m_append_at, data, size));
  m_append_at += size;
  return util::Ok{};
}

Status BlobWriter::write_at(uint64_t offset, const char* data, size_t size) {
  if (m_state != State::open) {
    return make_error(ErrorCode::invalid_argument, m_partial_path + ": writer is closed");
  }
  if (offset > m_expected.size || size > m_expected.size - offset) {
    return fail_integrity(
        {"size", std::to_string(m_expected.size), "at least " + std::to_string(offset + size)});
  }
  if (size == 0 || offset + size <= m_frontier) return util::Ok{};
  if (offset < m_frontier) {
    // Already hashed: rewriting those bytes could make file and digest disagree.
    const uint64_t skip = m_frontier - offset;
    data += skip;
    size -= static_cast<size_t>(skip);
    offset = m_frontier;
  }
  if (auto st = pwrite_all(m_fd.get(), data, size, offset, m_partial_path); !st) {
    discard();
    m_state = State::failed;
    return st.error();
  }
  if (offset == m_frontier) {
    m_hasher.update(data, size);
    m_frontier += size;
    start_writeback();
  } else {
    // Remember the range, merged with any it touches, for later hashing.
    uint64_t start = offset;
    uint64_t end = offset + size;
    auto it = m_pending.upper_bound(start);
    if (it != m_pending.begin() && std::prev(it)->second >= start) --it;
    while (it != m_pending.end() && it->first <= end) {
      start = std::min(start, it->first);
      end = std::max(end, it->second);
      it = m_pending.erase(it);
    }
    m_pending.emplace(start, end);
  }
  if (auto st = drain_pending(); !st) {
    discard();
    m_state = State::failed;
    return st.error();
  }
  return util::Ok{};
}

void BlobWriter::start_writeback() {
  // commit() fsyncs every byte before the rename. Starting the writeback of
  // what is already hashed while the download goes on overlaps the disk with
  // the network, so that fsync has little left to do. Advisory: errors are
  // ignored (fsync reports the ones that matter).
  constexpr uint64_t k_writeback_step = 8ull << 20;
  if (m_frontier - m_written_back < k_writeback_step) return;
  ::sync_file_range(m_fd.get(), static_cast<off_t>(m_written_back),
                    static_cast<off_t>(m_frontier - m_written_back), SYNC_FILE_RANGE_WRITE);
  m_written_back = m_frontier;
}

Result<CommittedBlob> BlobWriter::commit() {
  if (m_state != State::open) {
    return make_error(ErrorCode::invalid_argument, m_partial_path + ": writer is closed");
  }
  if (!complete()) {
    return make_error(ErrorCode::invalid_argument,
                      m_partial_path + ": commit before all bytes were written (" +
                          std::to_string(m_frontier) + " of " + std::to_string(m_expected.size) +
                          " contiguous bytes)");
  }
  auto digests = m_hasher.finish();
  if (!digests) {
    return fail_integrity({"size", std::to_string(m_expected.size), std::to_string(m_frontier)});
  }
  if (m_expected.kind == ExpectedHash::sha256 && digests->sha256 != m_expected.digest) {
    return fail_integrity({"sha256", m_expected.digest, digests->sha256});
  }
  if (m_expected.kind == ExpectedHash::git_sha1 && digests->git_sha1 != m_expected.digest) {
    return fail_integrity({"git sha1", m_expected.digest, digests->git_sha1});
  }
  // Verified. Make it durable and read-only before it gets its final name.
  if (::fsync(m_fd.get()) != 0) return errno_error(m_partial_path, "fsync", errno);
  if (::fchmod(m_fd.get(), k_blob_mode) != 0) return errno_error(m_partial_path, "chmod", errno);

  CommittedBlob out;
  out.sha256 = digests->sha256;
  out.git_sha1 = digests->git_sha1;
  out.size = digests->size;
  out.path = m_layout.blob_path(out.sha256);
  const std::string fanout = m_layout.blob_fanout_dir(out.sha256);
  HFAUDIT_TRY(util::create_directories(fanout));
  remove_checkpoint();  // first: a checkpoint must never outlive its partial
  const bool moved = HFAUDIT_TRY(rename_no_replace(m_partial_path, out.path));
  if (!moved) {
    // Identical content is stored once: keep the existing inode.
    ::unlink(m_partial_path.c_str());
    out.stored = Stored::already_present;
  }
  m_fd.reset();
  m_state = State::committed;
  if (moved) {
    // The fan-out directories may be new: persist their entries too.
    HFAUDIT_TRY(util::fsync_directory(fanout));
    HFAUDIT_TRY(util::fsync_directory(fanout.substr(0, fanout.size() - 3)));
  }
  HFAUDIT_TRY(util::fsync_directory(m_layout.partial_dir()));
  return out;
}

// ---------------------------------------------------------------------------
// BlobStore

Result<BlobStore> BlobStore::open(const CacheOptions& options) {
  Layout layout(options);
  HFAUDIT_TRY(layout.create_directories());
  return BlobStore(std::move(layout));
}

Result<std::unique_ptr<BlobWriter>> BlobStore::begin_write(const ExpectedBlob& expected,
                                                           WriterOptions options) const {
  if (!util::is_lower_hex(expected.digest, digest_length(expected.kind))) {
    return make_error(
        ErrorCode::invalid_argument,
        "malformed expected " + kind_name(expected.kind) + ": '" + expected.digest + "'");
  }
  std::unique_ptr<BlobWriter> writer(new BlobWriter(m_layout, expected, options));
  HFAUDIT_TRY(writer->open_partial());
  struct stat st {};
  if (::fstat(writer->m_fd.get(), &st) != 0)
    return errno_error(writer->m_partial_path, "fstat", errno);
  if (options.resume == Resume::yes) {
    HFAUDIT_TRY(
        writer->resume(static_cast<uint64_t>(st.st_size), static_cast<uint64_t>(st.st_blksize)));
  } else {
    writer->remove_checkpoint();
    if (st.st_size != 0 && ::ftruncate(writer->m_fd.get(), 0) != 0)
      return errno_error(writer->m_partial_path, "truncate", errno);
  }
  return writer;
}

Result<FileLock> BlobStore::lock(const ExpectedBlob& expected,
                                 std::optional<std::chrono::milliseconds> timeout) const {
  return lock_named(m_layout, blob_lock_name(expected), LockMode::exclusive, timeout);
}

bool BlobStore::has_blob(std::string_view sha256) const {
  if (!is_blob_name(sha256)) return false;
  struct stat st {};
  return ::lstat(blob_path(sha256).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<std::unique_ptr<util::ByteSource>> BlobStore::open_blob(std::string_view sha256) const {
  if (!is_blob_name(sha256)) {
    return make_error(ErrorCode::invalid_argument,
                      "malformed sha256: '" + std::string(sha256) + "'");
  }
  return util::open_file_source(blob_path(sha256));
}

Result<util::ContentDigests> BlobStore::rehash(std::string_view sha256, util::GitBlobId git) const {
  if (!is_blob_name(sha256)) {
    return make_error(ErrorCode::invalid_argument,
                      "malformed sha256: '" + std::string(sha256) + "'");
  }
  return util::hash_file(blob_path(sha256), git);
}

Result<std::string> BlobStore::quarantine(std::string_view sha256, std::string_view reason) const {
  if (!has_blob(sha256)) {
    return make_error(ErrorCode::not_found, "blob " + std::string(sha256) + " is not in the store");
  }
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now).count();
  const std::string dir = m_layout.quarantine_dir() + "/" + std::string(sha256) + "." +
                          std::to_string(seconds) + "." + util::random_hex(4);
  if (::mkdir(dir.c_str(), 0700) != 0) return errno_error(dir, "mkdir", errno);
  nlohmann::json note = {{"sha256", std::string(sha256)},
                         {"reason", std::string(reason)},
                         {"quarantined_at", seconds},
                         {"from", blob_path(sha256)}};
  HFAUDIT_TRY(util::write_file_atomic(dir + "/reason.json", note.dump(1) + "\n", 0444));
  const std::string target = dir + "/blob";
  if (::rename(blob_path(sha256).c_str(), target.c_str()) != 0) {
    return errno_error(blob_path(sha256), "move to quarantine", errno);
  }
  HFAUDIT_TRY(util::fsync_directory(dir));
  HFAUDIT_TRY(util::fsync_directory(m_layout.blob_fanout_dir(sha256)));
  return dir;
}

Status BlobStore::remove(std::string_view sha256) const {
  if (!is_blob_name(sha256)) {
    return make_error(ErrorCode::invalid_argument,
                      "malformed sha256: '" + std::string(sha256) + "'");
  }
  if (::unlink(blob_path(sha256).c_str()) != 0 && errno != ENOENT) {
    return errno_error(blob_path(sha256), "remove", errno);
  }
  return util::Ok{};
}

Result<std::vector<BlobEntry>> BlobStore::list() const {
  namespace fs = std::filesystem;
  std::vector<BlobEntry> out;
  std::error_code ec;
  const auto options = fs::directory_options::skip_permission_denied;
  for (fs::recursive_directory_iterator it(m_layout.blobs_dir(), options, ec), end; it != end;
       it.increment(ec)) {
    if (ec) return make_error(ErrorCode::io, m_layout.blobs_dir() + ": " + ec.message());
    if (it.depth() > 2) {
      it.disable_recursion_pending();
      continue;
    }
    const std::string name = it->path().filename().string();
    if (it.depth() != 2 || !is_blob_name(name) || !it->is_regular_file(ec)) continue;
    if (name.compare(0, 2, it->path().parent_path().parent_path().filename().string()) != 0)
      continue;
    out.push_back({name, static_cast<uint64_t>(it->file_size(ec))});
  }
  if (ec) return make_error(ErrorCode::io, m_layout.blobs_dir() + ": " + ec.message());
  return out;
}

}  // namespace hfaudit::cache
