// How a pull result is reported, shared by `pull`, `pull --locked` and
// `lock`: the exit code, the error lines, the hfaudit.pull/1 object, the human
// text and the progress display; plus the PullOptions every pull starts from.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "app/pull.hpp"
#include "cli/env.hpp"
#include "cli/output.hpp"
#include "policies/policy.hpp"

namespace hfaudit::cli {

// The most serious exit code of a pull: its failure (hub 4, cache 3, usage 2,
// integrity 5), failed files (integrity 5, hub 4, io 3, unsafe path 6),
// blocked files and a block verdict (6).
ExitCode pull_exit_code(const app::PullResult& result);

// "hfaudit: error: cannot pull (REPO): ..." for a failure, then one line per
// failed or blocked file naming `subject_prefix` + its path.
void print_pull_errors(const app::PullResult& result, std::string_view subject_prefix);

// The body of an hfaudit.pull/1 document (docs/json-schemas.md), without
// "schema" and "hfaudit_version".
nlohmann::json pull_json(const app::PullResult& result);

// `body` with "schema" and "hfaudit_version" added, pretty-printed, newline-terminated.
std::string machine_document(std::string_view schema, nlohmann::json body);

// The human summary of one pull (files worth showing, counts, verdict, snapshot).
std::string pull_text(const app::PullResult& result, bool verbose, bool color, double seconds);

// Options shared by every pull: the policy (which must outlive the pull),
// cache locations, HF_HUB_OFFLINE, parallelism, the clock.
app::PullOptions pull_options(const Environment& env, const policies::Policy& policy, size_t jobs);

// The progress line on stderr (only when progress_enabled()), redrawn at most
// every 100 ms. Must outlive the pulls it is handed to.
class ProgressDisplay {
 public:
  explicit ProgressDisplay(const OutputOptions& output);
  // A callback for PullOptions::on_progress showing `label`; empty when off.
  std::function<void(const app::PullProgress&)> callback(std::string label);
  void clear();
  double seconds() const;  // since construction

 private:
  bool m_enabled = false;
  std::chrono::steady_clock::time_point m_started;
  std::chrono::steady_clock::time_point m_last_draw;
  std::mutex m_mutex;
};

}  // namespace hfaudit::cli
