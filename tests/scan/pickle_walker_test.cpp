// The evasions of model-file-threats.md section 1 (and 1.6), each as a hand
// written pickle, plus malformed and hostile streams that must end as
// findings rather than crashes.
#include <zlib.h>

#include <boost/test/unit_test.hpp>

#include "pickle_test_support.hpp"

using namespace pickle_test;

BOOST_AUTO_TEST_SUITE(pickle_walker_test)

namespace {

struct Case {
  const char* name;
  std::string bytes;
  const char* rule;
  const char* subject;  // "" = any
  Severity at_least;
};

std::string zlib_compress(const std::string& in) {
  uLongf n = compressBound(in.size());
  std::string out(n, '\0');
  compress(reinterpret_cast<Bytef*>(out.data()), &n, reinterpret_cast<const Bytef*>(in.data()),
           in.size());
  out.resize(n);
  return out;
}

std::vector<Case> evasion_cases() {
  const std::string inner = evil_pickle();
  return {
      // 1.3 memo modelling: operands stored, popped, and fetched back by GET.
      {"memo_indirection",
       proto(4) + su("os") + k_memoize + su("system") + k_memoize + "00" + binget(0) + binget(1) +
           k_stack_global + su("id") + k_tuple1 + "R.",
       "pickle.call.denied", "os.system", Severity::critical},
      // PUT copies the top of stack *now*, not the previous opcode's argument.
      {"pop_between_string_and_put",
       proto(4) + su("builtins") + su("harmless") + "0" + binput(0) + binget(0) + su("eval") +
           k_stack_global + ".",
       "pickle.import.denied", "builtins.eval", Severity::critical},
      // MEMOIZE writes at len(memo), whatever indices BINPUT used before.
      {"memoize_after_sparse_put",
       proto(4) + su("x") + binput(5) + "0" + su("os") + k_memoize + su("system") + k_memoize +
           "00" + binget(1) + binget(2) + k_stack_global + ".",
       "pickle.import.denied", "os.system", Severity::high},
      // 1.1 protocol >= 4 dotted names: tempfile._os is os.
      {"dotted_name_through_tempfile",
       proto(4) + su("tempfile") + su("_os.system") + k_stack_global + su("id") + k_tuple1 + "R.",
       "pickle.call.denied", "tempfile._os.system", Severity::critical},
      {"dotted_name_through_typing",
       proto(4) + su("typing") + su("sys.modules.get") + k_stack_global + ".",
       "pickle.import.denied", "typing.sys.modules.get", Severity::high},
      // 1.1 Python-2 names (protocol < 3).
      {"py2_builtin_eval_protocol0", global("__builtin__", "eval") + "(S'1+1'\ntR.",
       "pickle.call.denied", "builtins.eval", Severity::critical},
      {"py2_builtin_getattr_protocol2", proto(2) + global("__builtin__", "getattr") + ".",
       "pickle.import.denied", "builtins.getattr", Severity::high},
      {"py2_commands", global("commands", "getoutput") + "(S'id'\ntR.", "pickle.call.denied",
       "subprocess.getoutput", Severity::critical},
      {"py2_cpickle", proto(2) + global("cPickle", "loads") + ".", "pickle.import.denied",
       "pickle.loads", Severity::high},
      {"py2_reduce_is_functools", global("__builtin__", "reduce") + ".", "pickle.import.denied",
       "functools.reduce", Severity::high},
      // Without the mapping (protocol 3) the name is still judged as builtins.
      {"py2_name_at_protocol3", proto(3) + global("__builtin__", "exec") + ".",
       "pickle.import.denied", "__builtin__.exec", Severity::critical},
      // 1.6 escapes.
      {"string_escape_x73", "S'\\x73ubprocess'\nS'call'\n" + k_stack_global + ".",
       "pickle.import.denied", "subprocess.call", Severity::critical},
      {"string_escape_octal", "S'\\157s'\nS'system'\n" + k_stack_global + ".",
       "pickle.import.denied", "os.system", Severity::critical},
      {"unicode_escape_u006f", "V\\u006fs\nVsystem\n" + k_stack_global + ".",
       "pickle.import.denied", "os.system", Severity::critical},
      // Imports that cannot be judged.
      {"ext1", proto(2) + "\x82\x01" + ")R.", "pickle.ext_registry", "", Severity::high},
      {"ext2", proto(2) + std::string("\x83\x01\x02", 3) + ".", "pickle.ext_registry", "",
       Severity::high},
      {"ext4", proto(2) + std::string("\x84\x01\x00\x00\x00", 5) + ".", "pickle.ext_registry", "",
       Severity::high},
      {"stack_global_on_ints", proto(4) + "K\x01K\x02" + k_stack_global + ".",
       "pickle.import.unresolved", "", Severity::high},
      {"stack_global_on_bytes", proto(4) + sb("os") + su("system") + k_stack_global + ".",
       "pickle.import.unresolved", "", Severity::high},
      {"stack_global_on_call_result",
       proto(4) + global("builtins", "str") + su("os") + k_tuple1 + "R" + su("system") +
           k_stack_global + ".",
       "pickle.import.unresolved", "", Severity::high},
      // Call opcodes other than REDUCE.
      {"inst", "(S'id'\nios\nsystem\n.", "pickle.call.denied", "os.system", Severity::critical},
      {"obj", "(" + global("os", "system") + "S'id'\no.", "pickle.call.denied", "os.system",
       Severity::critical},
      {"newobj", proto(2) + global("subprocess", "Popen") + ")" + k_newobj + ".",
       "pickle.call.denied", "subprocess.Popen", Severity::critical},
      {"newobj_ex", proto(4) + global("subprocess", "Popen") + ")}" + std::string("\x92", 1) + ".",
       "pickle.call.denied", "subprocess.Popen", Severity::critical},
      {"build_on_denied_global", proto(2) + global("os", "environ") + "}b.", "pickle.call.denied",
       "os.environ", Severity::critical},
      {"build_on_unknown_global", proto(2) + global("mylib", "Config") + "}b.",
       "pickle.call.build_on_global", "mylib.Config", Severity::medium},
      {"setitem_on_global", proto(2) + global("mylib", "registry") + "K\x01K\x02s.",
       "pickle.call.method", "mylib.registry", Severity::medium},
      {"call_of_call_result",
       proto(2) + global("builtins", "getattr") + global("os", "path") + su("x") + k_tuple2 + "R" +
           su("id") + k_tuple1 + "R.",
       "pickle.call.indirect", "", Severity::medium},
      {"unknown_import", proto(2) + global("mylib", "Thing") + ".", "pickle.import.unknown",
       "mylib.Thing", Severity::medium},
      {"main_module", proto(2) + global("__main__", "Exploit") + ".", "pickle.import.denied",
       "__main__.Exploit", Severity::high},
      // 1.3 several streams: a benign first pickle hides a second one.
      {"benign_then_malicious", proto(2) + "}." + inner, "pickle.call.denied", "os.system",
       Severity::critical},
      {"protocol0_then_malicious", "(dp0\n." + inner, "pickle.call.denied", "os.system",
       Severity::critical},
      // Section 9: a zip behind the pickle.
      {"trailing_zip", proto(2) + "}." + std::string("PK\x03\x04", 4) + std::string(40, '\0'),
       "pickle.polyglot_zip", "", Severity::high},
      // 1.3 / 2.4 nested loaders.
      {"load_from_bytes_malicious_inner",
       proto(2) + global("torch.storage", "_load_from_bytes") + bb(inner) + k_tuple1 + "R.",
       "pickle.call.denied", "os.system", Severity::critical},
      {"pickle_loads_literal_bytes",
       proto(3) + global("pickle", "loads") + bb(inner) + k_tuple1 + "R.", "pickle.call.denied",
       "os.system", Severity::critical},
      {"codecs_encode_latin1",
       proto(2) + global("_pickle", "loads") + global("_codecs", "encode") +
           bu(latin1_to_utf8(inner)) + bu("latin1") + k_tuple2 + "R" + k_tuple1 + "R.",
       "pickle.call.denied", "os.system", Severity::critical},
      {"base64_wrapper",
       proto(2) + global("pickle", "loads") + global("base64", "b64decode") + bu(base64(inner)) +
           k_tuple1 + "R" + k_tuple1 + "R.",
       "pickle.call.denied", "os.system", Severity::critical},
      {"zlib_wrapper",
       proto(3) + global("pickle", "loads") + global("zlib", "decompress") +
           bb(zlib_compress(inner)) + k_tuple1 + "R" + k_tuple1 + "R.",
       "pickle.call.denied", "os.system", Severity::critical},
      // Payloads longer than the in-memory threshold are re-read from the source.
      {"pickle_loads_long_payload",
       proto(3) + global("pickle", "loads") +
           bb(proto(2) + std::string(300, 'N') + global("os", "system") + bu("id") + k_tuple1 +
              "R.") +
           k_tuple1 + "R.",
       "pickle.call.denied", "os.system", Severity::critical},
      {"stack_global_long_name",
       proto(4) + su("os") + bu(std::string(150, 'x')) + "0" + bu("system") + k_stack_global + ".",
       "pickle.import.denied", "os.system", Severity::critical},
      {"stack_global_long_dotted_name",
       proto(4) + su("tempfile") + bu(std::string(150, 'a') + "._os.system") + k_stack_global + ".",
       "pickle.import.denied", "", Severity::critical},
      {"load_from_bytes_not_literal",
       proto(2) + global("torch.storage", "_load_from_bytes") + "N" + k_tuple1 + "R.",
       "pickle.nested_loader", "torch.storage._load_from_bytes", Severity::high},
      {"codecs_encode_other_codec",
       proto(2) + global("_codecs", "encode") + bu("x") + bu("rot13") + k_tuple2 + "R.",
       "pickle.call.conditional", "", Severity::medium},
      {"reconstructor_with_unlisted_class",
       global("copy_reg", "_reconstructor") + "(" + global("mylib", "Evil") +
           global("__builtin__", "object") + "NtR.",
       "pickle.call.conditional", "", Severity::medium},
      {"rebuild_from_type_with_denied_function",
       proto(2) + global("torch._tensor", "_rebuild_from_type_v2") + "(" + global("os", "system") +
           global("torch", "Tensor") + su("id") + k_tuple1 + "NtR.",
       "pickle.call.denied", "os.system", Severity::critical},
  };
}

}  // namespace

BOOST_AUTO_TEST_CASE(each_evasion_is_reported) {
  for (const auto& c : evasion_cases()) {
    BOOST_TEST_CONTEXT(c.name) {
      const FileReport report = scan_bytes(c.bytes);
      const Finding* f = find(report, c.rule, c.subject);
      BOOST_TEST(f != nullptr, c.name << ": expected " << c.rule << " " << c.subject << "\n"
                                      << dump(report));
      if (f) BOOST_TEST(f->severity >= c.at_least, c.name << "\n" << dump(report));
    }
  }
}

BOOST_AUTO_TEST_CASE(denied_call_names_callable_and_arguments) {
  const FileReport report = scan_bytes(evil_pickle());
  const Finding* call = find(report, "pickle.call.denied", "os.system");
  BOOST_REQUIRE(call);
  BOOST_TEST(call->severity == Severity::critical);
  BOOST_TEST(call->message.find("os.system('id')") != std::string::npos, call->message);
  BOOST_TEST(call->offset == 21u);  // the REDUCE opcode
  const Finding* import = find(report, "pickle.import.denied", "os.system");
  BOOST_REQUIRE(import);
  BOOST_TEST(import->offset == 2u);  // the GLOBAL opcode
}

BOOST_AUTO_TEST_CASE(nested_findings_are_attributed_to_the_loader_member) {
  const std::string bytes =
      proto(2) + global("torch.storage", "_load_from_bytes") + bb(evil_pickle()) + k_tuple1 + "R.";
  const FileReport report = scan_bytes(bytes);
  const Finding* f = find(report, "pickle.call.denied", "os.system");
  BOOST_REQUIRE(f);
  BOOST_TEST(f->member.find(":_load_from_bytes") != std::string::npos, f->member);
  // The wrapper itself is judged by its content: no denial of its own.
  BOOST_TEST(!find(report, "pickle.import.denied", "torch.storage._load_from_bytes"));
}

BOOST_AUTO_TEST_CASE(load_from_bytes_of_a_clean_pickle_is_clean) {
  const std::string inner = proto(2) + "}" + binput(0) + bu("a") + "K\x01s.";
  const FileReport report = scan_bytes(proto(2) + global("torch.storage", "_load_from_bytes") +
                                       bb(inner) + k_tuple1 + "R.");
  BOOST_TEST(!any_at_least(report, Severity::medium), dump(report));
}

BOOST_AUTO_TEST_CASE(truncated_stream_keeps_earlier_findings) {
  const std::string bytes = proto(2) + global("os", "system") + bu("id") + k_tuple1 + "R";
  const FileReport report = scan_bytes(bytes);
  BOOST_TEST(find(report, "pickle.call.denied", "os.system"));
  const Finding* t = find(report, "pickle.truncated");
  BOOST_REQUIRE(t);
  BOOST_TEST(t->severity >= Severity::medium);
}

struct Malformed {
  const char* name;
  std::string bytes;
  const char* rule;
};

BOOST_AUTO_TEST_CASE(malformed_streams_are_findings_not_crashes) {
  const std::vector<Malformed> cases = {
      {"unknown_opcode", proto(2) + global("os", "system") + "\xff.", "pickle.malformed"},
      {"stack_underflow", proto(2) + "R.", "pickle.malformed"},
      {"stop_on_empty_stack", proto(2) + ".", "pickle.malformed"},
      {"mark_missing", proto(2) + "K\x01t.", "pickle.malformed"},
      {"pop_below_mark", proto(2) + "K\x01(R.", "pickle.malformed"},
      {"get_never_put", proto(2) + binget(7) + ".", "pickle.malformed"},
      {"odd_setitems", proto(2) + "}(K\x01u.", "pickle.malformed"},
      {"bad_int", proto(2) + "Iabc\n.", "pickle.malformed"},
      {"bad_quote", proto(2) + "S'abc\n.", "pickle.malformed"},
      {"negative_binstring", proto(2) + "T" + le(0xFFFFFFFF, 4) + ".", "pickle.malformed"},
      {"huge_binunicode8", proto(4) + "\x8d" + le(~uint64_t{0} >> 1, 8) + ".", "pickle.truncated"},
      {"huge_binbytes", proto(3) + "B" + le(0xFFFFFFF0u, 4) + "ab.", "pickle.truncated"},
      {"huge_long4", proto(2) + "\x8b" + le(0x7FFFFFF0, 4) + ".", "pickle.truncated"},
      {"protocol_9", proto(2) + std::string("\x80\x09.", 3), "pickle.malformed"},
      {"truncated_global", proto(2) + "cos\nsys", "pickle.truncated"},
      {"empty_after_proto", proto(2), "pickle.truncated"},
      {"frame_argument_crosses_end", proto(4) + frame(3) + su("builtins") + ".",
       "pickle.frame_violation"},
      {"frame_before_previous_consumed", proto(4) + frame(8) + "N" + frame(1) + "0NNNNN.",
       "pickle.frame_violation"},
      {"stop_inside_frame", proto(4) + frame(10) + "N." + std::string(8, 'N'),
       "pickle.frame_violation"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      const FileReport report = scan_bytes(c.bytes);
      const Finding* f = find(report, c.rule);
      BOOST_TEST(f != nullptr, c.name << "\n" << dump(report));
      if (f) BOOST_TEST(f->severity >= Severity::medium);
    }
  }
}

BOOST_AUTO_TEST_CASE(random_corruptions_never_crash) {
  // Byte-flip every position of a realistic stream (leveldb corruption_test style).
  const std::string base = proto(2) + global("collections", "OrderedDict") + ")R(" + bu("w") +
                           global("torch._utils", "_rebuild_tensor_v2") + "((" + bu("storage") +
                           global("torch", "FloatStorage") + bu("0") + bu("cpu") +
                           std::string("K\x04tQK\x00", 6) + "K\x02K\x02" + k_tuple2 + "K\x02K\x01" +
                           k_tuple2 + k_newfalse + global("collections", "OrderedDict") + ")RtRu.";
  for (size_t i = 0; i < base.size(); ++i) {
    for (const unsigned char flip : {0x01u, 0x80u, 0xFFu}) {
      std::string bytes = base;
      bytes[i] = static_cast<char>(static_cast<unsigned char>(bytes[i]) ^ flip);
      (void)scan_bytes(bytes);
    }
    (void)scan_bytes(base.substr(0, i));
  }
  BOOST_TEST(true);
}

BOOST_AUTO_TEST_CASE(billion_laughs_is_bounded) {
  // Each level is a list of ten references to the previous level: 10^40
  // elements if expanded. GET and DUP share, so this is instant.
  std::string bytes = proto(2) + "]" + binput(0);
  for (int i = 0; i < 40; ++i) bytes += "(" + std::string(10, '\0') + "l" + binput(i + 1);
  // Fix the GETs: "(" then ten BINGET i.
  bytes = proto(2) + "]" + binput(0);
  for (int i = 0; i < 40; ++i) {
    bytes += "(";
    for (int k = 0; k < 10; ++k) bytes += binget(i);
    bytes += "l" + binput(i + 1) + "0";
  }
  bytes += binget(40) + "2222" + "0000.";
  const FileReport report = scan_bytes(bytes);
  // Bounded for the scanner, and reported once: the graph is harmless to
  // load but explodes for anything that copies or prints it.
  const auto amplification =
      std::count_if(report.findings.begin(), report.findings.end(),
                    [](const auto& f) { return f.rule == "pickle.amplification"; });
  BOOST_TEST(amplification == 1, dump(report));
  BOOST_TEST(!any_at_least(report, Severity::high), dump(report));
}

BOOST_AUTO_TEST_CASE(shared_references_of_a_checkpoint_are_not_amplification) {
  // Tied weights: one list referenced a few times is normal.
  std::string bytes = proto(2) + "]" + binput(0) + "0(";
  for (int k = 0; k < 4; ++k) bytes += binget(0);
  bytes += "l.";
  const FileReport report = scan_bytes(bytes);
  BOOST_TEST(!any_at_least(report, Severity::low), dump(report));
}

BOOST_AUTO_TEST_CASE(self_referencing_list_is_freed) {
  // l = []; l.append(l): a reference cycle in the model, unlinked at STOP.
  const std::string bytes = proto(2) + "]" + binput(0) + binget(0) + "a.";
  const FileReport report = scan_bytes(bytes);
  BOOST_TEST(!any_at_least(report, Severity::medium), dump(report));
}

BOOST_AUTO_TEST_CASE(deeply_nested_values_are_freed_without_recursion) {
  // Fuzzing regression (fixtures/scan/regressions/deep_tuple_nesting.pkl.gz):
  // TUPLE1 over TUPLE1 nests one level per byte, and freeing the chain through
  // nested shared_ptr destructors overflowed the stack. REDUCE chains nest
  // call nodes the same way.
  const std::string tuples = proto(2) + "]" + std::string(200'000, k_tuple1[0]) + ".";
  const FileReport nested = scan_bytes(tuples);
  BOOST_TEST(!any_at_least(nested, Severity::medium), dump(nested));
  std::string calls = proto(2) + "]";
  for (int i = 0; i < 100'000; ++i) calls += ")R";
  const FileReport chained = scan_bytes(calls + ".");
  BOOST_TEST(find(chained, "pickle.call.indirect"), dump(chained));
}

BOOST_AUTO_TEST_CASE(nested_loader_fan_out_is_bounded_per_file) {
  // Regression (fixtures/scan/regressions/pickle_loader_fan_out_3x24.pkl):
  // 64 calls of pickle.loads(zlib.decompress(x)) on one memoised x, whose
  // pickle does the same one level down: 900 bytes at three levels and 64^3
  // nested scans (the per-stream limit of 64 never saw the product).
  std::string bytes = proto(2) + "N.";
  for (int level = 0; level < 3; ++level) {
    const std::string packed = zlib_compress(bytes);
    std::string next = proto(2) + global("zlib", "decompress") + binput(1) +
                       global("pickle", "loads") + binput(2) + bb(packed) + binput(0) + "0";
    for (int i = 0; i < 64; ++i)
      next += binget(2) + binget(1) + binget(0) + k_tuple1 + "R" + k_tuple1 + "R0";
    bytes = next + "N.";
  }
  hfaudit::scan::ScanOptions options;
  options.limits.max_deep_objects = 300;
  const FileReport report = scan_bytes(bytes, "fan.pkl", options);
  BOOST_TEST(find(report, "container.limit.objects"), dump(report));
  BOOST_TEST(report.objects.size() <= 1u + 64u + 300u);
  BOOST_TEST(find(report, "pickle.call.denied"), dump(report));
}

BOOST_AUTO_TEST_CASE(a_payload_at_a_reused_address_is_still_scanned) {
  // pickle.loads(zlib.decompress(benign)), popped, then the same shape with a
  // malicious payload: the second decompress call node may reuse the freed
  // node's address, which must not make it look "already scanned".
  const std::string benign = proto(2) + "N.";
  const std::string evil = proto(2) + global("posix", "system") + bb("id") + k_tuple1 + "R.";
  std::string bytes = proto(2);
  for (const auto& inner : {benign, evil})
    bytes += global("pickle", "loads") + global("zlib", "decompress") + bb(zlib_compress(inner)) +
             k_tuple1 + "R" + k_tuple1 + "R0";
  bytes += "N.";
  const FileReport report = scan_bytes(bytes);
  BOOST_TEST(find(report, "pickle.call.denied"), dump(report));
}

BOOST_AUTO_TEST_CASE(stack_and_memo_limits_stop_the_walk) {
  hfaudit::scan::ScanOptions options;
  options.limits.max_pickle_stack = 1000;
  options.limits.max_pickle_memo = 100;
  options.limits.max_pickle_opcodes = 5000;
  const FileReport deep = scan_bytes(proto(2) + std::string(2000, 'N') + ".", "a.pkl", options);
  BOOST_TEST(find(deep, "pickle.limit"), dump(deep));
  std::string memo = proto(4) + "N";
  for (int i = 0; i < 200; ++i) memo += k_memoize;
  const FileReport wide = scan_bytes(memo + ".", "b.pkl", options);
  BOOST_TEST(find(wide, "pickle.limit"), dump(wide));
  std::string ops = proto(2) + "N";
  for (int i = 0; i < 3000; ++i) ops += "20";
  const FileReport many = scan_bytes(ops + ".", "c.pkl", options);
  BOOST_TEST(find(many, "pickle.limit"), dump(many));
}

BOOST_AUTO_TEST_CASE(trailing_data_is_low_and_not_a_second_stream) {
  const FileReport report = scan_bytes(proto(2) + "}." + std::string("\x00\x01garbage", 9));
  const Finding* f = find(report, "pickle.trailing_data");
  BOOST_REQUIRE(f);
  BOOST_TEST(f->severity == Severity::low);
  BOOST_TEST(f->offset == 4u);
  BOOST_TEST(!any_at_least(report, Severity::medium), dump(report));
}

BOOST_AUTO_TEST_CASE(details_list_imports_and_streams) {
  const FileReport report = scan_bytes(proto(2) + "}." + evil_pickle());
  const auto& details = report.objects.at(0).details.at("pickle");
  BOOST_TEST(details.at("streams").get<int>() == 2);
  BOOST_TEST(details.at("imports").dump().find("os.system") != std::string::npos);
  BOOST_TEST(details.at("calls").at("os.system").get<int>() == 1);
}

BOOST_AUTO_TEST_SUITE_END()
