"""`hfaudit policy check`: valid and invalid policies, exit codes, JSON shape."""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from clitest import SOURCE_DIR, ScratchTestCase, run  # noqa: E402

VALID = """version: 1
name: team
rules:
  scan.max_severity:
    max: low
  provenance.min_age:
    days: 7
waivers:
  - repo: org/model
    rules: all
    reason: reviewed
    owner: alice
    expires: 2000-01-31
"""

# Line 5 holds the bad value.
INVALID = """version: 1
name: team
rules:
  provenance.min_age:
    days: seven
"""


class PolicyCheckTest(ScratchTestCase):
    def test_shipped_policies_are_valid(self):
        for name in ("default.yaml", "strict.yaml", "example.yaml"):
            path = os.path.join(SOURCE_DIR, "policies", name)
            r = run("policy", "check", path)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(len(r.stdout.strip().splitlines()), 1, r.stdout)
            with open(path, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            self.assertIn(digest, r.stdout)
            self.assertIn("version 1", r.stdout)

    def test_valid_policy_one_line_summary(self):
        path = self.write("team.yaml", VALID)
        r = run("policy", "check", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        digest = hashlib.sha256(VALID.encode()).hexdigest()
        self.assertEqual(
            r.stdout,
            f"valid policy 'team' ({path}): version 1, 2 rules, 1 waiver (1 expired), sha256 {digest}\n")
        # The expired waiver is pointed out on stderr.
        self.assertIn("expired on 2000-01-31", r.stderr)

    def test_invalid_policy_names_file_line_and_key(self):
        path = self.write("bad.yaml", INVALID)
        r = run("policy", "check", path)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stdout, "")
        first = r.stderr.splitlines()[0]
        self.assertEqual(
            first,
            f"hfaudit: error: invalid policy ({path}:5): rules.provenance.min_age.days: "
            "expected a whole number, got 'seven'")

    def test_unknown_key_is_an_error_with_its_line(self):
        path = self.write("typo.yaml", "version: 1\nname: t\nrules:\n  scan.max_severity:\n"
                                       "    max: low\n    sevrity: warn\n")
        r = run("policy", "check", path)
        self.assertEqual(r.returncode, 2)
        self.assertIn(f"({path}:6): rules.scan.max_severity.sevrity: unknown key", r.stderr)

    def test_json_document_for_a_valid_policy(self):
        path = self.write("team.yaml", VALID)
        r = run("policy", "check", "--json", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["schema"], "hfaudit.policy-check/1")
        self.assertIn("hfaudit_version", doc)
        self.assertTrue(doc["valid"])
        self.assertEqual(doc["name"], "team")
        self.assertEqual(doc["version"], 1)
        self.assertEqual(doc["sha256"], hashlib.sha256(VALID.encode()).hexdigest())
        self.assertEqual(doc["rule_count"], 2)
        self.assertEqual(doc["rules"], ["scan.max_severity", "provenance.min_age"])
        self.assertEqual(doc["waivers"][0]["expired"], True)
        self.assertEqual(doc["waivers"][0]["rules"], "all")

    def test_json_document_for_an_invalid_policy(self):
        path = self.write("bad.yaml", INVALID)
        r = run("policy", "check", "--json", path)
        self.assertEqual(r.returncode, 2)
        doc = json.loads(r.stdout)
        self.assertFalse(doc["valid"])
        self.assertEqual(doc["error"]["line"], 5)
        self.assertEqual(doc["error"]["key"], "rules.provenance.min_age.days")
        self.assertTrue(r.stderr.startswith("hfaudit: error: invalid policy"))

    def test_missing_file_is_an_input_error(self):
        missing = os.path.join(self.scratch, "nope.yaml")
        r = run("policy", "check", missing)
        self.assertEqual(r.returncode, 3)
        self.assertEqual(r.stderr.splitlines()[0],
                         f"hfaudit: error: cannot read policy ({missing}): no such file or directory")

    def test_policy_without_subcommand_is_a_usage_error(self):
        self.assertEqual(run("policy").returncode, 2)
        self.assertEqual(run("policy", "check").returncode, 2)

    def test_help_documents_selection_and_exit_codes(self):
        r = run("policy", "check", "--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("HFAUDIT_POLICY", r.stdout)
        self.assertIn("Exit codes", r.stdout)


class PolicyExplainTest(ScratchTestCase):
    """`policy explain` against the fixture Hub over real HTTP on 127.0.0.1."""

    @classmethod
    def setUpClass(cls):
        cls._dir = tempfile.TemporaryDirectory(prefix="hfaudit-hub-")
        ready = os.path.join(cls._dir.name, "ready")
        server = os.path.join(SOURCE_DIR, "fixtures", "hub", "server.py")
        cls.server = subprocess.Popen(
            [sys.executable, server, "--port", "0", "--cdn-port", "0", "--many-org", "0",
             "--ready-file", ready], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while not os.path.exists(ready):
            if time.time() > deadline or cls.server.poll() is not None:
                raise RuntimeError("fixture Hub did not start")
            time.sleep(0.05)
        with open(ready) as f:
            cls.endpoint = f.read().split()[1]

    @classmethod
    def tearDownClass(cls):
        cls.server.terminate()
        cls.server.wait(timeout=10)
        cls._dir.cleanup()

    def explain(self, *args, env=None):
        full = {"HF_ENDPOINT": self.endpoint, "HF_HOME": os.path.join(self.scratch, "hf"),
                "HFAUDIT_POLICY": "", "HF_TOKEN": ""}
        full.update(env or {})
        return run("policy", "explain", *args, env=full)

    def test_clean_repository_is_allowed_by_the_builtin_default(self):
        r = self.explain("hfaudit-fixtures/clean-safetensors")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("allow under policy 'default' (built-in", r.stdout)

    def test_flagged_file_blocks_with_exit_6(self):
        r = self.explain("hfaudit-fixtures/malicious-pickle", "--json")
        self.assertEqual(r.returncode, 6, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["schema"], "hfaudit.policy-explain/1")
        decision = doc["decision"]
        self.assertEqual(decision["verdict"], "block")
        rules = {rule["id"]: rule for rule in decision["rules"]}
        self.assertEqual(rules["scan.hub_flagged"]["outcome"], "block")
        self.assertEqual(rules["scan.hub_flagged"]["files"], ["pytorch_model.bin"])
        self.assertEqual(rules["scan.max_severity"]["outcome"], "not_applicable")
        blocked = [f["path"] for f in decision["files"] if f["verdict"] == "block"]
        self.assertEqual(blocked, ["pytorch_model.bin"])

    def test_policy_selection_flag_then_env_then_home(self):
        home = os.path.join(self.scratch, "home")
        os.makedirs(home)
        with open(os.path.join(home, "policy.yaml"), "w") as f:
            f.write("version: 1\nname: home-policy\nrules: {}\n")
        env_policy = self.write("env.yaml", "version: 1\nname: env-policy\nrules: {}\n")
        flag_policy = os.path.join(SOURCE_DIR, "policies", "strict.yaml")
        repo = "hfaudit-fixtures/clean-safetensors"
        r = self.explain(repo, env={"HFAUDIT_HOME": home})
        self.assertIn("policy 'home-policy'", r.stdout)
        r = self.explain(repo, env={"HFAUDIT_HOME": home, "HFAUDIT_POLICY": env_policy})
        self.assertIn("policy 'env-policy'", r.stdout)
        r = self.explain(repo, "--policy", flag_policy,
                         env={"HFAUDIT_HOME": home, "HFAUDIT_POLICY": env_policy})
        self.assertIn("policy 'strict'", r.stdout)
        # strict requires a pinned commit and an approval: blocked.
        self.assertEqual(r.returncode, 6)
        self.assertIn("provenance.pinned_commit", r.stdout)

    def test_invalid_selected_policy_is_exit_2(self):
        bad = self.write("bad.yaml", INVALID)
        r = self.explain("hfaudit-fixtures/clean-safetensors", "--policy", bad)
        self.assertEqual(r.returncode, 2)
        self.assertIn(f"invalid policy ({bad}:5)", r.stderr)


if __name__ == "__main__":
    unittest.main()
