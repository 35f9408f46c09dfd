// The environment, read once at start-up by the CLI and handed down as plain
// option structs (libraries never call getenv). Same meanings as in
// huggingface_hub (../shared/docs/cli-contract.md, "Environment").
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace hfaudit::cli {

enum class TokenSource { none, hf_token_env, legacy_token_env, token_file };

struct Environment {
  std::string endpoint = "https://huggingface.co";  // HF_ENDPOINT, trailing '/' stripped
  std::optional<std::string> token;                 // never printed
  TokenSource token_source = TokenSource::none;
  std::string token_path;    // the file consulted (HF_TOKEN_PATH or $HF_HOME/token)
  std::string hf_home;       // HF_HOME
  std::string hf_hub_cache;  // HF_HUB_CACHE (huggingface_hub view)
  std::string hfaudit_home;  // HFAUDIT_HOME (index, store, quarantine)
  std::string policy;        // HFAUDIT_POLICY
  bool offline = false;      // HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE
  std::chrono::milliseconds etag_timeout{10'000};      // HF_HUB_ETAG_TIMEOUT (s)
  std::chrono::milliseconds download_timeout{10'000};  // HF_HUB_DOWNLOAD_TIMEOUT (s)
  bool ci = false;                                     // CI is set
  std::string user;  // USER, else LOGNAME: who records an approval unless --by says otherwise
  // hfaudit's own HTTP tuning (docs/cli.md, "Environment"); nullopt keeps the client default.
  std::optional<int> http_retries;                        // HFAUDIT_HTTP_RETRIES (0-20)
  std::optional<std::chrono::milliseconds> http_backoff;  // HFAUDIT_HTTP_BACKOFF_MS (0-60000)
  // Ranged downloads of big files (docs/cli.md); nullopt keeps the pull defaults.
  std::optional<uint64_t> range_threshold;  // HFAUDIT_RANGE_THRESHOLD (bytes)
  std::optional<uint64_t> range_part_size;  // HFAUDIT_RANGE_PART_SIZE (bytes)
};

// Reads the process environment (and the token file). Never fails: unusable
// values fall back to their defaults, each with a warning on stderr, so every
// command tells the user the same way that a setting was ignored.
Environment read_environment();

// "10GiB", "500MB", "1.5G", "123" (bytes): binary and decimal units, any case.
// nullopt when it does not parse.
std::optional<uint64_t> parse_size(std::string_view text);

// "1", "ON", "YES", "TRUE" in any case, as huggingface_hub reads booleans.
bool is_truthy(std::string_view value);

// "~" and "$VAR"/"${VAR}" expanded, as huggingface_hub expands its paths.
std::string expand_path(std::string_view path);

}  // namespace hfaudit::cli
