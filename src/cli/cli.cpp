#include "cli/cli.hpp"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "cli/commands.hpp"

namespace hfaudit::cli {

namespace {

constexpr const char* k_footer = R"(Exit codes:
  0  success: nothing at or above the failing threshold
  1  findings at or above --fail-on (default: medium)
  2  usage error: bad arguments, invalid policy or lock file
  3  input error: a local file or directory could not be read
  4  Hub error (not found, gated, unauthorised, rate limited, network)
  5  integrity error: bytes do not match their expected hash
  6  blocked by policy

Environment: HF_ENDPOINT, HF_TOKEN, HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE,
HF_HUB_DOWNLOAD_TIMEOUT, HF_HUB_ETAG_TIMEOUT, HFAUDIT_HOME, HFAUDIT_POLICY,
HFAUDIT_HTTP_RETRIES, HFAUDIT_HTTP_BACKOFF_MS, HFAUDIT_RANGE_THRESHOLD,
HFAUDIT_RANGE_PART_SIZE (see docs/cli.md). NO_COLOR disables colours; CI set
(or stderr not a terminal) disables progress display.

Run 'hfaudit COMMAND --help' for a command's options and examples.)";

}  // namespace

int run(int argc, char** argv) {
  CLI::App app{
      "hfaudit: a verified, policy-gated supply chain for Hugging Face models.\n"
      "It never imports, unpickles or executes model content.",
      "hfaudit"};
  app.set_version_flag("--version", std::string("hfaudit ") + HFAUDIT_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // global options are accepted after the command name too
  app.footer(k_footer);

  OutputOptions output;
  // Global options apply to every command, wherever they appear on the line.
  app.add_flag("-q,--quiet", output.quiet, "No progress display")->configurable(false);
  app.add_flag("-v,--verbose", output.verbose, "More detail (info findings, per-object facts)");

  const std::vector<std::pair<std::string, CommandRunner>> commands = {
      {"scan", add_scan_command(app, output)},
      {"info", add_info_command(app, output)},
      {"pull", add_pull_command(app, output)},
      {"ls", add_ls_command(app, output)},
      {"verify", add_verify_command(app, output)},
      {"gc", add_gc_command(app, output)},
      {"policy", add_policy_command(app, output)},
      {"approve", add_approve_command(app, output)},
      {"approvals", add_approvals_command(app, output)},
      {"lock", add_lock_command(app, output)},
      {"audit", add_audit_command(app, output)},
  };

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    std::fputs(fmt::format("hfaudit: error: {}\nhint: run 'hfaudit --help'\n", what).c_str(),
               stderr);
    return static_cast<int>(ExitCode::usage);
  }

  try {
    for (const auto& [name, runner] : commands)
      if (app.got_subcommand(name)) return static_cast<int>(runner());
  } catch (const std::exception& e) {
    // Only "abort this command" reaches here; expected failures are values.
    print_error("internal error", "", e.what(), "please report this with the command line used");
    return static_cast<int>(ExitCode::input);
  }
  return static_cast<int>(ExitCode::usage);
}

}  // namespace hfaudit::cli
