// libFuzzer target for one parser, chosen at compile time by HFAUDIT_FUZZ_FORMAT
// (a scan::Format enumerator), or for the whole sniff-and-dispatch path when it
// is not defined. Any crash, sanitizer report or exception is a bug: scanners
// must turn every malformed input into findings.
#include <cstddef>
#include <cstdint>
#include <string>

#include "scan/engine.hpp"

namespace {
const hfaudit::scan::ScanOptions& options() {
  static const hfaudit::scan::ScanOptions o = [] {
    hfaudit::scan::ScanOptions opts;
    // Keep each input cheap so the fuzzer explores instead of grinding.
    opts.limits.max_expanded_member = 64ull << 20;
    opts.limits.max_expanded_total = 128ull << 20;
    opts.limits.max_pickle_opcodes = 1'000'000;
    return opts;
  }();
  return o;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const hfaudit::util::BorrowedSource source(
      std::string_view(reinterpret_cast<const char*>(data), size));
#ifdef HFAUDIT_FUZZ_FORMAT
  (void)hfaudit::scan::scan_source(source, "fuzz-input", options(),
                                   hfaudit::scan::Format::HFAUDIT_FUZZ_FORMAT);
#else
  (void)hfaudit::scan::scan_source(source, "fuzz-input", options());
#endif
  return 0;
}
