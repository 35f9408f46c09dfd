"""`hfaudit policy check`: valid and invalid policies, exit codes, JSON shape."""
import hashlib
import json
import os
import sys
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


if __name__ == "__main__":
    unittest.main()
