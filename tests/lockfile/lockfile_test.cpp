#include "lockfile/lockfile.hpp"

#include <stdlib.h>
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <string>

#include "util/fs.hpp"

using namespace hfaudit;
using namespace hfaudit::lockfile;

namespace {

const std::string k_sha_a(64, 'a');
const std::string k_sha_b(64, 'b');
const std::string k_oid_1(40, '1');
const std::string k_commit_c(40, 'c');
const std::string k_commit_d(40, 'd');

LockedRepo sample_repo(std::string id, std::string commit = k_commit_c) {
  LockedRepo entry;
  entry.repo = std::move(id);
  entry.revision = "main";
  entry.commit = std::move(commit);
  entry.include = {"*.safetensors", "*.json"};
  entry.exclude = {};
  entry.policy = {"default", k_sha_b, Verdict::warn, {"community.min_downloads"}};
  entry.files = {
      {"model.safetensors", 1234, k_sha_a, k_oid_1, true},
      {"config.json", 42, k_sha_b, k_oid_1, false},
  };
  return entry;
}

// A valid document to break one field at a time.
const std::string k_valid = R"({
  "repos": [
    {
      "commit": "cccccccccccccccccccccccccccccccccccccccc",
      "exclude": [],
      "files": [
        {
          "git_oid": "1111111111111111111111111111111111111111",
          "lfs": false,
          "path": "config.json",
          "sha256": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
          "size": 42
        }
      ],
      "include": [],
      "policy": {
        "name": "default",
        "sha256": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
        "verdict": "allow",
        "warnings": []
      },
      "repo": "org/model",
      "revision": "main"
    }
  ],
  "version": 1
}
)";

// The error text of a failed Result, "" on success (for assertion messages).
template <typename R>
std::string why(const R& result) {
  return result.ok() ? std::string() : result.error().message;
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  BOOST_TEST_REQUIRE(at != std::string::npos, "fixture lacks " << from);
  return text.replace(at, from.size(), to);
}

// An RAII scratch directory.
struct TempDir {
  TempDir() {
    char pattern[] = "/tmp/hfaudit-lockfile-XXXXXX";
    BOOST_TEST_REQUIRE(::mkdtemp(pattern) != nullptr);
    path = pattern;
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
  std::string path;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(lockfile_test)

BOOST_AUTO_TEST_CASE(round_trip_preserves_every_field) {
  Lockfile lock;
  lock.upsert(sample_repo("org/b"));
  lock.upsert(sample_repo("org/a", k_commit_d));
  const std::string text = serialize(lock);
  auto parsed = parse(text, "hfaudit.lock");
  BOOST_TEST_REQUIRE(parsed.ok(), why(parsed));
  BOOST_TEST((*parsed == lock));
  BOOST_TEST(serialize(*parsed) == text);
}

BOOST_AUTO_TEST_CASE(output_is_canonical_whatever_the_input_order) {
  Lockfile forward;
  forward.repos = {sample_repo("org/a"), sample_repo("Org/B")};
  Lockfile backward;
  LockedRepo reversed = sample_repo("org/a");
  std::reverse(reversed.files.begin(), reversed.files.end());
  std::reverse(reversed.include.begin(), reversed.include.end());
  backward.repos = {sample_repo("Org/B"), reversed};
  BOOST_TEST(serialize(forward) == serialize(backward));

  const std::string text = serialize(forward);
  // Repos sorted without case, files by path, keys sorted, newline at the end.
  BOOST_TEST(text.find("\"org/a\"") < text.find("\"Org/B\""));
  BOOST_TEST(text.find("config.json") < text.find("model.safetensors"));
  BOOST_TEST(text.find("\"commit\"") < text.find("\"exclude\""));
  BOOST_TEST(text.find("\"repos\"") < text.find("\"version\""));
  BOOST_TEST(text.back() == '\n');
  BOOST_TEST(text.find("\n  \"repos\": [\n    {\n      \"commit\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_valid_fixture_is_the_canonical_text) {
  auto parsed = parse(k_valid, "x.lock");
  BOOST_TEST_REQUIRE(parsed.ok(), why(parsed));
  BOOST_TEST(serialize(*parsed) == k_valid);
}

BOOST_AUTO_TEST_CASE(upsert_replaces_only_the_named_entry) {
  Lockfile lock;
  lock.upsert(sample_repo("org/a"));
  lock.upsert(sample_repo("org/b"));
  const std::string before = serialize(lock);
  lock.upsert(sample_repo("ORG/b", k_commit_d));  // same repo, other case
  BOOST_TEST_REQUIRE(lock.repos.size() == 2u);
  BOOST_TEST(lock.find("org/B")->commit == k_commit_d);
  BOOST_TEST(lock.find("org/a")->commit == k_commit_c);
  BOOST_TEST(lock.find("org/c") == nullptr);
  // The untouched entry's lines are unchanged.
  const std::string after = serialize(lock);
  const size_t a_end = before.find("\"repo\": \"org/a\"");
  BOOST_TEST(after.substr(0, a_end) == before.substr(0, a_end));
}

BOOST_AUTO_TEST_CASE(malformed_documents_name_the_file_and_the_problem) {
  struct Case {
    std::string text;
    std::string expected;  // substring of the message
  };
  const Case cases[] = {
      {"", "x.lock: line 1 column 1: not valid JSON"},
      {"{\n  \"version\": 1,\n  \"repos\": [\n}", "x.lock: line 4 column 1: not valid JSON"},
      {"[]", "x.lock: top level: expected an object"},
      {R"({"repos": []})", "x.lock: version: missing"},
      {R"({"version": "1", "repos": []})", "x.lock: version: expected an integer"},
      {R"({"version": 2, "repos": []})", "version: format version 2 is newer than this hfaudit"},
      {R"({"version": 0, "repos": []})", "version: unsupported format version 0"},
      {R"({"version": 1})", "x.lock: repos: missing"},
      {R"({"version": 1, "repos": [], "extra": 1})", "x.lock: extra: unknown key"},
      {replaced(k_valid, "\"org/model\"", "\"no-slash\""),
       "repos[0] repo: \"no-slash\" is not a repository id"},
      {replaced(k_valid, "\"revision\": \"main\"", "\"revision\": \"\""),
       "repos[0] \"org/model\" revision: must not be empty"},
      {replaced(k_valid, "\"commit\": \"cccc", "\"commit\": \"CCCC"),
       "repos[0] \"org/model\" commit: expected 40 lowercase hex characters"},
      {replaced(k_valid, "\"size\": 42", "\"size\": -1"),
       "repos[0] \"org/model\" files[0] \"config.json\" size: expected a non-negative integer"},
      {replaced(k_valid, "\"sha256\": \"aaaa", "\"sha256\": \"aaa"),
       "files[0] \"config.json\" sha256: expected 64 lowercase hex characters"},
      {replaced(k_valid, "\"lfs\": false", "\"lfs\": \"no\""), "lfs: expected true or false"},
      {replaced(k_valid, "\"path\": \"config.json\"", "\"path\": \"../etc/passwd\""),
       "files[0] path: \"../etc/passwd\" is not a safe relative path"},
      {replaced(k_valid, "\"lfs\": false,", "\"lfs\": false, \"mode\": 1,"),
       "files[0] mode: unknown key"},
      {replaced(k_valid, "\"git_oid\": \"1111111111111111111111111111111111111111\",", ""),
       "files[0] \"config.json\" git_oid: missing"},
      {replaced(k_valid, "\"verdict\": \"allow\"", "\"verdict\": \"block\""),
       "policy verdict: expected \"allow\" or \"warn\", got \"block\""},
      {replaced(k_valid, "\"include\": []", "\"include\": [\"\"]"),
       "include: expected an array of non-empty strings"},
      {replaced(k_valid, "\"files\": [", "\"files\": 3, \"x\": ["), "x: unknown key"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_INFO("expected: " << c.expected);
    auto parsed = parse(c.text, "x.lock");
    BOOST_TEST_REQUIRE(!parsed.ok());
    BOOST_TEST_MESSAGE(parsed.error().message);
    BOOST_TEST((parsed.error().code == util::ErrorCode::invalid_argument));
    BOOST_TEST(parsed.error().message.find(c.expected) != std::string::npos,
               parsed.error().message);
  }
}

BOOST_AUTO_TEST_CASE(duplicates_are_refused) {
  Lockfile twice;
  twice.repos = {sample_repo("org/a"), sample_repo("ORG/A")};
  auto parsed = parse(serialize(twice), "x.lock");
  BOOST_TEST_REQUIRE(!parsed.ok());
  BOOST_TEST(
      parsed.error().message.find("repos[1]: \"org/a\" is listed twice") != std::string::npos,
      parsed.error().message);

  LockedRepo entry = sample_repo("org/a");
  entry.files.push_back(entry.files.front());
  Lockfile files_twice;
  files_twice.repos = {entry};
  parsed = parse(serialize(files_twice), "x.lock");
  BOOST_TEST_REQUIRE(!parsed.ok());
  BOOST_TEST(parsed.error().message.find("is listed twice") != std::string::npos,
             parsed.error().message);
}

BOOST_AUTO_TEST_CASE(write_is_atomic_and_refuses_what_would_not_read_back) {
  TempDir dir;
  const std::string path = dir.path + "/hfaudit.lock";
  Lockfile lock;
  lock.upsert(sample_repo("org/a"));
  BOOST_TEST_REQUIRE(write(path, lock).ok());
  auto reread = read(path);
  BOOST_TEST_REQUIRE(reread.ok(), why(reread));
  BOOST_TEST((*reread == lock));

  LockedRepo bad = sample_repo("org/b");
  bad.files.front().sha256 = "not-a-hash";
  Lockfile invalid = lock;
  invalid.upsert(bad);
  auto status = write(path, invalid);
  BOOST_TEST_REQUIRE(!status.ok());
  BOOST_TEST(status.error().message.find("sha256") != std::string::npos, status.error().message);
  // The previous file is intact.
  reread = read(path);
  BOOST_TEST_REQUIRE(reread.ok());
  BOOST_TEST((*reread == lock));

  LockedRepo bad_utf8 = sample_repo("org/c");
  bad_utf8.files.front().path = "caf\xC3";
  invalid = lock;
  invalid.upsert(bad_utf8);
  BOOST_TEST(!write(path, invalid).ok());
}

BOOST_AUTO_TEST_CASE(read_of_a_missing_file_is_not_found) {
  TempDir dir;
  auto parsed = read(dir.path + "/absent.lock");
  BOOST_TEST_REQUIRE(!parsed.ok());
  BOOST_TEST((parsed.error().code == util::ErrorCode::not_found));
  BOOST_TEST(parsed.error().message.find("absent.lock") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_empty_lock_is_valid) {
  const std::string text = serialize(Lockfile{});
  BOOST_TEST(text == "{\n  \"repos\": [],\n  \"version\": 1\n}\n");
  BOOST_TEST(parse(text, "x.lock").ok());
}

BOOST_AUTO_TEST_SUITE_END()
