// Scanning a blob of the content-addressed store, with the verdict cached in
// the index per scanner version: a verdict recorded by an older scanner is not
// trusted forever, the blob is scanned again and the new verdict recorded.
// Shared by pull (after download) and audit (re-scan of cached blobs).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cache/blob_store.hpp"
#include "cache/index.hpp"
#include "scan/context.hpp"
#include "scan/finding.hpp"

namespace hfaudit::app {

// "hfaudit-scan/1@<version>": bumped when the scanner's rules change, so
// cached verdicts are refreshed.
std::string_view scanner_version();

struct BlobScan {
  scan::FileReport report;                      // formats and findings (object details dropped)
  std::vector<scan::Finding> findings;          // low and above: what the policy judges
  std::optional<scan::Severity> max_severity;   // nullopt: no finding at all
  bool rescanned = false;                       // false: this scanner version's verdict was reused
  std::optional<std::string> previous_version;  // the older verdict's scanner version, if any
};

// The verdict of this scanner version for blob `sha256` (named `path` in its
// repository, so extension checks see the real name): reused from the index
// when recorded, else scanned now and recorded. Failure: the blob cannot be
// opened (not_found, io).
util::Result<BlobScan> scan_stored_blob(cache::Index& index, const cache::BlobStore& store,
                                        const std::string& sha256, const std::string& path);

// Findings as stored in the index and the audit log.
nlohmann::json findings_json(const std::vector<scan::Finding>& findings);

}  // namespace hfaudit::app
