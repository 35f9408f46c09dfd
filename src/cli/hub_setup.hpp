// Building a Hub client from the environment, and reporting Hub errors the
// contract's way (one line, then a hint).
#pragma once

#include <string_view>

#include "cli/env.hpp"
#include "cli/output.hpp"
#include "hub/client.hpp"

namespace hfaudit::cli {

// A client over libcurl configured from HF_ENDPOINT, the token, HF_HUB_OFFLINE
// and the timeouts. `verbose` sends the client's (redacted) debug lines to stderr.
// Failure (an unusable HF_ENDPOINT) is printed and returns nullopt.
std::optional<hub::HubClient> make_hub_client(const Environment& env, bool verbose);

// Prints "hfaudit: error: <what> (<repo>): <why>" and the hint; returns exit code 4.
ExitCode report_hub_error(std::string_view what, std::string_view repo, const hub::HubError& error);

}  // namespace hfaudit::cli
