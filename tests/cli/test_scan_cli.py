"""The scan command's contract: streams, exit codes, JSON and SARIF shapes."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from clitest import ScratchTestCase, run  # noqa: E402

# A protocol-2 pickle calling posix.system('echo hfaudit-test'): built by hand,
# never loaded.
MALICIOUS_PICKLE = b"\x80\x02cposix\nsystem\nq\x00X\x11\x00\x00\x00echo hfaudit-testq\x01\x85q\x02Rq\x03."
# A benign protocol-2 pickle: {'a': 1}
BENIGN_PICKLE = b"\x80\x02}q\x00X\x01\x00\x00\x00aq\x01K\x01s."


class ScanCliTest(ScratchTestCase):
    def test_help_teaches_and_exits_zero(self):
        r = run("scan", "--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("--fail-on", r.stdout)
        self.assertIn("Examples", r.stdout)
        self.assertIn("Exit codes", r.stdout)

    def test_top_level_help_lists_exit_codes(self):
        r = run("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("blocked by policy", r.stdout)

    def test_unknown_command_is_a_usage_error(self):
        r = run("frobnicate")
        self.assertEqual(r.returncode, 2)
        self.assertTrue(r.stderr.startswith("hfaudit: error: "), r.stderr)

    def test_bad_fail_on_is_a_usage_error(self):
        path = self.write("a.pkl", BENIGN_PICKLE)
        r = run("scan", "--fail-on", "severe", path)
        self.assertEqual(r.returncode, 2)

    def test_json_and_sarif_together_is_a_usage_error(self):
        path = self.write("a.pkl", BENIGN_PICKLE)
        self.assertEqual(run("scan", "--json", "--sarif", path).returncode, 2)

    def test_missing_path_exits_3_with_one_line_error(self):
        missing = os.path.join(self.scratch, "nope.bin")
        r = run("scan", missing)
        self.assertEqual(r.returncode, 3)
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertEqual(lines[0], f"hfaudit: error: cannot read ({missing}): no such file or directory")

    def test_unreadable_outranks_findings(self):
        bad = self.write("evil.pkl", MALICIOUS_PICKLE)
        r = run("scan", bad, os.path.join(self.scratch, "missing"))
        self.assertEqual(r.returncode, 3)

    def test_malicious_pickle_fails_and_benign_passes(self):
        bad = self.write("evil.pkl", MALICIOUS_PICKLE)
        good = self.write("good.pkl", BENIGN_PICKLE)
        r = run("scan", bad)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("FAIL", r.stdout)
        self.assertIn("posix.system", r.stdout)
        r = run("scan", good)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_fail_on_critical_relaxes_the_threshold_explicitly(self):
        unknown = self.write("u.pkl", b"\x80\x02cmylib\nModel\nq\x00)\x81q\x01.")
        self.assertEqual(run("scan", unknown).returncode, 1)
        self.assertEqual(run("scan", "--fail-on", "critical", unknown).returncode, 0)

    def test_json_document_on_stdout_only(self):
        bad = self.write("evil.pkl", MALICIOUS_PICKLE)
        r = run("scan", "--json", bad)
        self.assertEqual(r.returncode, 1)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["schema"], "hfaudit.scan/1")
        self.assertIn("hfaudit_version", doc)
        [f] = doc["files"]
        self.assertEqual(f["path"], bad)
        self.assertEqual(f["format"], "pickle")
        self.assertTrue(f["fails"])
        self.assertIn(f["max_severity"], ("high", "critical"))
        subjects = [x["subject"] for x in f["findings"]]
        self.assertTrue(any("posix.system" in s for s in subjects), subjects)
        for x in f["findings"]:
            self.assertEqual(set(x), {"rule", "severity", "file", "member", "offset", "message",
                                      "subject"})

    def test_output_file_receives_the_document(self):
        bad = self.write("evil.pkl", MALICIOUS_PICKLE)
        out = os.path.join(self.scratch, "report.json")
        r = run("scan", "--json", "-o", out, bad)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        with open(out) as f:
            self.assertEqual(json.load(f)["schema"], "hfaudit.scan/1")

    def test_sarif_has_rules_levels_regions_and_members(self):
        bad = self.write("evil.pkl", MALICIOUS_PICKLE)
        r = run("scan", "--sarif", bad)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["version"], "2.1.0")
        run0 = doc["runs"][0]
        rules = {rule["id"] for rule in run0["tool"]["driver"]["rules"]}
        self.assertTrue(run0["results"])
        for res in run0["results"]:
            self.assertIn(res["ruleId"], rules)
            self.assertIn(res["level"], ("error", "warning", "note"))
            region = res["locations"][0]["physicalLocation"]["region"]
            self.assertEqual(region["startLine"], 1)
            self.assertIn("byteOffset", region)
        self.assertTrue(any(r["level"] == "error" for r in run0["results"]))

    def test_directories_are_walked_in_name_order(self):
        self.write("d/b.pkl", BENIGN_PICKLE)
        self.write("d/a/c.pkl", BENIGN_PICKLE)
        self.write("d/config.json", '{"architectures": ["BertModel"]}')
        r = run("scan", "--json", os.path.join(self.scratch, "d"))
        paths = [os.path.relpath(f["path"], self.scratch) for f in json.loads(r.stdout)["files"]]
        self.assertEqual(paths, ["d/a/c.pkl", "d/b.pkl", "d/config.json"])

    def test_symlinked_files_are_scanned_but_directory_links_not_followed(self):
        blob = self.write("blobs/abc", MALICIOUS_PICKLE)
        os.makedirs(os.path.join(self.scratch, "snap"))
        os.symlink("../blobs/abc", os.path.join(self.scratch, "snap", "model.bin"))
        os.symlink("..", os.path.join(self.scratch, "snap", "loop"))
        r = run("scan", "--json", os.path.join(self.scratch, "snap"))
        files = json.loads(r.stdout)["files"]
        self.assertEqual(len(files), 1)
        self.assertEqual(r.returncode, 1)
        del blob

    def test_extension_that_lies_is_a_finding(self):
        disguised = self.write("model.safetensors", MALICIOUS_PICKLE)
        doc = json.loads(run("scan", "--json", disguised).stdout)
        rules = [x["rule"] for x in doc["files"][0]["findings"]]
        self.assertIn("format.extension_mismatch", rules)

    def _onnx_with_external(self, make_weights):
        src = os.path.join(os.environ.get("HFAUDIT_SOURCE_DIR", "."), "fixtures", "scan",
                           "corpus", "onnx", "external_ok", "model.onnx")
        with open(src, "rb") as f:
            model = self.write("m/model.onnx", f.read())
        make_weights(os.path.join(self.scratch, "m", "weights.bin"))
        doc = json.loads(run("scan", "--json", model).stdout)
        return {x["rule"]: x for x in doc["files"][0]["findings"]}

    def test_onnx_external_data_through_a_symlink_out_of_the_directory_is_critical(self):
        findings = self._onnx_with_external(lambda p: os.symlink("/etc/hostname", p))
        self.assertEqual(findings["onnx.external_data_escape"]["severity"], "critical")

    def test_onnx_external_data_inside_the_directory_is_clean(self):
        findings = self._onnx_with_external(lambda p: open(p, "wb").write(b"\0" * 16))
        self.assertFalse([r for r, x in findings.items() if x["severity"] not in ("info", "low")])

    def test_onnx_external_data_shorter_than_the_tensor_is_a_finding(self):
        findings = self._onnx_with_external(lambda p: open(p, "wb").write(b"\0" * 4))
        self.assertEqual(findings["onnx.external_data_range"]["severity"], "medium")

    def test_text_and_json_are_reported_not_silently_clean(self):
        cfg = self.write("config.json", '{"model_type": "bert"}')
        doc = json.loads(run("scan", "--json", "-v", cfg).stdout)
        f = doc["files"][0]
        self.assertEqual(f["format"], "json")
        self.assertEqual(f["max_severity"], "info")
        self.assertFalse(f["fails"])


if __name__ == "__main__":
    unittest.main()
