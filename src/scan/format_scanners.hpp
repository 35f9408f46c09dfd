// The per-format scanners, one function each, dispatched from the table in
// context.cpp. Each reads only what it must from `bytes` (tensor data is
// skipped by offset), reports through `ctx`, and never throws on bad input.
#pragma once

#include "scan/context.hpp"
#include "scan/format.hpp"
#include "util/byte_source.hpp"

namespace hfaudit::scan {

// pickle.cpp: protocol 0-5 opcode walker; several concatenated streams; joblib
// in-band arrays; follows nested loaders and decoders via ctx.scan_nested.
void scan_pickle(ScanContext& ctx, const util::ByteSource& bytes);
// True if the first opcodes parse as a pickle (used to sniff protocol 0/1
// streams, which have no magic).
bool probe_pickle(const util::ByteSource& bytes);

// pytorch_legacy.cpp: the five pickles of a torch < 1.6 file, storages skipped by size.
void scan_pytorch_legacy(ScanContext& ctx, const util::ByteSource& bytes);

// zip_scan.cpp: strict zip walk (central directory vs local headers, duplicates,
// unlisted entries, zip-slip names, prefix/suffix data) and per-member dispatch
// by flavour: PyTorch (.pkl members as pickles, storages skipped), npz, .keras,
// plain zip.
void scan_zip(ScanContext& ctx, const util::ByteSource& bytes);
// Which zip flavour (pytorch_zip, npz, keras_zip, zip) from the central directory.
Format classify_zip(const util::ByteSource& bytes);

// tar_scan.cpp: legacy PyTorch tar checkpoints and plain tars, every member.
void scan_tar(ScanContext& ctx, const util::ByteSource& bytes);
Format classify_tar(const util::ByteSource& bytes);

// compressed.cpp: gzip, bzip2, xz, lzma, zstd, zlib wrappers, decompressed
// within the limits and scanned as nested content.
void scan_compressed(ScanContext& ctx, const util::ByteSource& bytes);

// npy.cpp
void scan_npy(ScanContext& ctx, const util::ByteSource& bytes);

// safetensors.cpp
void scan_safetensors(ScanContext& ctx, const util::ByteSource& bytes);

// onnx.cpp: protobuf wire-format walk (raw_data skipped).
void scan_onnx(ScanContext& ctx, const util::ByteSource& bytes);
bool probe_onnx(const util::ByteSource& bytes);

// keras.cpp: Keras model config JSON (from .keras config.json or an HDF5
// model_config attribute) and HDF5 containers.
void scan_keras_config(ScanContext& ctx, const util::ByteSource& bytes);
void scan_hdf5(ScanContext& ctx, const util::ByteSource& bytes);

// gguf.cpp
void scan_gguf(ScanContext& ctx, const util::ByteSource& bytes);

// text_scan.cpp: JSON configs (auto_map, chat templates), Python sources, text,
// LFS pointers, unclassified bytes.
void scan_text_like(ScanContext& ctx, const util::ByteSource& bytes, Format format);

// chat_template.cpp: Jinja chat templates that reach Python internals.
void check_chat_template(ScanContext& ctx, std::string_view tmpl, uint64_t offset,
                         std::string_view where);

}  // namespace hfaudit::scan
