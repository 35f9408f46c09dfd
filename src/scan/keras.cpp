// Keras: model config JSON (Keras 3 `.keras` config.json, or the legacy
// HDF5 `model_config` attribute) and HDF5 containers. Loading a Keras model
// rebuilds every layer from its config, so the config decides what code
// runs: Lambda layers carry marshalled bytecode (CVE-2024-3660), `module`
// references import arbitrary Python (CVE-2025-1550), and Lambda layers can
// call keras.models.load_model with safe_mode=False (CVE-2025-9906/8747).
// The whole JSON tree is walked, not just `config.layers`, so nested models,
// wrappers (TimeDistributed, Bidirectional) and objects in unexpected places
// are all seen. See shared/reference/model-file-threats.md section 7.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "scan/format_scanners.hpp"
#include "scan/hdf5_reader.hpp"

namespace hfaudit::scan {

namespace {

constexpr uint64_t k_max_config = 64ull << 20;
constexpr int k_max_json_depth = 256;
constexpr size_t k_max_histogram = 200;
constexpr size_t k_max_reports_per_rule = 50;

// Module roots a stock Keras model refers to.
constexpr std::string_view k_keras_roots[] = {"keras", "tf_keras", "tensorflow"};

// Module roots whose functions run commands, load code or touch files.
constexpr std::string_view k_dangerous_roots[] = {
    "os",     "posix",           "nt",       "subprocess", "builtins", "__builtin__", "sys",
    "shutil", "importlib",       "pickle",   "marshal",    "runpy",    "code",        "codeop",
    "pty",    "socket",          "ctypes",   "webbrowser", "urllib",   "requests",    "http",
    "shlex",  "multiprocessing", "commands", "platform",   "pathlib",  "io",          "tempfile",
    "dill",   "cloudpickle",     "joblib",   "numpy.load",
};

template <size_t N>
bool contains(const std::string_view (&list)[N], std::string_view s) {
  for (const auto& item : list)
    if (item == s) return true;
  return false;
}

std::string_view root_of(std::string_view module) {
  const size_t dot = module.find('.');
  return dot == std::string_view::npos ? module : module.substr(0, dot);
}

bool is_dangerous_module(std::string_view module) {
  if (contains(k_dangerous_roots, root_of(module))) return true;
  for (const auto& d : k_dangerous_roots)
    if (module == d) return true;
  return false;
}

std::string string_or_dump(const nlohmann::json& v) {
  std::string s = v.is_string() ? v.get<std::string>() : v.dump();
  if (s.size() > 200) s = s.substr(0, 200) + "...";
  return s;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

class KerasWalker {
 public:
  explicit KerasWalker(ScanContext& ctx) : m_ctx(ctx) {}

  void run(const nlohmann::json& doc);

 private:
  void walk(const nlohmann::json& node, const std::string& path, bool is_layer,
            bool in_lambda_function);
  void check_lambda(const nlohmann::json& layer, const std::string& path);
  void check_module_key(const std::string& key, const nlohmann::json& value,
                        const std::string& path);
  void report(const std::string& rule, Severity severity, const std::string& message,
              const std::string& subject) {
    if (m_counts[rule]++ < k_max_reports_per_rule)
      m_ctx.report(rule, severity, 0, message, subject);
  }

  ScanContext& m_ctx;
  std::map<std::string, size_t> m_counts;
  std::map<std::string, uint64_t> m_layer_classes;
  uint64_t m_layer_count = 0;
  bool m_safe_mode_false = false;
  std::vector<std::pair<std::string, std::string>> m_unsafe_refs;  // (what, path)
};

void KerasWalker::check_lambda(const nlohmann::json& layer, const std::string& path) {
  const auto cfg_it = layer.find("config");
  const nlohmann::json empty = nlohmann::json::object();
  const nlohmann::json& cfg = cfg_it != layer.end() && cfg_it->is_object() ? *cfg_it : empty;
  const std::string name = cfg.contains("name") ? string_or_dump(cfg["name"]) : path;
  const auto fn_it = cfg.find("function");
  const std::string function_type =
      cfg.contains("function_type") && cfg["function_type"].is_string()
          ? cfg["function_type"].get<std::string>()
          : std::string();
  if (fn_it != cfg.end()) {
    const nlohmann::json& fn = *fn_it;
    const bool keras3_code =
        fn.is_object() && fn.value("class_name", std::string()) == "__lambda__";
    // Legacy tf.keras: [base64 marshal code, defaults, closure] with
    // function_type "lambda" (older versions: the code string alone).
    const bool legacy_code = function_type == "lambda" || fn.is_array();
    if (keras3_code || legacy_code) {
      report("keras.lambda", Severity::critical,
             "Lambda layer '" + name +
                 "' carries marshalled Python bytecode that runs when the model is loaded or "
                 "called (CVE-2024-3660 class)",
             name);
      return;
    }
    std::string target;
    if (fn.is_string()) {
      target = fn.get<std::string>();
      if (cfg.contains("module") && cfg["module"].is_string())
        target = cfg["module"].get<std::string>() + "." + target;
    } else if (fn.is_object()) {
      const std::string module = fn.value("module", std::string());
      const std::string fn_name = fn.contains("config") ? string_or_dump(fn["config"]) : "";
      target = module.empty() ? fn_name : module + "." + fn_name;
    }
    report("keras.lambda", Severity::high,
           "Lambda layer '" + name + "' calls the Python function '" + target +
               "' when the model runs",
           target.empty() ? name : target);
    return;
  }
  report("keras.lambda", Severity::high,
         "Lambda layer '" + name + "': Lambda layers run Python code from the model", name);
}

void KerasWalker::check_module_key(const std::string& key, const nlohmann::json& value,
                                   const std::string& path) {
  if (!value.is_string()) return;
  const std::string& text = value.get_ref<const std::string&>();
  if (text.empty()) return;
  std::string module = text;
  if (key == "registered_name") {
    // Built-ins register as their bare class name ("Dense"), custom objects
    // as "package>Name".
    const size_t gt = text.find('>');
    if (gt == std::string::npos) {
      if (text.find('.') == std::string::npos) return;
    } else {
      module = text.substr(0, gt);
    }
  }
  if (contains(k_keras_roots, root_of(module))) return;
  const bool dangerous = is_dangerous_module(module);
  report("keras.custom_object", dangerous ? Severity::high : Severity::medium,
         "config " + key + " '" + text + "' at " + path +
             (dangerous ? " names a module that runs commands or loads code"
                        : " refers to code outside Keras, imported when the model is loaded"),
         text);
}

void KerasWalker::walk(const nlohmann::json& node, const std::string& path, bool is_layer,
                       bool in_lambda_function) {
  if (node.is_array()) {
    for (size_t i = 0; i < node.size(); ++i)
      walk(node[i], path + "[" + std::to_string(i) + "]", false, in_lambda_function);
    return;
  }
  if (node.is_string()) {
    const std::string& s = node.get_ref<const std::string&>();
    if (s == "load_model" || ends_with(s, ".load_model") || s == "enable_unsafe_deserialization" ||
        ends_with(s, ".enable_unsafe_deserialization"))
      m_unsafe_refs.emplace_back(s, path);
    return;
  }
  if (!node.is_object()) return;
  std::string class_name;
  if (const auto it = node.find("class_name"); it != node.end() && it->is_string())
    class_name = it->get<std::string>();
  if (is_layer && !class_name.empty()) {
    ++m_layer_count;
    if (m_layer_classes.size() < k_max_histogram || m_layer_classes.count(class_name))
      ++m_layer_classes[class_name];
  }
  if (class_name == "Lambda") {
    check_lambda(node, path);
  } else if (class_name == "__lambda__" && !in_lambda_function) {
    report("keras.lambda", Severity::critical,
           "a serialized Python lambda (marshalled bytecode) at " + path +
               " runs when the model is loaded",
           path);
  } else if (class_name == "TFOpLambda") {
    const auto cfg = node.find("config");
    const std::string fn = cfg != node.end() && cfg->is_object() && cfg->contains("function")
                               ? string_or_dump((*cfg)["function"])
                               : std::string();
    report("keras.tf_op_lambda", Severity::medium,
           "TFOpLambda layer calls the TensorFlow function '" + fn + "' by name", fn);
  }
  for (const auto& [key, value] : node.items()) {
    const std::string child = path + "." + key;
    if (key == "module" || key == "fn_module" || key == "output_shape_module" ||
        key == "registered_name")
      check_module_key(key, value, child);
    if (key == "safe_mode" && value.is_boolean() && !value.get<bool>()) m_safe_mode_false = true;
    const bool child_layers = key == "layers" && value.is_array();
    const bool child_layer =
        (key == "layer" || key == "forward_layer" || key == "backward_layer") && value.is_object();
    const bool fn = in_lambda_function || (class_name == "Lambda" && key == "config");
    if (child_layers) {
      for (size_t i = 0; i < value.size(); ++i)
        walk(value[i], child + "[" + std::to_string(i) + "]", true, false);
    } else {
      walk(value, child, child_layer, fn);
    }
  }
}

void KerasWalker::run(const nlohmann::json& doc) {
  auto& details = m_ctx.details();
  if (doc.contains("keras_version"))
    details["keras_version"] = string_or_dump(doc["keras_version"]);
  if (doc.contains("class_name")) details["class_name"] = string_or_dump(doc["class_name"]);
  walk(doc, "$", false, false);
  for (const auto& [what, path] : m_unsafe_refs) {
    report("keras.safe_mode_bypass", m_safe_mode_false ? Severity::critical : Severity::high,
           "config refers to '" + what + "' at " + path +
               (m_safe_mode_false
                    ? " together with safe_mode=false: loading it loads another model with code "
                      "execution enabled (CVE-2025-9906 class)"
                    : ": a model config has no business loading models or changing "
                      "deserialization safety"),
           what);
  }
  details["layer_count"] = m_layer_count;
  nlohmann::json classes = nlohmann::json::object();
  for (const auto& [name, count] : m_layer_classes) classes[name] = count;
  details["layer_classes"] = std::move(classes);
}

// Parses with a depth bound: deeper values are discarded while parsing.
nlohmann::json parse_bounded(const std::string& text, bool& too_deep) {
  auto callback = [&](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
    if (depth > k_max_json_depth) {
      too_deep = true;
      return false;
    }
    return true;
  };
  return nlohmann::json::parse(text, callback, /*allow_exceptions=*/false);
}

}  // namespace

void scan_keras_config(ScanContext& ctx, const util::ByteSource& bytes) {
  if (bytes.size() > k_max_config) {
    ctx.report("keras.too_large", Severity::medium, 0,
               "Keras config larger than 64 MiB was not inspected");
    return;
  }
  auto text = bytes.read_string(0, static_cast<size_t>(bytes.size()));
  if (!text) {
    ctx.report("scan.read_error", Severity::medium, 0, text.error().message);
    return;
  }
  bool too_deep = false;
  const nlohmann::json doc = parse_bounded(*text, too_deep);
  if (doc.is_discarded() || !doc.is_object()) {
    ctx.report("keras.malformed", Severity::medium, 0,
               "Keras model config is not a JSON object; a loader may still read parts of it");
    return;
  }
  if (too_deep)
    ctx.report("keras.malformed", Severity::medium, 0,
               "Keras model config nests deeper than " + std::to_string(k_max_json_depth) +
                   " levels; the excess was not inspected");
  KerasWalker(ctx).run(doc);
}

void scan_hdf5(ScanContext& ctx, const util::ByteSource& bytes) {
  static const std::set<std::string> k_wanted = {"model_config", "keras_version", "backend",
                                                 "training_config"};
  const hdf5::RootAttributes root = hdf5::read_root_attributes(bytes, k_wanted, k_max_config);
  auto& details = ctx.details();
  details["superblock_version"] = root.superblock_version;
  details["object_header_version"] = root.object_header_version;
  details["root_attributes"] = root.names;
  for (const char* key : {"keras_version", "backend"})
    if (const auto it = root.values.find(key); it != root.values.end())
      details[key] = it->second.substr(0, 256);
  if (!root.error.empty())
    ctx.report("hdf5.malformed", Severity::medium, root.error_offset,
               "HDF5 structure hfaudit cannot follow: " + root.error +
                   "; libhdf5 may crash on it or read something else",
               root.error);
  for (const auto& u : root.unsupported) {
    const bool attribute = !u.attribute.empty();
    ctx.report(attribute ? "hdf5.unsupported_attribute" : "hdf5.unsupported", Severity::medium,
               u.offset,
               "cannot fully parse this HDF5 file: it uses " + u.what +
                   (attribute ? " for the root attribute '" + u.attribute + "'" : std::string()) +
                   ", which hfaudit does not read, so a model config there was not checked",
               attribute ? u.attribute : u.what);
  }
  const auto config = root.values.find("model_config");
  if (config != root.values.end()) {
    ctx.scan_nested(util::MemorySource(config->second), "model_config", Format::keras_config);
    return;
  }
  const bool named =
      std::find(root.names.begin(), root.names.end(), "model_config") != root.names.end();
  if (root.error.empty() && root.unsupported.empty() && !named)
    ctx.report("hdf5.weights_only", Severity::info, 0,
               "HDF5 file without a model_config attribute: weights only (datasets are not read)");
}

}  // namespace hfaudit::scan
