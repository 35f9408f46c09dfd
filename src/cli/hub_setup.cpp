#include "cli/hub_setup.hpp"

#include <cstdio>
#include <string>

#include "hub/http.hpp"

namespace hfaudit::cli {

std::optional<hub::HubClient> make_hub_client(const Environment& env, bool verbose,
                                              std::shared_ptr<hub::HttpTransport> transport) {
  hub::HubOptions options;
  options.endpoint = env.endpoint;
  options.token = env.token;
  options.offline = env.offline ? hub::Offline::yes : hub::Offline::no;
  options.etag_timeout = env.etag_timeout;
  options.download_timeout = env.download_timeout;
  if (env.http_retries) options.max_retries = *env.http_retries;
  if (env.http_backoff) options.backoff_base = *env.http_backoff;
  if (verbose)
    options.log = [](std::string_view line) {
      std::fputs(("hfaudit: debug: " + std::string(line) + "\n").c_str(), stderr);
    };
  auto client = hub::HubClient::create(
      std::move(options), transport ? std::move(transport) : hub::make_curl_transport());
  if (!client) {
    print_error("cannot use HF_ENDPOINT", env.endpoint, client.error().message,
                "set HF_ENDPOINT to the Hub's base URL, e.g. https://huggingface.co");
    return std::nullopt;
  }
  return std::move(*client);
}

std::optional<hub::RepoRef> parse_repo_argument(const std::string& repo,
                                                const std::string& revision) {
  auto ref = hub::parse_repo_ref(repo);
  if (!ref) {
    print_error("invalid repository", repo, ref.error().message,
                "write it as org/name or org/name@revision");
    return std::nullopt;
  }
  if (!revision.empty()) {
    if (ref->revision_given == hub::RevisionGiven::yes) {
      print_error("two revisions given", repo, "use either @REV or --revision");
      return std::nullopt;
    }
    if (auto valid = hub::validate_revision(revision); !valid) {
      print_error("invalid revision", revision, valid.error().message);
      return std::nullopt;
    }
    ref->revision = revision;
  }
  return std::move(*ref);
}

ExitCode report_hub_error(std::string_view what, std::string_view repo,
                          const hub::HubError& error) {
  print_error(what, repo, error.describe(), error.hint);
  return ExitCode::hub;
}

}  // namespace hfaudit::cli
