// `hfaudit ls`, `hfaudit verify`, `hfaudit gc`: the cache.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cache/maintenance.hpp"
#include "cli/commands.hpp"
#include "cli/env.hpp"
#include "report/text_style.hpp"

namespace hfaudit::cli {

namespace {

cache::CacheOptions cache_options() {
  const Environment env = read_environment();
  return {env.hfaudit_home, env.hf_hub_cache};
}

std::string stamp(cache::UnixTime t) {
  if (t <= 0) return "-";
  char buffer[32];
  const std::time_t time = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&time, &tm);
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M", &tm);
  return buffer;
}

nlohmann::json envelope(std::string_view schema) {
  return {{"schema", schema}, {"hfaudit_version", HFAUDIT_VERSION}};
}

std::string dump(const nlohmann::json& doc) {
  return doc.dump(2) + "\n";
}

}  // namespace

CommandRunner add_ls_command(CLI::App& app, OutputOptions& output) {
  CLI::App* cmd =
      app.add_subcommand("ls", "List cached repositories, revisions, sizes and verdicts");
  cmd->footer(
      "Reads the index under HFAUDIT_HOME. Each snapshot shows its refs, file counts\n"
      "(verified / blocked / quarantined), size, worst scan verdict and gate decision.\n\n"
      "Examples:\n  hfaudit ls\n  hfaudit ls --json | jq '.repos[].repo'");
  cmd->add_flag("--json", output.json, "Write the hfaudit.ls/1 JSON document");
  cmd->add_option("-o,--output", output.output_file,
                  "Write the document to FILE instead of stdout");
  return [&output]() {
    auto listing = cache::list(cache_options());
    if (!listing) {
      print_error("cannot read the cache", "", listing.error().message);
      return ExitCode::input;
    }
    std::string document;
    if (output.json) {
      nlohmann::json repos = nlohmann::json::array();
      for (const auto& r : listing->repos) {
        nlohmann::json snaps = nlohmann::json::array();
        for (const auto& s : r.snapshots)
          snaps.push_back(
              {{"commit", s.commit},
               {"refs", s.refs},
               {"fetched_at", s.fetched_at},
               {"last_accessed_at", s.last_accessed_at},
               {"files", s.file_count},
               {"verified", s.verified_count},
               {"blocked", s.blocked_count},
               {"quarantined", s.quarantined_count},
               {"bytes", s.total_bytes},
               {"max_severity", s.max_severity ? nlohmann::json(cache::to_string(*s.max_severity))
                                               : nlohmann::json(nullptr)},
               {"decision", s.decision ? nlohmann::json(cache::to_string(*s.decision))
                                       : nlohmann::json(nullptr)}});
        repos.push_back({{"repo", r.repo_id}, {"bytes", r.total_bytes}, {"snapshots", snaps}});
      }
      auto doc = envelope("hfaudit.ls/1");
      doc["store_bytes"] = listing->store_bytes;
      doc["blob_count"] = listing->blob_count;
      doc["repos"] = repos;
      document = dump(doc);
    } else {
      for (const auto& r : listing->repos) {
        document += fmt::format("{}  {}\n", r.repo_id, report::human_size(r.total_bytes));
        for (const auto& s : r.snapshots)
          document += fmt::format(
              "  {}  {:<12} {:>3} files ({} verified, {} blocked, {} quarantined)  {:>10}  scan {} "
              " "
              "fetched {}\n",
              s.commit.substr(0, 12),
              s.refs.empty() ? "-" : fmt::format("{}", fmt::join(s.refs, ",")), s.file_count,
              s.verified_count, s.blocked_count, s.quarantined_count,
              report::human_size(s.total_bytes),
              s.max_severity ? cache::to_string(*s.max_severity) : "-", stamp(s.fetched_at));
      }
      document += fmt::format("{} repositories, {} blobs, {} in the store\n", listing->repos.size(),
                              listing->blob_count, report::human_size(listing->store_bytes));
    }
    return write_document(output, document) ? ExitCode::ok : ExitCode::input;
  };
}

CommandRunner add_verify_command(CLI::App& app, OutputOptions& output) {
  auto repo = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("verify", "Re-hash cached blobs; quarantine any that changed");
  cmd->footer(
      "Every blob in the store (or only those of REPO's snapshots) is hashed again and\n"
      "compared with its name. A blob whose bytes changed is moved to quarantine under\n"
      "HFAUDIT_HOME, removed from the huggingface_hub view (so nothing can load it),\n"
      "and recorded in the audit log; pull the repository again to restore it.\n\n"
      "Examples:\n  hfaudit verify\n  hfaudit verify --repo org/name --json\n\n"
      "Exit codes: 0 every blob verified, 5 a blob changed or is missing, 3 cache unreadable.");
  cmd->add_option("--repo", *repo, "Only the blobs of this repository's snapshots");
  cmd->add_flag("--json", output.json, "Write the hfaudit.verify/1 JSON document");
  cmd->add_option("-o,--output", output.output_file,
                  "Write the document to FILE instead of stdout");
  return [repo, &output]() {
    cache::VerifyOptions options;
    if (!repo->empty()) options.repo_id = *repo;
    cache::MaintenanceOptions maintenance;
    maintenance.actor = "hfaudit verify";
    auto result = cache::verify(cache_options(), options, maintenance);
    if (!result) {
      print_error("cannot verify the cache", "", result.error().message);
      return ExitCode::input;
    }
    for (const auto& c : result->corrupted)
      print_error("blob changed on disk", c.sha256,
                  fmt::format("now hashes to {} ({} bytes, expected {}); quarantined in {}",
                              c.actual_sha256, c.actual_size, c.expected_size, c.quarantine_dir),
                  "pull the affected repositories again");
    for (const auto& m : result->missing)
      print_error("blob missing from the store", m, "its files are marked for re-download");
    std::string document;
    if (output.json) {
      nlohmann::json corrupted = nlohmann::json::array();
      for (const auto& c : result->corrupted) {
        nlohmann::json affected = nlohmann::json::array();
        for (const auto& f : c.affected)
          affected.push_back({{"repo", f.repo_id}, {"commit", f.commit}, {"path", f.path}});
        corrupted.push_back({{"sha256", c.sha256},
                             {"actual_sha256", c.actual_sha256},
                             {"expected_size", c.expected_size},
                             {"actual_size", c.actual_size},
                             {"quarantine_dir", c.quarantine_dir},
                             {"affected", affected}});
      }
      auto doc = envelope("hfaudit.verify/1");
      doc["blobs_checked"] = result->blobs_checked;
      doc["bytes_checked"] = result->bytes_checked;
      doc["ok"] = result->ok();
      doc["corrupted"] = corrupted;
      doc["missing"] = result->missing;
      document = dump(doc);
    } else {
      document = fmt::format("{} blobs ({}) verified; {} changed, {} missing\n",
                             result->blobs_checked, report::human_size(result->bytes_checked),
                             result->corrupted.size(), result->missing.size());
    }
    if (!write_document(output, document)) return ExitCode::input;
    return result->ok() ? ExitCode::ok : ExitCode::integrity;
  };
}

CommandRunner add_gc_command(CLI::App& app, OutputOptions& output) {
  auto max_size = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("gc", "Remove unreferenced blobs; cap the cache size");
  cmd->footer(
      "Removes store blobs no snapshot references. With --max-size, also evicts whole\n"
      "snapshots, least recently used first, until the store fits (view, index rows,\n"
      "then blobs no other snapshot shares). Waits for running pulls.\n\n"
      "Examples:\n  hfaudit gc\n  hfaudit gc --max-size 50GiB");
  cmd->add_option("--max-size", *max_size, "Evict LRU snapshots until the store is at most SIZE");
  cmd->add_flag("--json", output.json, "Write the hfaudit.gc/1 JSON document");
  cmd->add_option("-o,--output", output.output_file,
                  "Write the document to FILE instead of stdout");
  return [max_size, &output]() {
    cache::GcOptions options;
    if (!max_size->empty()) {
      options.max_bytes = parse_size(*max_size);
      if (!options.max_bytes) {
        print_error("invalid size", *max_size, "expected a number with an optional unit",
                    "e.g. 500MiB, 10GiB, 2TB");
        return ExitCode::usage;
      }
    }
    cache::MaintenanceOptions maintenance;
    maintenance.actor = "hfaudit gc";
    auto result = cache::gc(cache_options(), options, maintenance);
    if (!result) {
      print_error("cannot collect the cache", "", result.error().message);
      return ExitCode::input;
    }
    std::string document;
    if (output.json) {
      nlohmann::json evicted = nlohmann::json::array();
      for (const auto& e : result->evicted)
        evicted.push_back(
            {{"repo", e.repo_id}, {"commit", e.commit}, {"last_accessed_at", e.last_accessed_at}});
      auto doc = envelope("hfaudit.gc/1");
      doc["bytes_before"] = result->bytes_before;
      doc["bytes_after"] = result->bytes_after;
      doc["removed_blobs"] = result->removed_blobs;
      doc["evicted"] = evicted;
      document = dump(doc);
    } else {
      document = fmt::format("{} -> {}; {} blobs removed, {} snapshots evicted\n",
                             report::human_size(result->bytes_before),
                             report::human_size(result->bytes_after), result->removed_blobs.size(),
                             result->evicted.size());
      for (const auto& e : result->evicted)
        document += fmt::format("  evicted {}@{} (last used {})\n", e.repo_id,
                                e.commit.substr(0, 12), stamp(e.last_accessed_at));
    }
    return write_document(output, document) ? ExitCode::ok : ExitCode::input;
  };
}

}  // namespace hfaudit::cli
