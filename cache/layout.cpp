#include "cache/layout.hpp"

#include <filesystem>
#include <system_error>

#include "util/fs.hpp"

namespace hfaudit::cache {

namespace {

namespace fs = std::filesystem;

using util::ErrorCode;
using util::make_error;

// Absolute, with symlinks in the existing prefix resolved, so that
// "/a/link/hub" and "/a/real/hub" compare equal.
fs::path resolved(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(path, ec), ec);
  if (ec) p = fs::absolute(path).lexically_normal();
  return p;
}

bool is_within(const fs::path& inner, const fs::path& outer) {
  auto i = inner.begin();
  for (auto o = outer.begin(); o != outer.end(); ++o, ++i) {
    if (o->empty()) continue;  // trailing "/" yields an empty last element
    if (i == inner.end() || *i != *o) return false;
  }
  return true;
}

}  // namespace

Layout::Layout(CacheOptions options) : m_options(std::move(options)) {}

std::string Layout::index_path() const {
  return home() + "/index.sqlite";
}
std::string Layout::blobs_dir() const {
  return home() + "/blobs/sha256";
}

std::string Layout::blob_fanout_dir(std::string_view sha256) const {
  // Two levels of 256 keep directories small even for millions of blobs
  // (the same fan-out idea as ccache's get_path_in_cache).
  return blobs_dir() + "/" + std::string(sha256.substr(0, 2)) + "/" +
         std::string(sha256.substr(2, 2));
}

std::string Layout::blob_path(std::string_view sha256) const {
  return blob_fanout_dir(sha256) + "/" + std::string(sha256);
}

std::string Layout::partial_dir() const {
  return home() + "/partial";
}
std::string Layout::tmp_dir() const {
  return home() + "/tmp";
}
std::string Layout::quarantine_dir() const {
  return home() + "/quarantine";
}
std::string Layout::locks_dir() const {
  return home() + "/locks";
}

util::Status Layout::validate() const {
  if (home().empty()) return make_error(ErrorCode::invalid_argument, "HFAUDIT_HOME is empty");
  if (hf_hub_cache().empty())
    return make_error(ErrorCode::invalid_argument, "HF_HUB_CACHE is empty");
  const fs::path home_path = resolved(home());
  const fs::path view_path = resolved(hf_hub_cache());
  if (is_within(home_path, view_path)) {
    return make_error(ErrorCode::invalid_argument,
                      "HFAUDIT_HOME (" + home() + ") is inside HF_HUB_CACHE (" + hf_hub_cache() +
                          "): hfaudit's own files must not live in the huggingface_hub cache");
  }
  if (is_within(view_path, home_path)) {
    return make_error(ErrorCode::invalid_argument, "HF_HUB_CACHE (" + hf_hub_cache() +
                                                       ") is inside HFAUDIT_HOME (" + home() + ")");
  }
  return util::Ok{};
}

util::Status Layout::create_directories() const {
  HFAUDIT_TRY(validate());
  for (const auto& dir :
       {blobs_dir(), partial_dir(), tmp_dir(), quarantine_dir(), locks_dir(), hf_hub_cache()}) {
    HFAUDIT_TRY(util::create_directories(dir));
  }
  return util::Ok{};
}

}  // namespace hfaudit::cache
