// Repository references as users write them ("org/name", "org/name@rev") and the encodings
// the Hub expects in URLs (reference hub-api.md §0).
#pragma once

#include <string>
#include <string_view>

#include "util/result.hpp"

namespace hfaudit::hub {

inline constexpr std::size_t k_max_repo_name_length = 96;  // huggingface_hub's limit
inline constexpr std::size_t k_max_namespace_length = 96;
inline constexpr std::size_t k_max_revision_length = 255;
inline constexpr std::string_view k_default_revision = "main";

// A validated model repository id "namespace/name". Allowed: ASCII letters, digits, '-',
// '_' and '.'; each part 1-96 characters, not starting or ending with '-' or '.', no ".."
// or "--", the name not ending in ".git". Legacy un-namespaced ids ("gpt2") are rejected:
// the Hub only redirects them, so callers must name the owner.
class RepoId {
 public:
  // Failure: ErrorCode::invalid_argument with a message naming the rule that was broken.
  static util::Result<RepoId> parse(std::string_view text);

  const std::string& str() const { return m_id; }
  std::string_view owner() const { return std::string_view(m_id).substr(0, m_slash); }
  std::string_view name() const { return std::string_view(m_id).substr(m_slash + 1); }

  friend bool operator==(const RepoId&, const RepoId&) = default;

 private:
  RepoId(std::string id, std::size_t slash) : m_id(std::move(id)), m_slash(slash) {}
  std::string m_id;
  std::size_t m_slash = 0;
};

enum class RevisionGiven { no, yes };

// "org/name[@rev]"; the revision defaults to "main".
struct RepoRef {
  RepoId repo;
  std::string revision;
  RevisionGiven revision_given = RevisionGiven::no;
};

// Parses "org/name" or "org/name@rev" (split at the first '@'; repo ids cannot contain one).
// Failure: ErrorCode::invalid_argument (bad repo id, empty or invalid revision).
util::Result<RepoRef> parse_repo_ref(std::string_view text);

// A revision is a branch, tag, short or full commit, or refs/pr/N: 1-255 printable ASCII
// characters without spaces, "..", control characters or any of ~^:?*[\ and not starting
// or ending with '/'. Failure: ErrorCode::invalid_argument.
util::Status validate_revision(std::string_view revision);

// True for a full lowercase commit id (^[0-9a-f]{40}$).
bool is_commit_hash(std::string_view text);

// Percent-encodes every byte except the unreserved ones (A-Z a-z 0-9 - . _ ~): how a revision
// goes into /revision/{rev}, /tree/{rev} and /resolve/{rev}/ ("refs/pr/1" -> "refs%2Fpr%2F1").
std::string encode_revision(std::string_view revision);

// Percent-encodes every byte except unreserved ones and '/': how a file path goes into a
// resolve URL ("a b/c.bin" -> "a%20b/c.bin").
std::string encode_path(std::string_view path);

// Form/query value encoding (same set as encode_revision).
std::string encode_component(std::string_view value);

}  // namespace hfaudit::hub
