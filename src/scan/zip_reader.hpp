// A strict, read-only zip walker for hostile archives (PyTorch checkpoints,
// npz, Keras .keras, plain zips).
//
// Why not a general-purpose zip library: libraries exist to *hide* the
// structure we must inspect. They pick one EOCD, look members up by name (so
// a duplicate name silently shadows the other entry), trust the central
// directory over local headers without comparing them, ignore bytes before
// the first local header or after the end record, skip encrypted or oddly
// flagged members, and allocate whatever the header says. Each of those is a
// known way to show a scanner one archive and a loader another (see
// model-file-threats.md section 9). This walker reads only headers, checks
// every count, offset and length against the file size before using it,
// visits every central-directory entry by its offset, and records each
// anomaly instead of resolving it.
//
// Member bytes are never read here: stored members are handed out as slices,
// deflated members are inflated on request with a hard output cap.
//
// Format reference: PKWARE APPNOTE.TXT 6.3.x sections 4.3 (structure) and
// 4.5.3 (zip64 extra field). Not thread-safe per call; stateless otherwise.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scan/finding.hpp"
#include "util/byte_source.hpp"

namespace hfaudit::scan {

// One central-directory entry, plus what its local header says.
struct ZipEntry {
  std::string name;              // raw bytes from the central directory
  uint64_t central_offset = 0;   // offset of the central-directory record
  uint64_t local_offset = 0;     // offset of the local header (prefix shift applied)
  uint64_t data_offset = 0;      // first byte of member data; valid when local_ok
  uint64_t region_end = 0;       // end of data (+ data descriptor); valid when local_ok
  uint64_t compressed_size = 0;  // from the central directory (what readers use)
  uint64_t uncompressed_size = 0;
  uint32_t crc32 = 0;
  uint16_t method = 0;  // central directory
  uint16_t flags = 0;   // central directory general-purpose bits
  uint16_t local_flags = 0;
  bool local_ok = false;        // the local header exists and parsed
  bool data_truncated = false;  // data runs past the end of the file
};

// Something about the archive's structure that is worth a finding. The walker
// only collects these; the caller decides how to report them.
struct ZipAnomaly {
  std::string rule;  // zip.* or container.* id
  Severity severity = Severity::medium;
  uint64_t offset = 0;
  std::string message;
  std::string subject;  // member name (printable) or field
};

struct ZipDirectory {
  bool usable = false;  // an end record and a central directory were found
  bool zip64 = false;
  uint64_t eocd_offset = 0;  // offset of the (32-bit) end record
  uint64_t archive_end = 0;  // end of the end record plus its comment, clamped
  uint64_t cd_offset = 0;    // prefix shift applied
  uint64_t cd_size = 0;
  uint64_t declared_entries = 0;  // what the end record says
  uint64_t prefix_size = 0;       // bytes before the first local header
  std::vector<ZipEntry> entries;  // central-directory order, at most max_entries
  std::vector<ZipAnomaly> anomalies;
};

// An unlisted local header found between the regions the central directory
// accounts for.
struct ZipUnlistedEntry {
  std::string name;
  uint64_t local_offset = 0;
  uint64_t data_offset = 0;
  uint64_t compressed_size = 0;  // 0 when the header defers sizes to a data descriptor
  uint16_t method = 0;
  uint16_t flags = 0;
};

struct ZipReadOptions {
  uint64_t max_entries = 200000;
  // Compare local headers with the central directory and look for unlisted
  // local headers (the full check). Classification only needs names.
  bool verify_local_headers = true;
  // Bytes of gaps searched for unlisted local headers; beyond it a finding.
  uint64_t max_gap_scan = 64ull << 20;
};

// Reads the end record(s) and the central directory, and (when asked)
// verifies every local header. Never throws; never allocates more than the
// file could justify. With verify_local_headers, `unlisted` receives local
// headers the central directory does not reference.
ZipDirectory read_zip_directory(const util::ByteSource& bytes, const ZipReadOptions& options,
                                std::vector<ZipUnlistedEntry>* unlisted = nullptr);

// Walks local headers from `start` sequentially: the view of a streaming
// reader, used when no central directory can be found. At most `max_entries`.
std::vector<ZipUnlistedEntry> walk_local_headers(const util::ByteSource& bytes, uint64_t start,
                                                 uint64_t max_entries);

enum class InflateStatus { complete, capped, corrupt, truncated, io_error };

// Inflates raw deflate data [offset, offset+compressed_size) into `out`,
// stopping once `out` holds `max_output` bytes (status capped). `charge` is
// called with each chunk's size before it is kept and may veto it (the
// decompression budget); a veto also ends with capped. On corrupt or
// truncated input, `out` keeps what was decoded.
InflateStatus inflate_member(const util::ByteSource& bytes, uint64_t offset,
                             uint64_t compressed_size, uint64_t max_output, std::string& out,
                             const std::function<bool(uint64_t)>& charge);

// Why an archive member name is unsafe to extract (zip-slip / tar-slip):
// "..", absolute path, backslash, drive letter or NUL; nullopt when safe.
std::optional<std::string> unsafe_path_reason(std::string_view name);

// The name made safe for reports: valid UTF-8 kept, other bytes and control
// characters escaped as \xNN, cut at 512 bytes.
std::string printable_name(std::string_view name);

}  // namespace hfaudit::scan
