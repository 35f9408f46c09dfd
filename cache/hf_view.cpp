#include "cache/hf_view.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <functional>
#include <set>
#include <vector>

#include "util/fs.hpp"
#include "util/hash.hpp"

namespace hfaudit::cache {

namespace {

using util::errno_error;
using util::ErrorCode;
using util::make_error;
using util::Ok;
using util::Result;
using util::Status;
using util::UniqueFd;

enum class Create { yes, no };

constexpr size_t k_copy_buffer_size = 1 << 16;

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t slash = path.find('/', start);
    out.emplace_back(path.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) return out;
    start = slash + 1;
  }
}

bool is_etag(std::string_view etag) {
  return util::is_lower_hex(etag, util::k_sha256_hex_length) ||
         util::is_lower_hex(etag, util::k_sha1_hex_length);
}

bool is_commit(std::string_view commit) {
  return util::is_lower_hex(commit, util::k_sha1_hex_length);
}

bool valid_repo_segment(std::string_view s) {
  if (s.empty() || s == "." || s == ".." || s.size() > 96) return false;
  for (const char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// Opens (optionally creating) `name` inside `parent` as a directory, refusing
// symlinks: the building block that keeps every write inside the view.
Result<UniqueFd> open_dir_at(int parent, const std::string& name, Create create,
                             const std::string& shown) {
  if (create == Create::yes && ::mkdirat(parent, name.c_str(), 0755) != 0 && errno != EEXIST) {
    return errno_error(shown, "mkdir", errno);
  }
  UniqueFd fd(::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ELOOP || errno == ENOTDIR) {
      return make_error(ErrorCode::invalid_argument,
                        shown + ": is a symlink or not a directory; refusing to write through it");
    }
    return errno_error(shown, "open directory", errno);
  }
  return fd;
}

// Walks `components` below `root` one O_NOFOLLOW step at a time. The root
// itself may be a symlink (the user chose it).
Result<UniqueFd> open_dirs(const std::string& root, const std::vector<std::string>& components,
                           Create create) {
  if (create == Create::yes) HFAUDIT_TRY(util::create_directories(root));
  UniqueFd fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return errno_error(root, "open directory", errno);
  std::string shown = root;
  for (const std::string& c : components) {
    shown += "/" + c;
    fd = HFAUDIT_TRY(open_dir_at(fd.get(), c, create, shown));
  }
  return fd;
}

bool exists_at(int dirfd, const std::string& name, struct stat* out = nullptr) {
  struct stat st {};
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return false;
  if (out) *out = st;
  return true;
}

Status fsync_fd(int fd, const std::string& shown) {
  if (::fsync(fd) != 0) return errno_error(shown, "fsync", errno);
  return Ok{};
}

Status write_all(int fd, const char* data, size_t size, const std::string& shown) {
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::write(fd, data + done, size - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(shown, "write", errno);
    }
    done += static_cast<size_t>(n);
  }
  return Ok{};
}

Status copy_into(const std::string& source, int dirfd, const std::string& name,
                 const std::string& shown) {
  UniqueFd in(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.valid()) return errno_error(source, "open", errno);
  UniqueFd out(
      ::openat(dirfd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444));
  if (!out.valid()) return errno_error(shown, "create", errno);
  std::unique_ptr<char[]> buffer(new char[k_copy_buffer_size]);
  for (;;) {
    const ssize_t n = ::read(in.get(), buffer.get(), k_copy_buffer_size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(source, "read", errno);
    }
    if (n == 0) break;
    HFAUDIT_TRY(write_all(out.get(), buffer.get(), static_cast<size_t>(n), shown));
  }
  return fsync_fd(out.get(), shown);
}

Result<std::string> read_link_at(int dirfd, const std::string& name) {
  std::array<char, 4096> buffer{};
  const ssize_t n = ::readlinkat(dirfd, name.c_str(), buffer.data(), buffer.size());
  if (n < 0) return errno_error(name, "readlink", errno);
  return std::string(buffer.data(), static_cast<size_t>(n));
}

// Reads a small regular file at dirfd/name without following symlinks.
Result<std::string> read_small_at(int dirfd, const std::string& name) {
  UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return errno_error(name, "open", errno);
  std::array<char, 256> buffer{};
  const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
  if (n < 0) return errno_error(name, "read", errno);
  return std::string(buffer.data(), static_cast<size_t>(n));
}

// Lists the entry names of a directory (not "." / "..").
Result<std::vector<std::string>> list_at(int dirfd, const std::string& shown) {
  UniqueFd dup(::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dup.valid()) return errno_error(shown, "open directory", errno);
  DIR* dir = ::fdopendir(dup.get());
  if (dir == nullptr) return errno_error(shown, "opendir", errno);
  dup.release();  // owned by DIR now
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(dir);
  return names;
}

// Depth-first visit of every non-directory below dirfd; never follows
// symlinks. `visit(dirfd, name, relative_path, stat)`.
using Visitor =
    std::function<Status(int, const std::string&, const std::string&, const struct stat&)>;

Status walk_files(int dirfd, const std::string& rel, const std::string& shown,
                  const Visitor& visit) {
  for (const std::string& name : HFAUDIT_TRY(list_at(dirfd, shown))) {
    struct stat st {};
    if (!exists_at(dirfd, name, &st)) continue;
    const std::string child_rel = rel.empty() ? name : rel + "/" + name;
    if (S_ISDIR(st.st_mode)) {
      UniqueFd child = HFAUDIT_TRY(open_dir_at(dirfd, name, Create::no, shown + "/" + name));
      HFAUDIT_TRY(walk_files(child.get(), child_rel, shown + "/" + name, visit));
    } else {
      HFAUDIT_TRY(visit(dirfd, name, child_rel, st));
    }
  }
  return Ok{};
}

// rm -rf of parent/name without following symlinks.
Status remove_tree_at(int parent, const std::string& name, const std::string& shown) {
  struct stat st {};
  if (!exists_at(parent, name, &st)) return Ok{};
  if (!S_ISDIR(st.st_mode)) {
    if (::unlinkat(parent, name.c_str(), 0) != 0 && errno != ENOENT) {
      return errno_error(shown, "remove", errno);
    }
    return Ok{};
  }
  {
    UniqueFd dir = HFAUDIT_TRY(open_dir_at(parent, name, Create::no, shown));
    for (const std::string& child : HFAUDIT_TRY(list_at(dir.get(), shown))) {
      HFAUDIT_TRY(remove_tree_at(dir.get(), child, shown + "/" + child));
    }
  }
  if (::unlinkat(parent, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return errno_error(shown, "remove directory", errno);
  }
  return Ok{};
}

// The blob a snapshot link points at, if it has the shape huggingface_hub
// writes ("../" * n + "blobs/<etag>").
std::string linked_etag(const std::string& target) {
  const auto slash = target.rfind('/');
  if (slash == std::string::npos) return {};
  const std::string name = target.substr(slash + 1);
  const std::string_view dir = std::string_view(target).substr(0, slash);
  if (dir.size() < 5 || dir.substr(dir.size() - 5) != "blobs") return {};
  return is_etag(name) ? name : std::string();
}

std::string type_prefix(RepoType type) {
  switch (type) {
    case RepoType::model:
      return "models";
    case RepoType::dataset:
      return "datasets";
    case RepoType::space:
      return "spaces";
  }
  return "models";
}

}  // namespace

HfView::HfView(std::string hf_hub_cache, ViewOptions options)
    : m_root(std::move(hf_hub_cache)), m_options(options) {}

Result<std::string> HfView::repo_folder_name(RepoType type, std::string_view repo_id) {
  const auto parts = split_path(repo_id);
  bool ok = !parts.empty() && parts.size() <= 2 && repo_id.find("--") == std::string_view::npos;
  for (const auto& p : parts) ok = ok && valid_repo_segment(p);
  if (!ok)
    return make_error(ErrorCode::invalid_argument,
                      "invalid repo id: '" + std::string(repo_id) + "'");
  std::string folder = type_prefix(type);
  for (const auto& p : parts) folder += "--" + p;
  return folder;
}

Result<std::string> HfView::snapshot_dir(RepoType type, std::string_view repo_id,
                                         std::string_view commit) const {
  if (!is_commit(commit)) {
    return make_error(ErrorCode::invalid_argument, "invalid commit: '" + std::string(commit) + "'");
  }
  return m_root + "/" + HFAUDIT_TRY(repo_folder_name(type, repo_id)) + "/snapshots/" +
         std::string(commit);
}

Result<BlobPlacement> HfView::put_blob(RepoType type, std::string_view repo_id,
                                       std::string_view etag,
                                       const std::string& source_path) const {
  if (!is_etag(etag))
    return make_error(ErrorCode::invalid_argument, "invalid etag: '" + std::string(etag) + "'");
  const std::string folder = HFAUDIT_TRY(repo_folder_name(type, repo_id));
  const std::string shown = m_root + "/" + folder + "/blobs";
  // snapshots/ first: huggingface_hub's scan_cache_dir reports a repo folder
  // without it as corrupted, so it must exist before anything else does (the
  // folder itself is created by this same call, a crash between the two
  // mkdirs leaves an empty folder that the next put_blob completes).
  (void)HFAUDIT_TRY(open_dirs(m_root, {folder, "snapshots"}, Create::yes));
  UniqueFd blobs = HFAUDIT_TRY(open_dirs(m_root, {folder, "blobs"}, Create::yes));
  struct stat source {};
  if (::stat(source_path.c_str(), &source) != 0) return errno_error(source_path, "stat", errno);
  const std::string name(etag);
  struct stat existing {};
  if (exists_at(blobs.get(), name, &existing) && S_ISREG(existing.st_mode) &&
      existing.st_ino == source.st_ino && existing.st_dev == source.st_dev) {
    return BlobPlacement::already_present;
  }
  // Same naming as huggingface_hub >= 1.18 temp files, so its tools recognise
  // a leftover from a crash as an incomplete download (never resumed).
  const std::string temp = name + "." + util::random_hex(8) + ".incomplete";
  BlobPlacement placement = BlobPlacement::hard_link;
  if (m_options.linking == BlobLinking::copy ||
      ::linkat(AT_FDCWD, source_path.c_str(), blobs.get(), temp.c_str(), 0) != 0) {
    const int err = m_options.linking == BlobLinking::copy ? EXDEV : errno;
    if (err != EXDEV && err != EPERM && err != EMLINK && err != ENOTSUP && err != EOPNOTSUPP) {
      return errno_error(shown + "/" + temp, "link", err);
    }
    placement = BlobPlacement::copy;
    if (auto st = copy_into(source_path, blobs.get(), temp, shown + "/" + temp); !st) {
      ::unlinkat(blobs.get(), temp.c_str(), 0);
      return st.error();
    }
  }
  if (::renameat(blobs.get(), temp.c_str(), blobs.get(), name.c_str()) != 0) {
    const int err = errno;
    ::unlinkat(blobs.get(), temp.c_str(), 0);
    return errno_error(shown + "/" + name, "rename", err);
  }
  // rename(2) does nothing (and succeeds) when both names are hard links to
  // the same file, which is what a concurrent put_blob of the same blob from
  // another process leaves: remove our temp name explicitly.
  if (::unlinkat(blobs.get(), temp.c_str(), 0) == 0) placement = BlobPlacement::already_present;
  HFAUDIT_TRY(fsync_fd(blobs.get(), shown));
  return placement;
}

Status HfView::link_file(RepoType type, std::string_view repo_id, std::string_view commit,
                         std::string_view path, std::string_view etag) const {
  if (!is_commit(commit))
    return make_error(ErrorCode::invalid_argument, "invalid commit: '" + std::string(commit) + "'");
  if (!is_etag(etag))
    return make_error(ErrorCode::invalid_argument, "invalid etag: '" + std::string(etag) + "'");
  if (!util::is_safe_relative_path(path)) {
    return make_error(ErrorCode::invalid_argument, "unsafe repo path: '" + std::string(path) + "'");
  }
  const std::string folder = HFAUDIT_TRY(repo_folder_name(type, repo_id));
  {
    UniqueFd blobs = HFAUDIT_TRY(open_dirs(m_root, {folder, "blobs"}, Create::no));
    struct stat st {};
    if (!exists_at(blobs.get(), std::string(etag), &st) || !S_ISREG(st.st_mode)) {
      return make_error(ErrorCode::not_found, m_root + "/" + folder + "/blobs/" +
                                                  std::string(etag) +
                                                  ": blob not in the view; put_blob first");
    }
  }
  const std::vector<std::string> segments = split_path(path);
  const std::string leaf = segments.back();
  std::vector<std::string> dirs{folder, "snapshots", std::string(commit)};
  dirs.insert(dirs.end(), segments.begin(), segments.end() - 1);

  // try_to_load_from_cache consults .no_exist before snapshots/: a stale
  // "missing" marker would hide the file from transformers.
  std::vector<std::string> no_exist{folder, ".no_exist", std::string(commit)};
  no_exist.insert(no_exist.end(), segments.begin(), segments.end() - 1);
  if (auto marker_dir = open_dirs(m_root, no_exist, Create::no)) {
    ::unlinkat(marker_dir->get(), leaf.c_str(), 0);
  }

  UniqueFd dir = HFAUDIT_TRY(open_dirs(m_root, dirs, Create::yes));
  std::string target;
  for (size_t i = 0; i < 2 + segments.size() - 1; ++i) target += "../";
  target += "blobs/" + std::string(etag);
  // An intact link (a re-pull of a cached snapshot) is left alone: no new
  // directory entry, so no fsync.
  if (auto current = read_link_at(dir.get(), leaf); current && *current == target) return Ok{};
  const std::string shown =
      m_root + "/" + folder + "/snapshots/" + std::string(commit) + "/" + std::string(path);
  const std::string temp = "." + leaf + "." + util::random_hex(8) + ".tmp";
  if (::symlinkat(target.c_str(), dir.get(), temp.c_str()) != 0) {
    return errno_error(shown, "symlink", errno);
  }
  // rename() replaces an existing link or file atomically and refuses to
  // replace a directory; it never follows a symlink at the destination.
  if (::renameat(dir.get(), temp.c_str(), dir.get(), leaf.c_str()) != 0) {
    const int err = errno;
    ::unlinkat(dir.get(), temp.c_str(), 0);
    return errno_error(shown, "rename", err);
  }
  return fsync_fd(dir.get(), shown);
}

Status HfView::write_ref(RepoType type, std::string_view repo_id, std::string_view revision,
                         std::string_view commit) const {
  if (!is_commit(commit))
    return make_error(ErrorCode::invalid_argument, "invalid commit: '" + std::string(commit) + "'");
  if (revision == commit) return Ok{};
  if (!util::is_safe_relative_path(revision)) {
    return make_error(ErrorCode::invalid_argument,
                      "unsafe revision: '" + std::string(revision) + "'");
  }
  const std::string folder = HFAUDIT_TRY(repo_folder_name(type, repo_id));
  const std::vector<std::string> segments = split_path(revision);
  std::vector<std::string> dirs{folder, "refs"};
  dirs.insert(dirs.end(), segments.begin(), segments.end() - 1);
  UniqueFd dir = HFAUDIT_TRY(open_dirs(m_root, dirs, Create::yes));
  const std::string leaf = segments.back();
  const std::string shown = m_root + "/" + folder + "/refs/" + std::string(revision);
  struct stat st {};
  if (exists_at(dir.get(), leaf, &st) && S_ISREG(st.st_mode)) {
    auto current = read_small_at(dir.get(), leaf);
    if (current && *current == commit) return Ok{};  // rewritten only when it changes
  }
  const std::string temp = "." + leaf + "." + util::random_hex(8) + ".tmp";
  {
    UniqueFd fd(::openat(dir.get(), temp.c_str(),
                         O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!fd.valid()) return errno_error(shown, "create", errno);
    // Exactly the 40 hex digits: readers compare the raw content, a newline
    // would make every lookup miss.
    auto st_write = write_all(fd.get(), commit.data(), commit.size(), shown);
    if (st_write) st_write = fsync_fd(fd.get(), shown);
    if (!st_write) {
      ::unlinkat(dir.get(), temp.c_str(), 0);
      return st_write.error();
    }
  }
  if (::renameat(dir.get(), temp.c_str(), dir.get(), leaf.c_str()) != 0) {
    const int err = errno;
    ::unlinkat(dir.get(), temp.c_str(), 0);
    return errno_error(shown, "rename", err);
  }
  return fsync_fd(dir.get(), shown);
}

Result<ViewRemoval> HfView::remove_blob_everywhere(std::string_view etag) const {
  if (!is_etag(etag))
    return make_error(ErrorCode::invalid_argument, "invalid etag: '" + std::string(etag) + "'");
  ViewRemoval removal;
  auto root = open_dirs(m_root, {}, Create::no);
  if (!root)
    return root.error().code == ErrorCode::not_found ? Result<ViewRemoval>(removal) : root.error();
  for (const std::string& folder : HFAUDIT_TRY(list_at(root->get(), m_root))) {
    if (folder.find("--") == std::string::npos) continue;
    auto repo = open_dir_at(root->get(), folder, Create::no, m_root + "/" + folder);
    if (!repo) continue;  // a file or a symlink: not ours to touch
    const std::string shown = m_root + "/" + folder;
    if (auto snapshots = open_dir_at(repo->get(), "snapshots", Create::no, shown + "/snapshots")) {
      HFAUDIT_TRY(walk_files(snapshots->get(), "", shown + "/snapshots",
                             [&](int dirfd, const std::string& name, const std::string& rel,
                                 const struct stat& st) -> Status {
                               if (!S_ISLNK(st.st_mode)) return Ok{};
                               auto target = read_link_at(dirfd, name);
                               if (!target || linked_etag(*target) != etag) return Ok{};
                               if (::unlinkat(dirfd, name.c_str(), 0) != 0 && errno != ENOENT) {
                                 return errno_error(shown + "/snapshots/" + rel, "remove", errno);
                               }
                               ++removal.links_removed;
                               return Ok{};
                             }));
      HFAUDIT_TRY(fsync_fd(snapshots->get(), shown + "/snapshots"));
    }
    if (auto blobs = open_dir_at(repo->get(), "blobs", Create::no, shown + "/blobs")) {
      if (::unlinkat(blobs->get(), std::string(etag).c_str(), 0) == 0) {
        ++removal.blobs_removed;
        HFAUDIT_TRY(fsync_fd(blobs->get(), shown + "/blobs"));
      } else if (errno != ENOENT) {
        return errno_error(shown + "/blobs/" + std::string(etag), "remove", errno);
      }
    }
  }
  return removal;
}

Result<ViewRemoval> HfView::remove_snapshot(RepoType type, std::string_view repo_id,
                                            std::string_view commit) const {
  if (!is_commit(commit))
    return make_error(ErrorCode::invalid_argument, "invalid commit: '" + std::string(commit) + "'");
  const std::string folder = HFAUDIT_TRY(repo_folder_name(type, repo_id));
  const std::string shown = m_root + "/" + folder;
  ViewRemoval removal;
  auto repo = open_dirs(m_root, {folder}, Create::no);
  if (!repo)
    return repo.error().code == ErrorCode::not_found ? Result<ViewRemoval>(removal) : repo.error();
  const std::string commit_name(commit);

  // 1. Refs first: a ref naming a missing snapshot is corruption to scan_cache_dir.
  if (auto refs = open_dir_at(repo->get(), "refs", Create::no, shown + "/refs")) {
    HFAUDIT_TRY(walk_files(refs->get(), "", shown + "/refs",
                           [&](int dirfd, const std::string& name, const std::string&,
                               const struct stat& st) -> Status {
                             if (!S_ISREG(st.st_mode)) return Ok{};
                             auto content = read_small_at(dirfd, name);
                             if (content && *content == commit &&
                                 ::unlinkat(dirfd, name.c_str(), 0) == 0) {
                               ++removal.refs_removed;
                             }
                             return Ok{};
                           }));
  }

  // 2. The snapshot, remembering which blobs it linked.
  std::set<std::string> linked;
  std::set<std::string> still_linked;
  auto snapshots = open_dir_at(repo->get(), "snapshots", Create::no, shown + "/snapshots");
  if (snapshots) {
    for (const std::string& entry : HFAUDIT_TRY(list_at(snapshots->get(), shown + "/snapshots"))) {
      struct stat st {};
      if (!exists_at(snapshots->get(), entry, &st) || !S_ISDIR(st.st_mode)) continue;
      std::set<std::string>& into = entry == commit_name ? linked : still_linked;
      UniqueFd dir = HFAUDIT_TRY(
          open_dir_at(snapshots->get(), entry, Create::no, shown + "/snapshots/" + entry));
      HFAUDIT_TRY(walk_files(dir.get(), "", shown + "/snapshots/" + entry,
                             [&](int dirfd, const std::string& name, const std::string&,
                                 const struct stat& file) -> Status {
                               if (!S_ISLNK(file.st_mode)) return Ok{};
                               if (auto target = read_link_at(dirfd, name)) {
                                 const std::string blob = linked_etag(*target);
                                 if (!blob.empty()) into.insert(blob);
                                 if (entry == commit_name) ++removal.links_removed;
                               }
                               return Ok{};
                             }));
    }
    HFAUDIT_TRY(remove_tree_at(snapshots->get(), commit_name, shown + "/snapshots/" + commit_name));
  }
  if (auto no_exist = open_dir_at(repo->get(), ".no_exist", Create::no, shown + "/.no_exist")) {
    HFAUDIT_TRY(remove_tree_at(no_exist->get(), commit_name, shown + "/.no_exist/" + commit_name));
  }
  if (auto trees = open_dir_at(repo->get(), "trees", Create::no, shown + "/trees")) {
    ::unlinkat(trees->get(), (commit_name + ".json").c_str(), 0);
  }

  // 3. Blobs only this snapshot used. Blobs we never linked are left alone.
  if (auto blobs = open_dir_at(repo->get(), "blobs", Create::no, shown + "/blobs")) {
    for (const std::string& blob : linked) {
      if (still_linked.count(blob) != 0) continue;
      if (::unlinkat(blobs->get(), blob.c_str(), 0) == 0) ++removal.blobs_removed;
    }
  }

  // 4. Nothing left: remove the repo folder, as `hf cache delete` would.
  if (still_linked.empty() && snapshots) {
    auto left = HFAUDIT_TRY(list_at(snapshots->get(), shown + "/snapshots"));
    if (left.empty()) {
      snapshots = util::Result<UniqueFd>(UniqueFd());
      repo = util::Result<UniqueFd>(UniqueFd());
      UniqueFd root = HFAUDIT_TRY(open_dirs(m_root, {}, Create::no));
      HFAUDIT_TRY(remove_tree_at(root.get(), folder, shown));
      return removal;
    }
  }
  if (snapshots) HFAUDIT_TRY(fsync_fd(snapshots->get(), shown + "/snapshots"));
  return removal;
}

}  // namespace hfaudit::cache
