#include <boost/test/unit_test.hpp>

#include "scan/format_scanners.hpp"
#include "structured_test_util.hpp"

using namespace hfaudit::scan;
using namespace hfaudit::scan::test;

namespace {

// Builds GGUF files: header, metadata KVs, tensor infos, padding to the
// alignment, then `data`. Version 1 uses 32-bit counts and lengths.
class GgufBuilder {
 public:
  explicit GgufBuilder(uint32_t version = 3, bool big_endian = false)
      : m_version(version), m_big(big_endian) {}

  GgufBuilder& kv_string(const std::string& key, const std::string& value) {
    key_header(key, 8);
    str(m_kv, value);
    return *this;
  }
  GgufBuilder& kv_u32(const std::string& key, uint32_t value) {
    key_header(key, 4);
    u32(m_kv, value);
    return *this;
  }
  // Raw value bytes after the type.
  GgufBuilder& kv_raw(const std::string& key, uint32_t type, const std::string& value) {
    key_header(key, type);
    m_kv += value;
    return *this;
  }
  GgufBuilder& tensor(const std::string& name, std::vector<uint64_t> dims, uint32_t type,
                      uint64_t offset) {
    ++m_tensor_count;
    str(m_info, name);
    u32(m_info, static_cast<uint32_t>(dims.size()));
    for (uint64_t d : dims) count(m_info, d);
    u32(m_info, type);
    u64(m_info, offset);
    return *this;
  }
  std::string build(const std::string& data, uint64_t alignment = 32) const {
    std::string out = "GGUF";
    u32(out, m_version);
    count(out, m_tensor_count);
    count(out, m_kv_count);
    out += m_kv;
    out += m_info;
    while (out.size() % alignment != 0) out.push_back('\0');
    return out + data;
  }

  void u32(std::string& out, uint32_t v) const {
    for (int i = 0; i < 4; ++i)
      out.push_back(static_cast<char>((v >> (8 * (m_big ? 3 - i : i))) & 0xFF));
  }
  void u64(std::string& out, uint64_t v) const {
    for (int i = 0; i < 8; ++i)
      out.push_back(static_cast<char>((v >> (8 * (m_big ? 7 - i : i))) & 0xFF));
  }
  void count(std::string& out, uint64_t v) const {
    if (m_version == 1)
      u32(out, static_cast<uint32_t>(v));
    else
      u64(out, v);
  }
  void str(std::string& out, const std::string& s) const {
    count(out, s.size());
    out += s;
  }

 private:
  void key_header(const std::string& key, uint32_t type) {
    ++m_kv_count;
    str(m_kv, key);
    u32(m_kv, type);
  }

  uint32_t m_version;
  bool m_big;
  uint64_t m_kv_count = 0;
  uint64_t m_tensor_count = 0;
  std::string m_kv;
  std::string m_info;
};

const char* const k_benign_template =
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>\\n' }}{% endfor %}";

// A small valid model: F32[4] at 0 (16 bytes), Q4_0[32] at 32 (18 bytes).
GgufBuilder valid_builder(uint32_t version = 3, bool big = false) {
  GgufBuilder b(version, big);
  std::string tokens;
  b.u32(tokens, 8);
  b.count(tokens, 2);
  b.str(tokens, "<s>");
  b.str(tokens, "hello");
  std::string nested;  // array of 2 arrays of 3 u8
  b.u32(nested, 9);
  b.count(nested, 2);
  for (int i = 0; i < 2; ++i) {
    b.u32(nested, 0);
    b.count(nested, 3);
    nested += std::string("\x01\x02\x03", 3);
  }
  b.kv_string("general.architecture", "llama")
      .kv_string("general.name", "tiny")
      .kv_u32("llama.context_length", 2048)
      .kv_raw("tokenizer.ggml.tokens", 9, tokens)
      .kv_raw("test.nested", 9, nested)
      .kv_raw("test.flag", 7, std::string(1, '\x01'))
      .kv_string("tokenizer.chat_template", k_benign_template)
      .tensor("token_embd.weight", {4}, 0, 0)
      .tensor("blk.0.attn_q.weight", {32}, 2, 32);
  return b;
}

std::string valid_file() {
  return valid_builder().build(std::string(50, '\0'));
}

FileReport scan(const std::string& bytes) {
  return scan_bytes(bytes, "model.gguf");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(gguf_test)

BOOST_AUTO_TEST_CASE(valid_file_is_clean_and_records_details) {
  const FileReport r = scan(valid_file());
  BOOST_TEST((r.format == Format::gguf));
  BOOST_TEST(count_at_least(r, Severity::low) == 0u, dump(r));
  const auto& d = r.objects.at(0).details;
  BOOST_TEST(d["version"].get<int>() == 3);
  BOOST_TEST(d["tensor_count"].get<int>() == 2);
  BOOST_TEST(d["kv_count"].get<int>() == 7);
  BOOST_TEST(d["architecture"].get<std::string>() == "llama");
  BOOST_TEST(d["metadata"]["llama.context_length"].get<int>() == 2048);
  BOOST_TEST(d["tensors"].size() == 2u);
  BOOST_TEST(d["tensors"][1]["type"].get<std::string>() == "Q4_0");
}

BOOST_AUTO_TEST_CASE(version_2_is_clean_and_version_1_is_obsolete) {
  FileReport r = scan(valid_builder(2).build(std::string(50, '\0')));
  BOOST_TEST(count_at_least(r, Severity::low) == 0u, dump(r));
  r = scan(valid_builder(1).build(std::string(50, '\0')));
  BOOST_TEST(has_rule(r, "gguf.version_obsolete", Severity::low), dump(r));
  BOOST_TEST(count_at_least(r, Severity::medium) == 0u, dump(r));
}

BOOST_AUTO_TEST_CASE(big_endian_files_are_parsed_and_noted) {
  const FileReport r = scan(valid_builder(3, true).build(std::string(50, '\0')));
  BOOST_TEST(has_rule(r, "gguf.big_endian", Severity::low), dump(r));
  BOOST_TEST(count_at_least(r, Severity::medium) == 0u, dump(r));
  BOOST_TEST(r.objects.at(0).details["tensor_count"].get<int>() == 2);
}

BOOST_AUTO_TEST_CASE(header_errors) {
  FileReport r = scan_as("GGML\x03\0\0\0", "x.gguf", Format::gguf);
  BOOST_TEST(has_rule(r, "gguf.bad_magic", Severity::medium), dump(r));
  std::string v4 = GgufBuilder(4).build("");
  r = scan(v4);
  BOOST_TEST(has_rule(r, "gguf.version_unsupported", Severity::medium), dump(r));
  GgufBuilder b;
  std::string huge = "GGUF";
  b.u32(huge, 3);
  b.u64(huge, 1ull << 63);
  b.u64(huge, 0);
  r = scan(huge + std::string(64, '\0'));
  BOOST_TEST(has_rule(r, "gguf.count_too_large", Severity::medium), dump(r));
}

BOOST_AUTO_TEST_CASE(metadata_errors) {
  GgufBuilder h;
  std::string big_len;
  h.u64(big_len, 1ull << 62);
  std::string deep;
  for (int i = 0; i < 6; ++i) {
    h.u32(deep, 9);
    h.u64(deep, 1);
  }
  h.u32(deep, 0);
  h.u64(deep, 0);
  std::string bad_item;
  h.u32(bad_item, 42);
  h.u64(bad_item, 1);
  std::string many_items;
  h.u32(many_items, 8);
  h.u64(many_items, 1ull << 60);
  struct Case {
    GgufBuilder builder;
    const char* rule;
  };
  std::vector<Case> cases;
  cases.push_back({GgufBuilder().kv_raw("a.b", 13, "x"), "gguf.kv_type_unknown"});
  cases.push_back({GgufBuilder().kv_raw("a.b", 8, big_len), "gguf.length_out_of_bounds"});
  cases.push_back({GgufBuilder().kv_raw("a.b", 9, deep), "gguf.nesting_too_deep"});
  cases.push_back({GgufBuilder().kv_raw("a.b", 9, bad_item), "gguf.kv_type_unknown"});
  cases.push_back({GgufBuilder().kv_raw("a.b", 9, many_items), "gguf.count_too_large"});
  cases.push_back({GgufBuilder().kv_raw("a.b", 7, std::string(1, '\x02')), "gguf.bool_invalid"});
  cases.push_back(
      {GgufBuilder().kv_u32("general.x", 1).kv_u32("general.x", 2), "gguf.duplicate_key"});
  cases.push_back({GgufBuilder().kv_u32("general.alignment", 12), "gguf.alignment_invalid"});
  cases.push_back({GgufBuilder().kv_raw("general.alignment", 10, std::string(8, '\0')),
                   "gguf.alignment_invalid"});
  cases.push_back({GgufBuilder().kv_string(std::string(70000, 'k'), "v"), "gguf.key_too_long"});
  for (const auto& c : cases) {
    const FileReport r = scan(c.builder.build(std::string(64, '\0')));
    BOOST_TEST(has_rule(r, c.rule, Severity::medium), c.rule << "\n" << dump(r));
  }
}

BOOST_AUTO_TEST_CASE(tensor_info_errors) {
  struct Case {
    GgufBuilder builder;
    const char* rule;
  };
  std::vector<Case> cases;
  cases.push_back(
      {GgufBuilder().tensor(std::string(65, 'n'), {4}, 0, 0), "gguf.tensor_name_too_long"});
  cases.push_back({GgufBuilder().tensor("t", {1, 1, 1, 1, 1}, 0, 0), "gguf.tensor_dims_invalid"});
  cases.push_back({GgufBuilder().tensor("t", {4}, 4, 0), "gguf.tensor_type_unknown"});
  cases.push_back({GgufBuilder().tensor("t", {4}, 99, 0), "gguf.tensor_type_unknown"});
  cases.push_back({GgufBuilder().tensor("t", {31}, 2, 0), "gguf.tensor_shape_invalid"});
  cases.push_back(
      {GgufBuilder().tensor("t", {1ull << 40, 1ull << 40}, 0, 0), "gguf.tensor_size_overflow"});
  cases.push_back(
      {GgufBuilder().tensor("t", {4}, 0, 0).tensor("t", {4}, 0, 32), "gguf.duplicate_tensor"});
  cases.push_back({GgufBuilder().tensor("t", {4}, 0, 4), "gguf.tensor_misaligned"});
  cases.push_back({GgufBuilder().tensor("t", {64}, 0, 0), "gguf.tensor_out_of_bounds"});
  cases.push_back({GgufBuilder().tensor("t", {256}, 12, 32), "gguf.tensor_out_of_bounds"});
  cases.push_back(
      {GgufBuilder().tensor("a", {16}, 0, 0).tensor("b", {4}, 0, 32), "gguf.tensor_overlap"});
  for (const auto& c : cases) {
    const FileReport r = scan(c.builder.build(std::string(64, '\0')));
    BOOST_TEST(has_rule(r, c.rule, Severity::medium), c.rule << "\n" << dump(r));
  }
  // Block-aware sizes: Q4_K[256] is one 144-byte block, which fits exactly.
  const FileReport r = scan(GgufBuilder().tensor("q", {256}, 12, 0).build(std::string(144, '\0')));
  BOOST_TEST(count_at_least(r, Severity::low) == 0u, dump(r));
}

BOOST_AUTO_TEST_CASE(data_section_past_the_end_is_invalid) {
  // No padding after the tensor infos: the aligned data section starts past the end.
  const std::string bytes = GgufBuilder().tensor("t", {0}, 0, 0).build("", 1);
  BOOST_REQUIRE(bytes.size() % 32 != 0);
  const FileReport r = scan(bytes);
  BOOST_TEST(has_rule(r, "gguf.data_out_of_bounds", Severity::medium), dump(r));
}

BOOST_AUTO_TEST_CASE(chat_template_is_checked) {
  const std::string tmpl = "{{ lipsum.__globals__['os'].popen('id').read() }}";
  FileReport r = scan(GgufBuilder().kv_string("tokenizer.chat_template", tmpl).build(""));
  const Finding* f = find_rule(r, "template.injection");
  BOOST_REQUIRE_MESSAGE(f, dump(r));
  BOOST_TEST((f->severity == Severity::high));
  BOOST_TEST(f->message.find("tokenizer.chat_template") != std::string::npos);
  r = scan(GgufBuilder().kv_string("tokenizer.chat_template.tool_use", tmpl).build(""));
  BOOST_TEST(has_rule(r, "template.injection", Severity::high), dump(r));
}

BOOST_AUTO_TEST_CASE(every_truncation_is_handled) {
  const std::string full = valid_file();
  for (size_t n = 0; n < full.size(); ++n) {
    const FileReport r = scan_as(full.substr(0, n), "x.gguf", Format::gguf);
    BOOST_TEST(count_at_least(r, Severity::medium, "gguf.") > 0u, "prefix " << n);
    (void)scan(full.substr(0, n));
  }
}

BOOST_AUTO_TEST_CASE(byte_flips_do_not_crash) {
  const std::string full = valid_file();
  for (size_t i = 0; i < full.size(); ++i) {
    for (unsigned char x : {0x80, 0xFF, 0x01}) {
      std::string bad = full;
      bad[i] = static_cast<char>(bad[i] ^ x);
      (void)scan_as(bad, "x.gguf", Format::gguf);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
