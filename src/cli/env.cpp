#include "cli/env.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "cli/output.hpp"

namespace hfaudit::cli {

namespace {

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

// huggingface_hub cleans tokens by removing every CR/LF and trimming spaces.
std::optional<std::string> clean_token(std::string token) {
  token.erase(
      std::remove_if(token.begin(), token.end(), [](char c) { return c == '\r' || c == '\n'; }),
      token.end());
  const auto first = token.find_first_not_of(" \t");
  if (first == std::string::npos) return std::nullopt;
  token = token.substr(first, token.find_last_not_of(" \t") - first + 1);
  return token;
}

std::optional<std::chrono::milliseconds> seconds_value(const char* name, std::string* warnings) {
  const auto v = env(name);
  if (!v) return std::nullopt;
  try {
    size_t used = 0;
    const double seconds = std::stod(*v, &used);
    if (used == v->size() && seconds > 0 && seconds < 86400)
      return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  } catch (...) {
  }
  if (warnings) *warnings += std::string(name) + " is not a number of seconds; using the default\n";
  return std::nullopt;
}

// A whole decimal number in [low, high]; anything else is ignored with a warning.
std::optional<int64_t> integer_value(const char* name, int64_t low, int64_t high,
                                     std::string* warnings) {
  const auto v = env(name);
  if (!v) return std::nullopt;
  try {
    size_t used = 0;
    const long long n = std::stoll(*v, &used);
    if (used == v->size() && n >= low && n <= high) return n;
  } catch (...) {
  }
  if (warnings)
    *warnings += std::string(name) + " must be a whole number from " + std::to_string(low) +
                 " to " + std::to_string(high) + "; using the default\n";
  return std::nullopt;
}

// A byte size of at least 1; anything else is ignored with a warning.
std::optional<uint64_t> size_value(const char* name, std::string* warnings) {
  const auto v = env(name);
  if (!v) return std::nullopt;
  if (auto bytes = parse_size(*v); bytes && *bytes > 0) return bytes;
  if (warnings)
    *warnings +=
        std::string(name) + " must be a size such as 512MiB or 1048576; using the default\n";
  return std::nullopt;
}

}  // namespace

std::optional<uint64_t> parse_size(std::string_view text) {
  const std::string number(text);
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(number, &used);
  } catch (...) {
    return std::nullopt;
  }
  std::string unit = number.substr(used);
  for (auto& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::pair<const char*, double> units[] = {{"", 1},          {"B", 1},
                                                  {"K", 1024},      {"KB", 1e3},
                                                  {"KIB", 1024},    {"M", 1 << 20},
                                                  {"MB", 1e6},      {"MIB", 1 << 20},
                                                  {"G", 1 << 30},   {"GB", 1e9},
                                                  {"GIB", 1 << 30}, {"T", 1099511627776.0},
                                                  {"TB", 1e12},     {"TIB", 1099511627776.0}};
  for (const auto& [name, factor] : units)
    if (unit == name && value >= 0) return static_cast<uint64_t>(value * factor);
  return std::nullopt;
}

bool is_truthy(std::string_view value) {
  std::string v(value);
  std::transform(v.begin(), v.end(), v.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return v == "1" || v == "ON" || v == "YES" || v == "TRUE";
}

std::string expand_path(std::string_view path) {
  std::string out;
  size_t i = 0;
  if (!path.empty() && path[0] == '~' && (path.size() == 1 || path[1] == '/')) {
    out = env("HOME").value_or("");
    i = 1;
  }
  while (i < path.size()) {
    if (path[i] == '$' && i + 1 < path.size()) {
      const bool braced = path[i + 1] == '{';
      size_t start = i + (braced ? 2 : 1);
      size_t end = start;
      while (end < path.size() &&
             (std::isalnum(static_cast<unsigned char>(path[end])) || path[end] == '_'))
        ++end;
      if (end > start && (!braced || (end < path.size() && path[end] == '}'))) {
        out += env(std::string(path.substr(start, end - start)).c_str()).value_or("");
        i = end + (braced ? 1 : 0);
        continue;
      }
    }
    out += path[i++];
  }
  return out;
}

namespace {

Environment read_values(std::string* warnings) {
  Environment e;
  if (auto v = env("HF_ENDPOINT")) {
    e.endpoint = *v;
    while (!e.endpoint.empty() && e.endpoint.back() == '/') e.endpoint.pop_back();
  }
  const std::string xdg = env("XDG_CACHE_HOME").value_or(expand_path("~/.cache"));
  e.hf_home = expand_path(env("HF_HOME").value_or(xdg + "/huggingface"));
  e.hf_hub_cache = expand_path(
      env("HF_HUB_CACHE").value_or(env("HUGGINGFACE_HUB_CACHE").value_or(e.hf_home + "/hub")));
  e.hfaudit_home = expand_path(env("HFAUDIT_HOME").value_or(e.hf_home + "/hfaudit"));
  e.policy = expand_path(env("HFAUDIT_POLICY").value_or(""));
  e.offline = is_truthy(env("HF_HUB_OFFLINE").value_or("")) ||
              is_truthy(env("TRANSFORMERS_OFFLINE").value_or(""));
  e.ci = env("CI").has_value();
  e.user = env("USER").value_or(env("LOGNAME").value_or(""));
  if (auto t = seconds_value("HF_HUB_ETAG_TIMEOUT", warnings)) e.etag_timeout = *t;
  if (auto t = seconds_value("HF_HUB_DOWNLOAD_TIMEOUT", warnings)) e.download_timeout = *t;
  if (auto n = integer_value("HFAUDIT_HTTP_RETRIES", 0, 20, warnings))
    e.http_retries = static_cast<int>(*n);
  if (auto n = integer_value("HFAUDIT_HTTP_BACKOFF_MS", 0, 60'000, warnings))
    e.http_backoff = std::chrono::milliseconds(*n);
  e.range_threshold = size_value("HFAUDIT_RANGE_THRESHOLD", warnings);
  e.range_part_size = size_value("HFAUDIT_RANGE_PART_SIZE", warnings);

  // Token discovery in huggingface_hub's order: HF_TOKEN, the legacy variable,
  // then the token file (HF_TOKEN_PATH, default $HF_HOME/token).
  e.token_path = expand_path(env("HF_TOKEN_PATH").value_or(e.hf_home + "/token"));
  if (auto t = env("HF_TOKEN"); t && (e.token = clean_token(*t))) {
    e.token_source = TokenSource::hf_token_env;
  } else if (auto legacy = env("HUGGING_FACE_HUB_TOKEN");
             legacy && (e.token = clean_token(*legacy))) {
    e.token_source = TokenSource::legacy_token_env;
  } else if (std::ifstream file(e.token_path); file) {
    std::stringstream content;
    content << file.rdbuf();
    if ((e.token = clean_token(content.str()))) e.token_source = TokenSource::token_file;
  }
  return e;
}

}  // namespace

Environment read_environment() {
  std::string warnings;
  Environment e = read_values(&warnings);
  print_warnings(warnings);
  return e;
}

}  // namespace hfaudit::cli
