#include "scan/format_scanners.hpp"
#include "scan/pending.hpp"

namespace hfaudit::scan {
void scan_tar(ScanContext& ctx, const util::ByteSource&) { report_unsupported(ctx, "tar archives"); }
Format classify_tar(const util::ByteSource&) { return Format::tar; }
}  // namespace hfaudit::scan
