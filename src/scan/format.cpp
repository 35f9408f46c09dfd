#include "scan/format.hpp"

namespace hfaudit::scan {

std::string_view to_string(Format format) {
  switch (format) {
    case Format::unknown:
      return "unknown";
    case Format::empty:
      return "empty";
    case Format::text:
      return "text";
    case Format::json:
      return "json";
    case Format::python_source:
      return "python_source";
    case Format::lfs_pointer:
      return "lfs_pointer";
    case Format::pickle:
      return "pickle";
    case Format::joblib:
      return "joblib";
    case Format::pytorch_zip:
      return "pytorch_zip";
    case Format::pytorch_legacy:
      return "pytorch_legacy";
    case Format::pytorch_tar:
      return "pytorch_tar";
    case Format::zip:
      return "zip";
    case Format::tar:
      return "tar";
    case Format::npy:
      return "npy";
    case Format::npz:
      return "npz";
    case Format::safetensors:
      return "safetensors";
    case Format::onnx:
      return "onnx";
    case Format::keras_zip:
      return "keras_zip";
    case Format::keras_config:
      return "keras_config";
    case Format::hdf5:
      return "hdf5";
    case Format::gguf:
      return "gguf";
    case Format::gzip:
      return "gzip";
    case Format::bzip2:
      return "bzip2";
    case Format::xz:
      return "xz";
    case Format::lzma:
      return "lzma";
    case Format::zstd:
      return "zstd";
    case Format::zlib:
      return "zlib";
    case Format::sentencepiece:
      return "sentencepiece";
  }
  return "unknown";
}

bool is_model_format(Format format) {
  switch (format) {
    case Format::unknown:
    case Format::empty:
    case Format::text:
    case Format::json:
    case Format::python_source:
    case Format::lfs_pointer:
    case Format::sentencepiece:
      return false;
    default:
      return true;
  }
}

}  // namespace hfaudit::scan
