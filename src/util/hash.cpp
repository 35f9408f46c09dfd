#include "util/hash.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace hfaudit::util {

namespace {

constexpr size_t k_file_buffer_size = 1 << 16;

const EVP_MD* evp_for(DigestAlgorithm algorithm) {
  return algorithm == DigestAlgorithm::sha256 ? EVP_sha256() : EVP_sha1();
}

std::string to_hex(const unsigned char* bytes, size_t size) {
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string out(size * 2, '\0');
  for (size_t i = 0; i < size; ++i) {
    out[2 * i] = k_digits[bytes[i] >> 4];
    out[2 * i + 1] = k_digits[bytes[i] & 0x0f];
  }
  return out;
}

std::string size_mismatch(std::string_view what, uint64_t expected, uint64_t actual) {
  return std::string(what) + ": size mismatch: expected " + std::to_string(expected) +
         " bytes, got " + std::to_string(actual);
}

}  // namespace

// The EVP context lives behind a pimpl so the header does not pull in OpenSSL.
struct Hasher::State {
  EVP_MD_CTX* ctx = nullptr;
  const EVP_MD* md = nullptr;

  explicit State(DigestAlgorithm algorithm) : ctx(EVP_MD_CTX_new()), md(evp_for(algorithm)) {
    if (ctx == nullptr) throw std::runtime_error("EVP_MD_CTX_new failed");
    init();
  }
  ~State() { EVP_MD_CTX_free(ctx); }
  State(const State&) = delete;
  State& operator=(const State&) = delete;

  void init() {
    if (EVP_DigestInit_ex(ctx, md, nullptr) != 1)
      throw std::runtime_error("EVP_DigestInit_ex failed");
  }
};

Hasher::Hasher(DigestAlgorithm algorithm) : m_state(std::make_unique<State>(algorithm)) {}
Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&& other) noexcept = default;
Hasher& Hasher::operator=(Hasher&& other) noexcept = default;

void Hasher::update(const void* data, size_t size) {
  if (size == 0) return;
  if (EVP_DigestUpdate(m_state->ctx, data, size) != 1) {
    throw std::runtime_error("EVP_DigestUpdate failed");
  }
}

std::string Hasher::finish_hex() {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(m_state->ctx, digest.data(), &length) != 1) {
    throw std::runtime_error("EVP_DigestFinal_ex failed");
  }
  m_state->init();
  return to_hex(digest.data(), length);
}

GitBlobHasher::GitBlobHasher(uint64_t size) : m_sha1(DigestAlgorithm::sha1), m_size(size) {
  // The terminating NUL is part of the header git hashes.
  const std::string header = "blob " + std::to_string(size);
  m_sha1.update(header.c_str(), header.size() + 1);
}

void GitBlobHasher::update(const void* data, size_t size) {
  m_sha1.update(data, size);
  m_fed += size;
}

Result<std::string> GitBlobHasher::finish_hex() {
  std::string hex = m_sha1.finish_hex();
  if (m_fed != m_size)
    return make_error(ErrorCode::integrity, size_mismatch("git blob", m_size, m_fed));
  return hex;
}

ContentHasher::ContentHasher(GitBlobId git, uint64_t size)
    : m_sha256(DigestAlgorithm::sha256),
      m_git(git == GitBlobId::compute ? std::make_unique<GitBlobHasher>(size) : nullptr),
      m_size(size) {}

void ContentHasher::update(const void* data, size_t size) {
  m_sha256.update(data, size);
  if (m_git) m_git->update(data, size);
  m_fed += size;
}

Result<ContentDigests> ContentHasher::finish() {
  ContentDigests digests;
  digests.size = m_fed;
  digests.sha256 = m_sha256.finish_hex();
  if (m_git) digests.git_sha1 = HFAUDIT_TRY(m_git->finish_hex());
  if (m_fed != m_size)
    return make_error(ErrorCode::integrity, size_mismatch("content", m_size, m_fed));
  return digests;
}

std::string sha256_hex(std::string_view data) {
  Hasher hasher(DigestAlgorithm::sha256);
  hasher.update(data);
  return hasher.finish_hex();
}

std::string sha1_hex(std::string_view data) {
  Hasher hasher(DigestAlgorithm::sha1);
  hasher.update(data);
  return hasher.finish_hex();
}

std::string git_blob_id_hex(std::string_view content) {
  GitBlobHasher hasher(content.size());
  hasher.update(content);
  return std::move(hasher.finish_hex()).value();  // cannot fail: size fed == size announced
}

Result<ContentDigests> hash_file(const std::string& path, GitBlobId git) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    return make_error(err == ENOENT ? ErrorCode::not_found : ErrorCode::io,
                      path + ": " + std::strerror(err));
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  // The git header needs the size before the content; take it from fstat and
  // let finish() catch a file that changes size while we read it.
  struct stat st {};
  if (::fstat(fd, &st) != 0) return make_error(ErrorCode::io, path + ": " + std::strerror(errno));
  ContentHasher hasher(git, static_cast<uint64_t>(st.st_size));
  std::array<char, k_file_buffer_size> buffer{};
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(ErrorCode::io, path + ": " + std::strerror(errno));
    }
    if (n == 0) break;
    hasher.update(buffer.data(), static_cast<size_t>(n));
  }
  auto digests = hasher.finish();
  if (!digests) return make_error(digests.error().code, path + ": " + digests.error().message);
  return digests;
}

bool is_lower_hex(std::string_view text, size_t length) {
  if (text.size() != length) return false;
  for (const char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace hfaudit::util
