#include "cli/output.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace hfaudit::cli {

ExitCode most_serious(ExitCode a, ExitCode b) {
  // Ranking from the contract: 6 > 5 > 4 > 3 > 1 > 0 (2 ends a run before anything else).
  const auto rank = [](ExitCode c) {
    switch (c) {
      case ExitCode::ok:
        return 0;
      case ExitCode::findings:
        return 1;
      case ExitCode::input:
        return 3;
      case ExitCode::hub:
        return 4;
      case ExitCode::integrity:
        return 5;
      case ExitCode::policy_blocked:
        return 6;
      case ExitCode::usage:
        return 7;
    }
    return 0;
  };
  return rank(a) >= rank(b) ? a : b;
}

void print_error(std::string_view what, std::string_view subject, std::string_view why,
                 std::string_view hint) {
  std::string line = fmt::format("hfaudit: error: {}", what);
  if (!subject.empty()) line += fmt::format(" ({})", subject);
  if (!why.empty()) line += fmt::format(": {}", why);
  line += "\n";
  if (!hint.empty()) line += fmt::format("hint: {}\n", hint);
  std::fputs(line.c_str(), stderr);
}

void print_warning(std::string_view message) {
  std::fputs(fmt::format("hfaudit: warning: {}\n", message).c_str(), stderr);
}

void print_warnings(std::string_view lines) {
  while (!lines.empty()) {
    const size_t end = lines.find('\n');
    const std::string_view line = lines.substr(0, end);
    if (!line.empty()) print_warning(line);
    if (end == std::string_view::npos) break;
    lines.remove_prefix(end + 1);
  }
}

bool write_document(const OutputOptions& options, const std::string& document) {
  if (options.output_file.empty() || options.output_file == "-") {
    std::fwrite(document.data(), 1, document.size(), stdout);
    std::fflush(stdout);
    return true;
  }
  // Write next to the target and rename, so a reader never sees half a report.
  const std::string tmp = options.output_file + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) {
    print_error("cannot write report", options.output_file, std::strerror(errno));
    return false;
  }
  const bool written = std::fwrite(document.data(), 1, document.size(), f) == document.size();
  const bool closed = std::fclose(f) == 0;
  if (!written || !closed || std::rename(tmp.c_str(), options.output_file.c_str()) != 0) {
    print_error("cannot write report", options.output_file, std::strerror(errno));
    std::remove(tmp.c_str());
    return false;
  }
  return true;
}

bool progress_enabled(const OutputOptions& options) {
  return !options.quiet && ::isatty(STDERR_FILENO) && std::getenv("CI") == nullptr;
}

void show_progress(std::string_view text) {
  // \r + clear-to-end-of-line keeps a single status line on the terminal.
  std::fputs(fmt::format("\r\x1b[2K{}", text).c_str(), stderr);
  std::fflush(stderr);
}

bool stdout_color_enabled() {
  return ::isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr;
}

}  // namespace hfaudit::cli
