#include "hub/repo_ref.hpp"

namespace hfaudit::hub {

namespace {

using util::ErrorCode;
using util::make_error;

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

std::string percent_encode(std::string_view text, bool keep_slash) {
  static constexpr char k_hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c) || (keep_slash && c == '/')) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(k_hex[c >> 4]);
      out.push_back(k_hex[c & 0xF]);
    }
  }
  return out;
}

bool is_repo_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

// Why `part` is not a valid namespace or name, or empty when it is.
std::string part_problem(std::string_view part, std::string_view what, std::size_t max_length) {
  if (part.empty()) return std::string(what) + " is empty";
  if (part.size() > max_length) {
    return std::string(what) + " is longer than " + std::to_string(max_length) + " characters";
  }
  for (const char c : part) {
    if (!is_repo_char(c)) {
      return std::string(what) + " may only contain letters, digits, '-', '_' and '.'";
    }
  }
  if (part.front() == '-' || part.front() == '.' || part.back() == '-' || part.back() == '.') {
    return std::string(what) + " may not start or end with '-' or '.'";
  }
  if (part.find("..") != std::string_view::npos || part.find("--") != std::string_view::npos) {
    return std::string(what) + " may not contain \"..\" or \"--\"";
  }
  return {};
}

// Shows the offending input, cut and stripped of control bytes, so the message stays one line.
std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (const char c : text.substr(0, 120)) {
    out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c);
  }
  if (text.size() > 120) out += "...";
  out += "\"";
  return out;
}

}  // namespace

util::Result<RepoId> RepoId::parse(std::string_view text) {
  const auto fail = [&](const std::string& why) -> util::Error {
    return make_error(ErrorCode::invalid_argument,
                      "invalid repository id " + quoted(text) + ": " + why);
  };
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    return fail("expected \"owner/name\" (e.g. google-bert/bert-base-uncased)");
  }
  if (text.find('/', slash + 1) != std::string_view::npos) {
    return fail("expected exactly one '/' between owner and name");
  }
  const std::string_view owner = text.substr(0, slash);
  const std::string_view name = text.substr(slash + 1);
  if (auto why = part_problem(owner, "the owner", k_max_namespace_length); !why.empty()) {
    return fail(why);
  }
  if (auto why = part_problem(name, "the name", k_max_repo_name_length); !why.empty()) {
    return fail(why);
  }
  if (name.size() >= 4 && name.substr(name.size() - 4) == ".git") {
    return fail("the name may not end with \".git\"");
  }
  return RepoId(std::string(text), slash);
}

util::Status validate_revision(std::string_view revision) {
  const auto fail = [&](const std::string& why) -> util::Error {
    return make_error(ErrorCode::invalid_argument,
                      "invalid revision " + quoted(revision) + ": " + why);
  };
  if (revision.empty()) return fail("it is empty");
  if (revision.size() > k_max_revision_length) {
    return fail("longer than " + std::to_string(k_max_revision_length) + " characters");
  }
  for (const char c : revision) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return fail("only printable ASCII without spaces is allowed");
    if (std::string_view("~^:?*[\\").find(c) != std::string_view::npos) {
      return fail("characters ~ ^ : ? * [ \\ are not allowed in git refs");
    }
  }
  if (revision.find("..") != std::string_view::npos) return fail("\"..\" is not allowed");
  if (revision.front() == '/' || revision.back() == '/' ||
      revision.find("//") != std::string_view::npos) {
    return fail("empty path components are not allowed");
  }
  return util::Ok{};
}

util::Result<RepoRef> parse_repo_ref(std::string_view text) {
  const std::size_t at = text.find('@');
  auto repo = RepoId::parse(text.substr(0, at));
  if (!repo) return repo.error();
  if (at == std::string_view::npos) {
    return RepoRef{std::move(repo).value(), std::string(k_default_revision), RevisionGiven::no};
  }
  const std::string_view revision = text.substr(at + 1);
  if (auto valid = validate_revision(revision); !valid) return valid.error();
  return RepoRef{std::move(repo).value(), std::string(revision), RevisionGiven::yes};
}

bool is_commit_hash(std::string_view text) {
  if (text.size() != 40) return false;
  for (const char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string encode_revision(std::string_view revision) {
  return percent_encode(revision, false);
}
std::string encode_path(std::string_view path) {
  return percent_encode(path, true);
}
std::string encode_component(std::string_view value) {
  return percent_encode(value, false);
}

}  // namespace hfaudit::hub
