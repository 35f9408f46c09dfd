// The name table and the allow/deny classification (sections 1.1, 1.4, 1.5).
#include "scan/pickle_rules.hpp"

#include <boost/test/unit_test.hpp>

#include "pickle_test_support.hpp"

using hfaudit::scan::classify_import;
using hfaudit::scan::ImportClass;
using hfaudit::scan::map_python2_name;

BOOST_AUTO_TEST_SUITE(pickle_rules_test)

BOOST_AUTO_TEST_CASE(python2_names_map_like_compat_pickle) {
  const std::tuple<const char*, const char*, const char*, const char*> cases[] = {
      {"__builtin__", "eval", "builtins", "eval"},
      {"__builtin__", "reduce", "functools", "reduce"},
      {"__builtin__", "unicode", "builtins", "str"},
      {"commands", "getoutput", "subprocess", "getoutput"},
      {"cPickle", "loads", "pickle", "loads"},
      {"copy_reg", "_reconstructor", "copyreg", "_reconstructor"},
      {"urllib", "urlopen", "urllib.request", "urlopen"},
      {"httplib", "HTTPConnection", "http.client", "HTTPConnection"},
      {"exceptions", "ValueError", "builtins", "ValueError"},
      {"collections", "OrderedDict", "collections", "OrderedDict"},
  };
  for (const auto& [m, n, em, en] : cases) {
    const auto [mm, mn] = map_python2_name(m, n);
    BOOST_TEST(mm == em);
    BOOST_TEST(mn == en);
  }
}

BOOST_AUTO_TEST_CASE(classification_follows_the_lists) {
  const std::tuple<const char*, const char*, ImportClass> cases[] = {
      {"collections", "OrderedDict", ImportClass::allowed},
      {"torch._utils", "_rebuild_tensor_v2", ImportClass::allowed},
      {"torch", "BFloat16Storage", ImportClass::allowed},
      {"torch", "bfloat16", ImportClass::allowed},
      {"numpy._core.multiarray", "_reconstruct", ImportClass::allowed},
      {"builtins", "set", ImportClass::allowed},
      {"__builtin__", "set", ImportClass::allowed},
      {"argparse", "Namespace", ImportClass::allowed},
      {"_codecs", "encode", ImportClass::conditional},
      {"copyreg", "_reconstructor", ImportClass::conditional},
      {"torch._tensor", "_rebuild_from_type_v2", ImportClass::conditional},
      {"torch.storage", "_load_from_bytes", ImportClass::loader},
      {"os", "system", ImportClass::denied},
      {"posix", "system", ImportClass::denied},
      {"nt", "system", ImportClass::denied},
      {"os.path", "join", ImportClass::denied},
      {"builtins", "getattr", ImportClass::denied},
      {"__builtins__", "__import__", ImportClass::denied},
      {"runpy", "run_path", ImportClass::denied},
      {"pty", "spawn", ImportClass::denied},
      {"socket", "create_connection", ImportClass::denied},
      {"webbrowser", "open", ImportClass::denied},
      {"importlib", "import_module", ImportClass::denied},
      {"importlib.util", "find_spec", ImportClass::denied},
      {"_pickle", "loads", ImportClass::denied},
      {"torch", "load", ImportClass::denied},
      {"torch.hub", "load", ImportClass::denied},
      {"torch", "hub.load", ImportClass::denied},
      {"operator", "attrgetter", ImportClass::denied},
      {"operator", "methodcaller", ImportClass::denied},
      {"types", "CodeType", ImportClass::denied},
      {"types", "FunctionType", ImportClass::denied},
      {"marshal", "loads", ImportClass::denied},
      {"pip", "main", ImportClass::denied},
      {"shutil", "rmtree", ImportClass::denied},
      {"sys", "modules", ImportClass::denied},
      {"ctypes", "CDLL", ImportClass::denied},
      {"__main__", "Model", ImportClass::denied},
      {"numpy.testing._private.utils", "runstring", ImportClass::denied},
      {"numpy", "testing._private.utils.runstring", ImportClass::denied},
      {"tempfile", "_os.system", ImportClass::denied},
      {"collections", "_sys.modules", ImportClass::denied},
      {"mylib.models", "Net", ImportClass::unknown},
      {"torch.nn.modules.linear", "Linear", ImportClass::unknown},
      {"builtins", "print", ImportClass::unknown},
  };
  for (const auto& [m, n, expected] : cases) {
    BOOST_TEST_CONTEXT(std::string(m) + "." + n) {
      BOOST_TEST(static_cast<int>(classify_import(m, n, false).klass) ==
                 static_cast<int>(expected));
    }
  }
  BOOST_TEST(classify_import("os", "system", false).severity == hfaudit::scan::Severity::critical);
  BOOST_TEST(classify_import("joblib.numpy_pickle", "NumpyArrayWrapper", true).klass ==
             ImportClass::allowed);
  BOOST_TEST(hfaudit::scan::storage_element_size("torch.cuda.HalfStorage") == 2);
  BOOST_TEST(hfaudit::scan::storage_element_size("torch.DoubleStorage") == 8);
  BOOST_TEST(hfaudit::scan::storage_element_size("mylib.Storage") == 0);
}

BOOST_AUTO_TEST_SUITE_END()
