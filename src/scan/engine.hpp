// Scanning files and directories: the entry point of `hfaudit scan`.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "scan/context.hpp"

namespace hfaudit::scan {

struct ScanOptions {
  ScanLimits limits;
  // Called before each file of scan_paths() is scanned (for progress displays).
  std::function<void(const std::string& path)> on_file;
};

// A path that could not be read (missing, unreadable, not a regular file).
struct ReadError {
  std::string path;
  std::string message;
};

struct ScanResult {
  std::vector<FileReport> files;
  std::vector<ReadError> errors;
};

// Scans bytes already in hand; `display_path` names them in findings. `as`
// forces a format instead of sniffing (fuzz targets drive one parser each).
FileReport scan_source(const util::ByteSource& bytes, const std::string& display_path,
                       const ScanOptions& options, std::optional<Format> as = std::nullopt);

// Scans files and, recursively, directories (entries sorted by name; symlinks
// to files are followed, symlinks to directories are not, so snapshot folders
// of the huggingface_hub cache scan as their blobs).
ScanResult scan_paths(const std::vector<std::string>& paths, const ScanOptions& options);

}  // namespace hfaudit::scan
