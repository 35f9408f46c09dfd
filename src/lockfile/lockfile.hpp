// hfaudit.lock: the data model of a lock file and its canonical JSON form.
// The format is documented in docs/lockfile.md; change it only by bumping
// k_format_version.
//
// A lock file pins each repository to a commit and every selected file to its
// path, size, sha256 and git oid, with the policy verdict at lock time. The
// text is canonical so that it diffs well and re-locking changes only what
// changed: keys sorted, two-space indentation, repositories sorted by id,
// files by path, globs sorted and unique, no timestamps, newline at the end.
// serialize(parse(serialize(x))) == serialize(x) byte for byte.
//
// This module knows only util: no Hub, cache or policy types. Nothing here
// prints or reads the environment.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace hfaudit::lockfile {

// The version this hfaudit writes and the only one it reads.
inline constexpr int k_format_version = 1;
// What `hfaudit lock` writes and `hfaudit pull --locked` reads by default.
inline constexpr std::string_view k_default_file_name = "hfaudit.lock";

struct LockedFile {
  std::string path;     // repo path, '/'-separated, passes util::is_safe_relative_path
  uint64_t size = 0;    // bytes of the content (for LFS files, of the real file)
  std::string sha256;   // of the content, 64 lowercase hex
  std::string git_oid;  // the Hub's git blob id, 40 lowercase hex (for LFS files: of the pointer)
  bool lfs = false;     // stored in Git LFS on the Hub

  bool operator==(const LockedFile&) const = default;
};

// The gate's verdict when the repository was locked. A repository the policy
// blocked is never locked, so only allow and warn exist.
enum class Verdict { allow, warn };
std::string_view to_string(Verdict verdict);

struct PolicyStamp {
  std::string name;    // the policy's name
  std::string sha256;  // of the policy text, 64 lowercase hex
  Verdict verdict = Verdict::allow;
  std::vector<std::string> warnings;  // ids of the rules that warned; sorted, unique

  bool operator==(const PolicyStamp&) const = default;
};

struct LockedRepo {
  std::string repo;                  // "org/name", as the user wrote it (compared without case)
  std::string revision;              // as requested: branch, tag, commit or refs/pr/N
  std::string commit;                // what it resolved to, 40 lowercase hex
  std::vector<std::string> include;  // the --include globs used; sorted, unique
  std::vector<std::string> exclude;  // the --exclude globs used; sorted, unique
  PolicyStamp policy;
  std::vector<LockedFile> files;  // every selected file; sorted by path, unique

  bool operator==(const LockedRepo&) const = default;
};

struct Lockfile {
  std::vector<LockedRepo> repos;  // sorted by id (case-insensitively), unique

  // The entry for `repo` (compared without case, like Hub ids), or nullptr.
  const LockedRepo* find(std::string_view repo) const;
  // Adds `entry`, or replaces the entry with the same id, and puts `entry`
  // (and every other entry) in canonical order.
  void upsert(LockedRepo entry);

  bool operator==(const Lockfile&) const = default;
};

// Sorts and de-duplicates what the canonical form keeps sorted (repos,
// files, globs, warnings). serialize() calls it on a copy.
void canonicalize(Lockfile& lock);
void canonicalize(LockedRepo& entry);

// Parses and validates a lock file. `source_name` (a path) names it in errors.
// Failure: ErrorCode::invalid_argument with the message
//   "<source_name>: <where>: <why>"
// where <where> is "line L column C" for JSON syntax errors and a path such as
// `repos[2] "org/name" files[3] "model.bin" sha256` for invalid values.
// Unknown keys, missing keys, wrong types, malformed hashes or commits, unsafe
// paths, duplicate repositories or files, and a version other than
// k_format_version (newer: "upgrade hfaudit") are all errors.
util::Result<Lockfile> parse(std::string_view text, const std::string& source_name);

// Reads and parses `path`. Failure: not_found / io when it cannot be read
// (the CLI's exit 3), invalid_argument as parse (exit 2).
util::Result<Lockfile> read(const std::string& path);

// The canonical text (see the top of this file).
std::string serialize(const Lockfile& lock);

// Writes serialize(lock) to `path` atomically (readers see the old file or
// the new one, also across a crash). Failure: io naming the path.
util::Status write(const std::string& path, const Lockfile& lock);

}  // namespace hfaudit::lockfile
