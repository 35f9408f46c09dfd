// Building a Hub client from the environment, and reporting Hub errors the
// contract's way (one line, then a hint).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cli/env.hpp"
#include "cli/output.hpp"
#include "hub/client.hpp"

namespace hfaudit::cli {

// A client over libcurl configured from HF_ENDPOINT, the token, HF_HUB_OFFLINE
// and the timeouts. `verbose` sends the client's (redacted) debug lines to stderr.
// Failure (an unusable HF_ENDPOINT) is printed and returns nullopt. A command
// that wraps the transport (audit paces itself) passes its own.
std::optional<hub::HubClient> make_hub_client(const Environment& env, bool verbose,
                                              std::shared_ptr<hub::HttpTransport> transport = {});

// "org/name[@rev]" plus an optional --revision (not both), validated. On a bad
// argument prints the error line and returns nullopt (exit code 2).
std::optional<hub::RepoRef> parse_repo_argument(const std::string& repo,
                                                const std::string& revision);

// Prints "hfaudit: error: <what> (<repo>): <why>" and the hint; returns exit code 4.
ExitCode report_hub_error(std::string_view what, std::string_view repo, const hub::HubError& error);

}  // namespace hfaudit::cli
