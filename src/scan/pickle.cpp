// Raw pickle files (protocol 0-5, joblib): every concatenated stream is
// walked, and what follows the last STOP is judged. The opcode model lives in
// pickle_walker.cpp, the allow/deny lists in pickle_rules.cpp.
//
// Rule ids (severity):
//   pickle.import.denied      high/critical  a deny-listed global (section 1.5)
//   pickle.import.unknown     medium         a global on neither list
//   pickle.import.unresolved  high           STACK_GLOBAL on non-literal operands
//   pickle.ext_registry       high           EXT1/2/4 (copyreg registry)
//   pickle.call.denied        critical       a call of a denied global
//   pickle.call.conditional   medium         _codecs.encode / copyreg._reconstructor /
//                                            _rebuild_from_type_v2 outside their safe form
//   pickle.call.indirect      medium         a call of something that is not a global
//   pickle.call.method        medium         APPEND/SETITEM/... on a non-container
//   pickle.call.build_on_global medium       BUILD on a module-level object
//   pickle.nested_loader      info/high      bytes handed to a loader (scanned nested)
//   pickle.malformed, pickle.truncated, pickle.frame_violation, pickle.limit,
//   pickle.joblib.bad_wrapper                medium
//   pickle.stack_leftover, pickle.proto_misplaced, pickle.joblib.padding,
//   pickle.multiple_streams, pickle.trailing_data  low
//   pickle.polyglot_zip       high           a zip archive after the pickle
#include <fmt/format.h>

#include <algorithm>

#include "scan/format_scanners.hpp"
#include "scan/pickle_walker.hpp"

namespace hfaudit::scan {

namespace {

// Probing reads at most this much of a file: protocol 0 pickles are text and
// may be long, so a clean parse of the window is accepted too.
constexpr uint64_t k_probe_window = 64 * 1024;
constexpr uint64_t k_probe_opcodes = 4096;
// Bytes after a STOP count as another pickle when they reach STOP, import or
// call something, or parse for this many opcodes; otherwise they are data.
constexpr uint64_t k_pickle_like_opcodes = 8;

bool starts_with_zip(const util::ByteSource& bytes, uint64_t offset) {
  auto head = bytes.read_string(offset, 4);
  return head && *head == std::string_view("PK\x03\x04", 4);
}

}  // namespace

void scan_pickle(ScanContext& ctx, const util::ByteSource& bytes) {
  PickleWalker walker(&ctx, bytes);
  const PickleWalkOptions options;
  const uint64_t size = bytes.size();
  uint64_t pos = 0;
  uint64_t streams = 0;
  while (pos < size) {
    const bool first = streams == 0;
    if (!first && starts_with_zip(bytes, pos)) {
      // pickle.load/torch.load run the front; zip readers (and torch.load of
      // the same bytes through a name lookup) see the back.
      ctx.report("pickle.polyglot_zip", Severity::high, pos,
                 "a zip archive follows the pickle: the file is a pickle/zip polyglot that "
                 "different loaders read differently",
                 "zip");
      // The whole object goes to the zip scanner, not a slice from `pos`: the
      // archive's offsets may count from the start of the file (zipfile in
      // append mode writes them so) or from the archive (plain concatenation),
      // and the zip walker resolves both only when it sees the whole file. It
      // reports the pickle in front as prefix data and scans just that prefix.
      ctx.scan_nested(bytes, fmt::format("@{}:zip", pos), Format::zip);
      break;
    }
    if (!first) walker.begin_tentative();
    const PickleStreamResult r = walker.walk_stream(pos, options);
    ++streams;
    if (!first) {
      const bool pickle_like = r.end == PickleStreamResult::End::stop || r.imported_or_called ||
                               r.opcodes >= k_pickle_like_opcodes;
      if (!pickle_like) {
        walker.discard_tentative();
        --streams;
        ctx.report("pickle.trailing_data", Severity::low, pos,
                   std::to_string(size - pos) + " bytes after the last STOP are not a pickle");
        break;
      }
      walker.commit_tentative();
      if (streams == 2)
        ctx.report("pickle.multiple_streams", Severity::low, pos,
                   "another pickle stream follows the first STOP; loaders that call load() "
                   "again run it",
                   "stream@" + std::to_string(pos));
    }
    if (r.end != PickleStreamResult::End::stop) break;
    pos = r.end_offset;
  }
  nlohmann::json& details = ctx.details();
  details["pickle"] = walker.summary();
  details["pickle"]["streams"] = streams;
}

bool probe_pickle(const util::ByteSource& bytes) {
  const util::SliceSource head(bytes, 0, std::min<uint64_t>(bytes.size(), k_probe_window));
  PickleWalker walker(nullptr, head);
  PickleWalkOptions options;
  options.joblib = false;
  options.max_opcodes = k_probe_opcodes;
  const PickleStreamResult r = walker.walk_stream(0, options);
  if (!r.meaningful) return false;
  if (r.end == PickleStreamResult::End::stop) return r.opcodes >= 2;
  if (r.hit_opcode_cap) return true;
  // Cut by the window or a truncated file: what parsed must look like a
  // pickle, not like a line of text that happens to start with an opcode.
  return r.truncated && (r.imported_or_called || r.opcodes >= 16);
}

}  // namespace hfaudit::scan
