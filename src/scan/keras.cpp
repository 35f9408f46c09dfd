#include "scan/format_scanners.hpp"
#include "scan/pending.hpp"
namespace hfaudit::scan {
void scan_keras_config(ScanContext& ctx, const util::ByteSource&) {
  report_unsupported(ctx, "Keras model configs");
}
void scan_hdf5(ScanContext& ctx, const util::ByteSource&) { report_unsupported(ctx, "HDF5"); }
}  // namespace hfaudit::scan
