// `hfaudit scan PATH...`: static scan of local files and directories.
#include <fmt/format.h>

#include "cli/commands.hpp"
#include "report/scan_report.hpp"
#include "scan/engine.hpp"

namespace hfaudit::cli {

namespace {

struct ScanArgs {
  std::vector<std::string> paths;
  std::string fail_on = "medium";
};

constexpr const char* k_scan_footer =
    R"(Formats are recognised by content, never by extension: pickle (protocols 0-5),
PyTorch (zip, legacy, tar), numpy (.npy/.npz), joblib, safetensors, ONNX, Keras
(.keras/.h5), GGUF, and compressed or archived copies of them. Nothing is
imported, unpickled or executed. Severities: info < low < medium < high < critical.

Examples:
  hfaudit scan pytorch_model.bin
  hfaudit scan ~/.cache/huggingface/hub/models--org--name/snapshots/COMMIT
  hfaudit scan --json models/ > scan.json
  hfaudit scan --sarif -o hfaudit.sarif models/     # upload to GitHub code scanning
  hfaudit scan --fail-on high models/               # tolerate unknown imports

Exit codes: 0 nothing at or above --fail-on, 1 findings, 2 usage error,
3 a path could not be read.)";

}  // namespace

CommandRunner add_scan_command(CLI::App& app, OutputOptions& output) {
  auto args = std::make_shared<ScanArgs>();
  CLI::App* cmd = app.add_subcommand("scan", "Statically scan model files and directories");
  cmd->footer(k_scan_footer);
  cmd->add_option("PATH", args->paths, "Files or directories (directories are walked)")->required();
  cmd->add_option("--fail-on", args->fail_on, "Lowest severity that makes the scan fail (exit 1)")
      ->check(CLI::IsMember({"info", "low", "medium", "high", "critical"}))
      ->default_str("medium");
  auto* json = cmd->add_flag("--json", output.json, "Write the hfaudit.scan/1 JSON document");
  cmd->add_flag("--sarif", output.sarif, "Write a SARIF 2.1.0 log (GitHub code scanning)")
      ->excludes(json);
  cmd->add_option("-o,--output", output.output_file,
                  "Write the JSON/SARIF document to FILE instead of stdout");

  return [args, &output]() {
    report::ScanRenderOptions render;
    render.fail_on = *scan::parse_severity(args->fail_on);
    render.verbose = output.verbose;

    scan::ScanOptions options;
    const bool progress = progress_enabled(output);
    size_t scanned = 0;
    if (progress)
      options.on_file = [&scanned](const std::string& path) {
        show_progress(fmt::format("scanning [{}] {}", ++scanned, path));
      };
    const scan::ScanResult result = scan::scan_paths(args->paths, options);
    if (progress) show_progress("");

    for (const auto& error : result.errors) print_error("cannot read", error.path, error.message);

    std::string document;
    if (output.sarif) {
      document = report::render_scan_sarif(result, render);
    } else if (output.json) {
      document = report::render_scan_json(result, render);
    } else {
      render.color = output.output_file.empty() && stdout_color_enabled();
      document = report::render_scan_text(result, render);
    }
    if (!write_document(output, document)) return ExitCode::input;

    ExitCode code = ExitCode::ok;
    for (const auto& file : result.files)
      if (report::file_fails(file, render.fail_on)) code = ExitCode::findings;
    if (!result.errors.empty()) code = most_serious(code, ExitCode::input);
    return code;
  };
}

}  // namespace hfaudit::cli
