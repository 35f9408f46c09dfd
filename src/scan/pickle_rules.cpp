#include "scan/pickle_rules.hpp"

#include <algorithm>
#include <array>
#include <vector>

namespace hfaudit::scan {

namespace {

struct NamePair {
  std::string_view module;
  std::string_view name;
};

struct NameMapping {
  NamePair from;
  NamePair to;
};

// Lib/_compat_pickle.py NAME_MAPPING (plus the non-mutual additions).
constexpr NameMapping k_name_mapping[] = {
    {{"__builtin__", "xrange"}, {"builtins", "range"}},
    {{"__builtin__", "reduce"}, {"functools", "reduce"}},
    {{"__builtin__", "intern"}, {"sys", "intern"}},
    {{"__builtin__", "unichr"}, {"builtins", "chr"}},
    {{"__builtin__", "unicode"}, {"builtins", "str"}},
    {{"__builtin__", "long"}, {"builtins", "int"}},
    {{"__builtin__", "basestring"}, {"builtins", "str"}},
    {{"itertools", "izip"}, {"builtins", "zip"}},
    {{"itertools", "imap"}, {"builtins", "map"}},
    {{"itertools", "ifilter"}, {"builtins", "filter"}},
    {{"itertools", "ifilterfalse"}, {"itertools", "filterfalse"}},
    {{"itertools", "izip_longest"}, {"itertools", "zip_longest"}},
    {{"UserDict", "IterableUserDict"}, {"collections", "UserDict"}},
    {{"UserDict", "UserDict"}, {"collections", "UserDict"}},
    {{"UserList", "UserList"}, {"collections", "UserList"}},
    {{"UserString", "UserString"}, {"collections", "UserString"}},
    {{"whichdb", "whichdb"}, {"dbm", "whichdb"}},
    {{"_socket", "fromfd"}, {"socket", "fromfd"}},
    {{"socket", "_socketobject"}, {"socket", "SocketType"}},
    {{"_multiprocessing", "Connection"}, {"multiprocessing.connection", "Connection"}},
    {{"multiprocessing.process", "Process"}, {"multiprocessing.context", "Process"}},
    {{"multiprocessing.forking", "Popen"}, {"multiprocessing.popen_fork", "Popen"}},
    {{"urllib", "ContentTooShortError"}, {"urllib.error", "ContentTooShortError"}},
    {{"urllib", "getproxies"}, {"urllib.request", "getproxies"}},
    {{"urllib", "pathname2url"}, {"urllib.request", "pathname2url"}},
    {{"urllib", "quote_plus"}, {"urllib.parse", "quote_plus"}},
    {{"urllib", "quote"}, {"urllib.parse", "quote"}},
    {{"urllib", "unquote_plus"}, {"urllib.parse", "unquote_plus"}},
    {{"urllib", "unquote"}, {"urllib.parse", "unquote"}},
    {{"urllib", "url2pathname"}, {"urllib.request", "url2pathname"}},
    {{"urllib", "urlcleanup"}, {"urllib.request", "urlcleanup"}},
    {{"urllib", "urlencode"}, {"urllib.parse", "urlencode"}},
    {{"urllib", "urlopen"}, {"urllib.request", "urlopen"}},
    {{"urllib", "urlretrieve"}, {"urllib.request", "urlretrieve"}},
    {{"urllib2", "HTTPError"}, {"urllib.error", "HTTPError"}},
    {{"urllib2", "URLError"}, {"urllib.error", "URLError"}},
    {{"exceptions", "StandardError"}, {"builtins", "Exception"}},
    {{"multiprocessing", "AuthenticationError"},
     {"multiprocessing.context", "AuthenticationError"}},
    {{"multiprocessing", "BufferTooShort"}, {"multiprocessing.context", "BufferTooShort"}},
    {{"multiprocessing", "ProcessError"}, {"multiprocessing.context", "ProcessError"}},
    {{"multiprocessing", "TimeoutError"}, {"multiprocessing.context", "TimeoutError"}},
};

// _compat_pickle.PYTHON2_EXCEPTIONS: ("exceptions", X) -> ("builtins", X).
constexpr std::string_view k_python2_exceptions[] = {
    "ArithmeticError",
    "AssertionError",
    "AttributeError",
    "BaseException",
    "BufferError",
    "BytesWarning",
    "DeprecationWarning",
    "EOFError",
    "EnvironmentError",
    "Exception",
    "FloatingPointError",
    "FutureWarning",
    "GeneratorExit",
    "IOError",
    "ImportError",
    "ImportWarning",
    "IndentationError",
    "IndexError",
    "KeyError",
    "KeyboardInterrupt",
    "LookupError",
    "MemoryError",
    "NameError",
    "NotImplementedError",
    "OSError",
    "OverflowError",
    "PendingDeprecationWarning",
    "ReferenceError",
    "RuntimeError",
    "RuntimeWarning",
    "StopIteration",
    "SyntaxError",
    "SyntaxWarning",
    "SystemError",
    "SystemExit",
    "TabError",
    "TypeError",
    "UnboundLocalError",
    "UnicodeDecodeError",
    "UnicodeEncodeError",
    "UnicodeError",
    "UnicodeTranslateError",
    "UnicodeWarning",
    "UserWarning",
    "ValueError",
    "Warning",
    "ZeroDivisionError",
};

// _compat_pickle.IMPORT_MAPPING (with the non-mutual additions).
constexpr std::pair<std::string_view, std::string_view> k_import_mapping[] = {
    {"__builtin__", "builtins"},
    {"copy_reg", "copyreg"},
    {"Queue", "queue"},
    {"SocketServer", "socketserver"},
    {"ConfigParser", "configparser"},
    {"repr", "reprlib"},
    {"tkFileDialog", "tkinter.filedialog"},
    {"tkSimpleDialog", "tkinter.simpledialog"},
    {"tkColorChooser", "tkinter.colorchooser"},
    {"tkCommonDialog", "tkinter.commondialog"},
    {"Dialog", "tkinter.dialog"},
    {"Tkdnd", "tkinter.dnd"},
    {"tkFont", "tkinter.font"},
    {"tkMessageBox", "tkinter.messagebox"},
    {"ScrolledText", "tkinter.scrolledtext"},
    {"Tkconstants", "tkinter.constants"},
    {"Tix", "tkinter.tix"},
    {"ttk", "tkinter.ttk"},
    {"Tkinter", "tkinter"},
    {"markupbase", "_markupbase"},
    {"_winreg", "winreg"},
    {"thread", "_thread"},
    {"dummy_thread", "_dummy_thread"},
    {"dbhash", "dbm.bsd"},
    {"dumbdbm", "dbm.dumb"},
    {"dbm", "dbm.ndbm"},
    {"gdbm", "dbm.gnu"},
    {"xmlrpclib", "xmlrpc.client"},
    {"SimpleXMLRPCServer", "xmlrpc.server"},
    {"httplib", "http.client"},
    {"htmlentitydefs", "html.entities"},
    {"HTMLParser", "html.parser"},
    {"Cookie", "http.cookies"},
    {"cookielib", "http.cookiejar"},
    {"BaseHTTPServer", "http.server"},
    {"test.test_support", "test.support"},
    {"commands", "subprocess"},
    {"urlparse", "urllib.parse"},
    {"robotparser", "urllib.robotparser"},
    {"urllib2", "urllib.request"},
    {"anydbm", "dbm"},
    {"_abcoll", "collections.abc"},
    {"cPickle", "pickle"},
    {"_elementtree", "xml.etree.ElementTree"},
    {"FileDialog", "tkinter.filedialog"},
    {"SimpleDialog", "tkinter.simpledialog"},
    {"DocXMLRPCServer", "xmlrpc.server"},
    {"SimpleHTTPServer", "http.server"},
    {"CGIHTTPServer", "http.server"},
    {"UserDict", "collections"},
    {"UserList", "collections"},
    {"UserString", "collections"},
    {"whichdb", "dbm"},
    {"StringIO", "io"},
    {"cStringIO", "io"},
};

// Section 1.4. Exact (module, name) pairs after mapping.
constexpr NamePair k_allowed[] = {
    {"collections", "OrderedDict"},
    {"torch._utils", "_rebuild_tensor_v2"},
    {"torch._utils", "_rebuild_tensor"},
    {"torch._utils", "_rebuild_parameter"},
    {"torch._utils", "_rebuild_parameter_with_state"},
    {"torch._utils", "_rebuild_qtensor"},
    {"torch._utils", "_rebuild_sparse_tensor"},
    {"torch._utils", "_rebuild_sparse_csr_tensor"},
    {"torch._utils", "_rebuild_meta_tensor_no_storage"},
    {"torch", "Size"},
    {"torch", "device"},
    {"torch", "Tensor"},
    {"torch.serialization", "_get_layout"},
    {"torch.nn.parameter", "Parameter"},
    {"numpy.core.multiarray", "_reconstruct"},
    {"numpy._core.multiarray", "_reconstruct"},
    {"numpy", "ndarray"},
    {"numpy", "dtype"},
    {"numpy.core.multiarray", "scalar"},
    {"numpy._core.multiarray", "scalar"},
    {"argparse", "Namespace"},
};

// torch.<dtype> constants and layouts: values, never called.
constexpr std::string_view k_torch_constants[] = {
    "float32",
    "float",
    "float64",
    "double",
    "float16",
    "half",
    "bfloat16",
    "uint8",
    "int8",
    "int16",
    "short",
    "int32",
    "int",
    "int64",
    "long",
    "bool",
    "complex32",
    "complex64",
    "cfloat",
    "complex128",
    "cdouble",
    "quint8",
    "qint8",
    "qint32",
    "quint4x2",
    "quint2x4",
    "float8_e4m3fn",
    "float8_e5m2",
    "float8_e4m3fnuz",
    "float8_e5m2fnuz",
    "uint16",
    "uint32",
    "uint64",
    "strided",
    "sparse_coo",
    "sparse_csr",
    "sparse_csc",
    "sparse_bsr",
    "sparse_bsc",
    "contiguous_format",
    "channels_last",
    "channels_last_3d",
    "preserve_format",
};

constexpr std::string_view k_builtin_value_types[] = {
    "set", "frozenset", "dict",      "list", "tuple", "int",   "float",  "complex",
    "str", "bytes",     "bytearray", "bool", "slice", "range", "object",
};

struct StorageType {
  std::string_view name;
  int element_size;
};
// Typed storages: persistent-id dtype tags (never called) and element sizes of
// the raw data in legacy files.
constexpr StorageType k_storage_types[] = {
    {"DoubleStorage", 8},   {"FloatStorage", 4},        {"HalfStorage", 2},
    {"BFloat16Storage", 2}, {"LongStorage", 8},         {"IntStorage", 4},
    {"ShortStorage", 2},    {"CharStorage", 1},         {"ByteStorage", 1},
    {"BoolStorage", 1},     {"ComplexFloatStorage", 8}, {"ComplexDoubleStorage", 16},
    {"QInt8Storage", 1},    {"QUInt8Storage", 1},       {"QInt32Storage", 4},
    {"QUInt4x2Storage", 1}, {"QUInt2x4Storage", 1},
};

constexpr NamePair k_conditional[] = {
    {"_codecs", "encode"},
    {"copyreg", "_reconstructor"},
    {"torch._tensor", "_rebuild_from_type_v2"},
};

struct DenyEntry {
  std::string_view module;
  std::string_view name;  // empty: the whole module and its submodules
  Severity severity;
  std::string_view reason;
};

constexpr std::string_view k_exec = "executes code or programs";
constexpr std::string_view k_reflect = "reaches arbitrary attributes, modules or namespaces";
constexpr std::string_view k_import = "imports or resolves any module or callable by name";
constexpr std::string_view k_nested = "deserialises a nested payload";
constexpr std::string_view k_network = "network access";
constexpr std::string_view k_files = "reads, writes or deletes files";
constexpr std::string_view k_native = "loads native code or touches raw memory";
constexpr std::string_view k_interp = "interpreter internals or background execution";
constexpr std::string_view k_devtool = "developer tool whose entry points execute code";
constexpr std::string_view k_install = "installs or builds packages";
constexpr std::string_view k_torch =
    "torch function that downloads, compiles, executes or unpickles";
constexpr std::string_view k_wrap = "wraps or repeatedly calls an arbitrary callable";
constexpr std::string_view k_main = "a class from the saving script: code that is not in the file";

constexpr Severity k_crit = Severity::critical;
constexpr Severity k_high = Severity::high;

// Section 1.5.
constexpr DenyEntry k_denied[] = {
    {"os", "", k_crit, k_exec},
    {"posix", "", k_crit, k_exec},
    {"nt", "", k_crit, k_exec},
    {"subprocess", "", k_crit, k_exec},
    {"_posixsubprocess", "", k_crit, k_exec},
    {"pty", "", k_crit, k_exec},
    {"commands", "", k_crit, k_exec},
    {"builtins", "eval", k_crit, k_exec},
    {"builtins", "exec", k_crit, k_exec},
    {"builtins", "execfile", k_crit, k_exec},
    {"builtins", "compile", k_crit, k_exec},
    {"builtins", "__import__", k_crit, k_import},
    {"builtins", "open", k_high, k_files},
    {"builtins", "file", k_high, k_files},
    {"builtins", "getattr", k_high, k_reflect},
    {"builtins", "setattr", k_high, k_reflect},
    {"builtins", "delattr", k_high, k_reflect},
    {"builtins", "globals", k_high, k_reflect},
    {"builtins", "locals", k_high, k_reflect},
    {"builtins", "vars", k_high, k_reflect},
    {"builtins", "input", k_high, k_exec},
    {"builtins", "breakpoint", k_high, k_exec},
    {"builtins", "help", k_high, k_exec},
    {"builtins", "apply", k_high, k_wrap},
    {"runpy", "", k_crit, k_exec},
    {"code", "", k_crit, k_exec},
    {"codeop", "", k_crit, k_exec},
    {"importlib", "", k_high, k_import},
    {"pkgutil", "", k_high, k_import},
    {"zipimport", "", k_high, k_import},
    {"imp", "", k_high, k_import},
    {"_imp", "", k_high, k_import},
    {"_frozen_importlib", "", k_high, k_import},
    {"_frozen_importlib_external", "", k_high, k_import},
    {"types", "CodeType", k_crit, k_exec},
    {"types", "FunctionType", k_crit, k_exec},
    {"types", "LambdaType", k_crit, k_exec},
    {"types", "MethodType", k_crit, k_exec},
    {"marshal", "", k_crit, k_exec},
    {"pickle", "", k_high, k_nested},
    {"_pickle", "", k_high, k_nested},
    {"cPickle", "", k_high, k_nested},
    {"dill", "", k_high, k_nested},
    {"cloudpickle", "", k_high, k_nested},
    {"shelve", "", k_high, k_nested},
    {"joblib", "load", k_high, k_nested},
    {"joblib.numpy_pickle", "load", k_high, k_nested},
    {"numpy", "load", k_high, k_nested},
    {"numpy", "loads", k_high, k_nested},
    {"numpy.core.multiarray", "loads", k_high, k_nested},
    {"pandas", "read_pickle", k_high, k_nested},
    {"pandas.io.pickle", "read_pickle", k_high, k_nested},
    {"torch", "load", k_high, k_nested},
    {"torch.serialization", "load", k_high, k_nested},
    {"torch.hub", "", k_high, k_torch},
    {"torch.jit", "", k_high, k_torch},
    {"torch._dynamo", "", k_high, k_torch},
    {"torch._inductor", "", k_high, k_torch},
    {"torch.utils.collect_env", "run", k_crit, k_torch},
    {"torch.utils.bottleneck", "", k_high, k_torch},
    {"torch.utils._config_module", "", k_high, k_torch},
    {"torch.fx.experimental.symbolic_shapes", "ShapeEnv.evaluate_guards_expression", k_crit,
     k_torch},
    {"torch.distributed.rpc", "", k_high, k_torch},
    {"torch.utils.data.datapipes.utils.decoder", "basichandlers", k_high, k_torch},
    {"operator", "attrgetter", k_high, k_reflect},
    {"operator", "itemgetter", k_high, k_reflect},
    {"operator", "methodcaller", k_high, k_reflect},
    {"operator", "getitem", k_high, k_reflect},
    {"_operator", "attrgetter", k_high, k_reflect},
    {"_operator", "itemgetter", k_high, k_reflect},
    {"_operator", "methodcaller", k_high, k_reflect},
    {"_operator", "getitem", k_high, k_reflect},
    {"functools", "partial", k_high, k_wrap},
    {"functools", "reduce", k_high, k_wrap},
    {"_functools", "", k_high, k_wrap},
    {"itertools", "", k_high, k_wrap},
    {"socket", "", k_high, k_network},
    {"_socket", "", k_high, k_network},
    {"ssl", "", k_high, k_network},
    {"http", "", k_high, k_network},
    {"httplib", "", k_high, k_network},
    {"urllib", "", k_high, k_network},
    {"urllib2", "", k_high, k_network},
    {"requests", "", k_high, k_network},
    {"aiohttp", "", k_high, k_network},
    {"ftplib", "", k_high, k_network},
    {"smtplib", "", k_high, k_network},
    {"poplib", "", k_high, k_network},
    {"imaplib", "", k_high, k_exec},
    {"nntplib", "", k_high, k_network},
    {"telnetlib", "", k_high, k_network},
    {"xmlrpc", "", k_high, k_network},
    {"socketserver", "", k_high, k_network},
    {"webbrowser", "", k_high, k_network},
    {"shutil", "", k_high, k_files},
    {"tempfile", "", k_high, k_files},
    {"glob", "", k_high, k_files},
    {"fileinput", "", k_high, k_files},
    {"filecmp", "", k_high, k_files},
    {"io", "open", k_high, k_files},
    {"io", "FileIO", k_high, k_files},
    {"io", "open_code", k_high, k_files},
    {"_io", "open", k_high, k_files},
    {"_io", "FileIO", k_high, k_files},
    {"_io", "open_code", k_high, k_files},
    {"logging", "", k_high, k_files},
    {"tarfile", "", k_high, k_files},
    {"zipfile", "", k_high, k_files},
    {"sqlite3", "", k_high, k_files},
    {"distutils.file_util", "", k_high, k_files},
    {"ctypes", "", k_crit, k_native},
    {"_ctypes", "", k_crit, k_native},
    {"cffi", "", k_crit, k_native},
    {"mmap", "", k_high, k_native},
    {"sys", "", k_high, k_interp},
    {"gc", "", k_high, k_interp},
    {"inspect", "", k_high, k_interp},
    {"site", "", k_high, k_interp},
    {"atexit", "", k_high, k_interp},
    {"signal", "", k_high, k_interp},
    {"threading", "", k_high, k_interp},
    {"_thread", "", k_high, k_interp},
    {"multiprocessing", "", k_high, k_interp},
    {"asyncio", "", k_high, k_interp},
    {"concurrent.futures", "", k_high, k_interp},
    {"_interpreters", "", k_crit, k_exec},
    {"_xxsubinterpreters", "", k_crit, k_exec},
    {"pdb", "", k_crit, k_devtool},
    {"bdb", "", k_high, k_devtool},
    {"cProfile", "", k_crit, k_devtool},
    {"profile", "", k_crit, k_devtool},
    {"timeit", "", k_crit, k_devtool},
    {"trace", "", k_crit, k_devtool},
    {"doctest", "", k_crit, k_devtool},
    {"pydoc", "", k_high, k_devtool},
    {"idlelib", "", k_high, k_devtool},
    {"lib2to3", "", k_high, k_devtool},
    {"unittest", "", k_high, k_devtool},
    {"test", "", k_high, k_devtool},
    {"pip", "", k_crit, k_install},
    {"ensurepip", "", k_high, k_install},
    {"venv", "", k_high, k_install},
    {"setuptools", "", k_high, k_install},
    {"distutils", "", k_high, k_install},
    {"uuid", "_get_command_stdout", k_crit, k_exec},
    {"uuid", "_popen", k_crit, k_exec},
    {"platform", "popen", k_crit, k_exec},
    {"platform", "_syscmd_file", k_high, k_exec},
    {"_osx_support", "", k_high, k_exec},
    {"_aix_support", "", k_high, k_exec},
    {"_pyrepl", "", k_high, k_exec},
    {"numpy.f2py", "", k_high, k_exec},
    {"numpy.distutils", "", k_high, k_exec},
    {"numpy.testing._private.utils", "runstring", k_crit, k_exec},
    {"__main__", "", k_high, k_main},
};

// Last attribute names that execute or reflect whatever module they are
// reached through: a dotted name ending in one of them is denied even when the
// path is otherwise unknown (some module re-exporting os.system).
constexpr std::string_view k_dangerous_attributes[] = {
    "system",       "popen",         "Popen",       "eval",
    "exec",         "execv",         "execve",      "execvp",
    "spawnv",       "spawnl",        "call",        "check_call",
    "check_output", "run",           "getoutput",   "getstatusoutput",
    "__import__",   "import_module", "getattr",     "setattr",
    "load",         "loads",         "compile",     "open",
    "fork",         "kill",          "remove",      "unlink",
    "rmtree",       "__builtins__",  "__globals__", "__subclasses__",
    "modules",
};

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

// `name` equals `entry` or is an attribute path below it ("a.b" under "a").
bool is_or_below(std::string_view name, std::string_view entry) {
  return name == entry ||
         (starts_with(name, entry) && name.size() > entry.size() && name[entry.size()] == '.');
}

std::string_view canonical_builtins(std::string_view module) {
  if (module == "__builtin__" || module == "__builtins__") return "builtins";
  return module;
}

const DenyEntry* match_deny(std::string_view module, std::string_view name) {
  module = canonical_builtins(module);
  for (const auto& entry : k_denied) {
    if (entry.name.empty()) {
      if (is_or_below(module, entry.module)) return &entry;
    } else if (module == entry.module && is_or_below(name, entry.name)) {
      return &entry;
    }
  }
  return nullptr;
}

std::vector<std::string_view> split_dots(std::string_view s) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t dot = s.find('.', start);
    parts.push_back(s.substr(start, dot == std::string_view::npos ? s.npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts;
}

std::string join(const std::vector<std::string_view>& parts, size_t begin, size_t end) {
  std::string out;
  for (size_t i = begin; i < end; ++i) {
    if (i > begin) out += '.';
    out += parts[i];
  }
  return out;
}

// Deny matching for the attribute path a protocol-4 unpickler walks: any
// component of a dotted `name` may be a module object re-exported under an
// alias (tempfile._os is os, collections._sys is sys), so each suffix of the
// path is matched as "module.name" too, with one leading underscore dropped.
const DenyEntry* match_deny_components(std::string_view module, std::string_view name) {
  const DenyEntry* best = match_deny(module, name);
  auto consider = [&best](const DenyEntry* e) {
    if (e && (!best || e->severity > best->severity)) best = e;
  };
  const auto mod_parts = split_dots(module);
  const auto name_parts = split_dots(name);
  std::vector<std::string_view> all = mod_parts;
  all.insert(all.end(), name_parts.begin(), name_parts.end());
  const size_t n = std::min<size_t>(all.size(), 32);
  // The module itself may continue into the name: module "torch" + "hub.load".
  for (size_t split = mod_parts.size() + 1; split < n; ++split)
    consider(match_deny(join(all, 0, split), join(all, split, n)));
  if (name_parts.size() >= 2) {
    for (size_t begin = mod_parts.size(); begin < n; ++begin) {
      for (size_t split = begin + 1; split <= n; ++split) {
        std::string mod = join(all, begin, split);
        const std::string rest = join(all, split, n);
        consider(match_deny(mod, rest));
        if (!mod.empty() && mod.front() == '_') {
          mod.erase(0, 1);
          consider(match_deny(mod, rest));
        }
      }
    }
  }
  // The most severe match explains best: tempfile._os.system is os.system.
  return best;
}

bool is_storage_class(std::string_view module, std::string_view name) {
  if (module != "torch" && module != "torch.cuda") return false;
  for (const auto& t : k_storage_types)
    if (t.name == name) return true;
  return false;
}

bool is_allowed(std::string_view module, std::string_view name) {
  module = canonical_builtins(module);
  for (const auto& pair : k_allowed)
    if (pair.module == module && pair.name == name) return true;
  if (module == "builtins")
    return std::find(std::begin(k_builtin_value_types), std::end(k_builtin_value_types), name) !=
           std::end(k_builtin_value_types);
  if (module == "torch" && std::find(std::begin(k_torch_constants), std::end(k_torch_constants),
                                     name) != std::end(k_torch_constants))
    return true;
  // torch.cuda.<X>Storage: the same dtype tags, written by checkpoints saved
  // from GPU tensors with the legacy serializer.
  if (is_storage_class(module, name)) return true;
  // torch.<X>Tensor: the legacy tensor type tags the PyTorch 0.1 tar format
  // records per tensor (the `tensors` member); a dtype name, like the storages.
  constexpr std::string_view k_tensor_suffix = "Tensor";
  if (name.size() > k_tensor_suffix.size() && name.ends_with(k_tensor_suffix)) {
    const std::string storage =
        std::string(name.substr(0, name.size() - k_tensor_suffix.size())) + "Storage";
    return !storage.starts_with("Q") && is_storage_class(module, storage);
  }
  return false;
}

}  // namespace

std::pair<std::string, std::string> map_python2_name(std::string_view module,
                                                     std::string_view name) {
  for (const auto& m : k_name_mapping)
    if (m.from.module == module && m.from.name == name)
      return {std::string(m.to.module), std::string(m.to.name)};
  if (module == "exceptions" &&
      std::find(std::begin(k_python2_exceptions), std::end(k_python2_exceptions), name) !=
          std::end(k_python2_exceptions))
    return {"builtins", std::string(name)};
  for (const auto& [from, to] : k_import_mapping)
    if (from == module) return {std::string(to), std::string(name)};
  return {std::string(module), std::string(name)};
}

ImportVerdict classify_import(std::string_view module, std::string_view name, bool joblib_file) {
  const std::string_view canon = canonical_builtins(module);
  if (is_allowed(canon, name)) return {ImportClass::allowed, Severity::info, {}};
  for (const auto& pair : k_conditional)
    if (pair.module == canon && pair.name == name)
      return {ImportClass::conditional, Severity::info, {}};
  if (canon == "torch.storage" && name == "_load_from_bytes")
    return {ImportClass::loader, Severity::info, {}};
  if (joblib_file && is_joblib_wrapper(canon, name))
    return {ImportClass::allowed, Severity::info, {}};
  if (const DenyEntry* entry = match_deny_components(canon, name))
    return {ImportClass::denied, entry->severity, entry->reason};
  if (name.find('.') != std::string_view::npos) {
    const std::string_view last = name.substr(name.rfind('.') + 1);
    if (std::find(std::begin(k_dangerous_attributes), std::end(k_dangerous_attributes), last) !=
        std::end(k_dangerous_attributes))
      return {ImportClass::denied, Severity::high,
              "dotted attribute path ending in a function that executes, imports or loads"};
  }
  return {ImportClass::unknown, Severity::medium, {}};
}

bool is_joblib_wrapper(std::string_view module, std::string_view name) {
  return module == "joblib.numpy_pickle" &&
         (name == "NumpyArrayWrapper" || name == "NDArrayWrapper" || name == "ZNDArrayWrapper");
}

std::optional<std::string_view> nested_loader_label(std::string_view module,
                                                    std::string_view name) {
  struct Loader {
    NamePair name;
    std::string_view label;
  };
  static constexpr Loader k_loaders[] = {
      {{"torch.storage", "_load_from_bytes"}, "_load_from_bytes"},
      {{"pickle", "loads"}, "pickle.loads"},
      {{"pickle", "load"}, "pickle.load"},
      {{"_pickle", "loads"}, "pickle.loads"},
      {{"_pickle", "load"}, "pickle.load"},
      {{"cPickle", "loads"}, "pickle.loads"},
      {{"dill", "loads"}, "dill.loads"},
      {{"cloudpickle", "loads"}, "cloudpickle.loads"},
      {{"marshal", "loads"}, "marshal.loads"},
      {{"numpy", "loads"}, "numpy.loads"},
      {{"numpy.core.multiarray", "loads"}, "numpy.loads"},
      {{"numpy", "load"}, "numpy.load"},
      {{"joblib", "load"}, "joblib.load"},
      {{"joblib.numpy_pickle", "load"}, "joblib.load"},
      {{"torch", "load"}, "torch.load"},
      {{"torch.serialization", "load"}, "torch.load"},
  };
  for (const auto& l : k_loaders)
    if (l.name.module == module && l.name.name == name) return l.label;
  return std::nullopt;
}

Decoder decoder_for(std::string_view module, std::string_view name) {
  module = canonical_builtins(module);
  if (module == "_codecs" && name == "encode") return Decoder::latin1_encode;
  if (module == "codecs" && name == "encode") return Decoder::latin1_encode;
  if ((module == "base64" && (name == "b64decode" || name == "decodebytes" ||
                              name == "standard_b64decode" || name == "decodestring")) ||
      (module == "binascii" && name == "a2b_base64"))
    return Decoder::base64;
  if (module == "zlib" && name == "decompress") return Decoder::zlib;
  if ((module == "bz2" || module == "_bz2") && name == "decompress") return Decoder::bz2;
  if ((module == "lzma" || module == "_lzma") && name == "decompress") return Decoder::lzma;
  if (((module == "io" || module == "_io") && name == "BytesIO") ||
      (module == "builtins" && (name == "bytes" || name == "bytearray")))
    return Decoder::identity;
  return Decoder::none;
}

int storage_element_size(std::string_view qualified_name) {
  std::string_view name = qualified_name;
  if (starts_with(name, "torch.cuda."))
    name.remove_prefix(11);
  else if (starts_with(name, "torch."))
    name.remove_prefix(6);
  else
    return 0;
  for (const auto& t : k_storage_types)
    if (t.name == name) return t.element_size;
  return 0;
}

}  // namespace hfaudit::scan
