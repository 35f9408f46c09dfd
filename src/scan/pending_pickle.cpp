#include "scan/format_scanners.hpp"
#include "scan/pending.hpp"

namespace hfaudit::scan {
void scan_pickle(ScanContext& ctx, const util::ByteSource&) {
  report_unsupported(ctx, "pickle");
}
bool probe_pickle(const util::ByteSource&) {
  return false;
}
void scan_pytorch_legacy(ScanContext& ctx, const util::ByteSource&) {
  report_unsupported(ctx, "legacy PyTorch checkpoints");
}
}  // namespace hfaudit::scan
