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

void scan_one_file(const std::string& path, const ScanOptions& options, ScanResult& result) {
  if (options.on_file) options.on_file(path);
  auto source = util::open_file_source(path);
  if (!source) {
    result.errors.push_back({path, source.error().message});
    return;
  }
  result.files.push_back(scan_source(**source, path, options));
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
