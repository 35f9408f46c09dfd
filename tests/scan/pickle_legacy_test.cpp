// torch < 1.6 checkpoints: five pickles then raw storages (section 2.2).
#include <boost/test/unit_test.hpp>

#include "pickle_test_support.hpp"

using namespace pickle_test;

BOOST_AUTO_TEST_SUITE(pickle_legacy_test)

namespace {

const std::string k_magic_pickle =
    proto(2) + std::string("\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.", 13);

std::string storage_pid(const std::string& type, const std::string& key, int numel) {
  return "(" + bu("storage") + global("torch", type) + bu(key) + bu("cpu") + "K" +
         std::string(1, static_cast<char>(numel)) + "NtQ";
}

std::string tensor(const std::string& type, const std::string& key, int numel) {
  return global("torch._utils", "_rebuild_tensor_v2") + "(" + storage_pid(type, key, numel) +
         std::string("K\x00K", 3) + std::string(1, static_cast<char>(numel)) + k_tuple1 + "K\x01" +
         k_tuple1 + k_newfalse + global("collections", "OrderedDict") + ")RtR";
}

struct Legacy {
  std::string first = k_magic_pickle;
  std::string graph = proto(2) + global("collections", "OrderedDict") + ")R(" + bu("w") +
                      tensor("FloatStorage", "1001", 4) + bu("b") +
                      tensor("HalfStorage", "1002", 3) + "u.";
  std::string keys = proto(2) + "](" + bu("1001") + bu("1002") + "e.";
  std::string data = le(4, 8) + std::string(16, '\x11') + le(3, 8) + std::string(6, '\x22');
  std::string build() const {
    return first + proto(2) + "M\xe9\x03." + proto(2) + "}(" + bu("protocol_version") +
           "M\xe9\x03" + bu("little_endian") + k_newtrue + "u." + graph + keys + data;
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(clean_legacy_checkpoint_skips_storages) {
  const FileReport report = scan_bytes(Legacy{}.build(), "model.pt");
  BOOST_TEST(report.format == hfaudit::scan::Format::pytorch_legacy);
  BOOST_TEST(!any_at_least(report, Severity::low), dump(report));
  const auto& details = report.objects.at(0).details;
  BOOST_TEST(details.at("pytorch_legacy").at("storages").get<int>() == 2);
  BOOST_TEST(details.at("pytorch_legacy").at("storage_bytes").get<int>() == 22);
  BOOST_TEST(details.at("pickle").at("streams").get<int>() == 5);
}

BOOST_AUTO_TEST_CASE(payload_in_any_of_the_five_pickles_is_found) {
  // The graph pickle carries the payload; storages must still be skipped.
  Legacy evil_graph;
  evil_graph.graph = proto(2) + global("collections", "OrderedDict") + ")R(" + bu("w") +
                     tensor("FloatStorage", "1001", 4) + bu("b") +
                     tensor("HalfStorage", "1002", 3) + bu("x") + global("os", "system") +
                     bu("id") + k_tuple1 + "Ru.";
  const FileReport report = scan_bytes(evil_graph.build(), "model.pt");
  BOOST_TEST(find(report, "pickle.call.denied", "os.system"), dump(report));
  BOOST_TEST(!find(report, "pytorch_legacy.truncated"), dump(report));

  // A payload in the storage key list (the last pickle).
  Legacy evil_keys;
  evil_keys.keys = proto(2) + global("posix", "system") + bu("id") + k_tuple1 + "R0](" +
                   bu("1001") + bu("1002") + "e.";
  const FileReport keys_report = scan_bytes(evil_keys.build(), "model.pt");
  BOOST_TEST(find(keys_report, "pickle.call.denied", "posix.system"), dump(keys_report));
}

BOOST_AUTO_TEST_CASE(structure_mismatches_are_findings) {
  Legacy truncated;
  truncated.data.resize(truncated.data.size() - 3);
  BOOST_TEST(find(scan_bytes(truncated.build(), "m.pt"), "pytorch_legacy.truncated"));

  Legacy wrong_count;
  wrong_count.data = le(5, 8) + std::string(20, '\x11') + le(3, 8) + std::string(6, '\x22');
  BOOST_TEST(find(scan_bytes(wrong_count.build(), "m.pt"), "pytorch_legacy.storage_size_mismatch"));

  Legacy unknown_key;
  unknown_key.keys = proto(2) + "](" + bu("1001") + bu("9999") + "e.";
  BOOST_TEST(find(scan_bytes(unknown_key.build(), "m.pt"), "pytorch_legacy.unknown_storage"));

  Legacy not_a_list;
  not_a_list.keys = proto(2) + "K\x01.";
  BOOST_TEST(find(scan_bytes(not_a_list.build(), "m.pt"), "pytorch_legacy.malformed"));

  Legacy broken_graph;
  broken_graph.graph = proto(2) + "R.";
  const FileReport broken = scan_bytes(broken_graph.build(), "m.pt");
  BOOST_TEST(find(broken, "pytorch_legacy.malformed"));
  BOOST_TEST(find(broken, "pickle.malformed"));

  const std::string trailing = Legacy{}.build() + "junk";
  const FileReport trailing_report = scan_bytes(trailing, "m.pt");  // findings point into it
  const Finding* t = find(trailing_report, "pytorch_legacy.trailing_data");
  BOOST_REQUIRE(t);
  BOOST_TEST(t->severity == Severity::low);

  const std::string zip = Legacy{}.build() + std::string("PK\x03\x04", 4) + std::string(30, '\0');
  BOOST_TEST(find(scan_bytes(zip, "m.pt"), "pickle.polyglot_zip"));
}

BOOST_AUTO_TEST_CASE(huge_storage_count_does_not_allocate) {
  Legacy huge;
  huge.data = le(~uint64_t{0} / 2, 8);
  const FileReport report = scan_bytes(huge.build(), "m.pt");
  BOOST_TEST(find(report, "pytorch_legacy.truncated"), dump(report));
}

BOOST_AUTO_TEST_SUITE_END()
