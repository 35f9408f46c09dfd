#include "scan/format_scanners.hpp"
#include "scan/pending.hpp"

namespace hfaudit::scan {
void scan_safetensors(ScanContext& ctx, const util::ByteSource&) {
  report_unsupported(ctx, "safetensors");
}
void scan_onnx(ScanContext& ctx, const util::ByteSource&) {
  report_unsupported(ctx, "ONNX");
}
bool probe_onnx(const util::ByteSource&) {
  return false;
}
void scan_keras_config(ScanContext& ctx, const util::ByteSource&) {
  report_unsupported(ctx, "Keras model configs");
}
void scan_hdf5(ScanContext& ctx, const util::ByteSource&) {
  report_unsupported(ctx, "HDF5");
}
void scan_gguf(ScanContext& ctx, const util::ByteSource&) {
  report_unsupported(ctx, "GGUF");
}
void check_chat_template(ScanContext& ctx, std::string_view, uint64_t offset,
                         std::string_view where) {
  ctx.report("scan.unsupported_format", Severity::medium, offset,
             "hfaudit cannot check chat templates yet", std::string(where));
}
}  // namespace hfaudit::scan
