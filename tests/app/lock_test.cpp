#include "app/lock.hpp"

#include <boost/test/unit_test.hpp>
#include <string>

using namespace hfaudit;
using namespace hfaudit::app;

namespace {

const std::string k_commit(40, 'c');

hub::RepoRef ref(const std::string& text) {
  auto parsed = hub::parse_repo_ref(text);
  BOOST_TEST_REQUIRE(parsed.ok());
  return *parsed;
}

PulledFile pulled(std::string path, FileOutcome outcome, bool lfs = false) {
  PulledFile f;
  f.path = std::move(path);
  f.size = 10;
  f.lfs = lfs;
  f.sha256 = std::string(64, 'a');
  f.git_oid = std::string(40, '1');
  f.etag = lfs ? f.sha256 : f.git_oid;
  f.outcome = outcome;
  return f;
}

// A pull that admitted two files under a policy that warned.
PullResult good_pull() {
  PullResult r;
  r.repo = "org/model";
  r.revision = "main";
  r.commit = k_commit;
  r.files = {pulled("z.safetensors", FileOutcome::linked, true),
             pulled("a.json", FileOutcome::linked), pulled("x.bin", FileOutcome::excluded)};
  policies::Decision d;
  d.verdict = policies::Verdict::warn;
  d.policy_name = "default";
  d.policy_sha256 = std::string(64, 'b');
  policies::RuleResult warned;
  warned.id = "community.min_downloads";
  warned.outcome = policies::Outcome::warn;
  policies::RuleResult passed;
  passed.id = "formats.pickle";
  passed.outcome = policies::Outcome::pass;
  d.rules = {warned, passed};
  r.decision = d;
  return r;
}

lockfile::Lockfile existing_lock() {
  lockfile::LockedRepo entry;
  entry.repo = "Org/Model";
  entry.revision = "v1";
  entry.commit = k_commit;
  entry.include = {"*.json"};
  entry.policy = {"default", std::string(64, 'b'), lockfile::Verdict::allow, {}};
  entry.files = {{"a.json", 10, std::string(64, 'a'), std::string(40, '1'), false}};
  lockfile::Lockfile lock;
  lock.upsert(entry);
  return lock;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(lock_test)

BOOST_AUTO_TEST_CASE(pinned_entry_records_admitted_files_sorted_and_the_verdict) {
  const LockRequest request = lock_request(ref("org/model"), {}, {"*.bin"}, {});
  auto entry = pinned_entry(good_pull(), request);
  BOOST_TEST_REQUIRE(entry.ok());
  BOOST_TEST(entry->repo == "org/model");
  BOOST_TEST(entry->revision == "main");
  BOOST_TEST(entry->commit == k_commit);
  BOOST_TEST(entry->exclude == std::vector<std::string>{"*.bin"});
  BOOST_TEST_REQUIRE(entry->files.size() == 2u);  // the excluded file is not pinned
  BOOST_TEST(entry->files[0].path == "a.json");
  BOOST_TEST(entry->files[1].path == "z.safetensors");
  BOOST_TEST(entry->files[1].lfs);
  BOOST_TEST(entry->files[1].git_oid == std::string(40, '1'));
  BOOST_TEST((entry->policy.verdict == lockfile::Verdict::warn));
  BOOST_TEST(entry->policy.warnings == std::vector<std::string>{"community.min_downloads"});
  BOOST_TEST(entry->policy.sha256 == std::string(64, 'b'));
}

BOOST_AUTO_TEST_CASE(pinned_entry_refuses_what_was_not_fully_admitted) {
  const LockRequest request = lock_request(ref("org/model"), {}, {}, {});
  struct Case {
    std::string name;
    PullResult pull;
    util::ErrorCode code;
    std::string expected;
  };
  std::vector<Case> cases;
  {
    PullResult r = good_pull();
    r.files[0].outcome = FileOutcome::blocked;
    r.files[0].reason = "scan verdict critical";
    cases.push_back({"a blocked file", r, util::ErrorCode::policy_denied,
                     "z.safetensors was blocked: scan verdict critical"});
  }
  {
    PullResult r = good_pull();
    r.decision->verdict = policies::Verdict::block;
    r.decision->rules[1].outcome = policies::Outcome::block;
    cases.push_back({"a block verdict", r, util::ErrorCode::policy_denied,
                     "blocked by policy default (formats.pickle)"});
  }
  {
    PullResult r = good_pull();
    r.files[1].outcome = FileOutcome::failed;
    r.files[1].reason = "hash mismatch";
    cases.push_back({"a failed file", r, util::ErrorCode::invalid_argument,
                     "a.json was not verified: hash mismatch"});
  }
  {
    PullResult r = good_pull();
    r.files = {pulled("x.bin", FileOutcome::excluded)};
    cases.push_back({"nothing selected", r, util::ErrorCode::invalid_argument,
                     "matches the include/exclude globs"});
  }
  {
    PullResult r = good_pull();
    r.decision.reset();
    cases.push_back({"no decision", r, util::ErrorCode::invalid_argument, "no policy decision"});
  }
  {
    PullResult r = good_pull();
    r.failure = PullFailure{PullFailure::Kind::hub, "not found or no access", ""};
    cases.push_back(
        {"a failed pull", r, util::ErrorCode::invalid_argument, "not found or no access"});
  }
  for (const auto& c : cases) {
    BOOST_TEST_INFO(c.name);
    auto entry = pinned_entry(c.pull, request);
    BOOST_TEST_REQUIRE(!entry.ok());
    BOOST_TEST((entry.error().code == c.code));
    BOOST_TEST(entry.error().message.find(c.expected) != std::string::npos, entry.error().message);
  }
}

BOOST_AUTO_TEST_CASE(a_request_keeps_what_the_command_line_does_not_say) {
  const lockfile::Lockfile lock = existing_lock();
  // Neither revision nor globs given: the entry's (matched without case).
  LockRequest r = lock_request(ref("org/model"), {}, {}, lock);
  BOOST_TEST(r.ref.revision == "v1");
  BOOST_TEST(r.include == std::vector<std::string>{"*.json"});
  // Both given: they replace the entry's, and globs replace both lists.
  r = lock_request(ref("org/model@main"), {}, {"*.bin"}, lock);
  BOOST_TEST(r.ref.revision == "main");
  BOOST_TEST(r.include.empty());
  BOOST_TEST(r.exclude == std::vector<std::string>{"*.bin"});
  // A repository not in the lock: the defaults.
  r = lock_request(ref("org/other"), {}, {}, lock);
  BOOST_TEST(r.ref.revision == "main");
  BOOST_TEST(r.include.empty());
}

BOOST_AUTO_TEST_CASE(relocking_all_entries_uses_their_revisions_and_globs) {
  auto requests = lock_requests(existing_lock());
  BOOST_TEST_REQUIRE(requests.ok());
  BOOST_TEST_REQUIRE(requests->size() == 1u);
  BOOST_TEST((*requests)[0].ref.repo.str() == "Org/Model");
  BOOST_TEST((*requests)[0].ref.revision == "v1");
  BOOST_TEST((*requests)[0].include == std::vector<std::string>{"*.json"});

  lockfile::Lockfile bad = existing_lock();
  bad.repos[0].revision = "bad..revision";
  auto refused = lock_requests(bad);
  BOOST_TEST_REQUIRE(!refused.ok());
  BOOST_TEST(refused.error().message.find("Org/Model@bad..revision") != std::string::npos,
             refused.error().message);
}

BOOST_AUTO_TEST_SUITE_END()
