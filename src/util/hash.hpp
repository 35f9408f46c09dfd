// Streaming message digests (OpenSSL EVP) for verifying downloads while they
// stream: SHA-256 for LFS/Xet files and the store key, and the git blob id
// (SHA-1 over a "blob <size>\0" header) for regular files. See docs/cache.md
// and §6 of the Hub API notes for which hash applies to which file.
//
// Memory use is constant: every hasher keeps only its EVP state. None of the
// classes are thread-safe; use one per stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace hfaudit::util {

enum class DigestAlgorithm { sha256, sha1 };

// Lowercase hex digest lengths.
inline constexpr size_t k_sha256_hex_length = 64;
inline constexpr size_t k_sha1_hex_length = 40;

// One incremental digest. update() any number of times, then finish_hex()
// once; after finish_hex() the hasher is reset and can be reused.
// Throws std::runtime_error only if OpenSSL itself fails (out of memory,
// broken provider): that aborts the command, it is not an expected failure.
class Hasher {
 public:
  explicit Hasher(DigestAlgorithm algorithm);
  ~Hasher();
  Hasher(Hasher&& other) noexcept;
  Hasher& operator=(Hasher&& other) noexcept;
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  void update(const void* data, size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // Lowercase hex of the digest of everything fed since construction or the
  // last finish_hex().
  std::string finish_hex();

 private:
  struct State;
  std::unique_ptr<State> m_state;
};

// The git blob id: sha1("blob " + decimal size + "\0" + content). The size
// goes into the header, so it must be known before the first byte.
// finish_hex() fails with ErrorCode::integrity when the number of bytes fed
// differs from the announced size (the id would be meaningless).
class GitBlobHasher {
 public:
  explicit GitBlobHasher(uint64_t size);

  void update(const void* data, size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  uint64_t bytes_fed() const { return m_fed; }
  Result<std::string> finish_hex();

 private:
  Hasher m_sha1;
  uint64_t m_size;
  uint64_t m_fed = 0;
};

// Whether ContentHasher also computes the git blob id. For LFS files the Hub's
// git id is the id of the pointer file, not of the content, so computing it
// over the content would be wasted work: ask for it only for regular files.
enum class GitBlobId { skip, compute };

struct ContentDigests {
  uint64_t size = 0;
  std::string sha256;    // always set
  std::string git_sha1;  // empty when GitBlobId::skip
};

// Feeds one pass of bytes to SHA-256 and, when asked, to the git blob id.
// `size` is the announced content size: the git header needs it up front, and
// finish() checks it in both modes.
class ContentHasher {
 public:
  ContentHasher(GitBlobId git, uint64_t size);

  void update(const void* data, size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  uint64_t bytes_fed() const { return m_fed; }
  // Fails with ErrorCode::integrity when the bytes fed differ from `size`.
  Result<ContentDigests> finish();

 private:
  Hasher m_sha256;
  std::unique_ptr<GitBlobHasher> m_git;
  uint64_t m_size;
  uint64_t m_fed = 0;
};

// One-shot helpers.
std::string sha256_hex(std::string_view data);
std::string sha1_hex(std::string_view data);
std::string git_blob_id_hex(std::string_view content);

// Hashes a whole file with a fixed buffer (flat memory whatever the size).
// Fails with not_found / io naming the path.
Result<ContentDigests> hash_file(const std::string& path, GitBlobId git);

// True if `text` is exactly `length` lowercase hex digits.
bool is_lower_hex(std::string_view text, size_t length);

}  // namespace hfaudit::util
