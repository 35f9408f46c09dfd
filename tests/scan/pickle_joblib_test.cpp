// joblib pickles: NumpyArrayWrapper objects followed in-band by raw array
// bytes (joblib/numpy_pickle.py write_array/read_array), section 4.
#include <boost/test/unit_test.hpp>

#include "pickle_test_support.hpp"
#include "scan/pickle_rules.hpp"

using namespace pickle_test;

BOOST_AUTO_TEST_SUITE(pickle_joblib_test)

namespace {

// NumpyArrayWrapper() + BUILD({'subclass': ndarray, 'shape': shape, 'order': 'C',
// 'dtype': dtype(code), 'allow_mmap': True[, 'numpy_array_alignment_bytes': 16]}).
std::string wrapper(const std::string& shape_ops, const std::string& code, bool aligned,
                    int flags = 0) {
  std::string s = global("joblib.numpy_pickle", "NumpyArrayWrapper") + ")" + k_newobj + "}(" +
                  su("subclass") + global("numpy", "ndarray") + su("shape") + shape_ops +
                  su("order") + su("C") + su("dtype") + global("numpy", "dtype") + su(code) +
                  k_newfalse + k_newtrue + k_tuple3 + "R(K\x03" + su("<") +
                  "NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK" +
                  std::string(1, static_cast<char>(flags)) + "tb" + su("allow_mmap") + k_newtrue;
  if (aligned) s += su("numpy_array_alignment_bytes") + "K\x10";
  return s + "ub";
}

std::string padded(size_t pos) {
  const size_t pad = 16 - ((pos + 1) % 16);
  return std::string(1, static_cast<char>(pad)) + std::string(pad, '\xff');
}

}  // namespace

BOOST_AUTO_TEST_CASE(array_bytes_are_skipped_even_when_they_look_like_opcodes) {
  // The raw data of a float64[3] array happens to contain GLOBAL os.system:
  // joblib never runs it, so it must not be reported, and the walk resumes.
  std::string bytes = proto(4) + "}(" + su("a");
  bytes += wrapper("K\x03" + k_tuple1, "f8", true);
  bytes += padded(bytes.size());
  bytes += (std::string("cos\nsystem\n") + std::string(24, 'N')).substr(0, 24);
  bytes += su("b") + wrapper("K\x02K\x03" + k_tuple2, "i4", false);
  bytes += std::string(24, '\x07');
  bytes += "u.";
  const FileReport report = scan_bytes(bytes, "model.joblib");
  BOOST_TEST(report.format == hfaudit::scan::Format::joblib);
  BOOST_TEST(!any_at_least(report, Severity::medium), dump(report));
  const auto& details = report.objects.at(0).details.at("pickle");
  BOOST_TEST(details.at("joblib_arrays").get<int>() == 2);
  BOOST_TEST(details.at("joblib_array_bytes").get<int>() == 48);
}

BOOST_AUTO_TEST_CASE(object_arrays_are_pickled_inline_and_walked) {
  std::string bytes = proto(4) + "]" + "(";
  bytes += wrapper("K\x01" + k_tuple1, "O8", true, 0x3f);
  bytes += evil_pickle();  // the object array: a separate protocol-2 pickle
  bytes += "e.";
  const FileReport report = scan_bytes(bytes, "model.joblib");
  BOOST_TEST(find(report, "pickle.call.denied", "os.system"), dump(report));
  BOOST_TEST(!find(report, "pickle.malformed"), dump(report));
}

BOOST_AUTO_TEST_CASE(array_past_end_of_file_is_truncated) {
  std::string bytes =
      proto(4) + wrapper(std::string("J\x00\x00\x00\x10K\x10", 7) + k_tuple2, "f8", false);
  bytes += std::string(100, '\0') + ".";
  const FileReport report = scan_bytes(bytes, "model.joblib");
  BOOST_TEST(find(report, "pickle.truncated"), dump(report));
}

BOOST_AUTO_TEST_CASE(wrapper_outside_joblib_semantics_is_unknown_in_legacy_torch) {
  // Only raw pickles get joblib semantics; elsewhere the class is just unknown.
  BOOST_TEST(
      hfaudit::scan::classify_import("joblib.numpy_pickle", "NumpyArrayWrapper", false).klass ==
      hfaudit::scan::ImportClass::unknown);
}

BOOST_AUTO_TEST_SUITE_END()
