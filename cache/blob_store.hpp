// Content-addressed store of verified blobs, keyed by sha256:
// HFAUDIT_HOME/blobs/sha256/ab/cd/<sha256>, read-only (0444). See
// docs/cache.md for the layout and the crash-consistency invariants.
//
// Invariant: a file at a blob path always holds bytes that hashed to its name
// when they were committed. Bytes only get there through BlobWriter::commit(),
// which checks size and hash first. Later damage (disk, a user editing a hard
// link in the view) is found by rehash()/maintenance verify, which quarantines.
//
// Thread-safety: BlobStore is immutable and may be shared; a BlobWriter is
// used by one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cache/layout.hpp"
#include "cache/lock.hpp"
#include "util/byte_source.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/result.hpp"

namespace hfaudit::cache {

// Which Hub hash identifies the expected content (hub-api.md §6): LFS/Xet
// files are checked against sha256(content) = lfs.oid; regular git files
// against the git blob id = tree oid. Size is always checked too.
enum class ExpectedHash { sha256, git_sha1 };

struct ExpectedBlob {
  ExpectedHash kind = ExpectedHash::sha256;
  std::string digest;  // 64 (sha256) or 40 (git sha1) lowercase hex
  uint64_t size = 0;

  static ExpectedBlob lfs(std::string sha256, uint64_t size) {
    return {ExpectedHash::sha256, std::move(sha256), size};
  }
  static ExpectedBlob regular(std::string git_sha1, uint64_t size) {
    return {ExpectedHash::git_sha1, std::move(git_sha1), size};
  }
  // The huggingface_hub etag for this file: the same digest (blob name in the view).
  const std::string& etag() const { return digest; }
};

// Name of the per-expected-hash lock ("blob-sha256-<hex>" / "blob-gitsha1-<hex>")
// for cache/lock.hpp.
std::string blob_lock_name(const ExpectedBlob& expected);

// Whether to pick up bytes a previous writer left for the same expected hash.
enum class Resume { yes, no };
// What the destructor of an uncommitted writer does with its bytes.
enum class OnAbandon { delete_partial, keep_partial };

struct WriterOptions {
  Resume resume = Resume::yes;
  OnAbandon on_abandon = OnAbandon::delete_partial;
};

// What was wrong, for the integrity error returned by commit()/write_at().
struct IntegrityMismatch {
  std::string what;  // "size", "sha256" or "git sha1"
  std::string expected;
  std::string actual;
};

// A byte range [start, end) of a blob.
struct ByteRange {
  uint64_t start = 0;
  uint64_t end = 0;
  uint64_t size() const { return end - start; }
  bool operator==(const ByteRange&) const = default;
};

enum class Stored { new_blob, already_present };

struct CommittedBlob {
  std::string sha256;
  std::string git_sha1;  // set when the expectation was a git sha1
  uint64_t size = 0;
  std::string path;  // the blob path in the store
  Stored stored = Stored::new_blob;
};

class BlobStore;

// Writes one expected blob. Bytes go to HFAUDIT_HOME/partial/<kind>-<digest>.partial
// (a deterministic path, so a later run can resume it) and are hashed in the
// same pass; nothing is visible in the store before commit().
//
// Two processes must not write the same expected blob at once: hold the lock
// named blob_lock_name(expected) from before checking whether the blob is
// present until after recording it in the index. The writer also flock()s its
// partial file and refuses to open while another writer holds it.
class BlobWriter {
 public:
  ~BlobWriter();  // never commits; keeps or deletes the partial per OnAbandon
  BlobWriter(const BlobWriter&) = delete;
  BlobWriter& operator=(const BlobWriter&) = delete;

  const ExpectedBlob& expected() const { return m_expected; }

  // Bytes already present and hashed when the writer was opened (resume): the
  // caller continues with write() from here, e.g. with "Range: bytes=N-".
  // EVP state cannot be persisted, so resuming re-reads and re-hashes this
  // prefix once, at open. Resume is an optimisation only: if the prefix was
  // wrong (a crash before the page cache reached the disk), commit() reports
  // an integrity error and the caller starts over with Resume::no.
  uint64_t resume_offset() const { return m_resume_offset; }

  // The ranges of [0, expected().size) not written yet, in order: what a
  // caller still has to fetch. After a resume of a ranged download this can
  // be several gaps (the ranges a checkpoint recorded are not missing).
  std::vector<ByteRange> missing() const;
  // Bytes that came from an earlier writer (resumed prefix plus checkpointed ranges).
  uint64_t resumed_bytes() const { return m_resumed_bytes; }

  // Records which ranges beyond the hash frontier are on disk, in a
  // `.ranges` file beside the partial (replaced by rename), so that a later
  // writer resumes every completed range and not only the contiguous prefix.
  // Range downloads call it as parts complete (it survives a kill -9); the
  // destructor calls it too when keeping the partial. Without a checkpoint a
  // resume keeps only the data before the first hole. Like the prefix, the
  // recorded ranges are an optimisation that commit() verifies.
  util::Status checkpoint();

  // Appends at the sequential position (starts at resume_offset()).
  util::Status write(const char* data, size_t size);

  // Writes [offset, offset+size) for parallel range downloads. Data landing
  // on the hash frontier is hashed straight from `data`; data beyond it is
  // written now and hashed when the gap before it is filled, by reading it
  // back (from the page cache) once. Bytes before the frontier are already
  // hashed and are ignored. Writing past expected().size fails with an
  // integrity error and poisons the writer.
  util::Status write_at(uint64_t offset, const char* data, size_t size);

  // Contiguous bytes hashed from offset 0.
  uint64_t hashed_bytes() const { return m_frontier; }
  // Bytes read back from disk to hash out-of-order ranges (for tests and stats;
  // at most the bytes that arrived ahead of the frontier).
  uint64_t reread_bytes() const { return m_reread; }
  // True once every byte of expected().size has been written and hashed.
  bool complete() const { return m_frontier == m_expected.size && m_pending.empty(); }

  // Checks size and hash, fsyncs, and renames into the store read-only, then
  // fsyncs the fan-out directory. If the store already has the content, the
  // new bytes are discarded (Stored::already_present).
  // Failures:
  //  - invalid_argument: not all bytes written yet (writer stays usable);
  //  - integrity: hash or size mismatch; the bytes are deleted (nothing
  //    unverified is kept) and mismatch() says what differed;
  //  - io: file-system errors.
  util::Result<CommittedBlob> commit();

  // Set after an integrity failure.
  const std::optional<IntegrityMismatch>& mismatch() const { return m_mismatch; }

 private:
  friend class BlobStore;
  BlobWriter(const Layout& layout, ExpectedBlob expected, WriterOptions options);
  util::Status open_partial();
  // What a checkpoint recorded: the hashed prefix and the ranges written beyond it.
  struct Checkpoint {
    uint64_t frontier = 0;
    std::map<uint64_t, uint64_t> ranges;
  };
  // The checkpoint, if present and consistent with a partial of `file_size` bytes.
  std::optional<Checkpoint> read_checkpoint(uint64_t file_size) const;
  // Restores the prefix and pending ranges at open (Resume::yes).
  util::Status resume(uint64_t file_size, uint64_t block_size);
  void remove_checkpoint();
  // Starts (does not wait for) the writeback of hashed bytes, every few MiB.
  void start_writeback();
  std::string ranges_path() const { return m_partial_path + ".ranges"; }
  util::Status hash_from_file(uint64_t end);
  util::Status drain_pending();
  util::Error fail_integrity(IntegrityMismatch mismatch);
  void discard();

  Layout m_layout;
  ExpectedBlob m_expected;
  WriterOptions m_options;
  std::string m_partial_path;
  util::UniqueFd m_fd;
  util::ContentHasher m_hasher;
  uint64_t m_resume_offset = 0;
  uint64_t m_resumed_bytes = 0;
  uint64_t m_append_at = 0;
  uint64_t m_frontier = 0;
  uint64_t m_reread = 0;
  uint64_t m_written_back = 0;             // bytes whose writeback start_writeback() started
  std::map<uint64_t, uint64_t> m_pending;  // start -> end of written, unhashed ranges
  std::optional<IntegrityMismatch> m_mismatch;
  enum class State { open, committed, failed } m_state = State::open;
};

struct BlobEntry {
  std::string sha256;
  uint64_t size = 0;
};

class BlobStore {
 public:
  // Creates the HFAUDIT_HOME directories if needed.
  static util::Result<BlobStore> open(const CacheOptions& options);

  const Layout& layout() const { return m_layout; }

  // Opens a writer for `expected` (see BlobWriter). Fails with
  // invalid_argument for a malformed digest, io if another writer holds the
  // partial or on file-system errors.
  util::Result<std::unique_ptr<BlobWriter>> begin_write(const ExpectedBlob& expected,
                                                        WriterOptions options = {}) const;

  // Holds the lock for `expected` (cache/lock.hpp); nullopt timeout = wait forever.
  util::Result<FileLock> lock(const ExpectedBlob& expected,
                              std::optional<std::chrono::milliseconds> timeout = {}) const;

  bool has_blob(std::string_view sha256) const;
  std::string blob_path(std::string_view sha256) const { return m_layout.blob_path(sha256); }
  // Read-only random access to a stored blob; not_found if absent.
  util::Result<std::unique_ptr<util::ByteSource>> open_blob(std::string_view sha256) const;
  // Re-reads a stored blob and returns its digests (for verify). The caller
  // compares digests.sha256 with the name.
  util::Result<util::ContentDigests> rehash(std::string_view sha256,
                                            util::GitBlobId git = util::GitBlobId::skip) const;
  // Moves the blob to HFAUDIT_HOME/quarantine/<sha256>.<unix time>/blob with
  // a reason.json beside it; never deletes evidence. Returns the quarantine
  // directory. not_found if the blob is absent.
  util::Result<std::string> quarantine(std::string_view sha256, std::string_view reason) const;
  // Deletes a blob (gc). Absent is not an error.
  util::Status remove(std::string_view sha256) const;
  // Every blob file in the store (walks the fan-out), for gc of blobs the
  // index does not know. Ignores anything not named like a sha256.
  util::Result<std::vector<BlobEntry>> list() const;

 private:
  explicit BlobStore(Layout layout) : m_layout(std::move(layout)) {}
  Layout m_layout;
};

}  // namespace hfaudit::cache
