// Where hfaudit's own cache files live under HFAUDIT_HOME, and where the
// huggingface_hub view lives (HF_HUB_CACHE). The on-disk format is documented
// in docs/cache.md; change the two together.
//
//   HFAUDIT_HOME/index.sqlite                      SQLite index (cache/index.hpp)
//   HFAUDIT_HOME/blobs/sha256/ab/cd/<sha256>       verified blobs, 0444 (cache/blob_store.hpp)
//   HFAUDIT_HOME/partial/<kind>-<digest>.partial   resumable downloads, one per expected hash
//   HFAUDIT_HOME/tmp/                              scratch (atomic writes)
//   HFAUDIT_HOME/quarantine/<sha256>.<unix>.<rand>/ quarantined blob + reason.json
//   HFAUDIT_HOME/locks/<name>.lock                 flock() files (cache/lock.hpp)
//   HF_HUB_CACHE/models--org--name/...             the huggingface_hub view (cache/hf_view.hpp)
//
// Nothing of hfaudit's own is ever written inside HF_HUB_CACHE.
#pragma once

#include <string>
#include <string_view>

#include "util/result.hpp"

namespace hfaudit::cache {

// Paths handed down by the CLI (which reads HFAUDIT_HOME / HF_HUB_CACHE /
// HF_HOME); the library never looks at the environment.
struct CacheOptions {
  std::string hfaudit_home;  // hfaudit's own store
  std::string hf_hub_cache;  // the huggingface_hub-compatible view
};

// Pure path arithmetic over CacheOptions plus directory creation. Cheap to
// copy; thread-safe (immutable after construction).
class Layout {
 public:
  explicit Layout(CacheOptions options);

  const CacheOptions& options() const { return m_options; }
  const std::string& home() const { return m_options.hfaudit_home; }
  const std::string& hf_hub_cache() const { return m_options.hf_hub_cache; }

  std::string index_path() const;
  std::string blobs_dir() const;  // HOME/blobs/sha256
  // HOME/blobs/sha256/ab/cd/<sha256>. `sha256` must be 64 lowercase hex
  // (checked by callers that take user input; see util::is_lower_hex).
  std::string blob_path(std::string_view sha256) const;
  std::string blob_fanout_dir(std::string_view sha256) const;  // HOME/blobs/sha256/ab/cd
  std::string partial_dir() const;
  std::string tmp_dir() const;
  std::string quarantine_dir() const;
  std::string locks_dir() const;

  // Checks the two roots: both non-empty, and neither inside the other
  // (nothing of hfaudit's may live in HF_HUB_CACHE, and a view inside
  // HFAUDIT_HOME would be removed with it). Compared after making both
  // absolute and resolving the existing part of each path.
  util::Status validate() const;

  // validate(), then creates HFAUDIT_HOME and its subdirectories and the
  // HF_HUB_CACHE root. Idempotent.
  util::Status create_directories() const;

 private:
  CacheOptions m_options;
};

}  // namespace hfaudit::cache
