// One function per command. Each registers its subcommand and options on the
// CLI11 app and returns a runner that executes it and yields the exit code.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "cli/output.hpp"

namespace hfaudit::cli {

using CommandRunner = std::function<ExitCode()>;

CommandRunner add_scan_command(CLI::App& app, OutputOptions& output);
CommandRunner add_info_command(CLI::App& app, OutputOptions& output);
CommandRunner add_pull_command(CLI::App& app, OutputOptions& output);
CommandRunner add_ls_command(CLI::App& app, OutputOptions& output);
CommandRunner add_verify_command(CLI::App& app, OutputOptions& output);
CommandRunner add_gc_command(CLI::App& app, OutputOptions& output);
CommandRunner add_policy_command(CLI::App& app, OutputOptions& output);
CommandRunner add_approve_command(CLI::App& app, OutputOptions& output);
CommandRunner add_approvals_command(CLI::App& app, OutputOptions& output);
CommandRunner add_lock_command(CLI::App& app, OutputOptions& output);
CommandRunner add_audit_command(CLI::App& app, OutputOptions& output);

}  // namespace hfaudit::cli
