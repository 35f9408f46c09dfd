#include "scan/sniff.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

#include "scan/format_scanners.hpp"
#include "util/text.hpp"

namespace hfaudit::scan {

namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

std::string lower_extension(std::string_view name) {
  const size_t slash = name.find_last_of('/');
  if (slash != std::string_view::npos) name = name.substr(slash + 1);
  const size_t dot = name.find_last_of('.');
  if (dot == std::string_view::npos || dot == 0) return {};
  return util::ascii_lower(name.substr(dot));
}

// safetensors: u64 LE header length, then a JSON object starting with '{'.
bool looks_like_safetensors(std::string_view head, uint64_t size) {
  if (head.size() < 9) return false;
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i)
    n = (n << 8) | static_cast<unsigned char>(head[static_cast<size_t>(i)]);
  return n >= 2 && n <= size - 8 && head[8] == '{';
}

bool is_tar_header(std::string_view head) {
  return head.size() >= 262 && head.substr(257, 5) == "ustar";
}

// Text: valid UTF-8 without NUL and with few control characters.
bool looks_like_text(std::string_view head) {
  size_t i = 0;
  while (i < head.size()) {
    const auto c = static_cast<unsigned char>(head[i]);
    if (c == 0) return false;
    if (c < 0x80) {
      if (c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f') return false;
      ++i;
      continue;
    }
    size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0) return false;
    if (i + len > head.size()) return true;  // a character cut by the sniff window
    for (size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(head[i + k]) & 0xC0) != 0x80) return false;
    i += len;
  }
  return true;
}

std::string_view skip_space(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  return s;
}

// A JSON document opens with an object whose first token is a key or '}', or
// an array whose first token is a value. Jinja templates ("{%") and vocab
// files ("[PAD]") open with a brace too but are not JSON.
bool looks_like_json(std::string_view text) {
  text = skip_space(text);
  if (text.empty() || (text.front() != '{' && text.front() != '[')) return false;
  const char open = text.front();
  const std::string_view rest = skip_space(text.substr(1));
  if (rest.empty()) return false;
  const char next = rest.front();
  if (open == '{') return next == '"' || next == '}';
  return next == '{' || next == '[' || next == '"' || next == ']' || next == '-' ||
         std::isdigit(static_cast<unsigned char>(next)) || rest.starts_with("true") ||
         rest.starts_with("false") || rest.starts_with("null");
}

}  // namespace

Format sniff(const util::ByteSource& bytes, std::string_view name) {
  if (bytes.size() == 0) return Format::empty;
  auto head_result = bytes.read_string(0, 4096);
  if (!head_result) return Format::unknown;
  const std::string& head = *head_result;
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(head[i]); };

  if (starts_with(head, "PK\x03\x04") || starts_with(head, "PK\x05\x06"))
    return classify_zip(bytes);
  // A pickle in front of a zip: pickle loaders run the front, zip readers see
  // the back. The pickle scanner reports the trailing archive.
  if (head.size() >= 2 && byte(0) == 0x80 && byte(1) >= 2 && byte(1) <= 5) {
    // torch < 1.6: first pickle is the LONG1 magic number 0x1950a86a20f9469cfc6c.
    if (starts_with(
            head, std::string_view("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19", 14)))
      return Format::pytorch_legacy;
    return Format::pickle;
  }
  if (starts_with(head, "\x93NUMPY")) return Format::npy;
  if (starts_with(head, "GGUF")) return Format::gguf;
  if (starts_with(head, "\x89HDF\r\n\x1a\n")) return Format::hdf5;
  if (is_tar_header(head)) return classify_tar(bytes);
  if (starts_with(head, "\x1f\x8b")) return Format::gzip;
  if (starts_with(head, "BZh")) return Format::bzip2;
  if (starts_with(head, std::string_view("\xfd"
                                         "7zXZ\x00",
                                         6)))
    return Format::xz;
  if (starts_with(head, "\x28\xb5\x2f\xfd")) return Format::zstd;
  if (starts_with(head, "version https://git-lfs.github.com/spec/v1")) return Format::lfs_pointer;
  if (looks_like_safetensors(head, bytes.size())) return Format::safetensors;
  // zlib: CMF 0x78 with a valid FCHECK; lzma-alone: properties 0x5d 00 00.
  if (head.size() >= 2 && byte(0) == 0x78 && ((byte(0) << 8) | byte(1)) % 31 == 0)
    return Format::zlib;
  if (head.size() >= 3 && byte(0) == 0x5d && byte(1) == 0x00 && byte(2) == 0x00)
    return Format::lzma;

  const std::string ext = lower_extension(name);
  if (looks_like_text(head)) {
    // Protocol 0 pickles are ASCII text too: a text file that parses as a
    // pickle is one (a loader would run it whatever its name).
    if (looks_like_json(head) && ext != ".py" && ext != ".pkl") return Format::json;
    if (probe_pickle(bytes)) return Format::pickle;
    if (ext == ".py") return Format::python_source;
    return Format::text;
  }
  if (probe_pickle(bytes)) return Format::pickle;
  if (probe_onnx(bytes)) return Format::onnx;
  if (ext == ".model" && head.size() >= 2 && byte(0) == 0x0a) return Format::sentencepiece;
  return Format::unknown;
}

const ExpectedFormats* expected_formats_for(std::string_view name) {
  static const std::array<ExpectedFormats, 14> table{{
      {".safetensors", {Format::safetensors}},
      {".pt", {Format::pytorch_zip, Format::pytorch_legacy, Format::pytorch_tar, Format::pickle}},
      {".pth", {Format::pytorch_zip, Format::pytorch_legacy, Format::pytorch_tar, Format::pickle}},
      {".ckpt", {Format::pytorch_zip, Format::pytorch_legacy, Format::pickle}},
      {".pkl", {Format::pickle, Format::joblib}},
      {".pickle", {Format::pickle, Format::joblib}},
      {".joblib",
       {Format::joblib, Format::pickle, Format::gzip, Format::zlib, Format::bzip2, Format::xz,
        Format::lzma, Format::zstd}},
      {".npy", {Format::npy}},
      {".npz", {Format::npz, Format::zip}},
      {".onnx", {Format::onnx}},
      {".keras", {Format::keras_zip}},
      {".h5", {Format::hdf5}},
      {".gguf", {Format::gguf}},
      {".json", {Format::json}},
  }};
  const std::string ext = lower_extension(name);
  if (ext.empty()) return nullptr;
  for (const auto& entry : table)
    if (entry.extension == ext) return &entry;
  return nullptr;
}

}  // namespace hfaudit::scan
