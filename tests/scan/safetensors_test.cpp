#include <boost/test/unit_test.hpp>

#include "scan/format_scanners.hpp"
#include "structured_test_util.hpp"

using namespace hfaudit::scan;
using namespace hfaudit::scan::test;

namespace {

// u64 LE header length, header JSON padded with spaces to a multiple of 8
// (as the reference writer does), then `data`.
std::string make_safetensors(std::string header, const std::string& data, bool pad = true) {
  if (pad)
    while (header.size() % 8 != 0) header += ' ';
  std::string out;
  put_u64(out, header.size());
  out += header;
  out += data;
  return out;
}

// Two F32 tensors of 2 elements each, 16 data bytes, with metadata.
const std::string k_valid_header = R"({"__metadata__":{"format":"pt"},)"
                                   R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                   R"("b":{"dtype":"F16","shape":[2,2],"data_offsets":[8,16]}})";

std::string valid_file() {
  return make_safetensors(k_valid_header, std::string(16, '\0'));
}

FileReport scan(const std::string& bytes) {
  return scan_bytes(bytes, "model.safetensors");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(safetensors_test)

BOOST_AUTO_TEST_CASE(valid_file_has_no_findings_at_medium_and_records_details) {
  const FileReport r = scan(valid_file());
  BOOST_TEST((r.format == Format::safetensors));
  BOOST_TEST(count_at_least(r, Severity::low) == 0u, dump(r));
  const auto& d = r.objects.at(0).details;
  BOOST_TEST(d["tensor_count"].get<int>() == 2);
  BOOST_TEST(d["tensors"].size() == 2u);
  BOOST_TEST(d["metadata"]["format"].get<std::string>() == "pt");
  BOOST_TEST(has_rule(r, "safetensors.metadata", Severity::info));
}

BOOST_AUTO_TEST_CASE(header_without_padding_and_scalars_are_valid) {
  const std::string h =
      R"({"s":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"e":{"dtype":"U8","shape":[0],"data_offsets":[8,8]}})";
  const FileReport r = scan(make_safetensors(h, std::string(8, '\x01'), false));
  BOOST_TEST(count_at_least(r, Severity::low) == 0u, dump(r));
}

BOOST_AUTO_TEST_CASE(sub_byte_dtypes_use_bit_sizes) {
  // F4: 6 elements = 24 bits = 3 bytes; F6_E2M3: 4 elements = 24 bits = 3 bytes.
  const std::string ok =
      R"({"a":{"dtype":"F4","shape":[2,3],"data_offsets":[0,3]},"b":{"dtype":"F6_E2M3","shape":[4],"data_offsets":[3,6]}})";
  FileReport r = scan(make_safetensors(ok, std::string(6, '\0')));
  BOOST_TEST(count_at_least(r, Severity::medium) == 0u, dump(r));
  BOOST_TEST(has_rule(r, "safetensors.dtype_newer", Severity::info));
  // F4 with 3 elements is 12 bits: not a whole number of bytes.
  const std::string odd = R"({"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}})";
  r = scan(make_safetensors(odd, std::string(2, '\0')));
  BOOST_TEST(has_rule(r, "safetensors.size_mismatch", Severity::medium), dump(r));
}

BOOST_AUTO_TEST_CASE(length_bounds_are_enforced) {
  FileReport r = scan_as(std::string("\x01\x02\x03", 3), "x.safetensors", Format::safetensors);
  BOOST_TEST(has_rule(r, "safetensors.truncated", Severity::medium), dump(r));

  std::string big;
  put_u64(big, 100'000'001);
  big += "{}";
  r = scan_as(big, "x.safetensors", Format::safetensors);
  BOOST_TEST(has_rule(r, "safetensors.header_too_large", Severity::medium), dump(r));

  std::string past;
  put_u64(past, 1000);
  past += "{\"a\":1}";
  r = scan_as(past, "x.safetensors", Format::safetensors);
  BOOST_TEST(has_rule(r, "safetensors.header_out_of_bounds", Severity::medium), dump(r));
}

BOOST_AUTO_TEST_CASE(header_must_be_utf8_json_object) {
  FileReport r = scan(make_safetensors("{\"a\xff\":1}", ""));
  BOOST_TEST(has_rule(r, "safetensors.header_not_utf8", Severity::medium), dump(r));
  r = scan(make_safetensors("{\"a\":", ""));
  BOOST_TEST(has_rule(r, "safetensors.header_invalid", Severity::medium), dump(r));
  r = scan_as(make_safetensors("[1,2]", ""), "x.safetensors", Format::safetensors);
  BOOST_TEST(has_rule(r, "safetensors.header_invalid", Severity::medium), dump(r));
}

BOOST_AUTO_TEST_CASE(unknown_dtype_is_invalid) {
  const std::string h = R"({"a":{"dtype":"f32","shape":[2],"data_offsets":[0,8]}})";
  const FileReport r = scan(make_safetensors(h, std::string(8, '\0')));
  const Finding* f = find_rule(r, "safetensors.dtype_unknown");
  BOOST_REQUIRE_MESSAGE(f, dump(r));
  BOOST_TEST((f->severity == Severity::medium));
  BOOST_TEST(f->subject == "a");
}

BOOST_AUTO_TEST_CASE(size_must_match_shape_and_dtype) {
  const std::string h = R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})";
  const FileReport r = scan(make_safetensors(h, std::string(8, '\0')));
  BOOST_TEST(has_rule(r, "safetensors.size_mismatch", Severity::medium), dump(r));
}

BOOST_AUTO_TEST_CASE(shape_overflow_is_detected) {
  const std::string h =
      R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})";
  const FileReport r = scan(make_safetensors(h, ""));
  BOOST_TEST(has_rule(r, "safetensors.size_overflow", Severity::medium), dump(r));
}

BOOST_AUTO_TEST_CASE(malformed_entries_are_invalid) {
  for (const char* h : {R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}})",
                        R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}})",
                        R"({"a":{"shape":[1],"data_offsets":[0,4]}})", R"({"a":5})"}) {
    const FileReport r = scan(make_safetensors(h, std::string(4, '\0')));
    BOOST_TEST(has_rule(r, "safetensors.tensor_invalid", Severity::medium), h << "\n" << dump(r));
  }
  const std::string backwards = R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}})";
  const FileReport r = scan(make_safetensors(backwards, std::string(4, '\0')));
  BOOST_TEST(has_rule(r, "safetensors.offsets_invalid", Severity::medium), dump(r));
}

BOOST_AUTO_TEST_CASE(tensors_must_tile_the_data_section) {
  // Gap at the start.
  FileReport r = scan(make_safetensors(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}})",
                                       std::string(8, '\0')));
  BOOST_TEST(has_rule(r, "safetensors.gap", Severity::medium), dump(r));
  // Overlap.
  r = scan(make_safetensors(
      R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})",
      std::string(6, '\0')));
  BOOST_TEST(has_rule(r, "safetensors.overlap", Severity::medium), dump(r));
  // Trailing bytes (polyglot room).
  r = scan(make_safetensors(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})",
                            std::string(4, '\0') + "PK\x05\x06"));
  BOOST_TEST(has_rule(r, "safetensors.trailing_bytes", Severity::medium), dump(r));
  // Past the end of the file.
  r = scan(make_safetensors(R"({"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}})",
                            std::string(4, '\0')));
  BOOST_TEST(has_rule(r, "safetensors.out_of_bounds", Severity::medium), dump(r));
}

BOOST_AUTO_TEST_CASE(duplicate_tensor_names_are_invalid) {
  const std::string h =
      R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"a":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}})";
  const FileReport r = scan(make_safetensors(h, std::string(8, '\0')));
  const Finding* f = find_rule(r, "safetensors.duplicate_name");
  BOOST_REQUIRE_MESSAGE(f, dump(r));
  BOOST_TEST((f->severity == Severity::medium));
  BOOST_TEST(f->subject == "a");
}

BOOST_AUTO_TEST_CASE(metadata_must_map_strings_to_strings) {
  const std::string h =
      R"({"__metadata__":{"n":1},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})";
  const FileReport r = scan(make_safetensors(h, std::string(1, '\0')));
  BOOST_TEST(has_rule(r, "safetensors.metadata_invalid", Severity::medium), dump(r));
}

BOOST_AUTO_TEST_CASE(extra_fields_are_noted_at_info) {
  const std::string h = R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"note":"x"}})";
  const FileReport r = scan(make_safetensors(h, std::string(1, '\0')));
  BOOST_TEST(has_rule(r, "safetensors.extra_field", Severity::info), dump(r));
  BOOST_TEST(count_at_least(r, Severity::low) == 0u, dump(r));
}

BOOST_AUTO_TEST_CASE(deep_nesting_is_bounded) {
  std::string h = R"({"a":)";
  for (int i = 0; i < 10000; ++i) h += "[";
  for (int i = 0; i < 10000; ++i) h += "]";
  h += "}";
  const FileReport r = scan(make_safetensors(h, ""));
  BOOST_TEST(count_at_least(r, Severity::medium, "safetensors.") > 0u, dump(r));
}

BOOST_AUTO_TEST_CASE(every_truncation_is_handled) {
  const std::string full = valid_file();
  for (size_t n = 0; n < full.size(); ++n) {
    const FileReport r = scan_as(full.substr(0, n), "x.safetensors", Format::safetensors);
    BOOST_TEST(count_at_least(r, Severity::medium, "safetensors.") > 0u, "prefix " << n);
    (void)scan(full.substr(0, n));
  }
}

BOOST_AUTO_TEST_SUITE_END()
