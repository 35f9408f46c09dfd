#include "scan/format_scanners.hpp"
#include "scan/pending.hpp"
namespace hfaudit::scan {
void scan_onnx(ScanContext& ctx, const util::ByteSource&) { report_unsupported(ctx, "ONNX"); }
bool probe_onnx(const util::ByteSource&) { return false; }
}  // namespace hfaudit::scan
