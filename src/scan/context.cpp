#include "scan/context.hpp"

#include <algorithm>

#include "scan/format_scanners.hpp"
#include "scan/sniff.hpp"

namespace hfaudit::scan {

namespace {

constexpr std::string_view k_member_separator = "!/";

using ScanFunction = void (*)(ScanContext&, const util::ByteSource&);

// Which scanner handles which format. Formats without a row (text-like ones)
// go to scan_text_like.
struct DispatchRow {
  Format format;
  ScanFunction scan;
};
constexpr DispatchRow k_dispatch[] = {
    {Format::pickle, scan_pickle},
    {Format::joblib, scan_pickle},
    {Format::pytorch_legacy, scan_pytorch_legacy},
    {Format::pytorch_zip, scan_zip},
    {Format::npz, scan_zip},
    {Format::keras_zip, scan_zip},
    {Format::zip, scan_zip},
    {Format::pytorch_tar, scan_tar},
    {Format::tar, scan_tar},
    {Format::gzip, scan_compressed},
    {Format::bzip2, scan_compressed},
    {Format::xz, scan_compressed},
    {Format::lzma, scan_compressed},
    {Format::zstd, scan_compressed},
    {Format::zlib, scan_compressed},
    {Format::npy, scan_npy},
    {Format::safetensors, scan_safetensors},
    {Format::onnx, scan_onnx},
    {Format::keras_config, scan_keras_config},
    {Format::hdf5, scan_hdf5},
    {Format::gguf, scan_gguf},
};

std::string_view base_name(std::string_view path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// Formats a loader would deserialise as code (pickle-based): a file of this
// kind behind a "safe" extension is the classic disguise.
bool is_pickle_family(Format f) {
  return f == Format::pickle || f == Format::joblib || f == Format::pytorch_zip ||
         f == Format::pytorch_legacy || f == Format::pytorch_tar;
}

}  // namespace

std::optional<Severity> FileReport::max_severity() const {
  std::optional<Severity> worst;
  for (const auto& f : findings)
    if (!worst || f.severity > *worst) worst = f.severity;
  return worst;
}

ScanContext::ScanContext(FileReport& report, const ScanLimits& limits)
    : m_report(report), m_limits(limits) {}

void ScanContext::report(std::string rule, Severity severity, uint64_t offset, std::string message,
                         std::string subject) {
  Finding f;
  f.rule = std::move(rule);
  f.severity = severity;
  f.file = m_report.path;
  f.member = std::string(member());
  f.offset = offset;
  f.message = std::move(message);
  f.subject = std::move(subject);
  m_report.findings.push_back(std::move(f));
}

nlohmann::json& ScanContext::details() {
  return m_report.objects[m_frames.back().object_index].details;
}

void ScanContext::refine_format(Format format) {
  m_report.objects[m_frames.back().object_index].format = format;
  if (m_frames.size() == 1) m_report.format = format;
}

std::string_view ScanContext::name() const {
  return m_frames.empty() ? std::string_view() : std::string_view(m_frames.back().name);
}

std::string_view ScanContext::member() const {
  return m_frames.empty() ? std::string_view()
                          : std::string_view(m_report.objects[m_frames.back().object_index].member);
}

bool ScanContext::charge_expanded(uint64_t bytes, uint64_t offset) {
  if (bytes > m_limits.max_expanded_total - std::min(m_expanded, m_limits.max_expanded_total)) {
    report("container.limit.expanded_total", Severity::medium, offset,
           "decompressed content exceeds the per-file budget; the rest was not scanned");
    return false;
  }
  m_expanded += bytes;
  return true;
}

void ScanContext::scan_root(const util::ByteSource& bytes, std::string_view name,
                            std::optional<Format> as) {
  scan_object(bytes, std::string(), std::string(base_name(name)), as);
}

void ScanContext::scan_nested(const util::ByteSource& bytes, std::string_view member_name,
                              std::optional<Format> as) {
  std::string chain(member());
  if (!chain.empty()) chain += k_member_separator;
  chain += member_name;
  if (depth() + 1 > m_limits.max_depth) {
    report("container.limit.depth", Severity::medium, 0,
           "nesting deeper than " + std::to_string(m_limits.max_depth) +
               " levels; the inner content was not scanned",
           std::string(member_name));
    return;
  }
  if (!charge_object(member_name)) return;
  scan_object(bytes, std::move(chain), std::string(base_name(member_name)), as);
}

bool ScanContext::charge_object(std::string_view member_name) {
  // Objects below the first level are budgeted apart, so fan-out deep inside
  // one member cannot starve the top-level members that follow it.
  const bool deep = depth() + 1 >= 2;
  const bool over = m_report.objects.size() >= m_limits.max_objects ||
                    (deep && m_deep_objects >= m_limits.max_deep_objects);
  if (!over) {
    if (deep) ++m_deep_objects;
    return true;
  }
  bool& reported = deep ? m_deep_objects_reported : m_objects_reported;
  if (!reported)
    report("container.limit.objects", Severity::medium, 0,
           "more nested objects than the per-file budget (" + std::to_string(m_limits.max_objects) +
               " in all, " + std::to_string(m_limits.max_deep_objects) +
               " below the first level); the rest was not scanned",
           std::string(member_name));
  reported = true;
  return false;
}

void ScanContext::scan_object(const util::ByteSource& bytes, std::string member_chain,
                              std::string name, std::optional<Format> as) {
  const Format sniffed = sniff(bytes, name);
  const Format format = as.value_or(sniffed);

  ObjectReport object;
  object.member = std::move(member_chain);
  object.format = format;
  object.size = bytes.size();
  m_report.objects.push_back(std::move(object));
  m_frames.push_back(Frame{m_report.objects.size() - 1, std::move(name)});
  if (m_frames.size() == 1) m_report.format = format;

  // A forced role that the content contradicts is itself a finding, except
  // where the role refines the sniffed format: a Keras config is JSON, and a
  // pickle/zip polyglot is handed to the zip scanner on purpose.
  const bool refines = as && ((*as == Format::keras_config && sniffed == Format::json) ||
                              (*as == Format::zip && sniffed == Format::pickle));
  if (as && *as != sniffed && !refines) {
    report("format.content_mismatch", is_pickle_family(sniffed) ? Severity::high : Severity::medium,
           0,
           "this member's role requires " + std::string(to_string(*as)) + " but its content is " +
               std::string(to_string(sniffed)),
           std::string(to_string(sniffed)));
  }
  if (const ExpectedFormats* expected = expected_formats_for(this->name());
      expected && !as &&
      std::find(expected->formats.begin(), expected->formats.end(), format) ==
          expected->formats.end()) {
    report("format.extension_mismatch",
           is_pickle_family(format) ? Severity::high : Severity::medium, 0,
           "the extension " + std::string(expected->extension) + " promises " +
               std::string(to_string(expected->formats.front())) + " but the content is " +
               std::string(to_string(format)) +
               "; loaders pick their parser by content or by name, so the mismatch can hide code",
           std::string(to_string(format)));
  }

  ScanFunction scanner = nullptr;
  for (const auto& row : k_dispatch)
    if (row.format == format) scanner = row.scan;
  if (scanner)
    scanner(*this, bytes);
  else
    scan_text_like(*this, bytes, format);
  m_frames.pop_back();
}

}  // namespace hfaudit::scan
