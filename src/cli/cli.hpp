// The command-line front end: parses arguments, runs a command, prints, and
// returns the process exit code (docs/cli.md, ../shared/docs/cli-contract.md).
#pragma once

namespace hfaudit::cli {

int run(int argc, char** argv);

}  // namespace hfaudit::cli
