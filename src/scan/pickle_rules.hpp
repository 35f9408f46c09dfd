// Which globals a pickle may import: the Python-2 name table the unpickler
// applies for protocol < 3, the allow and deny lists of
// /work/shared/reference/model-file-threats.md (sections 1.4, 1.5 and 4), the
// loaders whose byte arguments are scanned as nested objects, and the decoders
// whose output the walker can compute. Pure functions, no state.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "scan/finding.hpp"

namespace hfaudit::scan {

enum class ImportClass {
  allowed,      // plain value types and tensor rebuild helpers: no finding
  conditional,  // allowed only for specific call arguments, checked at the call
  loader,       // torch.storage._load_from_bytes: judged by the bytes it loads
  denied,       // executes code, touches files/network, or deserialises again
  unknown,      // not on either list: default-deny at medium
};

struct ImportVerdict {
  ImportClass klass = ImportClass::unknown;
  Severity severity = Severity::medium;  // for denied and unknown
  std::string_view reason;               // why it is denied (empty otherwise)
};

// Lib/_compat_pickle.py: NAME_MAPPING first, then IMPORT_MAPPING. The caller
// applies it only when the stream's current protocol is < 3 (fix_imports).
std::pair<std::string, std::string> map_python2_name(std::string_view module,
                                                     std::string_view name);

// Classifies `module`.`name` as resolved by find_class (after the Python-2
// mapping). Dotted names are matched component by component, so an attribute
// path that passes through a denied module (tempfile + "_os.system") is
// denied. `joblib_file`: the stream is a joblib pickle, so joblib's array
// wrappers are allowed.
ImportVerdict classify_import(std::string_view module, std::string_view name, bool joblib_file);

// joblib.numpy_pickle.{NumpyArrayWrapper,NDArrayWrapper,ZNDArrayWrapper}.
bool is_joblib_wrapper(std::string_view module, std::string_view name);

// Loaders that deserialise a bytes argument: the label used in the nested
// member name ("pickle.loads", "_load_from_bytes"), or nullopt.
std::optional<std::string_view> nested_loader_label(std::string_view module, std::string_view name);

// Callables whose result the walker computes from literal arguments, so a
// loader fed by them can still be followed.
enum class Decoder { none, identity, latin1_encode, base64, zlib, bz2, lzma };
Decoder decoder_for(std::string_view module, std::string_view name);

// Element size in bytes of a torch typed storage class ("torch.FloatStorage",
// "torch.cuda.HalfStorage"); 0 when unknown.
int storage_element_size(std::string_view qualified_name);

}  // namespace hfaudit::scan
