#include "scan/format_scanners.hpp"
#include "scan/pending.hpp"
namespace hfaudit::scan {
void scan_gguf(ScanContext& ctx, const util::ByteSource&) { report_unsupported(ctx, "GGUF"); }
}  // namespace hfaudit::scan
