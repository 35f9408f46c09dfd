#include <boost/test/unit_test.hpp>
#include <chrono>

#include "archive_builder.hpp"

using namespace hfaudit;
using namespace hfaudit::test;
using scan::Format;
using scan::Severity;

namespace {

const std::string k_f4_2x3 = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";

}  // namespace

BOOST_AUTO_TEST_SUITE(npy_test)

BOOST_AUTO_TEST_CASE(well_formed_arrays_have_no_findings) {
  struct Case {
    std::string dict;
    size_t body;
    int major;
  };
  const std::vector<Case> cases = {
      {k_f4_2x3, 24, 1},
      {k_f4_2x3, 24, 2},
      {k_f4_2x3, 24, 3},
      {"{'descr': '|b1', 'fortran_order': True, 'shape': (5,), }", 5, 1},
      {"{'descr': '<U3', 'fortran_order': False, 'shape': (2,), }", 24, 1},
      {"{'descr': '<M8[ns]', 'fortran_order': False, 'shape': (), }", 8, 1},
      {"{'descr': '<f8', 'fortran_order': False, 'shape': (0, 7), }", 0, 1},
      {"{'descr': [('x', '<i4'), ('y', '<f8', (2,))], 'fortran_order': False, 'shape': (3,), }", 60,
       1},
      {"{\"descr\": \"<i8\", \"fortran_order\": False, \"shape\": (2L,)}", 16, 1},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.dict << " v" << c.major) {
      const auto report = scan_bytes(make_npy(c.dict, std::string(c.body, 'x'), c.major), "a.npy");
      BOOST_TEST(report.format == Format::npy);
      BOOST_TEST(report.findings.empty());
      if (!report.findings.empty()) BOOST_TEST_MESSAGE(report.findings[0].message);
    }
  }
  const auto report = scan_bytes(make_npy(k_f4_2x3, std::string(24, 'x')), "a.npy");
  const auto& d = report.objects[0].details;
  BOOST_TEST(d["dtype"].get<std::string>() == "<f4");
  BOOST_TEST(d["shape"].dump() == "[2,3]");
  BOOST_TEST(d["fortran_order"].get<bool>() == false);
  BOOST_TEST(d["data_offset"].get<size_t>() == make_npy(k_f4_2x3, "").size());
  BOOST_TEST(d["data_offset"].get<size_t>() % 64 == 0u);
}

BOOST_AUTO_TEST_CASE(object_arrays_scan_their_body_as_pickle) {
  const std::string body = pickle_int(1);
  for (const std::string& dict :
       {std::string("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"),
        std::string("{'descr': [('a', '<f4'), ('b', '|O')], 'fortran_order': False, "
                    "'shape': (1,), }")}) {
    BOOST_TEST_CONTEXT(dict) {
      const auto report = scan_bytes(make_npy(dict, body), "a.npy");
      const auto* f = find_rule(report, "npy.object_dtype");
      BOOST_REQUIRE(f);
      BOOST_TEST(f->severity == Severity::medium);
      const std::string label = "@" + std::to_string(make_npy(dict, "").size()) + ":object-array";
      const auto* o = find_object(report, label);
      BOOST_REQUIRE(o);
      BOOST_TEST(o->format == Format::pickle);
      BOOST_TEST(o->size == body.size());
    }
  }
}

BOOST_AUTO_TEST_CASE(npz_with_object_array_reaches_the_pickle) {
  const std::string dict = "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }";
  const std::string npy = make_npy(dict, pickle_int(5));
  const std::string label = "@" + std::to_string(make_npy(dict, "").size()) + ":object-array";
  const auto report = scan_bytes(ZipBuilder().add("arr_0.npy", npy, 8).build().bytes, "x.npz");
  BOOST_TEST(report.format == Format::npz);
  const auto* f = find_rule(report, "npy.object_dtype");
  BOOST_REQUIRE(f);
  BOOST_TEST(f->member == "arr_0.npy");
  const auto* o = find_object(report, "arr_0.npy!/" + label);
  BOOST_REQUIRE(o);
  BOOST_TEST(o->format == Format::pickle);
}

BOOST_AUTO_TEST_CASE(body_size_must_match_shape_and_dtype) {
  for (const size_t body : {size_t{23}, size_t{25}, size_t{0}}) {
    BOOST_TEST_CONTEXT(body) {
      const auto report = scan_bytes(make_npy(k_f4_2x3, std::string(body, 'x')), "a.npy");
      const auto* f = find_rule(report, "npy.size_mismatch");
      BOOST_REQUIRE(f);
      BOOST_TEST(f->severity == Severity::medium);
    }
  }
  // Extra bytes after the array are scanned: here a pickle numpy never reads.
  const auto report = scan_bytes(make_npy(k_f4_2x3, std::string(24, 'x') + pickle_int(1)), "a.npy");
  const size_t trailing_at = make_npy(k_f4_2x3, "").size() + 24;
  const auto* o = find_object(report, "@" + std::to_string(trailing_at) + ":trailing");
  BOOST_REQUIRE(o);
  BOOST_TEST(o->format == Format::pickle);
  // Overflowing shapes are not multiplied blindly.
  const auto huge = scan_bytes(
      make_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", ""),
      "a.npy");
  BOOST_TEST(find_rule(huge, "npy.size_mismatch"));
}

BOOST_AUTO_TEST_CASE(bad_headers_are_malformed) {
  const std::vector<std::string> dicts = {
      "{'descr': '<f4', 'fortran_order': False}",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}",
      "{'descr': '<f4', 'fortran_order': False, 'shape': [2]}",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}",
      "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)",
      "__import__('os').system('id')",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2,) + (1,)}",
      "{'descr': '<f4', 'fortran_order': False, 'shape': ((((((((((((((((((((((((((((((((((("
      "((((2,))))))))))))))))))))))))))))))))))))))}",
      "[1, 2, 3]",
      "",
  };
  for (const auto& dict : dicts) {
    BOOST_TEST_CONTEXT(dict) {
      const auto report = scan_bytes(make_npy(dict, std::string(8, 'x')), "a.npy");
      const auto* f = find_rule(report, "npy.malformed");
      BOOST_REQUIRE(f);
      BOOST_TEST(f->severity == Severity::medium);
    }
  }
}

BOOST_AUTO_TEST_CASE(truncated_and_odd_preambles_never_crash) {
  const std::string good = make_npy(k_f4_2x3, std::string(24, 'x'));
  for (size_t cut = 6; cut < 64; ++cut) {
    const auto report = scan_bytes(good.substr(0, cut), "a.npy");
    BOOST_TEST(count_rule(report, "npy.malformed") + count_rule(report, "npy.size_mismatch") >= 1u);
  }
  std::string v9 = good;
  v9[6] = 9;
  BOOST_TEST(find_rule(scan_bytes(v9, "a.npy"), "npy.malformed"));
  std::string long_header = good;
  long_header[8] = '\xff';
  long_header[9] = '\xff';
  BOOST_TEST(find_rule(scan_bytes(long_header, "a.npy"), "npy.malformed"));
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x5a);
    BOOST_TEST(scan_bytes(bad, "a.npy").objects.size() >= 1u);
  }
}

BOOST_AUTO_TEST_CASE(huge_header_dicts_parse_in_linear_time) {
  // Regression (fixtures/scan/regressions/npy_header_many_keys.npy.gz): the
  // duplicate-key check compared every key with every earlier one, so a 1 MiB
  // header of ~75 000 keys hung the scan (20 000 keys took 45 s under ASan).
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), ";
  for (int i = 0; i < 60'000; ++i) dict += "'k" + std::to_string(i) + "': 0, ";
  dict += "'shape': (2, 3)}";
  const auto start = std::chrono::steady_clock::now();
  const auto report = scan_bytes(make_npy(dict, std::string(24, 'x'), 2), "a.npy");
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start);
  BOOST_TEST(seconds.count() < 60.0);
  // Parsed to the end: the oversized header, the repeated 'shape' and the
  // extra keys are each reported.
  BOOST_TEST(count_rule(report, "npy.malformed") == 3u);
  bool duplicate = false;
  for (const auto& f : report.findings)
    duplicate = duplicate || f.message.find("duplicate keys") != std::string::npos;
  BOOST_TEST(duplicate);
}

BOOST_AUTO_TEST_CASE(unknown_dtypes_are_low_and_unchecked) {
  const auto report = scan_bytes(
      make_npy("{'descr': 'float64', 'fortran_order': False, 'shape': (1,), }", "12345678"),
      "a.npy");
  const auto* f = find_rule(report, "npy.unknown_dtype");
  BOOST_REQUIRE(f);
  BOOST_TEST(f->severity == Severity::low);
}

BOOST_AUTO_TEST_SUITE_END()
