"""Run the fixture Hub (fixtures/hub/server.py) for integration tests of the real binary.

The fixture Hub answers like https://huggingface.co (Hub API on one port, LFS CDN on another,
both on 127.0.0.1) and has a control API to inject faults, read the request log and mutate
repositories (fixtures/hub/README.md). This module starts one server process, talks to its
control API, builds an isolated environment for hfaudit, and stops the server reliably.

Typical use, one server per test file (starting it takes about a second)::

    import os, sys
    sys.path.insert(0, os.path.dirname(__file__))
    from hubfixture import HubTestCase

    class InfoTest(HubTestCase):
        hub_args = ("--page-size", "2")        # optional extra server.py arguments

        def test_something(self):
            r = self.hfaudit("info", "hfaudit-fixtures/clean-safetensors", "--json")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue(self.hub.log(server="hub"))

`HubTestCase` starts the server in setUpClass (registered with addClassCleanup, so it is
stopped even when setUpClass or a test fails) and, before every test, clears the pending
faults and the request log, so each test sees only its own requests. Tests that change state
(`commit`, `grant`, `set_*` operations) call `self.hub.reset()` or use `self.addCleanup(
self.hub.reset)`.

Outside unittest, `FixtureHub` is a context manager::

    with FixtureHub() as hub:
        subprocess.run([bin, "info", "org/name"], env=hub.env())

Environment isolation (`FixtureHub.env()`): HF_ENDPOINT points at the fixture Hub; HF_HOME,
HF_HUB_CACHE and HFAUDIT_HOME are directories under the fixture's temporary directory (so a
token file or a cache in the developer's home is never used); inherited HF_TOKEN,
HUGGING_FACE_HUB_TOKEN, HF_TOKEN_PATH, HF_HUB_OFFLINE, TRANSFORMERS_OFFLINE, CI, the timeout
and retry tuning variables and HTTP proxies are removed. Retries are made fast by default
(HFAUDIT_HTTP_BACKOFF_MS=10); pass `fast_retries=False` to keep hfaudit's defaults.

Python 3 standard library only.
"""
import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("HFAUDIT_SOURCE_DIR", os.path.dirname(os.path.dirname(HERE)))
SERVER = os.path.join(SOURCE_DIR, "fixtures", "hub", "server.py")
BIN = os.environ.get("HFAUDIT_BIN", os.path.join(SOURCE_DIR, "build", "src", "hfaudit"))

# Fixture accounts (fixtures/hub/README.md, "Accounts and tokens").
ORG = "hfaudit-fixtures"
TOKEN_READER = "hf_fixture_reader"    # granted gated-manual, gated-auto, private-model
TOKEN_NOGRANT = "hf_fixture_nogrant"  # valid, no grants
TOKEN_ALICE = "hf_fixture_alice"      # owner of alice-fixture/*

# Variables removed from the inherited environment: anything that would make hfaudit use a
# real token, a real cache, offline mode, CI behaviour, other timeouts or a proxy.
SCRUBBED = (
    "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_HOME", "HF_HUB_CACHE",
    "HUGGINGFACE_HUB_CACHE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_ETAG_TIMEOUT",
    "HF_HUB_DOWNLOAD_TIMEOUT", "HF_HUB_DISABLE_IMPLICIT_TOKEN", "HF_OIDC_RESOURCE",
    "HUGGINGFACE_CO_STAGING", "HFAUDIT_HOME", "HFAUDIT_POLICY", "HFAUDIT_HTTP_RETRIES",
    "HFAUDIT_HTTP_BACKOFF_MS", "XDG_CACHE_HOME", "CI", "NO_COLOR",
    "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
)

# Servers started by this process, stopped at interpreter exit if a test run is interrupted.
_live = set()


@atexit.register
def _stop_all():
    for hub in list(_live):
        hub.stop()


class FixtureHubError(RuntimeError):
    """The fixture Hub could not be started, or a control call failed."""


class FixtureHub:
    """One fixture Hub server process (Hub API + CDN) and its control API.

    `args` are extra server.py arguments, e.g. ("--page-size", "2") or ("--rate-limit",
    "5/60"). The server always gets --port 0 --cdn-port 0 --ready-file; `--many-org 0` is
    added unless `many_org` is given (the 1,050 synthetic repositories slow start-up down and
    only listing tests need them).
    """

    def __init__(self, *args, many_org=0, startup_timeout=30.0):
        self.args = list(args)
        if many_org is not None and "--many-org" not in self.args:
            self.args += ["--many-org", str(many_org)]
        self.startup_timeout = startup_timeout
        self.proc = None
        self.tmp = None
        self.hub_url = None  # "http://127.0.0.1:PORT": the Hub API (HF_ENDPOINT)
        self.cdn_url = None  # "http://127.0.0.1:PORT": the LFS CDN

    # ---- lifecycle

    def start(self):
        """Starts the server and waits until both ports listen. Returns self."""
        if self.proc is not None:
            return self
        self.tmp = tempfile.mkdtemp(prefix="hfaudit-hub-")
        ready = os.path.join(self.tmp, "ready")
        self._out = open(os.path.join(self.tmp, "server.out"), "wb")
        self._err = open(os.path.join(self.tmp, "server.err"), "wb")
        cmd = [sys.executable, SERVER, "--port", "0", "--cdn-port", "0", "--ready-file", ready,
               *self.args]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._out,
                                     stderr=self._err, cwd=self.tmp)
        _live.add(self)
        deadline = time.monotonic() + self.startup_timeout
        while not os.path.exists(ready):
            if self.proc.poll() is not None:
                err = self.server_stderr()
                self.stop()
                raise FixtureHubError(f"fixture Hub exited with {self.proc.returncode}: {err}")
            if time.monotonic() > deadline:
                err = self.server_stderr()
                self.stop()
                raise FixtureHubError(f"fixture Hub not ready after {self.startup_timeout} s: {err}")
            time.sleep(0.02)
        with open(ready) as f:
            words = f.read().split()  # HUB <url> CDN <url>
        self.hub_url, self.cdn_url = words[1], words[3]
        for name in ("home", "home/hub", "hfaudit-home"):
            os.makedirs(os.path.join(self.tmp, name), exist_ok=True)
        return self

    def stop(self):
        """Stops the server: SIGTERM, then SIGKILL after 5 s. Safe to call more than once."""
        proc, self.proc = self.proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
            for f in (self._out, self._err):
                f.close()
        _live.discard(self)
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def server_stderr(self):
        """What the server wrote to stderr so far (tracebacks of fixture bugs end up here)."""
        try:
            with open(os.path.join(self.tmp, "server.err"), "rb") as f:
                return f.read().decode(errors="replace")
        except (OSError, TypeError):
            return ""

    # ---- environment for hfaudit

    @property
    def hf_home(self):
        return os.path.join(self.tmp, "home")

    @property
    def hf_hub_cache(self):
        return os.path.join(self.tmp, "home", "hub")

    @property
    def hfaudit_home(self):
        return os.path.join(self.tmp, "hfaudit-home")

    def env(self, token=None, fast_retries=True, **extra):
        """A complete environment dict for subprocess: the inherited one minus SCRUBBED, plus
        HF_ENDPOINT, HF_HOME, HF_HUB_CACHE, HFAUDIT_HOME, NO_PROXY; HF_TOKEN when `token` is
        given; HFAUDIT_HTTP_BACKOFF_MS=10 when `fast_retries`. `extra` is added last (a value of
        None removes the variable), e.g. env(HF_HUB_OFFLINE="1")."""
        e = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
        e.update({
            "HF_ENDPOINT": self.hub_url,
            "HF_HOME": self.hf_home,
            "HF_HUB_CACHE": self.hf_hub_cache,
            "HFAUDIT_HOME": self.hfaudit_home,
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        })
        if fast_retries:
            e["HFAUDIT_HTTP_BACKOFF_MS"] = "10"
        if token is not None:
            e["HF_TOKEN"] = token
        for k, v in extra.items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = str(v)
        return e

    # ---- control API (fixtures/hub/README.md, "Control and observation API")

    def _call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.hub_url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            raise FixtureHubError(f"{method} {path}: HTTP {e.code}: {e.read().decode(errors='replace')}")

    def faults(self, faults):
        """Adds one fault (a dict) or a list of them, e.g.
        {"match": r"/api/models/hfaudit-fixtures/no-card", "kind": "500", "times": 2}.
        Kinds: "429" (retry_after, retry_after_format="date"), any 3-digit status, "cut",
        "corrupt", "slow" (chunk, delay_ms), "redirect_loop" (loop, absolute), "reset",
        "ignore_range". "range" (a regex on the Range header) targets one part of a file."""
        return self._call("POST", "/_fixture/faults", faults)

    def pending_faults(self):
        """The faults not used up yet (each with "hits")."""
        return self._call("GET", "/_fixture/faults")

    def clear_faults(self):
        self._call("DELETE", "/_fixture/faults")

    def log(self, server=None):
        """Requests seen, oldest first: dicts with seq, server ("hub"|"cdn"), method, path (as
        sent, percent-encoded), status (0: no response sent), authorization, token, headers,
        fault, bytesSent. `server` filters by "hub" or "cdn"."""
        return self._call("GET", "/_fixture/log" + (f"?server={server}" if server else ""))

    def clear_log(self):
        self._call("DELETE", "/_fixture/log")

    def commit(self, body=None, **fields):
        """POST /_fixture/commit: a commit ({"repo", "branch", "files", ...}) or an operation
        ({"op": "set_gated", ...}). Keyword arguments are merged into `body`."""
        return self._call("POST", "/_fixture/commit", dict(body or {}, **fields))

    def reset(self):
        """Reloads every repository from the manifests; clears faults, log and rate limits."""
        self._call("POST", "/_fixture/reset", {})

    def set_rate_limit(self, quota, window):
        """Every bucket allows `quota` requests per `window` seconds from now on (429 beyond)."""
        return self._call("POST", "/_fixture/rate-limit", {"quota": quota, "window": window})

    def repos(self):
        """{repo id: {"main": commit, "private", "gated"}} (many-org omitted)."""
        return self._call("GET", "/_fixture/repos")

    def get_json(self, path, token=None):
        """GET a Hub API path directly (logged like any request), e.g. the refs of a repo to
        compare with what hfaudit reports. Returns the decoded JSON body."""
        req = urllib.request.Request(self.hub_url + path)
        if token:
            req.add_header("Authorization", "Bearer " + token)
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())


def run_hfaudit(args, env, timeout=120, binary=None):
    """Runs the hfaudit binary with `args` and exactly `env`; returns a CompletedProcess with
    text stdout/stderr and the wall time in `.elapsed` (seconds)."""
    started = time.monotonic()
    r = subprocess.run([binary or BIN, *args], capture_output=True, text=True, env=env,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    r.elapsed = time.monotonic() - started
    return r


class HubTestCase(unittest.TestCase):
    """A TestCase sharing one fixture Hub per class (`cls.hub`).

    Class attributes: `hub_args` (extra server.py arguments), `many_org` (synthetic listing
    repositories, default 0). Before each test the faults and the log are cleared.
    """

    hub_args = ()
    many_org = 0
    hub = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        hub = FixtureHub(*cls.hub_args, many_org=cls.many_org)
        cls.addClassCleanup(hub.stop)
        cls.hub = hub.start()

    def setUp(self):
        super().setUp()
        self.hub.clear_faults()
        self.hub.clear_log()

    def hfaudit(self, *args, token=None, env=None, fast_retries=True, timeout=120):
        """Runs hfaudit against the fixture Hub. `env` adds or (with None) removes variables."""
        return run_hfaudit(args, self.hub.env(token=token, fast_retries=fast_retries,
                                              **(env or {})), timeout=timeout)

    def hub_requests(self, server="hub"):
        """The logged requests of this test (the log is cleared before each test)."""
        return self.hub.log(server=server)
