#include "lockfile/requirements.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace hfaudit::lockfile {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

}  // namespace

util::Result<std::vector<Requirement>> parse_requirements(std::string_view text,
                                                          const std::string& source_name) {
  std::vector<Requirement> out;
  size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);

    const auto error = [&](std::string_view why) {
      return util::make_error(util::ErrorCode::invalid_argument,
                              fmt::format("{}:{}: {}", source_name, line_number, why));
    };
    if (line.find('\0') != std::string_view::npos) return error("NUL byte in the line");
    if (const size_t hash = line.find('#'); hash != std::string_view::npos)
      line = line.substr(0, hash);
    line = trim(line);
    if (line.empty()) continue;
    if (std::find_if(line.begin(), line.end(), is_space) != line.end())
      return error(fmt::format("expected one org/name[@rev] per line, got \"{}\"", line));
    out.push_back(Requirement{line_number, std::string(line)});
  }
  return out;
}

}  // namespace hfaudit::lockfile
