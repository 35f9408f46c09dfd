#include <boost/test/unit_test.hpp>

#include "archive_builder.hpp"
#include "scan/format_scanners.hpp"

using namespace hfaudit;
using namespace hfaudit::test;
using scan::Format;
using scan::Severity;
using namespace std::string_literals;

namespace {

const std::string k_count1 = "\x80\x02K\x01."s;
// ('0', 'cpu', torch.FloatStorage) as torch 0.1 pickled it.
const std::string k_storage_record =
    "\x80\x02X\x01\x00\x00\x00"
    "0X\x03\x00\x00\x00"
    "cpuctorch\nFloatStorage\n\x87."s;
const std::string k_tensor_record =
    "\x80\x02X\x01\x00\x00\x00"
    "1K\x00"
    "ctorch\nFloatTensor\n\x87."s;
const std::string k_views = "\x80\x02]q\x00."s;

std::string le64(uint64_t v) {
  std::string s;
  put64(s, v);
  return s;
}

// 4 floats whose bytes look like a pickle: they must be skipped, not scanned.
std::string storages_member() {
  return k_count1 + k_storage_record + le64(4) + "\x80\x02K\x05."s + std::string(11, 'z') + k_views;
}

std::string tensors_member() {
  std::string raw;
  put32(raw, 1);
  put32(raw, 0);
  raw += le64(4) + le64(1) + le64(0);
  return k_count1 + k_tensor_record + raw;
}

std::vector<TarMember> legacy_torch(std::string storages = storages_member()) {
  return {{"sys_info", k_pickle_empty_dict},
          {"pickle", k_pickle_empty_dict},
          {"storages", std::move(storages)},
          {"tensors", tensors_member()}};
}

bool has_tar_findings(const scan::FileReport& r) {
  for (const auto& f : r.findings)
    if (f.rule.rfind("tar.", 0) == 0 || f.rule.rfind("container.", 0) == 0) return true;
  return false;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tar_scan_test)

BOOST_AUTO_TEST_CASE(legacy_torch_tar_scans_each_pickle_and_skips_raw_data) {
  const auto report = scan_bytes(build_tar(legacy_torch()), "old.pt");
  BOOST_TEST(report.format == Format::pytorch_tar);
  BOOST_TEST(!has_tar_findings(report));
  const size_t views_at = 5 + k_storage_record.size() + 8 + 16;
  for (const std::string& m :
       {std::string("sys_info"), std::string("pickle"), std::string("storages@0:count"),
        std::string("storages@5:storage"), "storages@" + std::to_string(views_at) + ":views",
        std::string("tensors@0:count"), std::string("tensors@5:tensor")}) {
    BOOST_TEST_CONTEXT(m) {
      const auto* o = find_object(report, m);
      BOOST_REQUIRE(o);
      BOOST_TEST(o->format == Format::pickle);
    }
  }
  BOOST_TEST(find_object(report, "storages@5:storage")->size == k_storage_record.size());
  // 2 top-level pickles + 3 storages pickles + 2 tensors pickles + the file.
  BOOST_TEST(report.objects.size() == 8u);
  BOOST_TEST(report.objects[0].details["flavour"].get<std::string>() == "pytorch_tar");
}

BOOST_AUTO_TEST_CASE(unparseable_storages_are_scanned_as_far_as_possible) {
  const std::string storages = k_count1 + std::string("garbage that is no pickle");
  const auto report = scan_bytes(build_tar(legacy_torch(storages)), "old.pt");
  const auto* f = find_rule(report, "tar.storages_unparsed");
  BOOST_REQUIRE(f);
  BOOST_TEST(f->severity == Severity::low);
  BOOST_TEST(find_object(report, "storages@0:count"));
  BOOST_TEST(find_object(report, "storages@5:rest"));
  // Unknown storage type: cannot size the raw data.
  const std::string odd = k_count1 +
                          "\x80\x02X\x01\x00\x00\x00"
                          "0cevil\nThing\n\x86."s +
                          le64(1) + "x";
  BOOST_TEST(
      find_rule(scan_bytes(build_tar(legacy_torch(odd)), "old.pt"), "tar.storages_unparsed"));
}

BOOST_AUTO_TEST_CASE(plain_tar_members_are_scanned_as_slices) {
  const auto report = scan_bytes(
      build_tar(
          {{"model/a.pkl", pickle_int(1)}, {"model/README.txt", "hello\n"}, {"model/", "", '5'}}),
      "bundle.tar");
  BOOST_TEST(report.format == Format::tar);
  BOOST_TEST(!has_tar_findings(report));
  BOOST_TEST(find_object(report, "model/a.pkl")->format == Format::pickle);
  BOOST_TEST(find_object(report, "model/a.pkl")->size == 5u);
  BOOST_TEST(find_object(report, "model/README.txt")->format == Format::text);
  BOOST_TEST(report.objects[0].details["members"].size() == 3u);
}

BOOST_AUTO_TEST_CASE(escaping_names_are_tar_slip) {
  std::vector<TarMember> cases;
  cases.push_back({"../../etc/cron.d/x", "x"});
  cases.push_back({"/etc/passwd", "x"});
  TarMember pax{"a/../../b.pkl", pickle_int(1)};
  pax.pax_path = true;
  cases.push_back(pax);
  TarMember gnu{std::string(120, 'd') + "/../../../escape.pkl", pickle_int(1)};
  gnu.gnu_long_name = true;
  cases.push_back(gnu);
  for (const auto& m : cases) {
    BOOST_TEST_CONTEXT(m.name) {
      const auto report = scan_bytes(build_tar({m}), "x.tar");
      const auto* f = find_rule(report, "tar.path_traversal");
      BOOST_REQUIRE(f);
      BOOST_TEST(f->severity == Severity::high);
      BOOST_TEST(f->subject == m.name);
      BOOST_TEST(find_object(report, m.name));
    }
  }
}

BOOST_AUTO_TEST_CASE(links_are_reported) {
  const auto report = scan_bytes(
      build_tar({{"a.txt", "x"}, {"evil", "", '2', "/etc/passwd"}, {"same", "", '1', "a.txt"}}),
      "x.tar");
  BOOST_TEST(count_rule(report, "tar.link") == 2u);
  for (const auto& f : report.findings) {
    if (f.rule != "tar.link") continue;
    BOOST_TEST(
        (f.subject == "evil" ? f.severity == Severity::high : f.severity == Severity::medium));
  }
  BOOST_TEST(!find_object(report, "evil"));
}

BOOST_AUTO_TEST_CASE(long_names_and_base256_sizes_are_read) {
  TarMember pax{std::string(150, 'p') + ".pkl", pickle_int(1)};
  pax.pax_path = true;
  TarMember gnu{std::string(130, 'g') + ".pkl", pickle_int(2)};
  gnu.gnu_long_name = true;
  TarMember big{"b256.bin", std::string(700, 'b')};
  big.base256_size = true;
  const auto report = scan_bytes(build_tar({pax, gnu, big, {"after.txt", "after"}}), "x.tar");
  BOOST_TEST(!has_tar_findings(report));
  BOOST_TEST(find_object(report, pax.name)->format == Format::pickle);
  BOOST_TEST(find_object(report, gnu.name)->format == Format::pickle);
  BOOST_TEST(find_object(report, "b256.bin")->size == 700u);
  BOOST_TEST(find_object(report, "after.txt"));
}

BOOST_AUTO_TEST_CASE(bad_checksum_stops_the_walk) {
  TarMember bad{"b.pkl", pickle_int(1)};
  bad.bad_checksum = true;
  const auto report = scan_bytes(build_tar({{"a.txt", "a"}, bad}), "x.tar");
  const auto* f = find_rule(report, "tar.malformed");
  BOOST_REQUIRE(f);
  BOOST_TEST(f->severity == Severity::medium);
  BOOST_TEST(find_object(report, "a.txt"));
  BOOST_TEST(!find_object(report, "b.pkl"));
}

BOOST_AUTO_TEST_CASE(trailing_data_after_end_marker_is_reported) {
  const auto report = scan_bytes(build_tar({{"a.txt", "a"}}) + pickle_int(4), "x.tar");
  BOOST_TEST(find_rule(report, "tar.trailing_data"));
  BOOST_TEST(find_object(report, "<trailing>")->format == Format::pickle);
}

BOOST_AUTO_TEST_CASE(member_limit_is_enforced) {
  scan::ScanLimits limits;
  limits.max_members = 2;
  const auto report = scan_bytes(build_tar({{"a", "1"}, {"b", "2"}, {"c", "3"}}), "x.tar", limits);
  BOOST_TEST(find_rule(report, "container.limit.members"));
  BOOST_TEST(!find_object(report, "c"));
}

BOOST_AUTO_TEST_CASE(classify_tar_recognises_legacy_torch) {
  util::MemorySource torch(build_tar(legacy_torch()));
  BOOST_TEST(scan::classify_tar(torch) == Format::pytorch_tar);
  util::MemorySource plain(build_tar({{"pickle", "x"}, {"other", "y"}}));
  BOOST_TEST(scan::classify_tar(plain) == Format::tar);
}

BOOST_AUTO_TEST_CASE(truncated_and_corrupted_tars_never_crash) {
  const std::string good = build_tar(legacy_torch());
  for (size_t cut = 262; cut < good.size(); cut += 7)
    BOOST_TEST(scan_bytes(good.substr(0, cut), "old.pt").objects.size() >= 1u);
  const auto cut = scan_bytes(good.substr(0, 700), "old.pt");
  BOOST_TEST(find_rule(cut, "tar.malformed"));
  for (size_t i = 0; i < good.size(); i += 3) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x41);
    BOOST_TEST(scan_bytes(bad, "old.pt").objects.size() >= 1u);
  }
}

BOOST_AUTO_TEST_SUITE_END()
