// Files that are not model formats: configs, tokenizer data, text, Python
// sources, LFS pointers and bytes hfaudit cannot classify. None of them is
// "clean" by omission: each gets a finding saying what it is.
#include <string>

#include "scan/format_scanners.hpp"

namespace hfaudit::scan {

namespace {

// JSON configs beyond this are not parsed (tokenizer.json files run to tens of MB).
constexpr uint64_t k_max_json_bytes = 64ull << 20;

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

void scan_chat_templates(ScanContext& ctx, const nlohmann::json& doc) {
  const auto it = doc.find("chat_template");
  if (it == doc.end()) return;
  if (it->is_string()) {
    check_chat_template(ctx, it->get_ref<const std::string&>(), 0, "chat_template");
  } else if (it->is_array()) {
    // [{"name": "default", "template": "..."}, ...]
    for (const auto& entry : *it) {
      if (!entry.is_object()) continue;
      const auto tmpl = entry.find("template");
      if (tmpl == entry.end() || !tmpl->is_string()) continue;
      const std::string name = entry.value("name", std::string("?"));
      check_chat_template(ctx, tmpl->get_ref<const std::string&>(), 0, "chat_template." + name);
    }
  }
}

void scan_json(ScanContext& ctx, const util::ByteSource& bytes) {
  if (bytes.size() > k_max_json_bytes) {
    ctx.report("json.too_large", Severity::low, 0,
               "JSON document larger than 64 MiB was not inspected for custom code or templates");
    return;
  }
  auto text = bytes.read_string(0, static_cast<size_t>(bytes.size()));
  if (!text) {
    ctx.report("scan.read_error", Severity::medium, 0, text.error().message);
    return;
  }
  nlohmann::json doc = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    ctx.report("json.malformed", Severity::low, 0, "looks like JSON but does not parse");
    return;
  }
  ctx.report("format.not_model", Severity::info, 0, "JSON document; not a model format");
  if (!doc.is_object()) return;
  if (const auto auto_map = doc.find("auto_map"); auto_map != doc.end()) {
    std::string targets;
    if (auto_map->is_object()) {
      for (const auto& [key, value] : auto_map->items()) {
        if (!targets.empty()) targets += ", ";
        targets += key + "=" + (value.is_string() ? value.get<std::string>() : value.dump());
      }
    }
    ctx.report("code.auto_map", Severity::low, 0,
               "config names custom code (auto_map): trust_remote_code=True would import and run "
               "Python files from the repository",
               targets);
  }
  scan_chat_templates(ctx, doc);
}

}  // namespace

void scan_text_like(ScanContext& ctx, const util::ByteSource& bytes, Format format) {
  switch (format) {
    case Format::empty:
      ctx.report("format.empty", Severity::info, 0, "empty file");
      return;
    case Format::json:
      scan_json(ctx, bytes);
      return;
    case Format::python_source:
      ctx.report("code.python_source", Severity::low, 0,
                 "Python source: transformers imports and runs it when a model is loaded with "
                 "trust_remote_code=True");
      return;
    case Format::lfs_pointer:
      ctx.report("format.lfs_pointer", Severity::medium, 0,
                 "a Git LFS pointer instead of the file's content: the download went wrong");
      return;
    case Format::sentencepiece:
      ctx.report("format.not_model", Severity::info, 0,
                 "SentencePiece tokenizer model (protobuf data, no code)");
      return;
    case Format::text:
      if (ends_with(ctx.name(), ".jinja")) {
        auto text =
            bytes.read_string(0, static_cast<size_t>(std::min<uint64_t>(bytes.size(), 1 << 20)));
        if (text) check_chat_template(ctx, *text, 0, ctx.name());
      }
      ctx.report("format.not_model", Severity::info, 0, "text file; not a model format");
      return;
    default:
      ctx.report("format.unrecognized", Severity::low, 0,
                 "binary content of no format hfaudit recognises; it was not shown to be safe");
      return;
  }
}

}  // namespace hfaudit::scan
