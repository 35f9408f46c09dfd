"""Shared helpers for the integration tests: run the real hfaudit binary."""
import os
import subprocess
import tempfile
import unittest

BIN = os.environ.get("HFAUDIT_BIN", "build/src/hfaudit")
SOURCE_DIR = os.environ.get("HFAUDIT_SOURCE_DIR", os.getcwd())


def run(*args, env=None, cwd=None):
    """Runs hfaudit with args; returns CompletedProcess with text stdout/stderr."""
    full_env = dict(os.environ)
    full_env.pop("CI", None)
    if env:
        full_env.update(env)
    return subprocess.run([BIN, *args], capture_output=True, text=True, env=full_env, cwd=cwd,
                          timeout=300)


class ScratchTestCase(unittest.TestCase):
    """A test case with a scratch directory removed after the test."""

    def setUp(self):
        self._scratch = tempfile.TemporaryDirectory(prefix="hfaudit-test-")
        self.scratch = self._scratch.name

    def tearDown(self):
        self._scratch.cleanup()

    def write(self, name, data):
        path = os.path.join(self.scratch, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        return path
