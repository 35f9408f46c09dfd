#include <boost/test/unit_test.hpp>

#include "scan/format_scanners.hpp"
#include "structured_test_util.hpp"

using namespace hfaudit::scan;
using namespace hfaudit::scan::test;

namespace {

FileReport scan_config(const std::string& json) {
  return scan_as(json, "config.json", Format::keras_config);
}

// A Keras 3 Functional config with the usual module / registered_name fields.
std::string functional(const std::string& extra_layers) {
  return R"({"module": "keras", "class_name": "Functional", "registered_name": "Functional",
  "config": {"name": "model", "trainable": true, "layers": [
    {"module": "keras.layers", "class_name": "InputLayer", "registered_name": null,
     "config": {"batch_shape": [null, 4], "dtype": "float32", "name": "input"}},
    {"module": "keras.layers", "class_name": "Dense", "registered_name": null,
     "config": {"name": "dense", "units": 2, "activation": "relu",
       "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null},
       "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null}, "registered_name": null}},
     "build_config": {"input_shape": [null, 4]}})" +
         extra_layers + R"(]},
  "build_config": {"input_shape": null},
  "compile_config": {"optimizer": {"module": "keras.optimizers", "class_name": "Adam", "config": {"learning_rate": 0.001}, "registered_name": null}, "loss": "mse"}})";
}

const std::string k_keras3_lambda =
    R"(, {"module": "keras.layers", "class_name": "Lambda", "registered_name": null,
      "config": {"name": "evil", "function": {"class_name": "__lambda__",
        "config": {"code": "4wEAAAAAAAAAAAAAAAEAAAADAAAAQwAAAHMMAAAAdABkAYMBAQB8AFMAKQJOegRlY2hvKQHaBXByaW50KQHaAXipAHIDAAAA+gE8bGFtYmRhPikB2gA=", "defaults": null, "closure": null}},
        "arguments": {}}})";

const std::string k_legacy_config =
    R"({"class_name": "Sequential", "config": {"name": "sequential", "layers": [
      {"class_name": "Dense", "config": {"name": "d", "units": 1}},
      {"class_name": "Lambda", "config": {"name": "lambda", "function": ["4wEAAAAAAAAAAAAAAAEAAAAEAAAAQwAAAHMOAAAAdABkAYMBAQB8AFMAKQJO", null, null],
        "function_type": "lambda", "module": "__main__", "output_shape": null, "output_shape_type": "raw", "arguments": {}}}]},
      "keras_version": "2.4.0", "backend": "tensorflow"})";

// ---- HDF5 files built by hand ------------------------------------------------
//
// Layout written by Hdf5Builder (what h5py writes by default: superblock v0,
// 8-byte offsets and lengths, version 1 object header for the root group):
//   0    superblock v0 (24 bytes) + base/free-space/EOF/driver addresses (32)
//   56   root symbol table entry: link name offset, object header address = 96,
//        cache type 0, reserved, 16-byte scratch pad
//   96   object header v1: version 1, reserved, message count, refcount,
//        header size, 4 padding bytes; then messages (type u16, size u16,
//        flags u8, 3 reserved, data padded to 8)
//   ...  optional continuation block (more v1 messages) and a global heap
//        collection ("GCOL", version 1, size, objects: index u16, refcount
//        u16, reserved u32, size u64, data padded to 8) for vlen strings.
// Attribute messages are version 1: name, datatype and dataspace each padded
// to 8 bytes; strings are datatype class 3 (fixed length, null-terminated) or
// class 9 (variable-length string, element = length u32 + heap address u64 +
// object index u32). Dataspaces are version 1 scalars.
class Hdf5Builder {
 public:
  void fixed_string(const std::string& name, const std::string& value, bool continued = false) {
    std::string dt;
    put_u8(dt, 0x13);  // class 3, version 1
    dt += std::string("\x00\x00\x00", 3);
    put_u32(dt, static_cast<uint32_t>(value.size()));
    attribute(name, dt, value, continued);
  }
  void vlen_string(const std::string& name, const std::string& value) {
    std::string dt;
    put_u8(dt, 0x19);                      // class 9, version 1
    dt += std::string("\x01\x00\x00", 3);  // type: string
    put_u32(dt, 16);
    dt += std::string("\x10\x00\x00\x00\x01\x00\x00\x00\x00\x00\x08\x00", 12);  // base: u8
    m_heap_objects.push_back(value);
    std::string element;
    put_u32(element, static_cast<uint32_t>(value.size()));
    m_heap_patches.push_back(m_messages.size() + 8 + 0);  // patched in build()
    element += std::string(8, '\0');                      // collection address, patched
    put_u32(element, static_cast<uint32_t>(m_heap_objects.size()));
    attribute(name, dt, element, false, true);
  }
  void integer(const std::string& name) {
    std::string dt;
    put_u8(dt, 0x10);  // class 0 fixed-point
    dt += std::string("\x00\x00\x00", 3);
    put_u32(dt, 4);
    dt += std::string("\x00\x00\x20\x00", 4);
    attribute(name, dt, std::string(4, '\x01'), false);
  }
  void raw_message(uint16_t type, const std::string& data) { message(m_messages, type, data); }

  std::string build() const {
    std::string out = "\x89HDF\r\n\x1a\n";
    out += std::string("\x00\x00\x00\x00\x00\x08\x08\x00", 8);
    put_u16(out, 4);
    put_u16(out, 16);
    put_u32(out, 0);
    put_u64(out, 0);           // base address
    put_u64(out, UINT64_MAX);  // free space
    const size_t eof_at = out.size();
    put_u64(out, 0);           // end of file, patched
    put_u64(out, UINT64_MAX);  // driver info
    put_u64(out, 0);           // link name offset
    put_u64(out, 96);          // root object header
    put_u32(out, 0);
    put_u32(out, 0);
    out += std::string(16, '\0');
    std::string messages = m_messages;
    const uint64_t header_end = 96 + 16 + messages.size() + (m_continued.empty() ? 0 : 32);
    if (!m_continued.empty()) {
      std::string cont;
      put_u64(cont, header_end);
      put_u64(cont, m_continued.size());
      cont += std::string(8, '\0');  // pad the message data to 24
      message(messages, 0x10, cont);
    }
    put_u8(out, 1);
    put_u8(out, 0);
    put_u16(out, 1);
    put_u32(out, 1);
    put_u32(out, static_cast<uint32_t>(messages.size()));
    put_u32(out, 0);
    const size_t messages_at = out.size();
    out += messages;
    out += m_continued;
    const uint64_t heap_at = out.size();
    if (!m_heap_objects.empty()) {
      std::string heap = "GCOL";
      put_u8(heap, 1);
      heap += std::string(3, '\0');
      std::string objects;
      for (size_t i = 0; i < m_heap_objects.size(); ++i) {
        put_u16(objects, static_cast<uint16_t>(i + 1));
        put_u16(objects, 1);
        put_u32(objects, 0);
        put_u64(objects, m_heap_objects[i].size());
        objects += m_heap_objects[i];
        while (objects.size() % 8) objects.push_back('\0');
      }
      put_u64(heap, 16 + objects.size());
      out += heap + objects;
      for (size_t patch : m_heap_patches)
        for (int b = 0; b < 8; ++b)
          out[messages_at + patch + static_cast<size_t>(b)] =
              static_cast<char>((heap_at >> (8 * b)) & 0xFF);
    }
    for (int b = 0; b < 8; ++b)
      out[eof_at + static_cast<size_t>(b)] = static_cast<char>((out.size() >> (8 * b)) & 0xFF);
    return out;
  }

 private:
  static void message(std::string& out, uint16_t type, std::string data) {
    while (data.size() % 8) data.push_back('\0');
    put_u16(out, type);
    put_u16(out, static_cast<uint16_t>(data.size()));
    put_u8(out, 0);
    out += std::string(3, '\0');
    out += data;
  }
  void attribute(const std::string& name, std::string dt, const std::string& value, bool continued,
                 bool vlen = false) {
    std::string data;
    put_u8(data, 1);
    put_u8(data, 0);
    put_u16(data, static_cast<uint16_t>(name.size() + 1));
    put_u16(data, static_cast<uint16_t>(dt.size()));
    put_u16(data, 8);
    std::string padded_name = name + '\0';
    while (padded_name.size() % 8) padded_name.push_back('\0');
    while (dt.size() % 8) dt.push_back('\0');
    data += padded_name + dt;
    data += std::string("\x01\x00\x00\x00\x00\x00\x00\x00", 8);  // scalar dataspace v1
    if (vlen) m_heap_patches.back() += data.size() + 4;          // offset of the heap address
    data += value;
    message(continued ? m_continued : m_messages, 0x0C, data);
  }

  std::string m_messages;
  std::string m_continued;
  std::vector<std::string> m_heap_objects;
  std::vector<size_t> m_heap_patches;  // offsets (within messages) of heap addresses
};

// Superblock v2 + "OHDR" v2 object header with one version 3 attribute.
std::string hdf5_v2(const std::string& name, const std::string& value, bool dense = false) {
  std::string out = "\x89HDF\r\n\x1a\n";
  out += std::string("\x02\x08\x08\x00", 4);
  put_u64(out, 0);
  put_u64(out, UINT64_MAX);
  const size_t eof_at = out.size();
  put_u64(out, 0);
  put_u64(out, 48);
  put_u32(out, 0);  // checksum (not verified)
  std::string msgs;
  std::string attr;
  put_u8(attr, 3);
  put_u8(attr, 0);
  put_u16(attr, static_cast<uint16_t>(name.size() + 1));
  put_u16(attr, 8);
  put_u16(attr, 4);
  put_u8(attr, 0);
  attr += name + '\0';
  put_u8(attr, 0x13);
  attr += std::string("\x00\x00\x00", 3);
  put_u32(attr, static_cast<uint32_t>(value.size()));
  attr += std::string("\x02\x00\x00\x00", 4);  // dataspace v2, scalar
  attr += value;
  put_u8(msgs, 0x0C);
  put_u16(msgs, static_cast<uint16_t>(attr.size()));
  put_u8(msgs, 0);
  msgs += attr;
  if (dense) {
    std::string info;
    put_u8(info, 0);
    put_u8(info, 0);
    put_u64(info, 4096);  // fractal heap address
    put_u64(info, 8192);  // name index B-tree
    put_u8(msgs, 0x15);
    put_u16(msgs, static_cast<uint16_t>(info.size()));
    put_u8(msgs, 0);
    msgs += info;
  }
  out += "OHDR";
  put_u8(out, 2);
  put_u8(out, 2);  // flags: chunk size is 4 bytes
  put_u32(out, static_cast<uint32_t>(msgs.size()));
  out += msgs;
  put_u32(out, 0);  // checksum
  for (int b = 0; b < 8; ++b)
    out[eof_at + static_cast<size_t>(b)] = static_cast<char>((out.size() >> (8 * b)) & 0xFF);
  return out;
}

std::string benign_legacy_config() {
  return R"({"class_name": "Sequential", "config": {"name": "s", "layers": [{"class_name": "Dense", "config": {"name": "d", "units": 1}}]}})";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(keras_test)

BOOST_AUTO_TEST_CASE(benign_keras3_config_is_clean_and_described) {
  const FileReport r = scan_config(functional(""));
  BOOST_TEST(count_at_least(r, Severity::low) == 0u, dump(r));
  const auto& d = r.objects.at(0).details;
  BOOST_TEST(d["class_name"].get<std::string>() == "Functional");
  BOOST_TEST(d["layer_count"].get<int>() == 2);
  BOOST_TEST(d["layer_classes"]["Dense"].get<int>() == 1);
}

BOOST_AUTO_TEST_CASE(keras3_lambda_with_code_is_critical) {
  const FileReport r = scan_config(functional(k_keras3_lambda));
  const Finding* f = find_rule(r, "keras.lambda");
  BOOST_REQUIRE_MESSAGE(f, dump(r));
  BOOST_TEST((f->severity == Severity::critical));
  BOOST_TEST(f->subject == "evil");
}

BOOST_AUTO_TEST_CASE(legacy_lambda_with_code_is_critical) {
  const FileReport r = scan_config(k_legacy_config);
  BOOST_TEST(has_rule(r, "keras.lambda", Severity::critical), dump(r));
  BOOST_TEST(r.objects.at(0).details["keras_version"].get<std::string>() == "2.4.0");
}

BOOST_AUTO_TEST_CASE(lambda_naming_a_function_is_high) {
  const std::string layer =
      R"(, {"module": "keras.layers", "class_name": "Lambda", "config": {"name": "l",
         "function": {"module": "builtins", "class_name": "function", "config": "exec", "registered_name": "function"}}})";
  const FileReport r = scan_config(functional(layer));
  BOOST_TEST(has_rule(r, "keras.lambda", Severity::high), dump(r));
  BOOST_TEST(has_rule(r, "keras.custom_object", Severity::high), dump(r));
}

BOOST_AUTO_TEST_CASE(lambdas_in_wrappers_and_nested_models_are_found) {
  const std::string nested =
      R"(, {"class_name": "Bidirectional", "config": {"name": "bi",
           "layer": {"class_name": "LSTM", "config": {"name": "lstm"}},
           "backward_layer": {"class_name": "TimeDistributed", "config": {"name": "td",
             "layer": {"class_name": "Sequential", "config": {"name": "inner", "layers": [
               {"class_name": "Lambda", "config": {"name": "deep", "function": {"class_name": "__lambda__", "config": {"code": "AAAA"}}}}]}}}}}})";
  const FileReport r = scan_config(functional(nested));
  const Finding* f = find_rule(r, "keras.lambda");
  BOOST_REQUIRE_MESSAGE(f, dump(r));
  BOOST_TEST((f->severity == Severity::critical));
  BOOST_TEST(f->subject == "deep");
  // A serialized lambda anywhere (e.g. as an activation) is code too.
  const FileReport a = scan_config(functional(
      R"(, {"class_name": "Dense", "config": {"name": "x", "activation": {"class_name": "__lambda__", "config": {"code": "AAAA"}}}})"));
  BOOST_TEST(has_rule(a, "keras.lambda", Severity::critical), dump(a));
}

BOOST_AUTO_TEST_CASE(custom_modules_are_flagged) {
  struct Case {
    std::string field;
    Severity severity;
  };
  for (const Case& c : {Case{R"("module": "my_package.layers")", Severity::medium},
                        Case{R"("module": "os")", Severity::high},
                        Case{R"("module": "subprocess")", Severity::high},
                        Case{R"("fn_module": "builtins")", Severity::high},
                        Case{R"("registered_name": "MyPackage>CustomLayer")", Severity::medium}}) {
    const FileReport r = scan_config(functional(R"(, {"class_name": "CustomLayer", )" + c.field +
                                                R"(, "config": {"name": "c"}})"));
    BOOST_TEST(has_rule(r, "keras.custom_object", c.severity), c.field << "\n" << dump(r));
  }
  const FileReport ok = scan_config(functional(
      R"(, {"module": "tf_keras.layers", "class_name": "Dense", "registered_name": "Dense", "config": {"name": "c"}})"));
  BOOST_TEST(!has_rule(ok, "keras.custom_object"), dump(ok));
}

BOOST_AUTO_TEST_CASE(tf_op_lambda_is_medium) {
  const FileReport r = scan_config(functional(
      R"(, {"class_name": "TFOpLambda", "config": {"name": "tf.math.add", "function": "math.add"}})"));
  BOOST_TEST(has_rule(r, "keras.tf_op_lambda", Severity::medium), dump(r));
}

BOOST_AUTO_TEST_CASE(load_model_with_safe_mode_false_is_critical) {
  const std::string layer =
      R"(, {"module": "keras.layers", "class_name": "Lambda", "config": {"name": "l",
         "function": {"module": "keras.models", "class_name": "function", "config": "load_model", "registered_name": "function"},
         "arguments": {"filepath": "/tmp/evil.keras", "safe_mode": false}}})";
  FileReport r = scan_config(functional(layer));
  BOOST_TEST(has_rule(r, "keras.safe_mode_bypass", Severity::critical), dump(r));
  r = scan_config(functional(
      R"(, {"class_name": "Lambda", "config": {"name": "l", "function": "keras.saving.load_model"}})"));
  BOOST_TEST(has_rule(r, "keras.safe_mode_bypass", Severity::high), dump(r));
  BOOST_TEST(!has_rule(r, "keras.safe_mode_bypass", Severity::critical), dump(r));
}

BOOST_AUTO_TEST_CASE(invalid_json_is_malformed) {
  for (const char* bad : {"{\"class_name\": ", "[1, 2]", "not json"}) {
    const FileReport r = scan_config(bad);
    BOOST_TEST(has_rule(r, "keras.malformed", Severity::medium), bad << "\n" << dump(r));
  }
  std::string deep = "{\"a\":";
  for (int i = 0; i < 5000; ++i) deep += "[";
  for (int i = 0; i < 5000; ++i) deep += "]";
  deep += "}";
  const FileReport r = scan_config(deep);
  BOOST_TEST(has_rule(r, "keras.malformed", Severity::medium), dump(r));
}

BOOST_AUTO_TEST_CASE(hdf5_model_config_is_extracted_and_scanned) {
  Hdf5Builder b;
  b.fixed_string("model_config", k_legacy_config);
  b.fixed_string("keras_version", "2.4.0");
  b.vlen_string("backend", "tensorflow");
  const FileReport r = scan_bytes(b.build(), "model.h5");
  BOOST_TEST((r.format == Format::hdf5));
  const Finding* f = find_rule(r, "keras.lambda");
  BOOST_REQUIRE_MESSAGE(f, dump(r));
  BOOST_TEST((f->severity == Severity::critical));
  BOOST_TEST(f->member == "model_config");
  const auto& d = r.objects.at(0).details;
  BOOST_TEST(d["keras_version"].get<std::string>() == "2.4.0");
  BOOST_TEST(d["backend"].get<std::string>() == "tensorflow");
  BOOST_TEST(count_at_least(r, Severity::medium, "hdf5.") == 0u, dump(r));
}

BOOST_AUTO_TEST_CASE(hdf5_variable_length_and_continued_attributes) {
  Hdf5Builder vlen;
  vlen.vlen_string("model_config", k_legacy_config);
  FileReport r = scan_bytes(vlen.build(), "model.h5");
  BOOST_TEST(has_rule(r, "keras.lambda", Severity::critical), dump(r));

  Hdf5Builder cont;
  cont.fixed_string("keras_version", "2.4.0");
  cont.fixed_string("model_config", k_legacy_config, /*continued=*/true);
  r = scan_bytes(cont.build(), "model.h5");
  BOOST_TEST(has_rule(r, "keras.lambda", Severity::critical), dump(r));
}

BOOST_AUTO_TEST_CASE(hdf5_superblock_v2_with_v2_object_header) {
  FileReport r = scan_bytes(hdf5_v2("model_config", k_legacy_config), "model.h5");
  BOOST_TEST(has_rule(r, "keras.lambda", Severity::critical), dump(r));
  r = scan_bytes(hdf5_v2("model_config", benign_legacy_config()), "model.h5");
  BOOST_TEST(count_at_least(r, Severity::low) == 0u, dump(r));
}

BOOST_AUTO_TEST_CASE(hdf5_benign_and_weights_only) {
  Hdf5Builder b;
  b.fixed_string("model_config", benign_legacy_config());
  FileReport r = scan_bytes(b.build(), "model.h5");
  BOOST_TEST(count_at_least(r, Severity::low) == 0u, dump(r));
  BOOST_TEST(r.objects.size() == 2u);

  Hdf5Builder w;
  w.fixed_string("keras_version", "3.3.3");
  r = scan_bytes(w.build(), "model.weights.h5");
  BOOST_TEST(has_rule(r, "hdf5.weights_only", Severity::info), dump(r));
  BOOST_TEST(count_at_least(r, Severity::low) == 0u, dump(r));
}

BOOST_AUTO_TEST_CASE(hdf5_unsupported_features_are_not_clean) {
  FileReport r = scan_bytes(hdf5_v2("keras_version", "3.0", /*dense=*/true), "model.h5");
  BOOST_TEST(has_rule(r, "hdf5.unsupported", Severity::medium), dump(r));
  BOOST_TEST(!has_rule(r, "hdf5.weights_only"), dump(r));

  Hdf5Builder b;
  b.integer("model_config");
  r = scan_bytes(b.build(), "model.h5");
  BOOST_TEST(has_rule(r, "hdf5.unsupported_attribute", Severity::medium), dump(r));
}

BOOST_AUTO_TEST_CASE(hdf5_malformed_structures_are_reported) {
  Hdf5Builder b;
  b.fixed_string("model_config", benign_legacy_config());
  std::string file = b.build();
  std::string bad = file;
  bad[8] = 9;  // superblock version
  BOOST_TEST(has_rule(scan_bytes(bad, "m.h5"), "hdf5.malformed", Severity::medium));
  bad = file;
  bad[71] = '\x7f';  // root object header address far past the end
  BOOST_TEST(has_rule(scan_bytes(bad, "m.h5"), "hdf5.malformed", Severity::medium));
  // A continuation pointing at itself.
  Hdf5Builder loop;
  std::string cont;
  put_u64(cont, 96 + 16);
  put_u64(cont, 32);
  cont += std::string(8, '\0');
  loop.raw_message(0x10, cont);
  const FileReport r = scan_bytes(loop.build(), "m.h5");
  BOOST_TEST(has_rule(r, "hdf5.malformed", Severity::medium), dump(r));
}

BOOST_AUTO_TEST_CASE(hdf5_every_truncation_and_byte_flip_is_handled) {
  Hdf5Builder b;
  b.fixed_string("keras_version", "2.4.0");
  b.vlen_string("backend", "tensorflow");
  b.fixed_string("model_config", benign_legacy_config(), true);
  const std::string full = b.build();
  for (size_t n = 0; n < full.size(); ++n) {
    const FileReport r = scan_as(full.substr(0, n), "m.h5", Format::hdf5);
    BOOST_TEST(count_at_least(r, Severity::medium) > 0u, "prefix " << n);
  }
  for (size_t i = 0; i < full.size(); ++i) {
    for (unsigned char x : {0x80, 0xFF, 0x01}) {
      std::string bad = full;
      bad[i] = static_cast<char>(bad[i] ^ x);
      (void)scan_as(bad, "m.h5", Format::hdf5);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
