"""Every scanner rule id used in the sources is documented in docs/scan.md."""
import glob
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from clitest import SOURCE_DIR  # noqa: E402

PREFIXES = ("pickle|pytorch_legacy|pytorch|zip|tar|npy|compressed|container|safetensors|gguf|"
            "template|onnx|keras|hdf5|format|json|code|scan")
# A rule id is the first string argument of a report call: `("rule"` or `, "rule"`.
RULE = re.compile(r'[(,]\s*"((?:' + PREFIXES + r')\.[a-z0-9_.]+)"')
NOT_RULES = {"pickle.load", "pickle.loads"}  # loader names in the pickle rule tables


class DocsTest(unittest.TestCase):
    def test_every_rule_is_documented(self):
        rules = set()
        for path in glob.glob(os.path.join(SOURCE_DIR, "src", "scan", "*.cpp")):
            with open(path) as f:
                rules.update(RULE.findall(f.read()))
        rules -= NOT_RULES
        self.assertGreater(len(rules), 100)
        with open(os.path.join(SOURCE_DIR, "docs", "scan.md")) as f:
            doc = f.read()
        missing = sorted(r for r in rules
                         if f"`{r}`" not in doc and f"`{r.split('.', 1)[1]}`" not in doc)
        self.assertEqual(missing, [], "rules missing from docs/scan.md")

    def test_every_risk_factor_is_documented(self):
        # add(r, "<id>", Severity::..., ...) in src/trust/trust.cpp
        with open(os.path.join(SOURCE_DIR, "src", "trust", "trust.cpp")) as f:
            ids = set(re.findall(r'add\(r,\s*"([a-z_]+\.[a-z_]+)"', f.read()))
        self.assertGreater(len(ids), 10)
        with open(os.path.join(SOURCE_DIR, "docs", "json-schemas.md")) as f:
            doc = f.read()
        self.assertIn("`hfaudit.info/1`", doc)
        missing = sorted(i for i in ids if f"`{i}`" not in doc)
        self.assertEqual(missing, [], "risk factors missing from docs/json-schemas.md")

    def test_hfaudit_environment_variables_are_documented(self):
        with open(os.path.join(SOURCE_DIR, "src", "cli", "env.cpp")) as f:
            names = set(re.findall(r'"(HFAUDIT_[A-Z_]+)"', f.read()))
        self.assertIn("HFAUDIT_HTTP_RETRIES", names)
        with open(os.path.join(SOURCE_DIR, "docs", "cli.md")) as f:
            doc = f.read()
        self.assertEqual(sorted(n for n in names if f"`{n}`" not in doc), [])

    def test_every_json_schema_is_documented(self):
        schemas = set()
        for pattern in ("src/**/*.cpp", "hub/*.cpp", "cache/*.cpp", "policies/*.cpp"):
            for path in glob.glob(os.path.join(SOURCE_DIR, pattern), recursive=True):
                with open(path) as f:
                    schemas.update(re.findall(r'"(hfaudit\.[a-z-]+/[0-9]+)"', f.read()))
        self.assertIn("hfaudit.lock/1", schemas)
        docs = ""
        for name in ("json-schemas.md", "cli.md"):
            with open(os.path.join(SOURCE_DIR, "docs", name)) as f:
                docs += f.read()
        self.assertEqual(sorted(s for s in schemas if f"`{s}`" not in docs), [],
                         "schemas missing from docs/json-schemas.md and docs/cli.md")


if __name__ == "__main__":
    unittest.main()
