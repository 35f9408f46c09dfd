#include "hub/repo_ref.hpp"

#include <boost/test/unit_test.hpp>

using namespace hfaudit::hub;

BOOST_AUTO_TEST_SUITE(repo_ref_test)

BOOST_AUTO_TEST_CASE(repo_id_validation_table) {
  struct Row {
    const char* text;
    bool valid;
    const char* why;  // fragment of the message for invalid ids
  };
  const std::string long_name(97, 'a');
  const std::string max_name(96, 'a');
  const std::string long_id = "org/" + long_name;
  const std::string max_id = "org/" + max_name;
  const Row rows[] = {
      {"google-bert/bert-base-uncased", true, ""},
      {"stabilityai/sdxl-turbo", true, ""},
      {"a/b", true, ""},
      {"Org_1/Model.v2-final", true, ""},
      {max_id.c_str(), true, ""},
      {"bert-base-uncased", false, "owner/name"},
      {"", false, "owner/name"},
      {"org/", false, "empty"},
      {"/name", false, "empty"},
      {"a/b/c", false, "exactly one"},
      {"org/na me", false, "only contain"},
      {"org/name!", false, "only contain"},
      {"org/naïve", false, "only contain"},
      {"org/-name", false, "start or end"},
      {"org/name-", false, "start or end"},
      {".org/name", false, "start or end"},
      {"org/name.", false, "start or end"},
      {"org/a..b", false, "\"..\""},
      {"org/a--b", false, "\"--\""},
      {"org/..", false, "start or end"},
      {"org/name.git", false, ".git"},
      {long_id.c_str(), false, "longer than 96"},
      {"org/name@main", false, "only contain"},
  };
  for (const auto& row : rows) {
    BOOST_TEST_CONTEXT("id " << row.text) {
      auto parsed = RepoId::parse(row.text);
      BOOST_TEST(parsed.ok() == row.valid);
      if (parsed.ok()) {
        BOOST_TEST(parsed->str() == row.text);
      } else {
        BOOST_TEST((parsed.error().code == hfaudit::util::ErrorCode::invalid_argument));
        BOOST_TEST(parsed.error().message.find(row.why) != std::string::npos,
                   parsed.error().message);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(repo_id_splits_owner_and_name) {
  auto id = RepoId::parse("google-bert/bert-base-uncased").value();
  BOOST_TEST(id.owner() == "google-bert");
  BOOST_TEST(id.name() == "bert-base-uncased");
}

BOOST_AUTO_TEST_CASE(repo_ref_parses_optional_revision) {
  auto plain = parse_repo_ref("org/name").value();
  BOOST_TEST(plain.repo.str() == "org/name");
  BOOST_TEST(plain.revision == "main");
  BOOST_TEST((plain.revision_given == RevisionGiven::no));

  auto pr = parse_repo_ref("org/name@refs/pr/12").value();
  BOOST_TEST(pr.revision == "refs/pr/12");
  BOOST_TEST((pr.revision_given == RevisionGiven::yes));

  auto sha = parse_repo_ref("org/name@86b5e09").value();
  BOOST_TEST(sha.revision == "86b5e09");

  BOOST_TEST(!parse_repo_ref("org/name@").ok());
  BOOST_TEST(!parse_repo_ref("org/name@a..b").ok());
  BOOST_TEST(!parse_repo_ref("org/name@has space").ok());
  BOOST_TEST(!parse_repo_ref("org/name@/lead").ok());
  BOOST_TEST(!parse_repo_ref("org/name@a:b").ok());
  BOOST_TEST(!parse_repo_ref("bad@main").ok());
}

BOOST_AUTO_TEST_CASE(revision_encoding_table) {
  const std::pair<const char*, const char*> rows[] = {
      {"main", "main"},
      {"refs/pr/1", "refs%2Fpr%2F1"},
      {"v1.0", "v1.0"},
      {"feature/x y", "feature%2Fx%20y"},
      {"a+b", "a%2Bb"},
      {"100%", "100%25"},
      {"é", "%C3%A9"},
      {"~tilde_under-dash", "~tilde_under-dash"},
      {"86b5e0934494bd15c9632b12f734a8a67f723594", "86b5e0934494bd15c9632b12f734a8a67f723594"},
  };
  for (const auto& [in, out] : rows) {
    BOOST_TEST(encode_revision(in) == out, "revision " << in);
  }
}

BOOST_AUTO_TEST_CASE(path_encoding_keeps_slashes_only) {
  const std::pair<const char*, const char*> rows[] = {
      {"config.json", "config.json"},
      {"a b/c.bin", "a%20b/c.bin"},
      {"coreml/fill-mask/float32_model.mlpackage/Manifest.json",
       "coreml/fill-mask/float32_model.mlpackage/Manifest.json"},
      {"weights#1?.bin", "weights%231%3F.bin"},
      {"dir/ü.txt", "dir/%C3%BC.txt"},
      {"100%.txt", "100%25.txt"},
  };
  for (const auto& [in, out] : rows) BOOST_TEST(encode_path(in) == out, "path " << in);
}

BOOST_AUTO_TEST_CASE(commit_detection_is_exact) {
  BOOST_TEST(is_commit_hash("86b5e0934494bd15c9632b12f734a8a67f723594"));
  BOOST_TEST(!is_commit_hash("86B5E0934494BD15C9632B12F734A8A67F723594"));  // uppercase
  BOOST_TEST(!is_commit_hash("86b5e09"));
  BOOST_TEST(!is_commit_hash("86b5e0934494bd15c9632b12f734a8a67f7235940"));
  BOOST_TEST(!is_commit_hash("g6b5e0934494bd15c9632b12f734a8a67f723594"));
  BOOST_TEST(!is_commit_hash(""));
}

BOOST_AUTO_TEST_SUITE_END()
