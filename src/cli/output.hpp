// Where the CLI's words go (../shared/docs/cli-contract.md, "Output"): human
// output to stdout, one machine document to stdout or -o FILE, errors and
// progress to stderr with fixed prefixes.
#pragma once

#include <string>
#include <string_view>

namespace hfaudit::cli {

// The documented exit codes; when a run has several outcomes the most
// serious one wins (policy_blocked > integrity > hub > input > findings).
enum class ExitCode : int {
  ok = 0,
  findings = 1,
  usage = 2,
  input = 3,
  hub = 4,
  integrity = 5,
  policy_blocked = 6,
};

ExitCode most_serious(ExitCode a, ExitCode b);

struct OutputOptions {
  bool json = false;
  bool sarif = false;
  std::string output_file;  // -o: machine document goes here instead of stdout
  bool quiet = false;
  bool verbose = false;
};

// "hfaudit: error: <what> (<subject>): <why>" on stderr, then "hint: ..." if given.
void print_error(std::string_view what, std::string_view subject, std::string_view why,
                 std::string_view hint = {});
void print_warning(std::string_view message);
// print_warning for each non-empty line of `lines`.
void print_warnings(std::string_view lines);

// Writes `document` to -o FILE or stdout. False (after printing an error) if
// the file cannot be written.
bool write_document(const OutputOptions& options, const std::string& document);

// Progress goes to stderr only when it is a terminal, CI is unset and the
// user did not ask for --quiet.
bool progress_enabled(const OutputOptions& options);
// Rewrites the current progress line; an empty text clears it.
void show_progress(std::string_view text);

// Human output may use colour when stdout is a terminal and NO_COLOR is unset.
bool stdout_color_enabled();

}  // namespace hfaudit::cli
