"""Every labelled file of the fixture corpus: each malicious file is caught,
no benign file is flagged (fixtures/scan/labels.json)."""
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from clitest import SOURCE_DIR, run  # noqa: E402

SCAN_FIXTURES = os.path.join(SOURCE_DIR, "fixtures", "scan")


class CorpusLabelsTest(unittest.TestCase):
    def test_every_label_holds(self):
        corpus = os.path.join(SCAN_FIXTURES, "corpus")
        r = run("scan", "--json", corpus)
        self.assertIn(r.returncode, (0, 1), r.stderr)
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            f.write(r.stdout)
            report = f.name
        try:
            check = subprocess.run(
                [sys.executable, os.path.join(SCAN_FIXTURES, "check_labels.py"), report,
                 os.path.join(SCAN_FIXTURES, "labels.json"), corpus],
                capture_output=True, text=True)
            self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        finally:
            os.unlink(report)

    def test_generator_is_deterministic_and_matches_the_committed_corpus(self):
        with tempfile.TemporaryDirectory() as out:
            subprocess.run([sys.executable, os.path.join(SCAN_FIXTURES, "generate.py"), "--out",
                            out], check=True, capture_output=True)
            committed = os.path.join(SCAN_FIXTURES, "corpus")
            fresh = sorted(os.path.relpath(os.path.join(d, n), out)
                           for d, _, names in os.walk(out) for n in names)
            kept = sorted(os.path.relpath(os.path.join(d, n), committed)
                          for d, _, names in os.walk(committed) for n in names)
            self.assertEqual(fresh, kept)
            for rel in fresh:
                with open(os.path.join(out, rel), "rb") as a, \
                        open(os.path.join(committed, rel), "rb") as b:
                    self.assertEqual(a.read(), b.read(), rel)


if __name__ == "__main__":
    unittest.main()
