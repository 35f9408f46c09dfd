// `hfaudit info REPO[@REV]`: trust signals and risk factors, no weights downloaded.
#include <chrono>

#include "app/info.hpp"
#include "cli/commands.hpp"
#include "cli/env.hpp"
#include "cli/hub_setup.hpp"
#include "report/info_report.hpp"

namespace hfaudit::cli {

namespace {

struct InfoArgs {
  std::string repo;
  std::string revision;
  std::string fail_on;
};

constexpr const char* k_info_footer =
    R"(Reads the Hub's model info, the file tree with the Hub's own per-file security
scans, and the owner's account kind. Nothing is downloaded but metadata.

Risk factors (each with evidence and a fix): files flagged or not scanned by the
Hub, pickle-only weights, custom code (trust_remote_code), new repository, recent
change, individual account, low adoption, missing or thin model card, missing or
non-open licence. The overall risk is the most severe factor.

Examples:
  hfaudit info google-bert/bert-base-uncased
  hfaudit info org/model@v1.0 --json
  hfaudit info org/model@refs/pr/3 -v            # per-file table
  hfaudit info org/model --fail-on high          # exit 1 when the risk is high or worse

Exit codes: 0 success (1 with --fail-on when the risk reaches it), 2 usage error,
4 Hub error (not found or no access, gated, rate limited, network, offline).)";

}  // namespace

CommandRunner add_info_command(CLI::App& app, OutputOptions& output) {
  auto args = std::make_shared<InfoArgs>();
  CLI::App* cmd = app.add_subcommand(
      "info", "Trust signals and risk factors of a Hub repository (no weights downloaded)");
  cmd->footer(k_info_footer);
  cmd->add_option("REPO", args->repo, "Repository as org/name or org/name@revision")->required();
  cmd->add_option("--revision", args->revision,
                  "Branch, tag, commit or refs/pr/N (instead of @REV; default main)");
  cmd->add_option("--fail-on", args->fail_on,
                  "Exit 1 when the overall risk is at or above this severity")
      ->check(CLI::IsMember({"info", "low", "medium", "high", "critical"}));
  cmd->add_flag("--json", output.json, "Write the hfaudit.info/1 JSON document");
  cmd->add_option("-o,--output", output.output_file,
                  "Write the document to FILE instead of stdout");

  return [args, &output]() {
    auto ref = parse_repo_argument(args->repo, args->revision);
    if (!ref) return ExitCode::usage;
    const Environment env = read_environment();
    auto client = make_hub_client(env, output.verbose);
    if (!client) return ExitCode::usage;

    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    auto report = app::gather_info(*client, *ref, now);
    if (!report)
      return report_hub_error("cannot assess repository", ref->repo.str(), report.error());

    report::InfoRenderOptions render;
    render.verbose = output.verbose;
    std::string document;
    if (output.json) {
      document = report::render_info_json(*report);
    } else {
      render.color = output.output_file.empty() && stdout_color_enabled();
      document = report::render_info_text(*report, render);
    }
    if (!write_document(output, document)) return ExitCode::input;
    if (!args->fail_on.empty() && report->overall >= *scan::parse_severity(args->fail_on))
      return ExitCode::findings;
    return ExitCode::ok;
  };
}

}  // namespace hfaudit::cli
