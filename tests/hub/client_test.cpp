#include "hub/client.hpp"

#include <boost/test/unit_test.hpp>

#include "test_support.hpp"
#include "util/text.hpp"

using namespace hfaudit::hub;
using namespace std::chrono_literals;
using hfaudit::hub::test::Fixture;
using hfaudit::hub::test::k_commit;
using hfaudit::hub::test::k_token;
using hfaudit::hub::test::read_sample;
using hfaudit::hub::test::repo;
using hfaudit::hub::test::why;

namespace {

const std::string k_api = "https://huggingface.co/api/models/google-bert/bert-base-uncased";
const std::string k_resolve =
    "https://huggingface.co/google-bert/bert-base-uncased/resolve/" + std::string(k_commit);

std::optional<std::string> header(const HttpRequest& request, std::string_view name) {
  for (const auto& [key, value] : request.headers) {
    if (hfaudit::util::iequals(key, name)) return value;
  }
  return std::nullopt;
}

ReplayAnswer answer(int status, std::vector<std::pair<std::string, std::string>> headers = {},
                    std::string body = {}) {
  return ReplayAnswer{status, std::move(headers), std::move(body), {}, 0};
}

bool mentions_token(const HubError& e) {
  const std::string all = e.message + e.hint + e.url + e.describe();
  return all.find("SecretTokenValue") != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(client_test)

BOOST_AUTO_TEST_CASE(endpoint_is_normalised_and_validated) {
  Fixture f;
  auto options = f.options();
  options.endpoint = "http://127.0.0.1:8080//";
  auto client = HubClient::create(options, f.transport);
  BOOST_TEST_REQUIRE(client.ok());
  BOOST_TEST(client->options().endpoint == "http://127.0.0.1:8080");
  BOOST_TEST(client->model_api_url(repo("a/b")) == "http://127.0.0.1:8080/api/models/a/b");
  BOOST_TEST(client->resolve_url(repo("a/b"), "refs/pr/1", "dir/x y.bin") ==
             "http://127.0.0.1:8080/a/b/resolve/refs%2Fpr%2F1/dir/x%20y.bin");
  options.endpoint = "ftp://example.com";
  BOOST_TEST(!HubClient::create(options, f.transport).ok());
  options.endpoint = "https://huggingface.co";
  options.token = std::string("abc\r\nX-Injected: 1");
  auto bad = HubClient::create(options, f.transport);
  BOOST_TEST_REQUIRE(!bad.ok());
  BOOST_TEST(bad.error().message.find("abc") == std::string::npos);
  BOOST_TEST(!HubClient::create(f.options(), nullptr).ok());
}

BOOST_AUTO_TEST_CASE(model_info_sends_token_user_agent_and_query) {
  Fixture f;
  f.transport->add_json(k_api + "/revision/refs%2Fpr%2F1?blobs=true&securityStatus=true",
                        read_sample("model-info_google-bert_bert-base-uncased_default.json"));
  ModelInfoQuery query;
  query.blobs = Blobs::yes;
  query.security_status = SecurityStatus::yes;
  auto info = f.client().model_info(repo("google-bert/bert-base-uncased"), "refs/pr/1", query);
  BOOST_TEST_REQUIRE(info.ok(), why(info));
  BOOST_TEST(info->sha == k_commit);
  const auto requests = f.transport->requests();
  BOOST_TEST_REQUIRE(requests.size() == 1u);
  BOOST_TEST(header(requests[0], "Authorization").value() == std::string("Bearer ") + k_token);
  BOOST_TEST(header(requests[0], "User-Agent").value().rfind("hfaudit/", 0) == 0);
  for (const auto& line : f.log_lines)
    BOOST_TEST(line.find("SecretTokenValue") == std::string::npos);
}

// huggingface_hub's two timeouts: HF_HUB_ETAG_TIMEOUT bounds metadata (every API call and
// the resolve HEAD), HF_HUB_DOWNLOAD_TIMEOUT bounds file downloads.
BOOST_AUTO_TEST_CASE(metadata_requests_use_the_etag_timeout_and_downloads_the_download_timeout) {
  Fixture f;
  auto options = f.options();
  options.etag_timeout = 1500ms;
  options.download_timeout = 42s;
  const HubClient client = f.client(options);
  f.transport->add_json(k_api + "/revision/main?expand=sha",
                        R"({"id":"x","sha":")" + std::string(k_commit) + R"("})");
  f.transport->add_json(k_api + "/tree/main", "[]");
  f.transport->add(
      HttpMethod::head, k_resolve + "/config.json",
      answer(200, {{"X-Repo-Commit", k_commit}, {"ETag", "\"abc\""}, {"Content-Length", "2"}}));
  f.transport->add(HttpMethod::get, k_resolve + "/config.json",
                   answer(200, {{"Content-Length", "2"}}, "{}"));
  const RepoId bert = repo("google-bert/bert-base-uncased");
  BOOST_TEST_REQUIRE(client.resolve_revision(bert, "main").ok());
  BOOST_TEST_REQUIRE(client.list_tree(bert, "main").ok());
  BOOST_TEST_REQUIRE(client.file_metadata(bert, k_commit, "config.json").ok());
  DownloadCallbacks callbacks;
  callbacks.on_data = [](std::string_view) { return true; };
  BOOST_TEST_REQUIRE(client.download(bert, k_commit, "config.json", callbacks).ok());
  const auto requests = f.transport->requests();
  BOOST_TEST_REQUIRE(requests.size() == 4u);
  for (size_t i = 0; i < 3; ++i) {
    BOOST_TEST(requests[i].read_timeout.count() == 1500, requests[i].url);
    BOOST_TEST(requests[i].connect_timeout.count() == 1500, requests[i].url);
  }
  BOOST_TEST(requests[3].read_timeout.count() == 42000);
  BOOST_TEST(requests[3].connect_timeout.count() == 42000);
}

BOOST_AUTO_TEST_CASE(model_info_expand_is_repeated_and_exclusive) {
  Fixture f;
  f.transport->add_json(
      k_api + "?expand=sha&expand=gated",
      R"({"_id":"x","id":"google-bert/bert-base-uncased","sha":"abc","gated":"manual"})");
  ModelInfoQuery query;
  query.expand = {"sha", "gated"};
  auto info = f.client().model_info(repo("google-bert/bert-base-uncased"), {}, query);
  BOOST_TEST_REQUIRE(info.ok());
  BOOST_TEST((info->gated.value() == Gated::manual));
  query.blobs = Blobs::yes;
  auto conflict = f.client().model_info(repo("google-bert/bert-base-uncased"), {}, query);
  BOOST_TEST_REQUIRE(!conflict.ok());
  BOOST_TEST((conflict.error().kind == HubErrorKind::invalid_argument));
  BOOST_TEST(f.transport->request_count() == 1u);
}

BOOST_AUTO_TEST_CASE(legacy_repo_id_relative_redirect_is_followed_with_token) {
  Fixture f;
  f.transport->add(HttpMethod::get, "https://huggingface.co/api/models/old-org/bert",
                   answer(307, {{"Location", "/api/models/google-bert/bert-base-uncased"}},
                          "Temporary Redirect"));
  f.transport->add_json(
      k_api, R"({"id":"google-bert/bert-base-uncased","sha":")" + std::string(k_commit) + "\"}");
  auto info = f.client().model_info(repo("old-org/bert"));
  BOOST_TEST_REQUIRE(info.ok());
  const auto requests = f.transport->requests();
  BOOST_TEST_REQUIRE(requests.size() == 2u);
  BOOST_TEST(header(requests[1], "Authorization").has_value());
}

BOOST_AUTO_TEST_CASE(api_call_redirected_to_another_host_is_refused) {
  Fixture f;
  f.transport->add(HttpMethod::get, k_api, answer(302, {{"Location", "https://evil.example/api"}}));
  auto info = f.client().model_info(repo("google-bert/bert-base-uncased"));
  BOOST_TEST_REQUIRE(!info.ok());
  BOOST_TEST((info.error().kind == HubErrorKind::bad_response));
  BOOST_TEST(f.transport->request_count() == 1u);
}

BOOST_AUTO_TEST_CASE(tree_pagination_follows_link_next_verbatim_across_three_pages) {
  Fixture f;
  const std::string first = k_api + "/tree/main/dir%20a?recursive=true&expand=true";
  const std::string second =
      k_api + "/tree/main/dir%20a?recursive=true&expand=true&cursor=Y3Vyc29yMg%3D%3D";
  const std::string third =
      "https://huggingface.co/api/models/google-bert/bert-base-uncased/tree/main/"
      "dir%20a?cursor=opaque3&recursive=true&expand=true";
  f.transport->add_json(first, R"([{"type":"file","path":"dir a/1","oid":"o1","size":1}])",
                        {{"Link", "<" + second + ">; rel=\"next\""}});
  f.transport->add_json(
      second,
      R"([{"type":"file","path":"dir a/2","oid":"o2","size":2},{"type":"directory","path":"dir a/sub","oid":"t"}])",
      {{"Link", "<" + third + ">; rel=\"next\""}});
  f.transport->add_json(third, R"([{"type":"file","path":"dir a/sub/3","oid":"o3","size":3}])");
  TreeQuery query;
  query.path = "dir a";
  query.recursive = Recursive::yes;
  query.expand = Expand::yes;
  auto tree = f.client().list_tree(repo("google-bert/bert-base-uncased"), "main", query);
  BOOST_TEST_REQUIRE(tree.ok(), why(tree));
  BOOST_TEST(tree->size() == 4u);
  BOOST_TEST(tree->back().path == "dir a/sub/3");
  const auto requests = f.transport->requests();
  BOOST_TEST_REQUIRE(requests.size() == 3u);
  BOOST_TEST(requests[1].url == second);
  BOOST_TEST(requests[2].url == third);
  BOOST_TEST(f.transport->unused().empty());
}

BOOST_AUTO_TEST_CASE(tree_page_callback_can_stop_early) {
  Fixture f;
  const std::string first = k_api + "/tree/main";
  f.transport->add_json(first, R"([{"type":"file","path":"a","oid":"o"}])",
                        {{"Link", "<" + first + "?cursor=2>; rel=\"next\""}});
  int pages = 0;
  auto status = f.client().list_tree(repo("google-bert/bert-base-uncased"), "main", {},
                                     [&](std::vector<TreeEntry>&&) {
                                       ++pages;
                                       return PageAction::stop;
                                     });
  BOOST_TEST(status.ok());
  BOOST_TEST(pages == 1);
  BOOST_TEST(f.transport->request_count() == 1u);
}

BOOST_AUTO_TEST_CASE(pagination_loop_is_an_error) {
  Fixture f;
  const std::string first = k_api + "/tree/main";
  f.transport->add(HttpMethod::get, first,
                   answer(200, {{"Link", "<" + first + ">; rel=\"next\""}}, "[]"), Repeat::last);
  auto tree = f.client().list_tree(repo("google-bert/bert-base-uncased"), "main");
  BOOST_TEST_REQUIRE(!tree.ok());
  BOOST_TEST((tree.error().kind == HubErrorKind::bad_response));
}

BOOST_AUTO_TEST_CASE(list_models_streams_pages_and_honours_limit) {
  Fixture f;
  const std::string first = "https://huggingface.co/api/models?author=org&limit=3&full=true";
  const std::string second =
      "https://huggingface.co/api/models?author=org&limit=3&full=true&cursor=c2";
  f.transport->add_json(first, R"([{"id":"org/a"},{"id":"org/b"}])",
                        {{"Link", "<" + second + ">; rel=\"next\""}});
  f.transport->add_json(second, R"([{"id":"org/c"},{"id":"org/d"}])",
                        {{"Link", "<" + second + "&cursor=c3>; rel=\"next\""}});
  ListModelsQuery query;
  query.author = "org";
  query.limit = 3;
  query.full = Full::yes;
  std::vector<std::size_t> page_sizes;
  auto count = f.client().list_models(query, [&](std::vector<ModelListItem>&& page) {
    page_sizes.push_back(page.size());
    return PageAction::next;
  });
  BOOST_TEST_REQUIRE(count.ok());
  BOOST_TEST(*count == 3u);
  BOOST_TEST(page_sizes == (std::vector<std::size_t>{2, 1}));
  BOOST_TEST(f.transport->request_count() == 2u);
}

BOOST_AUTO_TEST_CASE(paths_info_posts_a_form) {
  Fixture f;
  f.transport->add(HttpMethod::post, k_api + "/paths-info/main",
                   answer(200, {}, R"([{"type":"file","path":"a b.json","oid":"x","size":3}])"));
  auto entries = f.client().paths_info(repo("google-bert/bert-base-uncased"), "main",
                                       {"a b.json", "c/d.bin"}, Expand::yes);
  BOOST_TEST_REQUIRE(entries.ok());
  BOOST_TEST(entries->size() == 1u);
  const auto request = f.transport->requests().front();
  BOOST_TEST(request.body.value() == "paths=a%20b.json&paths=c%2Fd.bin&expand=true");
  BOOST_TEST(header(request, "Content-Type").value() == "application/x-www-form-urlencoded");
}

BOOST_AUTO_TEST_CASE(refs_include_prs) {
  Fixture f;
  f.transport->add_json(
      k_api + "/refs?include_prs=1",
      R"({"branches":[{"name":"main","ref":"refs/heads/main","targetCommit":"c"}],"pullRequests":[{"name":"refs/pr/1","ref":"refs/pr/1","targetCommit":"p"}]})");
  auto refs = f.client().refs(repo("google-bert/bert-base-uncased"), IncludePrs::yes);
  BOOST_TEST_REQUIRE(refs.ok());
  BOOST_TEST(refs->pull_requests.size() == 1u);
}

BOOST_AUTO_TEST_CASE(resolve_revision_uses_model_info_sha) {
  Fixture f;
  f.transport->add_json(k_api + "/revision/refs%2Fpr%2F3?expand=sha",
                        R"({"sha":")" + std::string(k_commit) + "\"}");
  f.transport->add_json(k_api + "/revision/v1?expand=sha", R"({"sha":"not-a-commit"})");
  auto client = f.client();
  auto commit = client.resolve_revision(repo("google-bert/bert-base-uncased"), "refs/pr/3");
  BOOST_TEST_REQUIRE(commit.ok());
  BOOST_TEST(*commit == k_commit);
  auto bad = client.resolve_revision(repo("google-bert/bert-base-uncased"), "v1");
  BOOST_TEST((bad.error().kind == HubErrorKind::bad_response));
  // A full commit needs no request.
  auto same = client.resolve_revision(repo("google-bert/bert-base-uncased"), k_commit);
  BOOST_TEST(*same == k_commit);
  BOOST_TEST(f.transport->request_count() == 2u);
}

BOOST_AUTO_TEST_CASE(retry_schedule_on_429_with_retry_after_seconds_date_and_ratelimit) {
  Fixture f;
  f.transport->add(HttpMethod::get, k_api, answer(429, {{"Retry-After", "7"}}));
  f.transport->add(HttpMethod::get, k_api,
                   answer(429, {{"Retry-After", "Tue, 14 Nov 2023 22:14:07 GMT"}}));  // now+7+20
  f.transport->add(HttpMethod::get, k_api,
                   answer(429, {{"RateLimit", "\"api\";r=0;t=55"},
                                {"RateLimit-Policy", "\"fixed window\";\"api\";q=500;w=300"}}));
  f.transport->add(HttpMethod::get, k_api, answer(429));  // no hint: backoff (base 1 s * 2^3)
  f.transport->add_json(k_api, R"({"id":"google-bert/bert-base-uncased"})");
  auto options = f.options();
  options.max_retry_time = 10min;
  auto info = f.client(options).model_info(repo("google-bert/bert-base-uncased"));
  BOOST_TEST_REQUIRE(info.ok(), why(info));
  // Clock starts at 1700000000 (2023-11-14T22:13:20Z); the date is 47 s later, after 7 s slept.
  BOOST_TEST(f.sleeps == (std::vector<std::chrono::milliseconds>{7s, 40s, 56s, 8s}));
  BOOST_TEST(f.transport->request_count() == 5u);
}

BOOST_AUTO_TEST_CASE(backoff_is_exponential_with_full_jitter_and_capped) {
  Fixture f;
  f.transport->add(HttpMethod::get, k_api, answer(503), Repeat::last);
  auto options = f.options();
  options.jitter = [] { return 0.5; };
  options.backoff_base = 1s;
  options.backoff_cap = 5s;
  options.max_retries = 5;
  options.max_retry_time = 1h;
  auto info = f.client(options).model_info(repo("google-bert/bert-base-uncased"));
  BOOST_TEST_REQUIRE(!info.ok());
  BOOST_TEST((info.error().kind == HubErrorKind::server_error));
  BOOST_TEST(info.error().attempts == 6);
  BOOST_TEST(f.sleeps ==
             (std::vector<std::chrono::milliseconds>{500ms, 1000ms, 2000ms, 2500ms, 2500ms}));
  BOOST_TEST(f.transport->request_count() == 6u);
}

BOOST_AUTO_TEST_CASE(retries_are_bounded_by_total_time) {
  Fixture f;
  f.transport->add(HttpMethod::get, k_api, answer(429, {{"Retry-After", "30"}}), Repeat::last);
  auto options = f.options();
  options.max_retry_time = 70s;
  auto info = f.client(options).model_info(repo("google-bert/bert-base-uncased"));
  BOOST_TEST_REQUIRE(!info.ok());
  BOOST_TEST((info.error().kind == HubErrorKind::rate_limited));
  BOOST_TEST(f.sleeps.size() == 2u);  // 30 + 30 fits, a third 30 would not
  BOOST_TEST(info.error().attempts == 3);
  BOOST_TEST(info.error().hint.find("30 s") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(no_retry_on_404_or_other_4xx) {
  for (int status : {400, 401, 403, 404, 416}) {
    Fixture f;
    f.transport->add(HttpMethod::get, k_api, answer(status, {{"X-Error-Code", "RepoNotFound"}}),
                     Repeat::last);
    auto info = f.client().model_info(repo("google-bert/bert-base-uncased"));
    BOOST_TEST(!info.ok());
    BOOST_TEST(f.transport->request_count() == 1u, "status " << status);
    BOOST_TEST(f.sleeps.empty());
  }
}

BOOST_AUTO_TEST_CASE(network_errors_are_retried_then_reported) {
  Fixture f;
  f.transport->add_failure(HttpMethod::get, k_api,
                           {hfaudit::util::ErrorCode::network, "Connection refused"});
  f.transport->add_json(k_api, R"({"id":"x/y"})");
  BOOST_TEST(f.client().model_info(repo("google-bert/bert-base-uncased")).ok());
  BOOST_TEST(f.sleeps.size() == 1u);

  Fixture g;
  for (int i = 0; i < 3; ++i) {
    g.transport->add_failure(HttpMethod::get, k_api,
                             {hfaudit::util::ErrorCode::network, "Could not resolve host"});
  }
  auto options = g.options();
  options.max_retries = 2;
  auto info = g.client(options).model_info(repo("google-bert/bert-base-uncased"));
  BOOST_TEST_REQUIRE(!info.ok());
  BOOST_TEST((info.error().kind == HubErrorKind::network));
  BOOST_TEST(info.error().attempts == 3);
  BOOST_TEST(info.error().message.find("Could not resolve host") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(offline_mode_makes_no_request) {
  Fixture f;
  auto options = f.options();
  options.offline = Offline::yes;
  auto client = f.client(options);
  const auto r = repo("google-bert/bert-base-uncased");
  DownloadCallbacks callbacks;
  callbacks.on_data = [](std::string_view) { return true; };
  std::vector<HubErrorKind> kinds = {
      client.model_info(r).error().kind,
      client.list_tree(r, "main").error().kind,
      client.paths_info(r, "main", {"a"}).error().kind,
      client.refs(r).error().kind,
      client.list_models({}).error().kind,
      client.resolve_revision(r, "main").error().kind,
      client.file_metadata(r, k_commit, "config.json").error().kind,
      client.download(r, k_commit, "config.json", callbacks).error().kind,
  };
  for (auto kind : kinds) BOOST_TEST((kind == HubErrorKind::offline));
  BOOST_TEST(client.model_info(r).error().attempts == 0);
  BOOST_TEST(client.resolve_revision(r, k_commit).value() == k_commit);
  BOOST_TEST(f.transport->request_count() == 0u);
}

BOOST_AUTO_TEST_CASE(errors_from_the_client_never_contain_the_token) {
  Fixture f;
  f.transport->add(HttpMethod::get, k_api,
                   answer(401, {{"X-Error-Message", std::string("bad token ") + k_token}},
                          std::string("{\"error\":\"Bearer ") + k_token + "\"}"));
  auto info = f.client().model_info(repo("google-bert/bert-base-uncased"));
  BOOST_TEST_REQUIRE(!info.ok());
  BOOST_TEST(!mentions_token(info.error()));
  BOOST_TEST(static_cast<hfaudit::util::Error>(info.error()).message.find("SecretTokenValue") ==
             std::string::npos);
  for (const auto& line : f.log_lines)
    BOOST_TEST(line.find("SecretTokenValue") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(file_metadata_of_an_lfs_file_stops_at_the_absolute_location) {
  Fixture f;
  const std::string cdn =
      "https://cas-bridge.xethub.hf.co/xet-bridge-us/abc/879c?X-Amz-Signature=s";
  f.transport->add(
      HttpMethod::head, k_resolve + "/tf_model.h5",
      answer(
          302,
          {{"Location", cdn},
           {"X-Repo-Commit", k_commit},
           {"X-Linked-Etag",
            "\"a7a17d6d844b5de815ccab5f42cad6d24496db3850a2a43d8258221018ce87d2\""},
           {"X-Linked-Size", "536063208"},
           {"ETag", "\"9eb98c817f04b051b3bcca591bcd4e03cec88018\""},
           {"Content-Length", "1234"},
           {"X-Xet-Hash", "879c5715c18a0b7f051dd33f70f0a5c8dd1522e0a43f6f75520f16167f29279b"},
           {"Link",
            "<https://huggingface.co/api/models/google-bert/bert-base-uncased/xet-read-token/"
            "86b5>; rel=\"xet-auth\", <https://cas-server.xethub.hf.co/v1/reconstructions/879c>; "
            "rel=\"xet-reconstruction-info\""}}));
  auto meta =
      f.client().file_metadata(repo("google-bert/bert-base-uncased"), k_commit, "tf_model.h5");
  BOOST_TEST_REQUIRE(meta.ok(), why(meta));
  BOOST_TEST(meta->commit == k_commit);
  BOOST_TEST(meta->etag == "a7a17d6d844b5de815ccab5f42cad6d24496db3850a2a43d8258221018ce87d2");
  BOOST_TEST(meta->size.value() == 536063208u);
  BOOST_TEST(meta->location == cdn);
  BOOST_TEST(meta->is_lfs);
  BOOST_TEST(meta->is_xet());
  BOOST_TEST(meta->xet_reconstruction_url.value() ==
             "https://cas-server.xethub.hf.co/v1/reconstructions/879c");
  const auto requests = f.transport->requests();
  BOOST_TEST_REQUIRE(requests.size() == 1u);
  BOOST_TEST((requests[0].method == HttpMethod::head));
  BOOST_TEST(header(requests[0], "Accept-Encoding").value() == "identity");
}

BOOST_AUTO_TEST_CASE(file_metadata_follows_relative_redirects_on_the_same_host) {
  Fixture f;
  const std::string cache =
      "https://huggingface.co/api/resolve-cache/models/google-bert/bert-base-uncased/" +
      std::string(k_commit) + "/config.json?etag=%22fca7%22";
  f.transport->add(HttpMethod::head, k_resolve + "/config.json",
                   answer(307, {{"Location", cache.substr(22)},
                                {"X-Repo-Commit", k_commit},
                                {"ETag", "W/\"ignored\""},
                                {"Content-Length", "18"}}));
  f.transport->add(HttpMethod::head, cache,
                   answer(200, {{"X-Repo-Commit", k_commit},
                                {"ETag", "W/\"fca794a5f07ff8f963fe8b61e3694b0fb7f955df\""},
                                {"Content-Length", "313"}}));
  auto meta =
      f.client().file_metadata(repo("google-bert/bert-base-uncased"), k_commit, "config.json");
  BOOST_TEST_REQUIRE(meta.ok(), why(meta));
  BOOST_TEST(meta->etag == "fca794a5f07ff8f963fe8b61e3694b0fb7f955df");
  BOOST_TEST(meta->size.value() == 313u);
  BOOST_TEST(!meta->is_lfs);
  BOOST_TEST(meta->location == cache);
  const auto requests = f.transport->requests();
  BOOST_TEST_REQUIRE(requests.size() == 2u);
  BOOST_TEST(header(requests[1], "Authorization").has_value());
}

BOOST_AUTO_TEST_CASE(file_metadata_without_repo_commit_is_a_bad_response) {
  Fixture f;
  f.transport->add(HttpMethod::head, k_resolve + "/config.json",
                   answer(200, {{"ETag", "\"abc\""}, {"Content-Length", "3"}}));
  auto meta =
      f.client().file_metadata(repo("google-bert/bert-base-uncased"), k_commit, "config.json");
  BOOST_TEST_REQUIRE(!meta.ok());
  BOOST_TEST((meta.error().kind == HubErrorKind::bad_response));
  BOOST_TEST(meta.error().message.find("X-Repo-Commit") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(file_metadata_maps_missing_entry) {
  Fixture f;
  f.transport->add(HttpMethod::head, k_resolve + "/nope.bin",
                   answer(404, {{"X-Error-Code", "EntryNotFound"}, {"X-Repo-Commit", k_commit}}));
  auto meta = f.client().file_metadata(repo("google-bert/bert-base-uncased"), k_commit, "nope.bin");
  BOOST_TEST((meta.error().kind == HubErrorKind::entry_not_found));
  BOOST_TEST(f.transport->request_count() == 1u);
  BOOST_TEST(!f.client().file_metadata(repo("a/b"), "main", "../x").ok());
}

BOOST_AUTO_TEST_CASE(download_drops_authorization_on_a_cross_host_redirect) {
  Fixture f;
  const std::string cdn = "https://cdn-lfs-us-1.hf.co/repos/ab/cd?Signature=xyz&Expires=1";
  f.transport->add(HttpMethod::get, k_resolve + "/model.bin",
                   answer(302, {{"Location", cdn}, {"X-Repo-Commit", k_commit}}));
  f.transport->add(
      HttpMethod::get, cdn,
      answer(200, {{"Content-Length", "11"}, {"ETag", "\"s3-etag-64\""}}, "hello world"));
  std::string received;
  DownloadCallbacks callbacks;
  callbacks.on_data = [&](std::string_view chunk) {
    received.append(chunk);
    return true;
  };
  auto result =
      f.client().download(repo("google-bert/bert-base-uncased"), k_commit, "model.bin", callbacks);
  BOOST_TEST_REQUIRE(result.ok(), why(result));
  BOOST_TEST(received == "hello world");
  BOOST_TEST(result->bytes_delivered == 11u);
  BOOST_TEST(result->total_size.value() == 11u);
  BOOST_TEST(result->redirects == 1);
  BOOST_TEST(result->final_url.find("xyz") == std::string::npos);  // signed URL redacted
  const auto requests = f.transport->requests();
  BOOST_TEST_REQUIRE(requests.size() == 2u);
  BOOST_TEST(header(requests[0], "Authorization").has_value());
  BOOST_TEST(!header(requests[1], "Authorization").has_value());
}

BOOST_AUTO_TEST_CASE(download_keeps_authorization_on_a_same_host_relative_redirect) {
  Fixture f;
  const std::string renamed =
      "https://huggingface.co/new-org/bert/resolve/" + std::string(k_commit) + "/model.bin";
  f.transport->add(HttpMethod::get, k_resolve + "/model.bin",
                   answer(301, {{"Location", renamed.substr(22)}}));
  f.transport->add(HttpMethod::get, renamed, answer(200, {}, "abc"));
  DownloadCallbacks callbacks;
  callbacks.on_data = [](std::string_view) { return true; };
  auto result =
      f.client().download(repo("google-bert/bert-base-uncased"), k_commit, "model.bin", callbacks);
  BOOST_TEST_REQUIRE(result.ok());
  const auto requests = f.transport->requests();
  BOOST_TEST_REQUIRE(requests.size() == 2u);
  BOOST_TEST(header(requests[1], "Authorization").value() == std::string("Bearer ") + k_token);
}

BOOST_AUTO_TEST_CASE(download_token_goes_only_to_the_endpoint_origin) {
  // Same host, other port or scheme: not the endpoint, no token.
  for (const std::string target : {"http://huggingface.co/x", "https://huggingface.co:8443/x",
                                   "https://huggingface.co.evil.example/x"}) {
    Fixture f;
    f.transport->add(HttpMethod::get, k_resolve + "/m.bin", answer(302, {{"Location", target}}));
    f.transport->add(HttpMethod::get, target, answer(200, {}, "x"));
    DownloadCallbacks callbacks;
    callbacks.on_data = [](std::string_view) { return true; };
    BOOST_TEST_REQUIRE(
        f.client()
            .download(repo("google-bert/bert-base-uncased"), k_commit, "m.bin", callbacks)
            .ok());
    BOOST_TEST(!header(f.transport->requests()[1], "Authorization").has_value(), target);
  }
}

BOOST_AUTO_TEST_CASE(download_redirect_loop_is_detected) {
  Fixture f;
  const std::string a = "https://cdn.example/a";
  const std::string b = "https://cdn.example/b";
  f.transport->add(HttpMethod::get, k_resolve + "/m.bin", answer(302, {{"Location", a}}));
  f.transport->add(HttpMethod::get, a, answer(302, {{"Location", b}}));
  f.transport->add(HttpMethod::get, b, answer(302, {{"Location", a}}));
  DownloadCallbacks callbacks;
  callbacks.on_data = [](std::string_view) { return true; };
  auto result =
      f.client().download(repo("google-bert/bert-base-uncased"), k_commit, "m.bin", callbacks);
  BOOST_TEST_REQUIRE(!result.ok());
  BOOST_TEST((result.error().kind == HubErrorKind::redirect_loop));
  BOOST_TEST(f.transport->request_count() == 3u);

  // Distinct URLs forever: bounded by max_redirects.
  Fixture g;
  g.transport->add(HttpMethod::get, k_resolve + "/m.bin",
                   answer(302, {{"Location", "https://cdn.example/0"}}));
  for (int i = 0; i < 20; ++i) {
    g.transport->add(HttpMethod::get, "https://cdn.example/" + std::to_string(i),
                     answer(302, {{"Location", "https://cdn.example/" + std::to_string(i + 1)}}));
  }
  auto options = g.options();
  options.max_redirects = 4;
  auto bounded = g.client(options).download(repo("google-bert/bert-base-uncased"), k_commit,
                                            "m.bin", callbacks);
  BOOST_TEST((bounded.error().kind == HubErrorKind::redirect_loop));
  BOOST_TEST(g.transport->request_count() == 5u);
}

BOOST_AUTO_TEST_CASE(download_resume_with_206_continues_at_the_offset) {
  Fixture f;
  f.transport->add(
      HttpMethod::get, k_resolve + "/m.bin",
      answer(206, {{"Content-Range", "bytes 6-10/11"}, {"Content-Length", "5"}}, "world"));
  std::string received;
  std::optional<DownloadStart> start;
  DownloadCallbacks callbacks;
  callbacks.on_start = [&](const DownloadStart& s) {
    start = s;
    return true;
  };
  callbacks.on_data = [&](std::string_view chunk) {
    received.append(chunk);
    return true;
  };
  auto result =
      f.client().download(repo("google-bert/bert-base-uncased"), k_commit, "m.bin", callbacks, 6);
  BOOST_TEST_REQUIRE(result.ok(), why(result));
  BOOST_TEST((result->range == RangeOutcome::honoured));
  BOOST_TEST(result->offset == 6u);
  BOOST_TEST(result->total_size.value() == 11u);
  BOOST_TEST(start->offset == 6u);
  BOOST_TEST(received == "world");
  BOOST_TEST(f.transport->requests()[0].range_start.value() == 6u);
}

BOOST_AUTO_TEST_CASE(download_resume_answered_with_200_restarts_from_zero) {
  Fixture f;
  f.transport->add(HttpMethod::get, k_resolve + "/m.bin",
                   answer(200, {{"Content-Length", "11"}}, "hello world"), Repeat::last);
  // With on_start: the caller is told offset 0 and gets the whole file.
  std::string received = "hello ";
  DownloadCallbacks callbacks;
  callbacks.on_start = [&](const DownloadStart& s) {
    if (s.offset == 0) received.clear();
    return true;
  };
  callbacks.on_data = [&](std::string_view chunk) {
    received.append(chunk);
    return true;
  };
  auto client = f.client();
  auto result =
      client.download(repo("google-bert/bert-base-uncased"), k_commit, "m.bin", callbacks, 6);
  BOOST_TEST_REQUIRE(result.ok());
  BOOST_TEST((result->range == RangeOutcome::ignored));
  BOOST_TEST(result->offset == 0u);
  BOOST_TEST(received == "hello world");

  // Without on_start: nothing is delivered, the result says so.
  std::string appended;
  DownloadCallbacks blind;
  blind.on_data = [&](std::string_view chunk) {
    appended.append(chunk);
    return true;
  };
  auto ignored =
      client.download(repo("google-bert/bert-base-uncased"), k_commit, "m.bin", blind, 6);
  BOOST_TEST_REQUIRE(ignored.ok());
  BOOST_TEST((ignored->range == RangeOutcome::ignored));
  BOOST_TEST(ignored->bytes_delivered == 0u);
  BOOST_TEST(appended.empty());
}

BOOST_AUTO_TEST_CASE(download_206_at_the_wrong_offset_is_rejected) {
  Fixture f;
  f.transport->add(HttpMethod::get, k_resolve + "/m.bin",
                   answer(206, {{"Content-Range", "bytes 0-10/11"}}, "hello world"));
  std::string received;
  DownloadCallbacks callbacks;
  callbacks.on_data = [&](std::string_view chunk) {
    received.append(chunk);
    return true;
  };
  auto result =
      f.client().download(repo("google-bert/bert-base-uncased"), k_commit, "m.bin", callbacks, 6);
  BOOST_TEST_REQUIRE(!result.ok());
  BOOST_TEST((result.error().kind == HubErrorKind::bad_response));
  BOOST_TEST(received.empty());
}

BOOST_AUTO_TEST_CASE(download_cut_after_some_bytes_reports_them_and_does_not_retry) {
  Fixture f;
  ReplayAnswer cut = answer(200, {{"Content-Length", "11"}}, "hello world");
  cut.transport_error = hfaudit::util::Error{hfaudit::util::ErrorCode::network, "Connection reset"};
  cut.deliver_before_error = 5;
  f.transport->add(HttpMethod::get, k_resolve + "/m.bin", cut);
  std::string received;
  DownloadCallbacks callbacks;
  callbacks.on_data = [&](std::string_view chunk) {
    received.append(chunk);
    return true;
  };
  auto result =
      f.client().download(repo("google-bert/bert-base-uncased"), k_commit, "m.bin", callbacks);
  BOOST_TEST_REQUIRE(!result.ok());
  BOOST_TEST((result.error().kind == HubErrorKind::network));
  BOOST_TEST(result.error().bytes_delivered == 5u);
  BOOST_TEST(received == "hello");
  BOOST_TEST(f.transport->request_count() == 1u);
  BOOST_TEST(f.sleeps.empty());
}

BOOST_AUTO_TEST_CASE(download_error_bodies_never_reach_the_sink) {
  Fixture f;
  f.transport->add(HttpMethod::get, k_resolve + "/m.bin", answer(503, {}, "<html>busy</html>"));
  f.transport->add(HttpMethod::get, k_resolve + "/m.bin",
                   answer(403, {{"X-Error-Code", "GatedRepo"}}, R"({"error":"gated"})"));
  std::string received;
  DownloadCallbacks callbacks;
  callbacks.on_data = [&](std::string_view chunk) {
    received.append(chunk);
    return true;
  };
  auto result =
      f.client().download(repo("google-bert/bert-base-uncased"), k_commit, "m.bin", callbacks);
  BOOST_TEST_REQUIRE(!result.ok());
  BOOST_TEST((result.error().kind == HubErrorKind::gated));
  BOOST_TEST(received.empty());
  BOOST_TEST(f.sleeps.size() == 1u);
}

BOOST_AUTO_TEST_CASE(download_stopped_by_the_sink_is_aborted) {
  Fixture f;
  f.transport->add(HttpMethod::get, k_resolve + "/m.bin", answer(200, {}, "hello world"));
  DownloadCallbacks callbacks;
  callbacks.on_data = [](std::string_view) { return false; };
  auto result =
      f.client().download(repo("google-bert/bert-base-uncased"), k_commit, "m.bin", callbacks);
  BOOST_TEST_REQUIRE(!result.ok());
  BOOST_TEST((result.error().kind == HubErrorKind::aborted));
  BOOST_TEST(f.transport->request_count() == 1u);
}

BOOST_AUTO_TEST_CASE(no_token_means_no_authorization_header) {
  Fixture f;
  f.transport->add_json(k_api, R"({"id":"x/y"})");
  auto client = f.client(f.options(std::nullopt));
  BOOST_TEST(client.model_info(repo("google-bert/bert-base-uncased")).ok());
  BOOST_TEST(!header(f.transport->requests()[0], "Authorization").has_value());
}

BOOST_AUTO_TEST_SUITE_END()
