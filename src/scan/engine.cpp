#include "scan/engine.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>

namespace hfaudit::scan {

namespace fs = std::filesystem;

FileReport scan_source(const util::ByteSource& bytes, const std::string& display_path,
                       const ScanOptions& options, std::optional<Format> as) {
  FileReport report;
  report.path = display_path;
  report.size = bytes.size();
  ScanContext ctx(report, options.limits);
  ctx.scan_root(bytes, display_path, as);
  return report;
}

namespace {

void add_finding(FileReport& report, std::string rule, Severity severity, std::string message,
                 std::string subject) {
  report.findings.push_back(Finding{std::move(rule), severity, report.path, std::string(), 0,
                                    std::move(message), std::move(subject)});
}

uint64_t json_number(const nlohmann::json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_string()) {
    try {
      return std::stoull(v.get<std::string>());
    } catch (...) {
    }
  }
  return 0;
}

// ONNX external data is read from files next to the model. The ONNX scanner
// sees only bytes and checks locations lexically; here, with the model's path,
// we check what the loader would open: the file must exist, stay inside the
// model's directory after following symlinks (CVE-2026-27489), and hold the
// byte range the tensor claims.
void check_onnx_external_data(FileReport& report) {
  if (report.objects.empty() || report.objects.front().format != Format::onnx) return;
  const auto& details = report.objects.front().details;
  const auto list = details.find("external_data");
  if (list == details.end() || !list->is_array()) return;
  std::error_code ec;
  const fs::path model_dir = fs::weakly_canonical(fs::absolute(report.path).parent_path(), ec);
  for (const auto& entry : *list) {
    if (!entry.is_object() || !entry.contains("location") || !entry["location"].is_string())
      continue;
    const std::string location = entry["location"].get<std::string>();
    const std::string tensor = entry.value("tensor", std::string());
    const fs::path target = model_dir / location;
    if (!fs::exists(fs::symlink_status(target, ec))) {
      add_finding(report, "onnx.external_data_missing", Severity::medium,
                  "tensor " + tensor + " reads external data from " + location +
                      ", which is not next to the model",
                  location);
      continue;
    }
    const fs::path real = fs::weakly_canonical(target, ec);
    const auto [dir_end, real_it] =
        std::mismatch(model_dir.begin(), model_dir.end(), real.begin(), real.end());
    if (ec || dir_end != model_dir.end()) {
      add_finding(report, "onnx.external_data_escape", Severity::critical,
                  "tensor " + tensor + " reads external data from " + location +
                      ", which resolves outside the model's directory (" + real.string() +
                      "): loading would read an arbitrary file into the weights",
                  location);
      continue;
    }
    const uint64_t offset = entry.contains("offset") ? json_number(entry["offset"]) : 0;
    const uint64_t length = entry.contains("length") ? json_number(entry["length"]) : 0;
    const auto size = fs::file_size(real, ec);
    if (!ec && (offset > size || length > size - offset)) {
      add_finding(report, "onnx.external_data_range", Severity::medium,
                  "tensor " + tensor + " claims bytes [" + std::to_string(offset) + ", " +
                      std::to_string(offset + length) + ") of " + location + ", which has " +
                      std::to_string(size) + " bytes",
                  location);
    }
  }
}

void scan_one_file(const std::string& path, const ScanOptions& options, ScanResult& result) {
  if (options.on_file) options.on_file(path);
  auto source = util::open_file_source(path);
  if (!source) {
    result.errors.push_back({path, source.error().message});
    return;
  }
  result.files.push_back(scan_source(**source, path, options));
  check_onnx_external_data(result.files.back());
}

void scan_directory(const fs::path& dir, const ScanOptions& options, ScanResult& result) {
  std::error_code ec;
  std::vector<fs::path> entries;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    entries.push_back(it->path());
  if (ec) {
    result.errors.push_back({dir.string(), ec.message()});
    return;
  }
  std::sort(entries.begin(), entries.end());
  for (const auto& entry : entries) {
    const bool is_link = fs::is_symlink(fs::symlink_status(entry, ec));
    if (fs::is_directory(fs::status(entry, ec))) {
      if (!is_link) scan_directory(entry, options, result);
      continue;
    }
    scan_one_file(entry.string(), options, result);
  }
}

}  // namespace

ScanResult scan_paths(const std::vector<std::string>& paths, const ScanOptions& options) {
  ScanResult result;
  for (const auto& path : paths) {
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (status.type() == fs::file_type::not_found) {
      result.errors.push_back({path, "no such file or directory"});
    } else if (ec) {
      result.errors.push_back({path, ec.message()});
    } else if (fs::is_directory(status)) {
      scan_directory(path, options, result);
    } else {
      scan_one_file(path, options, result);
    }
  }
  return result;
}

}  // namespace hfaudit::scan
