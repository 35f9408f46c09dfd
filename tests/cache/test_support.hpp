// Helpers shared by the cache unit tests: an RAII scratch directory (kept
// when the test failed, for inspection) and small file utilities.
#pragma once

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/results_collector.hpp>
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "cache/layout.hpp"

namespace hfaudit::cache::test {

class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "hfaudit-cache-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    m_path = pattern;
  }
  ~ScratchDir() {
    namespace ut = boost::unit_test;
    const auto id = ut::framework::current_test_case().p_id;
    if (!ut::results_collector.results(id).passed()) {
      BOOST_TEST_MESSAGE("scratch directory kept: " << m_path);
      return;
    }
    std::error_code ec;
    // Blobs are 0444 and directories may have been made read-only by a test.
    std::filesystem::permissions(m_path, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::add, ec);
    std::filesystem::remove_all(m_path, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return m_path; }
  std::string operator/(const std::string& rel) const { return m_path + "/" + rel; }

  CacheOptions options() const { return CacheOptions{m_path + "/home", m_path + "/hub"}; }

 private:
  std::string m_path;
};

inline std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_all(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

inline bool exists_nofollow(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// Deterministic pseudo-random content.
inline std::string make_content(size_t size, uint32_t seed = 1) {
  std::string out(size, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < size; ++i) {
    x = x * 1664525u + 1013904223u;
    out[i] = static_cast<char>(x >> 24);
  }
  return out;
}

// Flips one byte of a file in place, whatever its mode (simulates bit rot or
// an edit through a hard link in the view).
inline void flip_byte(const std::string& path, size_t offset) {
  ::chmod(path.c_str(), 0644);
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.get(c);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(static_cast<char>(c ^ 0x01));
  f.close();
  ::chmod(path.c_str(), 0444);
}

// Runs tests/cache/check_hf_layout.py on a huggingface_hub cache directory;
// returns its exit status (0: every layout rule holds).
inline int check_hf_layout(const std::string& cache_dir) {
  const std::string command = std::string("python3 ") + HFAUDIT_SOURCE_DIR +
                              "/tests/cache/check_hf_layout.py '" + cache_dir + "'";
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

}  // namespace hfaudit::cache::test
