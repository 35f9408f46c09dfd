// Benign pickles found in real checkpoints must not fail a scan (no finding at
// medium or above), and raw protocol 0/1 pickles must be recognised by content.
#include <boost/test/unit_test.hpp>

#include "pickle_test_support.hpp"
#include "scan/format_scanners.hpp"

using namespace pickle_test;

BOOST_AUTO_TEST_SUITE(pickle_benign_test)

namespace {

// OrderedDict({'weight': _rebuild_tensor_v2(<FloatStorage pid>, 0, (2, 2), (2, 1), False,
// OrderedDict())}) as torch.save writes data.pkl (protocol 2).
std::string state_dict() {
  return proto(2) + global("collections", "OrderedDict") + binput(0) + ")R" + binput(1) + "(" +
         bu("weight") + binput(2) + global("torch._utils", "_rebuild_tensor_v2") + binput(3) +
         "((" + bu("storage") + global("torch", "FloatStorage") + bu("0") + bu("cpu") + "K\x04" +
         std::string("tQK\x00K\x02K\x02", 7) + k_tuple2 + "K\x02K\x01" + k_tuple2 + k_newfalse +
         binget(0) + ")RtR" + binput(4) + "u.";
}

// numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), b'b') + BUILD with
// (1, (3,), dtype('f8'), False, <24 bytes>).
std::string numpy_array() {
  return proto(2) + global("numpy.core.multiarray", "_reconstruct") + global("numpy", "ndarray") +
         std::string("K\x00", 2) + k_tuple1 + sb("b") + k_tuple3 + "R(K\x01K\x03" + k_tuple1 +
         global("numpy", "dtype") + bu("f8") + k_newfalse + k_newtrue + k_tuple3 + "R(K\x03" +
         bu("<") + std::string("NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb", 16) + k_newfalse +
         sb(std::string(24, '\x01')) + "tb.";
}

// argparse.Namespace(lr=0.1) the protocol-0 way: copy_reg._reconstructor.
std::string namespace_protocol0() {
  return global("copy_reg", "_reconstructor") + "p0\n(" + global("argparse", "Namespace") + "p1\n" +
         global("__builtin__", "object") + "p2\nNtp3\nRp4\n(dp5\nVlr\np6\nF0.1\nsb.";
}

// Protocol 2 bytes as _codecs.encode('\x00\xff', 'latin1') (how py3 pickles
// bytes at protocol 2).
std::string codecs_bytes() {
  return proto(2) + global("_codecs", "encode") + bu(latin1_to_utf8(std::string("\x00\xff", 2))) +
         bu("latin1") + k_tuple2 + "R.";
}

}  // namespace

BOOST_AUTO_TEST_CASE(benign_pickles_have_no_medium_findings) {
  const std::pair<const char*, std::string> cases[] = {
      {"state_dict", state_dict()},
      {"numpy_array", numpy_array()},
      {"namespace_protocol0", namespace_protocol0()},
      {"codecs_bytes", codecs_bytes()},
      {"torch_dtype_and_size", proto(2) + global("torch", "Size") + "K\x02K\x03" + k_tuple2 +
                                   k_tuple1 + "R" + global("torch", "float16") + k_tuple2 + "."},
      {"plain_containers", proto(4) + "}" + k_memoize + "(" + su("a") + "]" + k_memoize +
                               "(K\x01K\x02" + std::string("G?\xf0\x00\x00\x00\x00\x00\x00", 9) +
                               "e" + su("b") + "N" + su("c") +
                               std::string("\x8f\x94(K\x01\x90", 6) + "u."},
  };
  for (const auto& [name, bytes] : cases) {
    BOOST_TEST_CONTEXT(name) {
      const FileReport report = scan_bytes(bytes);
      BOOST_TEST(report.format == hfaudit::scan::Format::pickle);
      BOOST_TEST(!any_at_least(report, Severity::medium), name << "\n" << dump(report));
    }
  }
}

BOOST_AUTO_TEST_CASE(state_dict_details_record_storages) {
  const FileReport report = scan_bytes(state_dict());
  const auto& details = report.objects.at(0).details.at("pickle");
  BOOST_TEST(details.at("storages").get<int>() == 1);
  BOOST_TEST(details.at("storage_examples").at(0).at("type").get<std::string>() ==
             "torch.FloatStorage");
  BOOST_TEST(details.at("protocols").dump() == "[2]");
}

BOOST_AUTO_TEST_CASE(probe_recognises_protocol0_and_rejects_text) {
  using hfaudit::scan::probe_pickle;
  using hfaudit::util::MemorySource;
  const std::pair<std::string, bool> cases[] = {
      {"(dp0\nS'a'\np1\nI1\ns.", true},
      {"(lp0\nI1\naI2\na.", true},
      {namespace_protocol0(), true},
      {"cos\nsystem\n(S'id'\ntR", true},          // truncated but clearly code
      {"]" + binput(0) + "(K\x01K\x02e.", true},  // protocol 1, no PROTO
      {"Hello world\n", false},
      {"I think therefore I am.\n", false},
      {"(This is a note)\n", false},
      {"Lorem ipsum dolor sit amet\n", false},
      {"N.", false},  // nothing meaningful
      {"# README\n\nSome text.\n", false},
      {"", false},
  };
  for (const auto& [bytes, expected] : cases) {
    BOOST_TEST_CONTEXT(bytes) {
      BOOST_TEST(probe_pickle(MemorySource(bytes)) == expected);
    }
  }
}

BOOST_AUTO_TEST_CASE(protocol0_pickle_named_txt_is_scanned_as_pickle) {
  const FileReport report = scan_bytes("cos\nsystem\n(S'id'\ntR.", "notes.txt");
  BOOST_TEST(report.format == hfaudit::scan::Format::pickle);
  BOOST_TEST(find(report, "pickle.call.denied", "os.system"));
}

BOOST_AUTO_TEST_SUITE_END()
