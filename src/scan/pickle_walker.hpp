// The pickle opcode walker: a symbolic model of CPython's unpickler (stack,
// mark stack, memo, protocol-dependent name resolution) that never executes
// or imports anything. It walks one stream at a time (STOP to STOP), reports
// imports and calls through the ScanContext, follows byte-loading calls via
// ScanContext::scan_nested, and skips joblib's in-band array data.
//
// Findings use the "pickle." rule prefix (docs: pickle.cpp). Never throws on
// hostile input; every length is bounded by the remaining bytes before use.
// Not thread-safe; one walker per scanned object.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "scan/context.hpp"
#include "util/byte_source.hpp"

namespace hfaudit::scan {

struct PickleWalkOptions {
  // joblib's NumpyUnpickler semantics: after a NumpyArrayWrapper BUILD the raw
  // array bytes follow in-band and are skipped (and the wrapper is allowed).
  bool joblib = true;
  // Items kept per container (the rest are counted, not stored). Raised for
  // streams whose whole result is needed (the legacy torch key list).
  size_t max_kept_items = 64;
  // Walk at most this many opcodes (probing); 0 = ctx.limits().
  uint64_t max_opcodes = 0;
};

struct PickleStreamResult {
  enum class End {
    stop,   // reached STOP
    error,  // malformed, truncated or over a limit (already reported)
  };
  End end = End::error;
  uint64_t start = 0;
  uint64_t end_offset = 0;  // offset just after STOP, or where the walk stopped
  uint64_t opcodes = 0;
  bool truncated = false;       // ran out of bytes (as opposed to invalid data)
  bool hit_opcode_cap = false;  // stopped by options.max_opcodes
  bool meaningful = false;      // saw an opcode plain text rarely starts with
  bool imported_or_called = false;
  int protocol = 0;  // last PROTO seen (0 when none)
  // The value STOP returned, when it is a small literal.
  std::optional<int64_t> result_int;
  std::string result_long;  // little-endian bytes of a LONG1/LONG4 over 64 bits
  bool result_is_dict = false;
  std::vector<std::string> result_strings;  // the str items of a list/tuple result
  bool result_is_sequence = false;          // the result is a list or tuple
  uint64_t result_count = 0;                // items in that list/tuple
};

// A persistent id of the form ('storage', <type global>, key, location, numel, ...).
struct PickleStorageRef {
  std::string key;
  std::string type;  // "torch.FloatStorage"
  std::string location;
  std::optional<uint64_t> numel;
  uint64_t offset = 0;  // of the PERSID/BINPERSID opcode
};

class PickleWalker {
 public:
  // `ctx` may be null (probing): nothing is reported and the walk stops at
  // the first error.
  PickleWalker(ScanContext* ctx, const util::ByteSource& bytes);
  ~PickleWalker();
  PickleWalker(const PickleWalker&) = delete;
  PickleWalker& operator=(const PickleWalker&) = delete;

  // Walks one pickle starting at `offset` (fresh stack and memo, as a new
  // pickle.load would).
  PickleStreamResult walk_stream(uint64_t offset, const PickleWalkOptions& options);

  // Holds back findings until commit_tentative() (or drops them with
  // discard_tentative()): used to decide whether bytes after a STOP are
  // another pickle or just trailing data.
  void begin_tentative();
  void commit_tentative();
  void discard_tentative();

  // Persistent ids seen so far that name torch storages.
  const std::vector<PickleStorageRef>& storages() const;
  // True once a joblib array wrapper was imported.
  bool saw_joblib() const;
  // Compact facts for ctx.details(): imports with their class, calls, counts.
  nlohmann::json summary() const;

 private:
  class Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace hfaudit::scan
