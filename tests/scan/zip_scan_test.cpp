#include <boost/test/unit_test.hpp>

#include "archive_builder.hpp"
#include "scan/format_scanners.hpp"
#include "scan/zip_reader.hpp"

using namespace hfaudit;
using namespace hfaudit::test;
using scan::Format;
using scan::Severity;

namespace {

std::string storage_bytes(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 31 + 7);
  return s;
}

// A torch.save-shaped archive: data.pkl, one 64-byte-aligned storage, version.
ZipBuilder torch_zip(size_t storage_size = 1 << 20) {
  ZipBuilder b;
  b.add("archive/data.pkl", k_pickle_empty_dict);
  b.add("archive/byteorder", "little");
  ZipMember storage;
  storage.name = "archive/data/0";
  storage.data = storage_bytes(storage_size);
  storage.align = 64;
  b.add(storage);
  b.add("archive/version", "3\n");
  return b;
}

bool has_zip_findings(const scan::FileReport& r) {
  for (const auto& f : r.findings)
    if (f.rule.rfind("zip.", 0) == 0 || f.rule.rfind("pytorch.", 0) == 0 ||
        f.rule.rfind("container.", 0) == 0)
      return true;
  return false;
}

// Returns the offset of the n-th (0-based) occurrence of `sig`.
size_t nth(const std::string& s, std::string_view sig, int n) {
  size_t at = s.find(sig);
  while (n-- > 0) at = s.find(sig, at + 1);
  return at;
}

// One stored member `name` holding `data`, listed `entries` times in the
// central directory (every entry points at the same local header).
std::string fan_out_zip(const std::string& data, int entries, const std::string& name) {
  const uint32_t crc = static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
  std::string out;
  put32(out, 0x04034b50);
  for (const uint16_t v : {20, 0, 0, 0, 0}) put16(out, v);
  for (const uint32_t v :
       {crc, static_cast<uint32_t>(data.size()), static_cast<uint32_t>(data.size())})
    put32(out, v);
  put16(out, static_cast<uint16_t>(name.size()));
  put16(out, 0);
  out += name + data;
  std::string cd;
  for (int i = 0; i < entries; ++i) {
    put32(cd, 0x02014b50);
    for (const uint16_t v : {20, 20, 0, 0, 0, 0}) put16(cd, v);
    for (const uint32_t v :
         {crc, static_cast<uint32_t>(data.size()), static_cast<uint32_t>(data.size())})
      put32(cd, v);
    for (const uint16_t v :
         {static_cast<uint16_t>(name.size()), uint16_t{0}, uint16_t{0}, uint16_t{0}, uint16_t{0}})
      put16(cd, v);
    put32(cd, 0);
    put32(cd, 0);  // local header offset
    cd += name;
  }
  const auto cd_offset = static_cast<uint32_t>(out.size());
  out += cd;
  put32(out, 0x06054b50);
  for (const uint16_t v :
       {uint16_t{0}, uint16_t{0}, static_cast<uint16_t>(entries), static_cast<uint16_t>(entries)})
    put16(out, v);
  put32(out, static_cast<uint32_t>(cd.size()));
  put32(out, cd_offset);
  put16(out, 0);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(zip_scan_test)

BOOST_AUTO_TEST_CASE(fan_out_of_shared_members_is_bounded_per_file) {
  // Regression (fixtures/scan/regressions/zip_fan_out_3x30.zip): 100
  // central-directory entries pointing at one stored zip of 100 entries
  // pointing at one stored zip ... is 15 KB at three levels and was scanned
  // 100^3 times (hours). Objects below the first level now have a per-file
  // budget; the first level is still scanned in full.
  std::string bytes("\x80\x02N.", 4);
  for (int level = 0; level < 3; ++level)
    bytes = fan_out_zip(bytes, 30, level == 0 ? "a.pkl" : "a.zip");
  scan::ScanLimits limits;
  limits.max_deep_objects = 200;
  const auto report = scan_bytes(bytes, "fan.zip", limits);
  BOOST_TEST(find_rule(report, "container.limit.objects"));
  BOOST_TEST(report.objects.size() <= 1u + 30u + 200u);
  BOOST_TEST(count_objects(report, "a.zip") == 30u);  // every first-level entry
  limits.max_deep_objects = 10000;
  limits.max_objects = 50;
  const auto flat = scan_bytes(bytes, "fan.zip", limits);
  BOOST_TEST(find_rule(flat, "container.limit.objects"));
  BOOST_TEST(flat.objects.size() <= 50u);
}

BOOST_AUTO_TEST_CASE(benign_torch_zip_scans_pickles_and_never_reads_storages) {
  const BuiltZip zip = torch_zip(4 << 20).build();
  util::MemorySource mem(zip.bytes);
  CountingSource counted(mem);
  const auto report = scan::scan_source(counted, "model.pt", scan::ScanOptions{});

  BOOST_TEST(report.format == Format::pytorch_zip);
  BOOST_TEST(!has_zip_findings(report));
  const auto* pkl = find_object(report, "archive/data.pkl");
  BOOST_REQUIRE(pkl);
  BOOST_TEST(pkl->format == Format::pickle);
  BOOST_TEST(!find_object(report, "archive/data/0"));
  BOOST_TEST(!find_object(report, "archive/version"));

  // Storage bytes: only the engine's 4 KiB sniff window of the whole file may
  // overlap them; the zip scanner itself reads headers only.
  const uint64_t storage_begin = zip.data_offsets[2];
  const uint64_t storage_end = storage_begin + zip.data_sizes[2];
  BOOST_TEST(storage_begin % 64 == 0u);
  BOOST_TEST(!counted.touched(std::max<uint64_t>(storage_begin, 4096), storage_end));
  BOOST_TEST(counted.bytes_read() < 256u * 1024);

  const auto& t = report.objects[0].details["pytorch"];
  BOOST_TEST(t["storages"].get<int>() == 1);
  BOOST_TEST(t["storage_bytes"].get<uint64_t>() == uint64_t{4} << 20);
  BOOST_TEST(t["version"].get<std::string>() == "3");
  BOOST_TEST(t["byteorder"].get<std::string>() == "little");
  BOOST_TEST(t["folder"].get<std::string>() == "archive");
  BOOST_TEST(report.objects[0].details["members"].size() == 4u);
}

BOOST_AUTO_TEST_CASE(every_pkl_member_is_scanned_as_pickle_and_torchscript_is_reported) {
  ZipBuilder b;
  b.add("model/data.pkl", k_pickle_empty_dict);
  b.add("model/constants.pkl", k_pickle_empty_dict);
  b.add("model/code/__torch__/m.py", "def forward(self):\n  return 1\n");
  b.add("model/code/__torch__/m.py.debug_pkl", pickle_int(1));
  b.add("model/extra.pkl", std::string("not a pickle at all"));
  const auto report = scan_bytes(b.build().bytes, "m.pt");
  BOOST_TEST(report.format == Format::pytorch_zip);
  for (const char* m : {"model/data.pkl", "model/constants.pkl",
                        "model/code/__torch__/m.py.debug_pkl", "model/extra.pkl"}) {
    const auto* o = find_object(report, m);
    BOOST_TEST_REQUIRE(o, m);
    BOOST_TEST(o->format == Format::pickle);
  }
  BOOST_TEST(find_object(report, "model/code/__torch__/m.py"));
  const auto* ts = find_rule(report, "pytorch.torchscript");
  BOOST_REQUIRE(ts);
  BOOST_TEST(ts->severity == Severity::medium);
  // A .pkl member that is not a pickle: forced role vs content.
  BOOST_TEST(count_rule(report, "format.content_mismatch") == 1u);
}

BOOST_AUTO_TEST_CASE(torch_entry_outside_folder_is_reported) {
  ZipBuilder b = torch_zip(128);
  b.add("evil.pkl", pickle_int(7));
  const auto report = scan_bytes(b.build().bytes, "m.pt");
  const auto* f = find_rule(report, "pytorch.entry_outside_folder");
  BOOST_REQUIRE(f);
  BOOST_TEST(f->subject == "evil.pkl");
  BOOST_TEST(find_object(report, "evil.pkl")->format == Format::pickle);
}

BOOST_AUTO_TEST_CASE(bad_torch_version_record_is_low_and_scanned) {
  ZipBuilder b;
  b.add("archive/data.pkl", k_pickle_empty_dict);
  b.add("archive/version", std::string("\x80\x02K\x01.", 5));
  const auto report = scan_bytes(b.build().bytes, "m.pt");
  const auto* f = find_rule(report, "pytorch.metadata");
  BOOST_REQUIRE(f);
  BOOST_TEST(f->severity == Severity::low);
  BOOST_TEST(find_object(report, "archive/version"));
}

BOOST_AUTO_TEST_CASE(duplicate_names_are_reported_and_both_entries_scanned) {
  ZipBuilder b;
  b.add("archive/data.pkl", k_pickle_empty_dict);
  b.add("archive/data.pkl", pickle_int(2));
  b.add("archive/version", "3\n");
  const auto report = scan_bytes(b.build().bytes, "m.pt");
  const auto* f = find_rule(report, "zip.duplicate_name");
  BOOST_REQUIRE(f);
  BOOST_TEST(f->severity == Severity::high);
  BOOST_TEST(f->subject == "archive/data.pkl");
  BOOST_TEST(count_objects(report, "archive/data.pkl") == 2u);
}

BOOST_AUTO_TEST_CASE(local_header_mismatches_are_reported) {
  struct Case {
    const char* what;
    ZipMember member;
    Severity severity;
  };
  std::vector<Case> cases;
  ZipMember m;
  m.name = "a.bin";
  m.data = "hello world";
  {
    ZipMember x = m;
    x.local_name = "b.bin";
    cases.push_back({"name", x, Severity::high});
  }
  {
    ZipMember x = m;
    x.local_method = 8;
    cases.push_back({"method", x, Severity::high});
  }
  {
    ZipMember x = m;
    x.local_compressed_size = 3;
    cases.push_back({"size", x, Severity::high});
  }
  {
    ZipMember x = m;
    x.local_crc = 0x12345678;
    cases.push_back({"crc", x, Severity::medium});
  }
  {
    ZipMember x = m;
    x.local_flags = 0x0800;
    cases.push_back({"flags", x, Severity::medium});
  }
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.what) {
      const auto report = scan_bytes(ZipBuilder().add(c.member).build().bytes, "x.zip");
      const auto* f = find_rule(report, "zip.header_mismatch");
      BOOST_REQUIRE(f);
      BOOST_TEST(f->severity == c.severity);
      BOOST_TEST(f->subject == "a.bin");
      BOOST_TEST(find_object(report, "a.bin"));  // scanned with the central directory's view
    }
  }
}

BOOST_AUTO_TEST_CASE(unlisted_local_header_is_reported_and_scanned) {
  ZipBuilder b;
  b.add("a.txt", "hello");
  ZipMember hidden;
  hidden.name = "hidden.pkl";
  hidden.data = pickle_int(9);
  hidden.listed = false;
  b.add(hidden);
  b.add("b.txt", "bye");
  const BuiltZip zip = b.build();
  const auto report = scan_bytes(zip.bytes, "x.zip");
  const auto* f = find_rule(report, "zip.unlisted_entry");
  BOOST_REQUIRE(f);
  BOOST_TEST(f->subject == "hidden.pkl");
  const uint64_t header = zip.data_offsets[1] - 30 - std::string("hidden.pkl").size();
  BOOST_TEST(f->offset == header);
  const auto* o = find_object(report, "unlisted@" + std::to_string(header) + "/hidden.pkl");
  BOOST_REQUIRE(o);
  BOOST_TEST(o->format == Format::pickle);
}

BOOST_AUTO_TEST_CASE(pickle_prefix_is_a_high_polyglot_and_is_scanned) {
  const std::string pickle = pickle_int(1);
  for (const bool relative : {false, true}) {
    BOOST_TEST_CONTEXT("relative offsets " << relative) {
      ZipBuilder b = torch_zip(256);
      b.prefix(pickle, relative);
      util::MemorySource src(b.build().bytes);
      const auto report = scan_forced(src, "m.pt", Format::pytorch_zip);
      const auto* f = find_rule(report, "zip.prefix_data");
      BOOST_REQUIRE(f);
      BOOST_TEST(f->severity == Severity::high);
      const auto* o = find_object(report, "m.pt!/<prefix>");
      BOOST_REQUIRE(o);
      BOOST_TEST(o->format == Format::pickle);
      BOOST_TEST(o->size == pickle.size());
      BOOST_TEST(find_object(report, "m.pt!/archive/data.pkl"));
    }
  }
}

BOOST_AUTO_TEST_CASE(non_pickle_prefix_is_medium) {
  ZipBuilder b;
  b.add("a.txt", "hello");
  b.prefix(std::string("PK\x03\x04garbage-that-is-no-header", 30));
  const auto report = scan_bytes(b.build().bytes, "x.zip");
  const auto* f = find_rule(report, "zip.prefix_data");
  BOOST_REQUIRE(f);
  BOOST_TEST(f->severity == Severity::medium);
  BOOST_TEST(find_object(report, "<prefix>"));
}

BOOST_AUTO_TEST_CASE(trailing_data_and_comment_abuse_are_reported) {
  {
    ZipBuilder b;
    b.add("a.txt", "hello");
    b.trailing("appended bytes");
    const auto report = scan_bytes(b.build().bytes, "x.zip");
    const auto* f = find_rule(report, "zip.trailing_data");
    BOOST_REQUIRE(f);
    BOOST_TEST(f->severity == Severity::medium);  // room for a polyglot: fails by default
    BOOST_TEST(find_object(report, "<trailing>"));
  }
  {
    ZipBuilder inner;
    inner.add("evil.pkl", pickle_int(1));
    ZipBuilder b;
    b.add("a.txt", "hello");
    b.comment(inner.build().bytes);
    const auto report = scan_bytes(b.build().bytes, "x.zip");
    const auto* f = find_rule(report, "zip.trailing_data");
    BOOST_REQUIRE(f);
    BOOST_TEST(f->severity == Severity::medium);
  }
}

BOOST_AUTO_TEST_CASE(unsafe_member_names_are_path_traversal) {
  for (const std::string& name :
       {std::string("../evil.py"), std::string("a/../../evil.py"), std::string("/etc/cron.d/x"),
        std::string("a\\b.txt"), std::string("C:x.txt"), std::string("a\0b.txt", 7)}) {
    BOOST_TEST_CONTEXT(scan::printable_name(name)) {
      const auto report = scan_bytes(ZipBuilder().add(name, "x").build().bytes, "x.zip");
      const auto* f = find_rule(report, "zip.path_traversal");
      BOOST_REQUIRE(f);
      BOOST_TEST(f->severity == Severity::high);
    }
  }
  const auto clean = scan_bytes(ZipBuilder().add("a/b..c/d.txt", "x").build().bytes, "x.zip");
  BOOST_TEST(!find_rule(clean, "zip.path_traversal"));
}

BOOST_AUTO_TEST_CASE(flagged_entries_are_reported_and_still_scanned) {
  for (const uint16_t flag : {uint16_t{0x1}, uint16_t{0x20}, uint16_t{0x40}}) {
    ZipMember m;
    m.name = "archive/data.pkl";
    m.data = k_pickle_empty_dict;
    m.flags = flag;
    ZipBuilder b;
    b.add(m);
    b.add("archive/version", "3\n");
    const auto report = scan_bytes(b.build().bytes, "m.pt");
    const auto* f = find_rule(report, "zip.flagged_entry");
    BOOST_REQUIRE(f);
    BOOST_TEST(f->severity == Severity::medium);
    BOOST_TEST(find_object(report, "archive/data.pkl"));
  }
  ZipMember local_only;
  local_only.name = "archive/data.pkl";
  local_only.data = k_pickle_empty_dict;
  local_only.local_flags = 0x1;
  const auto report = scan_bytes(ZipBuilder().add(local_only).build().bytes, "m.pt");
  BOOST_TEST(find_rule(report, "zip.flagged_entry")->message.find("local header") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(unsupported_methods_are_reported_and_not_scanned) {
  ZipMember m;
  m.name = "w.bin";
  m.data = "BZh9 pretend";
  m.method = 12;
  const auto report = scan_bytes(ZipBuilder().add(m).build().bytes, "x.zip");
  const auto* f = find_rule(report, "zip.unsupported_method");
  BOOST_REQUIRE(f);
  BOOST_TEST(f->severity == Severity::medium);
  BOOST_TEST(!find_object(report, "w.bin"));
}

BOOST_AUTO_TEST_CASE(deflated_members_and_data_descriptors_are_read) {
  ZipMember a;
  a.name = "archive/data.pkl";
  a.data = k_pickle_empty_dict;
  a.method = 8;
  a.data_descriptor = true;
  ZipMember v;
  v.name = "archive/version";
  v.data = "3\n";
  v.data_descriptor = true;
  // Python's zipfile deflates the metadata records too.
  const auto report = scan_bytes(
      ZipBuilder().add(a).add(v).add("archive/byteorder", "little", 8).build().bytes, "m.pt");
  BOOST_TEST(!has_zip_findings(report));
  BOOST_TEST(report.objects[0].details["pytorch"]["byteorder"].get<std::string>() == "little");
  const auto* o = find_object(report, "archive/data.pkl");
  BOOST_REQUIRE(o);
  BOOST_TEST(o->size == k_pickle_empty_dict.size());
  BOOST_TEST(o->format == Format::pickle);
}

BOOST_AUTO_TEST_CASE(zip64_archives_are_walked) {
  ZipBuilder b = torch_zip(1000);
  b.zip64();
  const auto report = scan_bytes(b.build().bytes, "m.pt");
  BOOST_TEST(report.format == Format::pytorch_zip);
  BOOST_TEST(!has_zip_findings(report));
  BOOST_TEST(report.objects[0].details["zip64"].get<bool>());
  BOOST_TEST(find_object(report, "archive/data.pkl"));
  BOOST_TEST(report.objects[0].details["pytorch"]["storage_bytes"].get<int>() == 1000);
}

BOOST_AUTO_TEST_CASE(entry_count_disagreement_is_malformed) {
  ZipBuilder b;
  b.add("a.txt", "a").add("b.pkl", pickle_int(1));
  b.declared_count(1);
  const auto report = scan_bytes(b.build().bytes, "x.zip");
  BOOST_TEST(find_rule(report, "zip.malformed"));
  BOOST_TEST(find_object(report, "b.pkl"));  // walked by directory size, like Python
}

BOOST_AUTO_TEST_CASE(overlapping_entries_are_reported) {
  std::string bytes = ZipBuilder().add("a.txt", "aaaa").add("b.txt", "bbbb").build().bytes;
  // Point the second central record at the first local header.
  const size_t second = nth(bytes, "PK\x01\x02", 1);
  std::fill_n(bytes.begin() + static_cast<std::ptrdiff_t>(second + 42), 4, '\0');
  const auto report = scan_bytes(bytes, "x.zip");
  BOOST_TEST(find_rule(report, "zip.overlapping_entries"));
  BOOST_TEST(find_rule(report, "zip.header_mismatch"));  // local name is a.txt
  BOOST_TEST(find_rule(report, "zip.unlisted_entry"));   // b.txt's header is now unreferenced
}

BOOST_AUTO_TEST_CASE(member_limit_is_enforced) {
  ZipBuilder b;
  for (int i = 0; i < 5; ++i) b.add("m" + std::to_string(i) + ".txt", "x");
  scan::ScanLimits limits;
  limits.max_members = 2;
  const auto report = scan_bytes(b.build().bytes, "x.zip", limits);
  BOOST_TEST(find_rule(report, "container.limit.members"));
  BOOST_TEST(find_object(report, "m1.txt"));
  BOOST_TEST(!find_object(report, "m2.txt"));
}

BOOST_AUTO_TEST_CASE(zip_bombs_are_capped_and_reported) {
  ZipMember bomb;
  bomb.name = "zeros.bin";
  bomb.data = std::string(8 << 20, '\0');
  bomb.method = 8;
  const std::string bytes = ZipBuilder().add(bomb).build().bytes;
  {
    scan::ScanLimits limits;
    limits.max_compression_ratio = 100;
    const auto report = scan_bytes(bytes, "x.zip", limits);
    const auto* f = find_rule(report, "container.bomb");
    BOOST_REQUIRE(f);
    BOOST_TEST(f->severity == Severity::high);
    BOOST_TEST(find_object(report, "zeros.bin")->size < (8u << 20));
  }
  {
    scan::ScanLimits limits;
    limits.max_expanded_member = 1 << 20;
    const auto report = scan_bytes(bytes, "x.zip", limits);
    const auto* f = find_rule(report, "container.bomb");
    BOOST_REQUIRE(f);
    BOOST_TEST(f->severity == Severity::medium);
    BOOST_TEST(find_object(report, "zeros.bin")->size == 1u << 20);
  }
  {
    scan::ScanLimits limits;
    limits.max_expanded_total = 1 << 20;
    const auto report = scan_bytes(bytes, "x.zip", limits);
    BOOST_TEST(find_rule(report, "container.limit.expanded_total"));
  }
}

BOOST_AUTO_TEST_CASE(declared_size_lies_are_reported) {
  ZipMember m;
  m.name = "a.txt";
  m.data = std::string(1000, 'a');
  m.method = 8;
  m.declared_size = 10;
  const auto report = scan_bytes(ZipBuilder().add(m).build().bytes, "x.zip");
  BOOST_TEST(find_rule(report, "zip.size_mismatch"));
}

BOOST_AUTO_TEST_CASE(npz_members_are_scanned_as_nested_npy) {
  const std::string header =
      make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", std::string(8, '\0'));
  ZipBuilder b;
  b.add("a.npy", header);
  b.add("b.npy", header, 8);
  const auto report = scan_bytes(b.build().bytes, "x.npz");
  BOOST_TEST(report.format == Format::npz);
  BOOST_TEST(find_object(report, "a.npy")->format == Format::npy);
  BOOST_TEST(find_object(report, "b.npy")->format == Format::npy);
}

BOOST_AUTO_TEST_CASE(keras_config_is_scanned_in_its_role) {
  ZipBuilder b;
  b.add("metadata.json", R"({"keras_version": "3.3.3"})");
  b.add("config.json", R"({"class_name": "Sequential", "config": {}})");
  b.add("model.weights.h5", std::string("\x89HDF\r\n\x1a\n", 8) + std::string(64, '\0'));
  b.add("assets/vocab.txt", "a\nb\n");
  const auto report = scan_bytes(b.build().bytes, "m.keras");
  BOOST_TEST(report.format == Format::keras_zip);
  BOOST_TEST(find_object(report, "config.json")->format == Format::keras_config);
  BOOST_TEST(find_object(report, "model.weights.h5")->format == Format::hdf5);
  BOOST_TEST(find_object(report, "assets/vocab.txt")->format == Format::text);
  BOOST_TEST(find_object(report, "metadata.json")->format == Format::json);
}

BOOST_AUTO_TEST_CASE(plain_zip_members_are_all_scanned_and_listed) {
  ZipBuilder b;
  b.add("readme.txt", "hi");
  b.add("nested.zip", ZipBuilder().add("inner.pkl", pickle_int(3)).build().bytes);
  b.add("dir/", "");
  const auto report = scan_bytes(b.build().bytes, "x.zip");
  BOOST_TEST(report.format == Format::zip);
  BOOST_TEST(find_object(report, "readme.txt"));
  BOOST_TEST(find_object(report, "nested.zip")->format == Format::zip);
  BOOST_TEST(find_object(report, "nested.zip!/inner.pkl")->format == Format::pickle);
  const auto& members = report.objects[0].details["members"];
  BOOST_TEST(members.size() == 3u);
  BOOST_TEST(members[0]["name"].get<std::string>() == "readme.txt");
  BOOST_TEST(members[0]["method"].get<std::string>() == "stored");
}

BOOST_AUTO_TEST_CASE(classify_zip_flavours) {
  auto classify = [](const ZipBuilder& b) {
    util::MemorySource src(b.build().bytes);
    return scan::classify_zip(src);
  };
  BOOST_TEST(classify(torch_zip(8)) == Format::pytorch_zip);
  BOOST_TEST(classify(ZipBuilder().add("x/constants.pkl", "").add("x/code/a.py", "")) ==
             Format::pytorch_zip);
  BOOST_TEST(classify(ZipBuilder().add("config.json", "{}").add("model.weights.h5", "")) ==
             Format::keras_zip);
  BOOST_TEST(classify(ZipBuilder().add("a.npy", "").add("b.npy", "")) == Format::npz);
  BOOST_TEST(classify(ZipBuilder().add("a.npy", "").add("b.txt", "")) == Format::zip);
  BOOST_TEST(classify(ZipBuilder()) == Format::zip);
}

BOOST_AUTO_TEST_CASE(truncated_and_corrupted_archives_never_crash) {
  const std::string good = [] {
    ZipBuilder b = torch_zip(64);
    ZipMember d;
    d.name = "archive/x.pkl";
    d.data = std::string(300, 'q');
    d.method = 8;
    b.add(d);
    return b.build().bytes;
  }();
  for (size_t cut = 0; cut < good.size(); ++cut) {
    const auto report = scan_bytes(good.substr(0, cut), "m.pt");
    BOOST_TEST(report.objects.size() >= 1u);
  }
  for (size_t i = 0; i < good.size(); ++i) {
    for (const unsigned char x : {0x01u, 0x80u, 0xffu}) {
      std::string bad = good;
      bad[i] = static_cast<char>(static_cast<unsigned char>(bad[i]) ^ x);
      const auto report = scan_bytes(bad, "m.pt");
      BOOST_TEST(report.objects.size() >= 1u);
    }
  }
  // Truncated before the end record: scanned by walking local headers.
  const auto report = scan_bytes(good.substr(0, good.size() - 30), "m.pt");
  BOOST_TEST(find_rule(report, "zip.malformed"));
}

BOOST_AUTO_TEST_SUITE_END()
