#include <boost/test/unit_test.hpp>

#include "scan/format_scanners.hpp"
#include "structured_test_util.hpp"

using namespace hfaudit::scan;
using namespace hfaudit::scan::test;

namespace {

// Protobuf wire-format builders for the few ONNX messages the tests need.
std::string varint(uint64_t v) {
  std::string out;
  do {
    uint8_t b = v & 0x7F;
    v >>= 7;
    if (v) b |= 0x80;
    out.push_back(static_cast<char>(b));
  } while (v);
  return out;
}
std::string tag(uint32_t field, uint32_t wire) {
  return varint((uint64_t{field} << 3) | wire);
}
std::string vfield(uint32_t field, uint64_t v) {
  return tag(field, 0) + varint(v);
}
std::string lfield(uint32_t field, const std::string& payload) {
  return tag(field, 2) + varint(payload.size()) + payload;
}

std::string tensor(const std::string& name, std::vector<uint64_t> dims, uint64_t data_type,
                   const std::string& raw) {
  std::string t;
  for (uint64_t d : dims) t += vfield(1, d);
  t += vfield(2, data_type) + lfield(8, name) + lfield(9, raw);
  return t;
}
std::string external_tensor(const std::string& name, const std::string& location) {
  std::string t = vfield(1, 4) + vfield(2, 1) + lfield(8, name);
  t += lfield(13, lfield(1, "location") + lfield(2, location));
  t += lfield(13, lfield(1, "offset") + lfield(2, "0"));
  t += lfield(13, lfield(1, "length") + lfield(2, "16"));
  t += vfield(14, 1);
  return t;
}
std::string node(const std::string& op_type, const std::string& domain = {},
                 const std::string& attributes = {}) {
  std::string n = lfield(1, "x") + lfield(2, "y") + lfield(3, op_type + "_0") + lfield(4, op_type);
  if (!domain.empty()) n += lfield(7, domain);
  return n + attributes;
}
// AttributeProto holding one subgraph: g (6) or graphs (11).
std::string graph_attribute(const std::string& name, const std::string& graph, uint32_t field = 6) {
  return lfield(5, lfield(1, name) + vfield(20, field == 6 ? 5 : 10) + lfield(field, graph));
}
std::string graph(const std::string& nodes, const std::string& initializers = {}) {
  return nodes + lfield(2, "main") + initializers + lfield(11, lfield(1, "x")) +
         lfield(12, lfield(1, "y"));
}
std::string opset(const std::string& domain, uint64_t version) {
  return lfield(8, (domain.empty() ? std::string() : lfield(1, domain)) + vfield(2, version));
}
std::string model(const std::string& graph_bytes, const std::string& extra = {}) {
  return vfield(1, 8) + lfield(2, "pytorch") + lfield(3, "2.1.0") + lfield(7, graph_bytes) +
         opset("", 17) + extra;
}

std::string valid_model() {
  const std::string init = lfield(5, tensor("w", {2, 2}, 1, std::string(16, '\0')));
  return model(graph(lfield(1, node("Relu")) + lfield(1, node("Add")), init));
}

FileReport scan(const std::string& bytes) {
  return scan_bytes(bytes, "model.onnx");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(onnx_test)

BOOST_AUTO_TEST_CASE(valid_model_is_sniffed_clean_and_described) {
  const FileReport r = scan(valid_model());
  BOOST_TEST((r.format == Format::onnx));
  BOOST_TEST(count_at_least(r, Severity::low) == 0u, dump(r));
  const auto& d = r.objects.at(0).details;
  BOOST_TEST(d["ir_version"].get<int>() == 8);
  BOOST_TEST(d["producer_name"].get<std::string>() == "pytorch");
  BOOST_TEST(d["node_count"].get<int>() == 2);
  BOOST_TEST(d["op_types"]["Relu"].get<int>() == 1);
  BOOST_TEST(d["opset_import"]["ai.onnx"].get<std::string>() == "17");
}

BOOST_AUTO_TEST_CASE(probe_rejects_sentencepiece_and_random_bytes) {
  // SentencePiece ModelProto: repeated pieces (field 1, tag 0x0a).
  const std::string spm =
      lfield(1, lfield(1, "<unk>") + tag(2, 5) + std::string(4, '\0')) +
      lfield(1, lfield(1, "\xe2\x96\x81the") + tag(2, 5) + std::string(4, '\0'));
  BOOST_TEST(!probe_onnx(hfaudit::util::MemorySource(spm)));
  uint64_t state = 0x9E3779B97F4A7C15ull;
  for (int i = 0; i < 2000; ++i) {
    std::string random(64, '\0');
    for (auto& c : random) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      c = static_cast<char>(state >> 56);
    }
    random[0] = '\x08';  // give the random bytes the best chance
    BOOST_TEST(!probe_onnx(hfaudit::util::MemorySource(random)), "sample " << i);
  }
  BOOST_TEST(probe_onnx(hfaudit::util::MemorySource(valid_model())));
}

BOOST_AUTO_TEST_CASE(custom_domain_in_main_graph) {
  const FileReport r =
      scan(model(graph(lfield(1, node("Relu")) + lfield(1, node("Evil", "custom.ops")))));
  const Finding* f = find_rule(r, "onnx.custom_domain");
  BOOST_REQUIRE_MESSAGE(f, dump(r));
  BOOST_TEST((f->severity == Severity::medium));
  BOOST_TEST(f->subject == "custom.ops::Evil");
}

BOOST_AUTO_TEST_CASE(standard_and_contrib_domains_are_not_flagged) {
  std::string nodes;
  for (const char* d : {"ai.onnx", "ai.onnx.ml", "com.microsoft", "com.microsoft.nchwc",
                        "org.pytorch.aten", "ai.onnx.preview.training"})
    nodes += lfield(1, node("Op", d));
  const FileReport r = scan(model(graph(nodes)));
  BOOST_TEST(!has_rule(r, "onnx.custom_domain"), dump(r));
}

BOOST_AUTO_TEST_CASE(custom_domains_in_subgraphs_and_functions) {
  const std::string inner = graph(lfield(1, node("Hidden", "evil.domain")));
  // If node with then_branch (g).
  FileReport r =
      scan(model(graph(lfield(1, node("If", "", graph_attribute("then_branch", inner))))));
  BOOST_TEST(has_rule(r, "onnx.custom_domain", Severity::medium), dump(r));
  // Attribute with graphs (11), nested two levels.
  const std::string outer = graph(lfield(1, node("Loop", "", graph_attribute("body", inner, 11))));
  r = scan(model(graph(lfield(1, node("If", "", graph_attribute("else_branch", outer))))));
  BOOST_TEST(has_rule(r, "onnx.custom_domain", Severity::medium), dump(r));
  // A node inside a model-local function.
  const std::string function =
      lfield(1, "Fn") + lfield(10, "local") + lfield(7, node("Native", "native.lib"));
  r = scan(model(graph(lfield(1, node("Fn", "local"))), lfield(25, function)));
  const Finding* f = find_rule(r, "onnx.custom_domain");
  BOOST_REQUIRE_MESSAGE(f, dump(r));
  BOOST_TEST(f->subject == "native.lib::Native");
  // The call of the local function itself is not native code.
  for (const auto& finding : r.findings) BOOST_TEST(finding.subject != "local::Fn");
}

BOOST_AUTO_TEST_CASE(external_data_locations_are_checked_lexically) {
  struct Case {
    std::string location;
    bool escapes;
  };
  for (const Case& c :
       {Case{"/etc/passwd", true}, Case{"../secret.bin", true},
        Case{"weights/../../etc/passwd", true}, Case{"C:\\Windows\\x", true},
        Case{"c:relative", true}, Case{"weights\\..\\..\\x", true}, Case{"sub\\w.bin", true},
        Case{std::string("w.bin\0.txt", 10), true}, Case{"weights.bin", false},
        Case{"data/w.bin", false}, Case{"..weights.bin", false}, Case{"./w.bin", false}}) {
    const FileReport r =
        scan(model(graph(lfield(1, node("Relu")), lfield(5, external_tensor("w", c.location)))));
    BOOST_TEST(has_rule(r, "onnx.external_data_escape") == c.escapes, c.location << "\n"
                                                                                 << dump(r));
    if (c.escapes) BOOST_TEST(count_at_least(r, Severity::high, "onnx.external_data_escape") > 0u);
    const auto& ext = r.objects.at(0).details["external_data"];
    BOOST_REQUIRE(ext.size() == 1u);
    BOOST_TEST(ext[0]["location"].get<std::string>() == c.location);
    BOOST_TEST(ext[0]["length"].get<std::string>() == "16");
  }
  // Absolute and '..' paths are critical.
  const FileReport r =
      scan(model(graph(lfield(1, node("Relu")), lfield(5, external_tensor("w", "/etc/shadow")))));
  BOOST_TEST(has_rule(r, "onnx.external_data_escape", Severity::critical), dump(r));
}

BOOST_AUTO_TEST_CASE(external_data_in_attribute_tensors_is_checked) {
  const std::string attr =
      lfield(5, lfield(1, "value") + lfield(5, external_tensor("c", "../../x")));
  const FileReport r = scan(model(graph(lfield(1, node("Constant", "", attr)))));
  BOOST_TEST(has_rule(r, "onnx.external_data_escape", Severity::critical), dump(r));
}

BOOST_AUTO_TEST_CASE(invalid_tensors_are_reported) {
  // A negative dimension (int64 -1 as a varint).
  FileReport r = scan(model(graph(lfield(1, node("Relu")),
                                  lfield(5, tensor("w", {UINT64_MAX}, 1, std::string(4, '\0'))))));
  BOOST_TEST(has_rule(r, "onnx.tensor_invalid", Severity::medium), dump(r));
  // Marked external without a location.
  r = scan(model(graph(lfield(1, node("Relu")),
                       lfield(5, vfield(1, 4) + vfield(2, 1) + lfield(8, "w") + vfield(14, 1)))));
  BOOST_TEST(has_rule(r, "onnx.external_data_invalid", Severity::medium), dump(r));
}

BOOST_AUTO_TEST_CASE(raw_data_must_match_dims) {
  FileReport r = scan(model(
      graph(lfield(1, node("Relu")), lfield(5, tensor("w", {2, 2}, 1, std::string(12, '\0'))))));
  BOOST_TEST(has_rule(r, "onnx.raw_data_size", Severity::medium), dump(r));
  // INT4 [3] packs into 2 bytes.
  r = scan(
      model(graph(lfield(1, node("Relu")), lfield(5, tensor("q", {3}, 22, std::string(2, '\0'))))));
  BOOST_TEST(!has_rule(r, "onnx.raw_data_size"), dump(r));
}

BOOST_AUTO_TEST_CASE(malformed_protobuf_is_reported) {
  const std::string good = valid_model();
  std::vector<std::pair<std::string, std::string>> cases = {
      {"truncated varint",
       vfield(1, 8) + lfield(7, graph(lfield(1, node("Relu")))) + "\x28\xff\xff"},
      {"length past end", vfield(1, 8) + tag(7, 2) + varint(1000) + "abc"},
      {"wrong wire type", vfield(1, 8) + lfield(7, vfield(1, 5))},
      {"group", vfield(1, 8) + lfield(7, graph(lfield(1, node("Relu")))) + tag(30, 3)},
      {"bad wire type", vfield(1, 8) + lfield(7, graph(lfield(1, node("Relu")))) + tag(30, 7)},
  };
  std::string deep = graph(lfield(1, node("Relu")));
  for (int i = 0; i < 30; ++i) deep = graph(lfield(1, node("If", "", graph_attribute("g", deep))));
  cases.push_back({"too deep", model(deep)});
  for (const auto& [what, bytes] : cases) {
    const FileReport r = scan_as(bytes, "model.onnx", Format::onnx);
    BOOST_TEST(has_rule(r, "onnx.malformed", Severity::medium), what << "\n" << dump(r));
  }
}

BOOST_AUTO_TEST_CASE(every_truncation_and_byte_flip_is_handled) {
  const std::string full =
      model(graph(lfield(1, node("If", "", graph_attribute("g", graph(lfield(1, node("Relu")))))),
                  lfield(5, external_tensor("w", "w.bin"))));
  for (size_t n = 0; n < full.size(); ++n) {
    (void)scan_as(full.substr(0, n), "model.onnx", Format::onnx);
    (void)scan(full.substr(0, n));
  }
  for (size_t i = 0; i < full.size(); ++i) {
    for (unsigned char x : {0x80, 0xFF, 0x07}) {
      std::string bad = full;
      bad[i] = static_cast<char>(bad[i] ^ x);
      (void)scan_as(bad, "model.onnx", Format::onnx);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
