// File formats the scanner recognises by content (see sniff.hpp).
#pragma once

#include <string_view>

namespace hfaudit::scan {

enum class Format {
  unknown,         // binary content hfaudit cannot classify
  empty,           // zero bytes
  text,            // UTF-8/ASCII text that is not JSON (README, .txt, merges, vocab)
  json,            // a JSON document (configs, tokenizer.json)
  python_source,   // .py files: code run by trust_remote_code
  lfs_pointer,     // a Git LFS pointer instead of the real file
  pickle,          // a raw pickle stream (protocol 0-5), possibly several concatenated
  joblib,          // a joblib pickle with in-band numpy arrays
  pytorch_zip,     // torch.save since 1.6 (and TorchScript archives)
  pytorch_legacy,  // torch < 1.6 sequential pickles + raw storages
  pytorch_tar,     // torch 0.1.x tar checkpoints
  zip,             // any other zip archive
  tar,             // any other tar archive
  npy,
  npz,
  safetensors,
  onnx,
  keras_zip,     // Keras 3 .keras archive
  keras_config,  // a Keras model config (JSON) found inside .keras or .h5
  hdf5,          // HDF5 container (legacy Keras .h5)
  gguf,
  gzip,
  bzip2,
  xz,
  lzma,
  zstd,
  zlib,
  sentencepiece,  // tokenizer.model (protobuf), not executable
};

std::string_view to_string(Format format);

// True for formats that carry weights or code that a loader deserialises;
// false for text, configs and tokenizer data.
bool is_model_format(Format format);

}  // namespace hfaudit::scan
