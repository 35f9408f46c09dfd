// ONNX: a protobuf wire-format walk of ModelProto that reads only field
// headers, names, domains and external-data entries. Why not libonnx / the
// protobuf runtime: parsing a ModelProto with protobuf materialises every
// initializer (a 2 GB model costs 2 GB of RAM before a single check runs),
// and onnx's checker is exactly what the external-data CVEs bypassed
// (CVE-2022-25882, CVE-2024-27318). Here `raw_data` and every other payload
// we do not need is skipped by its length, so memory stays flat whatever the
// model size. See shared/reference/model-file-threats.md section 6.
//
// Field numbers follow onnx/onnx.proto (checked against the proto text):
//   ModelProto     ir_version=1 producer_name=2 producer_version=3 domain=4
//                  model_version=5 doc_string=6 graph=7 opset_import=8
//                  metadata_props=14 training_info=20 functions=25
//                  configuration=26
//   GraphProto     node=1 name=2 initializer=5 doc_string=10 input=11 output=12
//                  value_info=13 quantization_annotation=14
//                  sparse_initializer=15 metadata_props=16
//   NodeProto      input=1 output=2 name=3 op_type=4 attribute=5 doc_string=6
//                  domain=7 overload=8 metadata_props=9
//   AttributeProto name=1 f=2 i=3 s=4 t=5 g=6 floats=7 ints=8 strings=9
//                  tensors=10 graphs=11 doc_string=13 tp=14 type_protos=15
//                  type=20 ref_attr_name=21 sparse_tensor=22 sparse_tensors=23
//   TensorProto    dims=1 data_type=2 segment=3 float_data=4 int32_data=5
//                  string_data=6 int64_data=7 name=8 raw_data=9 double_data=10
//                  uint64_data=11 doc_string=12 external_data=13
//                  data_location=14 metadata_props=16
//   SparseTensorProto values=1 indices=2 dims=3
//   FunctionProto  name=1 input=4 output=5 attribute=6 node=7 doc_string=8
//                  opset_import=9 domain=10 attribute_proto=11 value_info=12
//                  overload=13 metadata_props=14. (node is 7: field 3 is the
//                  reserved, removed `status`.)
//   TrainingInfoProto initialization=1 algorithm=2 (both GraphProto)
//   OperatorSetIdProto domain=1 version=2; StringStringEntryProto key=1 value=2
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "scan/format_scanners.hpp"
#include "util/stream_reader.hpp"

namespace hfaudit::scan {

namespace {

constexpr int k_max_depth = 64;  // message nesting (protobuf's own default is 100)
constexpr size_t k_max_string = 4096;
constexpr size_t k_max_histogram = 500;
constexpr size_t k_max_listed_external = 10'000;
constexpr size_t k_max_custom_reports = 100;
constexpr size_t k_max_packed_dims = 64;

enum Wire : uint32_t {
  w_varint = 0,
  w_fixed64 = 1,
  w_len = 2,
  w_sgroup = 3,
  w_egroup = 4,
  w_fixed32 = 5
};

// Domains whose operators ship with ONNX, ONNX Runtime or the PyTorch
// exporter; anything else needs a native custom-op library at load time.
constexpr std::string_view k_standard_domains[] = {
    "",
    "ai.onnx",
    "ai.onnx.ml",
    "ai.onnx.training",
    "ai.onnx.preview.training",
    "com.microsoft",
    "com.microsoft.nchwc",
    "com.microsoft.experimental",
    "com.ms.internal.nhwc",
    "org.pytorch.aten",
};

bool is_standard_domain(std::string_view d) {
  return std::find(std::begin(k_standard_domains), std::end(k_standard_domains), d) !=
         std::end(k_standard_domains);
}

// Bits per element of TensorProto.DataType; 0 when raw_data does not apply
// (STRING, UNDEFINED) or the type is unknown. 25/26 (UINT2/INT2) are recent
// additions (onnx 1.20); unsure of their exact number, so they are not sized.
uint32_t element_bits(uint64_t data_type) {
  switch (data_type) {
    case 1:   // FLOAT
    case 6:   // INT32
    case 12:  // UINT32
      return 32;
    case 2:   // UINT8
    case 3:   // INT8
    case 9:   // BOOL
    case 17:  // FLOAT8E4M3FN
    case 18:  // FLOAT8E4M3FNUZ
    case 19:  // FLOAT8E5M2
    case 20:  // FLOAT8E5M2FNUZ
    case 24:  // FLOAT8E8M0
      return 8;
    case 4:   // UINT16
    case 5:   // INT16
    case 10:  // FLOAT16
    case 16:  // BFLOAT16
      return 16;
    case 7:   // INT64
    case 11:  // DOUBLE
    case 13:  // UINT64
    case 14:  // COMPLEX64
      return 64;
    case 15:  // COMPLEX128
      return 128;
    case 21:  // UINT4
    case 22:  // INT4
    case 23:  // FLOAT4E2M1
      return 4;
    default:
      return 0;
  }
}

struct Field {
  uint32_t number = 0;
  uint32_t wire = 0;
  uint64_t value = 0;  // the varint / fixed value, or the payload length
  uint64_t start = 0;  // payload offset for length-delimited fields
  uint64_t tag_offset = 0;
};

// Sequential protobuf reader over a ByteSource; errors latch.
class WireReader {
 public:
  explicit WireReader(const util::ByteSource& src) : m_in(src) {}

  bool failed() const { return m_failed; }
  const std::string& error() const { return m_error; }
  uint64_t error_offset() const { return m_error_offset; }
  uint64_t position() const { return m_in.position(); }
  void seek(uint64_t pos) { m_in.seek(pos); }

  void fail(const std::string& message, uint64_t offset) {
    if (m_failed) return;
    m_failed = true;
    m_error = message;
    m_error_offset = offset;
  }

  bool read_varint(uint64_t& out) {
    out = 0;
    const uint64_t start = m_in.position();
    for (int shift = 0; shift < 70; shift += 7) {
      uint8_t b = 0;
      if (!m_in.read_u8(b)) {
        fail("truncated varint", start);
        return false;
      }
      if (shift == 63 && (b & 0x7E) != 0) break;
      out |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return true;
    }
    fail("varint longer than 10 bytes", start);
    return false;
  }

  // Reads the next field of a message ending at `end`. Scalar payloads are
  // consumed; for length-delimited ones the position is left at the payload.
  bool next(uint64_t end, Field& f) {
    f = Field{};
    f.tag_offset = m_in.position();
    uint64_t tag = 0;
    if (!read_varint(tag)) return false;
    f.number = static_cast<uint32_t>(tag >> 3);
    f.wire = static_cast<uint32_t>(tag & 7);
    if ((tag >> 3) == 0 || (tag >> 3) > 0x1FFFFFFF) {
      fail("invalid field number", f.tag_offset);
      return false;
    }
    switch (f.wire) {
      case w_varint:
        if (!read_varint(f.value)) return false;
        break;
      case w_fixed64:
        if (!m_in.read_u64le(f.value)) {
          fail("truncated fixed64 field", f.tag_offset);
          return false;
        }
        break;
      case w_fixed32: {
        uint32_t v = 0;
        if (!m_in.read_u32le(v)) {
          fail("truncated fixed32 field", f.tag_offset);
          return false;
        }
        f.value = v;
        break;
      }
      case w_len:
        if (!read_varint(f.value)) return false;
        f.start = m_in.position();
        if (f.start > end || f.value > end - f.start) {
          fail("field " + std::to_string(f.number) + " claims " + std::to_string(f.value) +
                   " bytes, past the end of its message",
               f.tag_offset);
          return false;
        }
        break;
      case w_sgroup:
      case w_egroup:
        // Groups are deprecated and never used by ONNX; a parser that accepts
        // them skips data this walk would not see.
        fail("protobuf group in field " + std::to_string(f.number), f.tag_offset);
        return false;
      default:
        fail("invalid wire type " + std::to_string(f.wire), f.tag_offset);
        return false;
    }
    if (m_in.position() > end) {
      fail("field " + std::to_string(f.number) + " runs past the end of its message", f.tag_offset);
      return false;
    }
    return true;
  }

  // The payload of a length-delimited field, truncated to `max` bytes.
  std::string read_string(const Field& f, size_t max = k_max_string) {
    std::string out;
    m_in.seek(f.start);
    if (!m_in.read_bytes(std::min<uint64_t>(f.value, max), out)) fail("truncated string", f.start);
    m_in.seek(f.start + f.value);
    return out;
  }

 private:
  util::StreamReader m_in;
  bool m_failed = false;
  std::string m_error;
  uint64_t m_error_offset = 0;
};

struct ExternalRef {
  std::string tensor;
  std::string location;
  std::string offset;
  std::string length;
};

// Why a location escapes the model directory, judged on the text alone (the
// scan engine has bytes and a name, not the directory: symlinks and the
// existence of the file are left to a later stage that has the snapshot).
// Returns the severity and reason, or nullopt when the path stays inside.
std::optional<std::pair<Severity, std::string>> location_escape(std::string_view loc) {
  if (loc.find('\0') != std::string_view::npos)
    return std::pair{Severity::high, std::string("contains a NUL byte")};
  if (!loc.empty() && (loc.front() == '/' || loc.front() == '\\'))
    return std::pair{Severity::critical, std::string("is an absolute path")};
  if (loc.size() >= 2 && loc[1] == ':' &&
      ((loc[0] >= 'a' && loc[0] <= 'z') || (loc[0] >= 'A' && loc[0] <= 'Z')))
    return std::pair{Severity::critical, std::string("starts with a drive letter")};
  size_t begin = 0;
  while (begin <= loc.size()) {
    const size_t sep = loc.find_first_of("/\\", begin);
    const size_t end = sep == std::string_view::npos ? loc.size() : sep;
    if (loc.substr(begin, end - begin) == "..")
      return std::pair{Severity::critical, std::string("has a '..' component")};
    if (sep == std::string_view::npos) break;
    begin = sep + 1;
  }
  if (loc.find('\\') != std::string_view::npos)
    return std::pair{Severity::high,
                     std::string("uses backslashes, which Windows reads as separators")};
  return std::nullopt;
}

class OnnxScanner {
 public:
  OnnxScanner(ScanContext& ctx, const util::ByteSource& bytes)
      : m_ctx(ctx), m_bytes(bytes), m_in(bytes) {}

  void run();

 private:
  // A known field with the wrong wire type: protobuf would reject the model
  // or, worse, parse it differently from this walk.
  bool expect(const Field& f, std::initializer_list<uint32_t> wires, std::string_view message) {
    for (uint32_t w : wires)
      if (f.wire == w) return true;
    m_in.fail(std::string(message) + " field " + std::to_string(f.number) + " has wire type " +
                  std::to_string(f.wire),
              f.tag_offset);
    return false;
  }
  bool enter(int depth, uint64_t offset) {
    if (depth > k_max_depth) {
      m_in.fail("messages nest deeper than " + std::to_string(k_max_depth) + " levels", offset);
      return false;
    }
    return true;
  }
  // After a length-delimited field, continue right after its payload.
  void finish(const Field& f) {
    if (!m_in.failed()) m_in.seek(f.start + f.value);
  }

  void walk_model();
  void walk_graph(uint64_t end, int depth, bool main_graph);
  void walk_node(uint64_t end, int depth, bool in_function);
  void walk_attribute(uint64_t end, int depth);
  void walk_tensor(uint64_t end, int depth);
  void walk_sparse_tensor(uint64_t end, int depth);
  void walk_function(uint64_t end, int depth);
  void walk_training_info(uint64_t end, int depth);
  std::pair<std::string, std::string> read_pair(uint64_t end);  // key/value or domain/version
  void report_custom_domains();

  ScanContext& m_ctx;
  const util::ByteSource& m_bytes;
  WireReader m_in;
  uint64_t m_node_count = 0;
  uint64_t m_main_nodes = 0;
  uint64_t m_initializers = 0;
  std::map<std::string, uint64_t> m_op_types;
  bool m_op_types_truncated = false;
  // (domain, op_type) of nodes in non-standard domains, with counts.
  std::map<std::pair<std::string, std::string>, uint64_t> m_custom_ops;
  std::set<std::pair<std::string, std::string>> m_local_functions;
  std::vector<ExternalRef> m_external;
  uint64_t m_external_count = 0;
  size_t m_escape_reports = 0;
};

void OnnxScanner::walk_model() {
  auto& details = m_ctx.details();
  const uint64_t end = m_bytes.size();
  nlohmann::json opsets = nlohmann::json::object();
  nlohmann::json metadata = nlohmann::json::object();
  Field f;
  while (!m_in.failed() && m_in.position() < end && m_in.next(end, f)) {
    switch (f.number) {
      case 1:
        if (expect(f, {w_varint}, "ModelProto.ir_version")) details["ir_version"] = f.value;
        break;
      case 2:
      case 3:
      case 4:
        if (expect(f, {w_len}, "ModelProto string"))
          details[f.number == 2   ? "producer_name"
                  : f.number == 3 ? "producer_version"
                                  : "domain"] = m_in.read_string(f, 256);
        break;
      case 5:
        expect(f, {w_varint}, "ModelProto.model_version");
        break;
      case 7:
        if (expect(f, {w_len}, "ModelProto.graph")) walk_graph(f.start + f.value, 1, true);
        finish(f);
        break;
      case 8:
        if (expect(f, {w_len}, "ModelProto.opset_import")) {
          auto [domain, version] = read_pair(f.start + f.value);
          if (opsets.size() < 100) opsets[domain.empty() ? "ai.onnx" : domain] = version;
        }
        finish(f);
        break;
      case 14:
        if (expect(f, {w_len}, "ModelProto.metadata_props")) {
          auto [key, value] = read_pair(f.start + f.value);
          if (metadata.size() < 100) metadata[key] = value.substr(0, 1024);
        }
        finish(f);
        break;
      case 20:
        if (expect(f, {w_len}, "ModelProto.training_info"))
          walk_training_info(f.start + f.value, 1);
        finish(f);
        break;
      case 25:
        if (expect(f, {w_len}, "ModelProto.functions")) walk_function(f.start + f.value, 1);
        finish(f);
        break;
      default:
        if (f.wire == w_len) finish(f);
        break;
    }
  }
  details["opset_import"] = std::move(opsets);
  if (!metadata.empty()) details["metadata_props"] = std::move(metadata);
}

std::pair<std::string, std::string> OnnxScanner::read_pair(uint64_t end) {
  std::pair<std::string, std::string> out;
  Field f;
  while (!m_in.failed() && m_in.position() < end && m_in.next(end, f)) {
    if (f.number == 1 && expect(f, {w_len}, "key/domain")) {
      out.first = m_in.read_string(f);
    } else if (f.number == 2 && f.wire == w_varint) {
      out.second = std::to_string(f.value);  // OperatorSetIdProto.version
    } else if (f.number == 2 && expect(f, {w_len, w_varint}, "value")) {
      out.second = m_in.read_string(f);
    } else if (f.wire == w_len) {
      finish(f);
    }
  }
  return out;
}

void OnnxScanner::walk_training_info(uint64_t end, int depth) {
  if (!enter(depth, m_in.position())) return;
  Field f;
  while (!m_in.failed() && m_in.position() < end && m_in.next(end, f)) {
    if ((f.number == 1 || f.number == 2) && expect(f, {w_len}, "TrainingInfoProto graph"))
      walk_graph(f.start + f.value, depth + 1, false);
    if (f.wire == w_len) finish(f);
  }
}

void OnnxScanner::walk_graph(uint64_t end, int depth, bool main_graph) {
  if (!enter(depth, m_in.position())) return;
  Field f;
  while (!m_in.failed() && m_in.position() < end && m_in.next(end, f)) {
    switch (f.number) {
      case 1:
        if (expect(f, {w_len}, "GraphProto.node")) {
          if (main_graph) ++m_main_nodes;
          walk_node(f.start + f.value, depth + 1, false);
        }
        break;
      case 5:
        if (expect(f, {w_len}, "GraphProto.initializer")) {
          ++m_initializers;
          walk_tensor(f.start + f.value, depth + 1);
        }
        break;
      case 15:
        if (expect(f, {w_len}, "GraphProto.sparse_initializer")) {
          ++m_initializers;
          walk_sparse_tensor(f.start + f.value, depth + 1);
        }
        break;
      case 2:
      case 10:
      case 11:
      case 12:
      case 13:
      case 14:
      case 16:
        expect(f, {w_len}, "GraphProto");
        break;
      default:
        break;
    }
    if (f.wire == w_len) finish(f);
  }
}

void OnnxScanner::walk_node(uint64_t end, int depth, bool in_function) {
  if (!enter(depth, m_in.position())) return;
  (void)in_function;
  ++m_node_count;
  std::string op_type;
  std::string domain;
  Field f;
  while (!m_in.failed() && m_in.position() < end && m_in.next(end, f)) {
    switch (f.number) {
      case 4:
        if (expect(f, {w_len}, "NodeProto.op_type")) op_type = m_in.read_string(f, 256);
        break;
      case 7:
        if (expect(f, {w_len}, "NodeProto.domain")) domain = m_in.read_string(f, 256);
        break;
      case 5:
        if (expect(f, {w_len}, "NodeProto.attribute")) walk_attribute(f.start + f.value, depth + 1);
        break;
      case 1:
      case 2:
      case 3:
      case 6:
      case 8:
      case 9:
        expect(f, {w_len}, "NodeProto");
        break;
      default:
        break;
    }
    if (f.wire == w_len) finish(f);
  }
  const std::string key = domain.empty() || domain == "ai.onnx" ? op_type : domain + "::" + op_type;
  if (m_op_types.size() < k_max_histogram || m_op_types.count(key))
    ++m_op_types[key];
  else
    m_op_types_truncated = true;
  if (!is_standard_domain(domain) && m_custom_ops.size() < 10'000)
    ++m_custom_ops[{domain, op_type}];
}

void OnnxScanner::walk_attribute(uint64_t end, int depth) {
  if (!enter(depth, m_in.position())) return;
  Field f;
  while (!m_in.failed() && m_in.position() < end && m_in.next(end, f)) {
    switch (f.number) {
      case 5:
      case 10:
        if (expect(f, {w_len}, "AttributeProto tensor")) walk_tensor(f.start + f.value, depth + 1);
        break;
      case 6:
      case 11:
        // Subgraphs of If / Loop / Scan (and any custom op taking a graph).
        if (expect(f, {w_len}, "AttributeProto graph"))
          walk_graph(f.start + f.value, depth + 1, false);
        break;
      case 22:
      case 23:
        if (expect(f, {w_len}, "AttributeProto sparse tensor"))
          walk_sparse_tensor(f.start + f.value, depth + 1);
        break;
      case 2:
        expect(f, {w_fixed32}, "AttributeProto.f");
        break;
      case 3:
      case 20:
        expect(f, {w_varint}, "AttributeProto");
        break;
      case 7:
        expect(f, {w_fixed32, w_len}, "AttributeProto.floats");
        break;
      case 8:
        expect(f, {w_varint, w_len}, "AttributeProto.ints");
        break;
      case 1:
      case 4:
      case 9:
      case 13:
      case 14:
      case 15:
      case 21:
        expect(f, {w_len}, "AttributeProto");
        break;
      default:
        break;
    }
    if (f.wire == w_len) finish(f);
  }
}

void OnnxScanner::walk_sparse_tensor(uint64_t end, int depth) {
  if (!enter(depth, m_in.position())) return;
  Field f;
  while (!m_in.failed() && m_in.position() < end && m_in.next(end, f)) {
    if ((f.number == 1 || f.number == 2) && expect(f, {w_len}, "SparseTensorProto tensor"))
      walk_tensor(f.start + f.value, depth + 1);
    else if (f.number == 3)
      expect(f, {w_varint, w_len}, "SparseTensorProto.dims");
    if (f.wire == w_len) finish(f);
  }
}

void OnnxScanner::walk_tensor(uint64_t end, int depth) {
  if (!enter(depth, m_in.position())) return;
  const uint64_t tensor_offset = m_in.position();
  std::vector<uint64_t> dims;
  bool dims_invalid = false;
  uint64_t data_type = 0;
  std::string name;
  bool has_raw = false;
  uint64_t raw_size = 0;
  uint64_t data_location = 0;
  std::vector<std::pair<std::string, std::string>> external;
  Field f;
  const auto add_dim = [&](uint64_t d) {
    // int64 on the wire: a negative dimension arrives as a huge varint.
    if (d > static_cast<uint64_t>(INT64_MAX)) dims_invalid = true;
    if (dims.size() < k_max_packed_dims)
      dims.push_back(d);
    else
      dims_invalid = true;
  };
  while (!m_in.failed() && m_in.position() < end && m_in.next(end, f)) {
    switch (f.number) {
      case 1:
        if (!expect(f, {w_varint, w_len}, "TensorProto.dims")) break;
        if (f.wire == w_varint) {
          add_dim(f.value);
        } else {
          const uint64_t packed_end = f.start + f.value;
          uint64_t d = 0;
          while (!m_in.failed() && m_in.position() < packed_end && m_in.read_varint(d)) add_dim(d);
          if (m_in.position() > packed_end) m_in.fail("packed dims overrun", f.start);
        }
        break;
      case 2:
        if (expect(f, {w_varint}, "TensorProto.data_type")) data_type = f.value;
        break;
      case 8:
        if (expect(f, {w_len}, "TensorProto.name")) name = m_in.read_string(f, 256);
        break;
      case 9:
        // raw_data: only its length is used; the bytes are skipped.
        if (expect(f, {w_len}, "TensorProto.raw_data")) {
          has_raw = true;
          raw_size = f.value;
        }
        break;
      case 13:
        if (expect(f, {w_len}, "TensorProto.external_data"))
          external.push_back(read_pair(f.start + f.value));
        break;
      case 14:
        if (expect(f, {w_varint}, "TensorProto.data_location")) data_location = f.value;
        break;
      case 3:
      case 6:
      case 12:
      case 16:
        expect(f, {w_len}, "TensorProto");
        break;
      case 4:
        expect(f, {w_fixed32, w_len}, "TensorProto.float_data");
        break;
      case 5:
      case 7:
      case 11:
        expect(f, {w_varint, w_len}, "TensorProto integer data");
        break;
      case 10:
        expect(f, {w_fixed64, w_len}, "TensorProto.double_data");
        break;
      default:
        break;
    }
    if (f.wire == w_len) finish(f);
  }
  if (m_in.failed()) return;
  if (dims_invalid) {
    m_ctx.report("onnx.tensor_invalid", Severity::medium, tensor_offset,
                 "tensor '" + name + "' has negative dimensions or more than " +
                     std::to_string(k_max_packed_dims),
                 name);
    return;
  }
  if (!external.empty() || data_location == 1) {
    ExternalRef ref;
    ref.tensor = name;
    for (const auto& [key, value] : external) {
      if (key == "location") ref.location = value;
      if (key == "offset") ref.offset = value;
      if (key == "length") ref.length = value;
    }
    ++m_external_count;
    if (m_external.size() < k_max_listed_external) m_external.push_back(ref);
    if (const auto escape = location_escape(ref.location)) {
      if (m_escape_reports++ < 50)
        m_ctx.report("onnx.external_data_escape", escape->first, tensor_offset,
                     "tensor '" + name + "' loads external data from '" + ref.location +
                         "', which " + escape->second +
                         ": the loader would read a file outside the model directory into the "
                         "weights (CVE-2022-25882 / CVE-2024-27318 class)",
                     ref.location);
    } else if (ref.location.empty()) {
      m_ctx.report("onnx.external_data_invalid", Severity::medium, tensor_offset,
                   "tensor '" + name + "' is marked external but names no location", name);
    }
    return;
  }
  if (!has_raw) return;
  const uint32_t bits = element_bits(data_type);
  if (bits == 0) return;
  uint64_t count = 1;
  for (uint64_t d : dims) {
    if (d != 0 && count > UINT64_MAX / 128 / d) {
      m_ctx.report("onnx.raw_data_size", Severity::medium, tensor_offset,
                   "tensor '" + name + "' has dimensions whose product overflows", name);
      return;
    }
    count *= d;
  }
  const uint64_t expected = (count * bits + 7) / 8;
  if (expected != raw_size)
    m_ctx.report("onnx.raw_data_size", Severity::medium, tensor_offset,
                 "tensor '" + name + "' has " + std::to_string(raw_size) +
                     " bytes of raw_data but its dims and data type need " +
                     std::to_string(expected),
                 name);
}

void OnnxScanner::walk_function(uint64_t end, int depth) {
  if (!enter(depth, m_in.position())) return;
  std::string name;
  std::string domain;
  Field f;
  while (!m_in.failed() && m_in.position() < end && m_in.next(end, f)) {
    switch (f.number) {
      case 1:
        if (expect(f, {w_len}, "FunctionProto.name")) name = m_in.read_string(f, 256);
        break;
      case 10:
        if (expect(f, {w_len}, "FunctionProto.domain")) domain = m_in.read_string(f, 256);
        break;
      case 7:
        if (expect(f, {w_len}, "FunctionProto.node")) walk_node(f.start + f.value, depth + 1, true);
        break;
      case 11:
        if (expect(f, {w_len}, "FunctionProto.attribute_proto"))
          walk_attribute(f.start + f.value, depth + 1);
        break;
      case 4:
      case 5:
      case 6:
      case 8:
      case 9:
      case 12:
      case 13:
      case 14:
        expect(f, {w_len}, "FunctionProto");
        break;
      default:
        break;
    }
    if (f.wire == w_len) finish(f);
  }
  m_local_functions.insert({domain, name});
}

void OnnxScanner::report_custom_domains() {
  size_t reported = 0;
  for (const auto& [op, count] : m_custom_ops) {
    // A call of a function defined in the model itself is ONNX, not native code.
    if (m_local_functions.count(op)) continue;
    if (reported++ >= k_max_custom_reports) break;
    const std::string subject = op.first + "::" + op.second;
    m_ctx.report("onnx.custom_domain", Severity::medium, 0,
                 "operator " + subject + " (" + std::to_string(count) +
                     " nodes) is in a non-standard domain: running the model needs a native "
                     "custom-op library",
                 subject);
  }
}

void OnnxScanner::run() {
  walk_model();
  auto& details = m_ctx.details();
  if (m_in.failed())
    m_ctx.report("onnx.malformed", Severity::medium, m_in.error_offset(),
                 "malformed protobuf: " + m_in.error() + "; the rest of the model was not checked");
  details["node_count"] = m_node_count;
  details["main_graph_node_count"] = m_main_nodes;
  details["initializer_count"] = m_initializers;
  nlohmann::json ops = nlohmann::json::object();
  for (const auto& [name, count] : m_op_types) ops[name] = count;
  details["op_types"] = std::move(ops);
  if (m_op_types_truncated) details["op_types_truncated"] = true;
  nlohmann::json ext = nlohmann::json::array();
  for (const auto& e : m_external)
    ext.push_back({{"tensor", e.tensor},
                   {"location", e.location},
                   {"offset", e.offset},
                   {"length", e.length}});
  details["external_data"] = std::move(ext);
  details["external_data_count"] = m_external_count;
  report_custom_domains();
}

// Top-level ModelProto field numbers and their wire types.
bool model_field_ok(uint32_t number, uint32_t wire) {
  switch (number) {
    case 1:
    case 5:
      return wire == w_varint;
    case 2:
    case 3:
    case 4:
    case 6:
    case 7:
    case 8:
    case 14:
    case 20:
    case 25:
    case 26:
      return wire == w_len;
    default:
      return false;
  }
}

}  // namespace

void scan_onnx(ScanContext& ctx, const util::ByteSource& bytes) {
  OnnxScanner(ctx, bytes).run();
}

// A ModelProto starts with ir_version (tag 0x08, a small value) and has a
// graph (tag 0x3a) among its first few fields, every one of them a known
// ModelProto field with its proper wire type. Random bytes fail one of these
// almost at once; a SentencePiece model starts with tag 0x0a.
bool probe_onnx(const util::ByteSource& bytes) {
  constexpr int k_max_probe_fields = 16;
  const uint64_t size = bytes.size();
  if (size < 4) return false;
  WireReader in(bytes);
  Field f;
  if (!in.next(size, f) || f.number != 1 || f.wire != w_varint || f.value == 0 || f.value > 30)
    return false;
  for (int i = 0; i < k_max_probe_fields && in.position() < size; ++i) {
    if (!in.next(size, f) || !model_field_ok(f.number, f.wire)) return false;
    if (f.number == 7) {
      // The graph's first fields must be GraphProto fields, all of them
      // length-delimited (node, name, initializer, input, ...).
      const uint64_t graph_end = f.start + f.value;
      in.seek(f.start);
      Field g;
      for (int k = 0; k < 8 && in.position() < graph_end; ++k) {
        if (!in.next(graph_end, g) || g.wire != w_len || g.number == 0 || g.number > 16 ||
            (g.number >= 3 && g.number <= 4) || (g.number >= 6 && g.number <= 9))
          return false;
        in.seek(g.start + g.value);
      }
      return f.value > 0;
    }
    if (f.wire == w_len) in.seek(f.start + f.value);
  }
  return false;
}

}  // namespace hfaudit::scan
