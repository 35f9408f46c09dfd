"""hfaudit pull against the fixture Hub over real HTTP: verification, resume, concurrency,
the gate, offline use, and a third-party client (@huggingface/hub) reading the cache."""
import base64
import glob
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from hubfixture import BIN, SOURCE_DIR, HubTestCase  # noqa: E402

CLEAN = "hfaudit-fixtures/clean-safetensors"
MALICIOUS = "hfaudit-fixtures/malicious-pickle"
DRIFT = "hfaudit-fixtures/drift-model"
FLAKY = "hfaudit-fixtures/flaky-model"
GATED = "hfaudit-fixtures/gated-manual"
READER_TOKEN = "hf_fixture_reader"
LAYOUT_CHECKER = os.path.join(SOURCE_DIR, "tests", "cache", "check_hf_layout.py")
COMPAT = os.path.join(SOURCE_DIR, "tests", "compat")


def git_blob_id(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class PullCase(HubTestCase):
    """Helpers for pull tests: an empty cache and an unmodified Hub before every test."""

    def setUp(self):
        super().setUp()
        # Every test starts from an empty cache and an unmodified Hub.
        for d in (self.hub.hf_home, self.hub.hfaudit_home):
            shutil.rmtree(d, ignore_errors=True)
        self.addCleanup(self.hub.reset)

    # ---- helpers

    def pull(self, *args, **kw):
        return self.hfaudit("pull", "--json", *args, **kw)

    def pull_ok(self, *args, **kw):
        r = self.pull(*args, **kw)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return json.loads(r.stdout)

    def tree(self, repo, rev="main", token=None):
        return self.hub.get_json(f"/api/models/{repo}/tree/{rev}?recursive=true", token=token)

    def resolve_requests(self):
        return [e for e in self.hub.log() if "/resolve/" in e["path"]]

    def cdn_requests(self):
        return self.hub.log(server="cdn")

    def snapshot(self, repo, commit):
        return os.path.join(self.hub.hf_hub_cache, "models--" + repo.replace("/", "--"),
                            "snapshots", commit)

    def assert_layout_ok(self):
        r = subprocess.run([sys.executable, LAYOUT_CHECKER, self.hub.hf_hub_cache],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def assert_snapshot_matches_hub(self, repo, doc, token=None):
        """Every linked file's bytes hash to what the Hub's tree says."""
        tree = {e["path"]: e for e in self.tree(repo, doc["commit"], token) if e["type"] == "file"}
        snap = self.snapshot(repo, doc["commit"])
        for f in doc["files"]:
            if f["outcome"] != "linked":
                continue
            with open(os.path.join(snap, f["path"]), "rb") as fh:
                data = fh.read()
            e = tree[f["path"]]
            if "lfs" in e:
                self.assertEqual(hashlib.sha256(data).hexdigest(), e["lfs"]["oid"], f["path"])
            else:
                self.assertEqual(git_blob_id(data), e["oid"], f["path"])

    def audit_log(self):
        db = sqlite3.connect(os.path.join(self.hub.hfaudit_home, "index.sqlite"))
        try:
            return db.execute("SELECT action, repo_id, path, detail_json FROM audit_log ORDER BY id").fetchall()
        finally:
            db.close()

    def add_big_file(self, repo, path, size):
        """Commits a valid safetensors file of about `size` bytes (one U8 tensor of
        pseudo-random bytes) to `repo` main; returns its bytes."""
        header = json.dumps({"w": {"dtype": "U8", "shape": [size],
                                   "data_offsets": [0, size]}}).encode()
        header += b" " * (-len(header) % 8)
        data = (len(header).to_bytes(8, "little") + header +
                hashlib.shake_256(path.encode()).digest(size))
        self.hub.commit(repo=repo, branch="main", title="add " + path,
                        files={path: base64.b64encode(data).decode()})
        return data



class PullTest(PullCase):
    # ---- clean pulls

    def test_clean_pull_verifies_links_and_writes_the_ref(self):
        doc = self.pull_ok(CLEAN)
        self.assertEqual(doc["schema"], "hfaudit.pull/1")
        self.assertRegex(doc["commit"], r"^[0-9a-f]{40}$")
        self.assertEqual(doc["commit"], self.hub.repos()[CLEAN]["main"])
        self.assertTrue(all(f["outcome"] == "linked" for f in doc["files"]), doc["files"])
        self.assert_snapshot_matches_hub(CLEAN, doc)
        ref = os.path.join(self.hub.hf_hub_cache, "models--hfaudit-fixtures--clean-safetensors",
                           "refs", "main")
        with open(ref) as f:
            self.assertEqual(f.read(), doc["commit"])  # exactly 40 hex, no newline
        self.assert_layout_ok()
        # nothing of hfaudit's own inside HF_HUB_CACHE
        self.assertEqual(sorted(os.listdir(self.hub.hf_hub_cache)),
                         ["models--hfaudit-fixtures--clean-safetensors"])
        actions = [a for a, *_ in self.audit_log()]
        self.assertIn("pull", actions)

    def test_repull_makes_no_file_request_and_a_pinned_repull_no_request_at_all(self):
        doc = self.pull_ok(CLEAN)
        self.hub.clear_log()
        again = self.pull_ok(CLEAN)
        self.assertEqual(again["bytes_fetched"], 0)
        self.assertEqual(self.resolve_requests(), [])
        self.assertEqual(self.cdn_requests(), [])
        self.hub.clear_log()
        pinned = self.pull_ok(f"{CLEAN}@{doc['commit']}")
        self.assertFalse(pinned["network_used"])
        self.assertEqual(self.hub.log(), [])

    def test_new_revision_fetches_only_new_blobs(self):
        v1 = self.pull_ok(f"{DRIFT}@v1")
        self.hub.clear_log()
        r = self.pull(DRIFT)
        # The default policy refuses the new pickle next to safetensors weights
        # (formats.require_safetensors): it is fetched and verified, never linked.
        self.assertEqual(r.returncode, 6, r.stdout + r.stderr)
        main = json.loads(r.stdout)
        outcomes = {f["path"]: f["outcome"] for f in main["files"]}
        self.assertEqual(outcomes["pytorch_model.bin"], "blocked")
        self.assertEqual(outcomes["model.safetensors"], "linked")
        self.assertNotEqual(v1["commit"], main["commit"])
        fetched = sorted(f["path"] for f in main["files"] if f["bytes_fetched"] > 0)
        # main changed config.json and added pytorch_model.bin; model.safetensors is shared
        self.assertEqual(fetched, ["config.json", "pytorch_model.bin"])
        requested = sorted(e["path"].split("/resolve/")[1].split("/", 1)[1]
                           for e in self.resolve_requests() if e["method"] == "GET")
        self.assertEqual(requested, ["config.json", "pytorch_model.bin"])
        self.assert_layout_ok()

    def test_include_and_exclude_select_files(self):
        doc = self.pull_ok(CLEAN, "--include", "*.json", "--exclude", "tokenizer*")
        linked = sorted(f["path"] for f in doc["files"] if f["outcome"] == "linked")
        self.assertIn("config.json", linked)
        self.assertIn("1_Pooling/config.json", linked)  # fnmatch: * crosses '/' as in huggingface_hub
        self.assertNotIn("tokenizer.json", linked)
        self.assertNotIn("model.safetensors", linked)
        snap = self.snapshot(CLEAN, doc["commit"])
        self.assertFalse(os.path.exists(os.path.join(snap, "model.safetensors")))

    # ---- the gate

    def test_malicious_pickle_is_blocked_and_never_visible(self):
        r = self.pull(MALICIOUS)
        self.assertEqual(r.returncode, 6, r.stdout + r.stderr)
        doc = json.loads(r.stdout)
        blocked = [f for f in doc["files"] if f["outcome"] == "blocked"]
        self.assertEqual([f["path"] for f in blocked], ["pytorch_model.bin"])
        self.assertIn("posix.system", json.dumps(blocked[0]["findings"]))
        snap = self.snapshot(MALICIOUS, doc["commit"])
        self.assertFalse(os.path.lexists(os.path.join(snap, "pytorch_model.bin")))
        view_blobs = os.listdir(os.path.join(os.path.dirname(os.path.dirname(snap)), "blobs"))
        self.assertNotIn(blocked[0]["etag"], view_blobs)
        self.assertIn("hfaudit: error: blocked (pytorch_model.bin)", r.stderr)
        blocks = [row for row in self.audit_log() if row[0] == "block"]
        self.assertEqual([row[2] for row in blocks], ["pytorch_model.bin"])
        self.assert_layout_ok()

    def test_repository_level_block_stops_before_any_download(self):
        r = self.pull("hfaudit-fixtures/custom-code")
        self.assertEqual(r.returncode, 6, r.stdout + r.stderr)
        doc = json.loads(r.stdout)
        self.assertTrue(all(f["outcome"] == "blocked" for f in doc["files"]), doc["files"])
        self.assertIn("code.custom_code", doc["files"][0]["reason"])
        self.assertEqual(self.resolve_requests(), [])  # no byte was fetched
        self.assertEqual(doc["decision"]["verdict"], "block")
        self.assert_layout_ok()  # and no ref naming a snapshot that does not exist

    def test_a_policy_can_approve_custom_code(self):
        policy = os.path.join(self.hub.tmp, "approve.yaml")
        with open(policy, "w") as f:
            f.write("version: 1\nname: approve-custom\nrules:\n"
                    "  scan.max_severity:\n    max: low\n"
                    "  code.custom_code:\n    approved_repos: [hfaudit-fixtures/custom-code]\n")
        doc = self.pull_ok("hfaudit-fixtures/custom-code", "--policy", policy)
        self.assertEqual(doc["decision"]["policy"]["name"], "approve-custom")
        snap = self.snapshot("hfaudit-fixtures/custom-code", doc["commit"])
        self.assertTrue(os.path.exists(os.path.join(snap, "modeling_x.py")))

    def test_an_invalid_policy_is_a_usage_error_naming_the_line(self):
        policy = os.path.join(self.hub.tmp, "bad.yaml")
        with open(policy, "w") as f:
            f.write("version: 1\nname: bad\nrules:\n  scan.max_severity:\n    max: severe\n")
        r = self.pull(CLEAN, "--policy", policy)
        self.assertEqual(r.returncode, 2)
        self.assertIn(f"invalid policy ({policy}:5)", r.stderr)
        self.assertEqual(self.hub.log(), [])

    def test_a_cached_commit_is_judged_again_under_another_policy(self):
        doc = self.pull_ok(CLEAN)
        pinned = f"{CLEAN}@{doc['commit']}"
        self.hub.clear_log()
        self.assertFalse(self.pull_ok(pinned)["network_used"])  # same policy: cache only
        strict = os.path.join(SOURCE_DIR, "policies", "strict.yaml")
        r = self.pull(pinned, "--policy", strict)
        again = json.loads(r.stdout)
        self.assertTrue(again["network_used"])  # re-judged with the Hub's metadata
        self.assertEqual(again["decision"]["policy"]["name"], "strict")
        self.assertEqual(self.cdn_requests(), [])  # but no byte fetched again
        offline = self.pull(pinned, "--policy", strict, env={"HF_HUB_OFFLINE": "1"})
        self.assertEqual(offline.returncode, 0 if r.returncode == 0 else offline.returncode)

    # ---- integrity and faults

    def test_tampered_body_is_rejected_and_kept_out(self):
        r = self.pull(FLAKY)
        self.assertEqual(r.returncode, 5, r.stdout + r.stderr)
        doc = json.loads(r.stdout)
        bad = {f["path"]: f for f in doc["files"]}["model.safetensors"]
        self.assertEqual(bad["outcome"], "failed")
        self.assertIn("sha256", bad["reason"])
        snap = self.snapshot(FLAKY, doc["commit"])
        self.assertFalse(os.path.lexists(os.path.join(snap, "model.safetensors")))
        self.assertTrue(os.path.exists(os.path.join(snap, "extra.safetensors")))
        # nothing unverified in the store
        store = glob.glob(os.path.join(self.hub.hfaudit_home, "blobs", "sha256", "*", "*", "*"))
        for path in store:
            with open(path, "rb") as f:
                self.assertEqual(hashlib.sha256(f.read()).hexdigest(), os.path.basename(path))
        self.assert_layout_ok()

    def test_corrupt_fault_on_one_download_is_an_integrity_error(self):
        self.hub.faults({"match": r"model\.safetensors", "kind": "corrupt", "times": -1})
        r = self.pull(CLEAN)
        self.assertEqual(r.returncode, 5, r.stdout + r.stderr)

    def test_rate_limit_and_server_errors_are_retried(self):
        self.hub.faults([{"match": r"/api/models/.*/revision/", "kind": "429", "retry_after": 1, "times": 1},
                         {"match": r"model\.safetensors", "kind": "503", "times": 2, "server": "cdn"}])
        doc = self.pull_ok(CLEAN)
        self.assertTrue(all(f["outcome"] == "linked" for f in doc["files"]))
        statuses = [e["status"] for e in self.hub.log(server="cdn") if "model.safetensors" in e["path"]]
        self.assertEqual(statuses[:3], [503, 503, 200])

    def test_connection_cut_mid_body_resumes_with_a_range(self):
        self.add_big_file(CLEAN, "big.safetensors", 2 << 20)
        self.hub.faults({"match": r"big\.safetensors", "kind": "cut", "after_bytes": 700000,
                         "times": 1, "server": "cdn"})
        doc = self.pull_ok(CLEAN)
        big = {f["path"]: f for f in doc["files"]}["big.safetensors"]
        self.assertEqual(big["outcome"], "linked")
        gets = [e for e in self.cdn_requests() if "big.safetensors" in e["path"] and e["method"] == "GET"]
        self.assertEqual(len(gets), 2)
        self.assertEqual(gets[1]["range"], "bytes=700000-")
        self.assertEqual(big["bytes_fetched"], big["size"])  # nothing fetched twice
        self.assert_snapshot_matches_hub(CLEAN, doc)

    def test_slow_drip_completes(self):
        self.hub.faults({"match": r"config\.json", "kind": "slow", "chunk": 64, "delay_ms": 20,
                         "times": 1})
        self.pull_ok(CLEAN, "--include", "config.json")

    def test_redirect_loop_is_a_hub_error(self):
        self.hub.faults({"match": r"model\.safetensors", "kind": "redirect_loop", "times": -1})
        r = self.pull(CLEAN)
        self.assertEqual(r.returncode, 4, r.stdout + r.stderr)
        self.assertIn("redirect", r.stderr.lower())

    def test_token_is_sent_to_the_hub_only(self):
        doc = self.pull_ok(GATED, token=READER_TOKEN)
        self.assertTrue(any(f["outcome"] == "linked" and f["lfs"] for f in doc["files"]))
        cdn = self.cdn_requests()
        self.assertTrue(cdn)
        self.assertFalse(any(e["authorization"] for e in cdn), cdn)
        self.assertTrue(all(e["token"] in (None, READER_TOKEN) for e in self.hub.log(server="hub")))
        r = self.hfaudit("pull", "-v", GATED, token=READER_TOKEN)
        self.assertNotIn(READER_TOKEN, r.stdout + r.stderr)
        with open(os.path.join(self.hub.hfaudit_home, "index.sqlite"), "rb") as f:
            self.assertNotIn(READER_TOKEN.encode(), f.read())

    def test_gated_repo_without_token_explains(self):
        r = self.pull(GATED)
        self.assertEqual(r.returncode, 4, r.stdout + r.stderr)
        self.assertIn("gated", r.stderr.lower())

    # ---- offline

    def test_offline_serves_the_cache_and_fails_clearly_otherwise(self):
        self.pull_ok(CLEAN)
        self.hub.clear_log()
        doc = self.pull_ok(CLEAN, env={"HF_HUB_OFFLINE": "1"})
        self.assertFalse(doc["network_used"])
        self.assertEqual(self.hub.log(), [])
        r = self.pull(MALICIOUS, env={"HF_HUB_OFFLINE": "1"})
        self.assertEqual(r.returncode, 4)
        self.assertEqual(self.hub.log(), [])

    # ---- crashes and concurrency

    def test_kill_during_a_pull_then_the_next_pull_finishes_without_refetching(self):
        size = 4 << 20
        self.add_big_file(CLEAN, "big.safetensors", size)
        self.hub.faults({"match": r"big\.safetensors", "kind": "slow", "chunk": 65536,
                         "delay_ms": 50, "times": 1, "server": "cdn"})
        proc = subprocess.Popen([BIN, "pull", CLEAN], env=self.hub.env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        partial_dir = os.path.join(self.hub.hfaudit_home, "partial")
        deadline = time.time() + 30
        while time.time() < deadline:
            parts = glob.glob(os.path.join(partial_dir, "*"))
            if parts and any(os.path.getsize(p) > 256 << 10 for p in parts):
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        self.assert_layout_ok()
        self.hub.clear_log()
        doc = self.pull_ok(CLEAN)
        big = {f["path"]: f for f in doc["files"]}["big.safetensors"]
        self.assertEqual(big["source"], "resumed")
        self.assertLess(big["bytes_fetched"], size)
        gets = [e for e in self.cdn_requests() if "big.safetensors" in e["path"]]
        self.assertTrue(gets[0]["range"].startswith("bytes="), gets)
        self.assert_snapshot_matches_hub(CLEAN, doc)
        self.assert_layout_ok()

    def test_four_processes_pulling_at_once_download_each_blob_once(self):
        self.add_big_file(CLEAN, "big.safetensors", 1 << 20)
        self.hub.faults({"match": r"big\.safetensors", "kind": "slow", "chunk": 65536,
                         "delay_ms": 10, "times": 1, "server": "cdn"})
        procs = [subprocess.Popen([BIN, "pull", "--json", CLEAN], env=self.hub.env(),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(4)]
        outs = [p.communicate(timeout=120) for p in procs]
        for p, (out, err) in zip(procs, outs):
            self.assertEqual(p.returncode, 0, out + err)
        gets = {}
        for e in self.hub.log():
            if e["method"] == "GET" and "/resolve/" in e["path"]:
                gets[e["path"]] = gets.get(e["path"], 0) + 1
        self.assertTrue(gets)
        self.assertEqual(max(gets.values()), 1, gets)
        self.assert_layout_ok()

    # ---- ls, verify, gc

    def test_verify_quarantines_a_changed_blob_and_the_next_pull_restores_it(self):
        doc = self.pull_ok(CLEAN)
        ok = self.hfaudit("verify", "--json")
        self.assertEqual(ok.returncode, 0, ok.stderr)
        self.assertTrue(json.loads(ok.stdout)["ok"])
        target = {f["path"]: f for f in doc["files"]}["model.safetensors"]
        blob = glob.glob(os.path.join(self.hub.hfaudit_home, "blobs", "sha256", "*", "*",
                                      target["sha256"]))[0]
        os.chmod(blob, 0o644)
        with open(blob, "r+b") as f:
            f.seek(100)
            byte = f.read(1)
            f.seek(100)
            f.write(bytes([byte[0] ^ 0xFF]))
        bad = self.hfaudit("verify", "--json")
        self.assertEqual(bad.returncode, 5, bad.stdout + bad.stderr)
        report = json.loads(bad.stdout)
        self.assertEqual([c["sha256"] for c in report["corrupted"]], [target["sha256"]])
        snap = self.snapshot(CLEAN, doc["commit"])
        self.assertFalse(os.path.lexists(os.path.join(snap, "model.safetensors")))
        self.assert_layout_ok()
        self.assertIn("quarantine", [a for a, *_ in self.audit_log()])
        again = self.pull_ok(CLEAN)
        restored = {f["path"]: f for f in again["files"]}["model.safetensors"]
        self.assertEqual(restored["outcome"], "linked")
        self.assertGreater(restored["bytes_fetched"], 0)
        self.assert_snapshot_matches_hub(CLEAN, again)

    def test_ls_lists_and_gc_caps_the_store(self):
        self.pull_ok(CLEAN)
        self.assertEqual(self.pull(MALICIOUS).returncode, 6)
        listing = json.loads(self.hfaudit("ls", "--json").stdout)
        self.assertEqual(listing["schema"], "hfaudit.ls/1")
        repos = {r["repo"]: r for r in listing["repos"]}
        self.assertEqual(repos[MALICIOUS]["snapshots"][0]["blocked"], 1)
        self.assertEqual(repos[MALICIOUS]["snapshots"][0]["max_severity"], "critical")
        self.assertEqual(repos[CLEAN]["snapshots"][0]["refs"], ["main"])
        gc = self.hfaudit("gc", "--max-size", "1KiB", "--json")
        self.assertEqual(gc.returncode, 0, gc.stderr)
        self.assertEqual(len(json.loads(gc.stdout)["evicted"]), 2)
        self.assertEqual(json.loads(self.hfaudit("ls", "--json").stdout)["repos"], [])
        self.assert_layout_ok()
        self.assertEqual(self.hfaudit("gc", "--max-size", "lots").returncode, 2)

    # ---- a real third-party client reads the cache

    # Skipped only outside CI: scripts/test.sh installs the client, so in CI a
    # missing install is a failure, not a silent skip.
    @unittest.skipUnless(os.environ.get("CI") or
                         os.path.isdir(os.path.join(COMPAT, "node_modules", "@huggingface", "hub")),
                         "npm ci --prefix tests/compat has not run")
    def test_huggingface_js_scans_the_cache_without_warnings_and_resolves_by_commit(self):
        doc = self.pull_ok(CLEAN)
        blocked = self.pull(MALICIOUS)
        self.assertEqual(blocked.returncode, 6)
        paths = ["config.json", "model.safetensors", "1_Pooling/config.json"]
        r = subprocess.run(["node", os.path.join(COMPAT, "check_cache.mjs"), self.hub.hf_hub_cache,
                            CLEAN, doc["commit"], *paths], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        seen = json.loads(r.stdout)
        self.assertEqual(seen["warnings"], [])
        repos = {x["id"]: x for x in seen["repos"]}
        clean = repos["model:" + CLEAN]
        self.assertEqual(clean["revisions"][0]["commit"], doc["commit"])
        self.assertEqual(clean["revisions"][0]["refs"], ["main"])
        # huggingface.js lists top-level snapshot files only (it skips sub-folders)
        self.assertIn("model.safetensors", clean["revisions"][0]["files"])
        malicious_files = repos["model:" + MALICIOUS]["revisions"][0]["files"]
        self.assertNotIn("pytorch_model.bin", malicious_files)
        by_path = {f["path"]: f for f in doc["files"]}
        for p in paths:
            resolved = seen["resolved"][p]
            self.assertNotIn("error", resolved, resolved)
            self.assertEqual(resolved["sha256"], by_path[p]["sha256"])


# Small files fetched in ranges: the same code path as files of 512 MiB and more.
RANGED = {"HFAUDIT_RANGE_THRESHOLD": "1MiB", "HFAUDIT_RANGE_PART_SIZE": "256KiB"}
BIG = "big.safetensors"


class RangedPullTest(PullCase):
    """Files at or above HFAUDIT_RANGE_THRESHOLD are fetched in up to 4 parallel ranges."""

    def setUp(self):
        super().setUp()
        self.data = self.add_big_file(CLEAN, BIG, 2 << 20)
        self.size = len(self.data)
        self.sha = hashlib.sha256(self.data).hexdigest()
        # docs/cli.md: at most 4 equal parts of at least HFAUDIT_RANGE_PART_SIZE
        self.part = max(256 << 10, -(-self.size // 4))
        self.assertEqual(-(-self.size // self.part), 4)

    def big_gets(self):
        return [e for e in self.cdn_requests() if e["method"] == "GET" and self.sha in e["path"]]

    def fetched_spans(self, gets):
        """[start, end) of the bytes each logged request actually sent."""
        spans = []
        for e in gets:
            start = int(e["range"].split("=")[1].split("-")[0]) if e["status"] == 206 else 0
            spans.append((start, start + e["bytesSent"]))
        return sorted(spans)

    def assert_each_byte_fetched_once(self, gets):
        spans = [s for s in self.fetched_spans(gets) if s[1] > s[0]]
        at = 0
        for start, end in spans:
            self.assertEqual(start, at, spans)  # no gap, no overlap
            at = end
        self.assertEqual(at, self.size, spans)

    def big(self, doc):
        return {f["path"]: f for f in doc["files"]}[BIG]

    def assert_big_visible_and_verified(self, doc):
        with open(os.path.join(self.snapshot(CLEAN, doc["commit"]), BIG), "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).hexdigest(), self.sha)
        self.assertEqual(os.listdir(os.path.join(self.hub.hfaudit_home, "partial")), [])
        self.assert_layout_ok()

    def test_a_big_file_is_fetched_in_parallel_ranges_each_byte_once(self):
        doc = self.pull_ok(CLEAN, "--include", BIG, env=RANGED)
        big = self.big(doc)
        self.assertEqual((big["outcome"], big["bytes_fetched"]), ("linked", self.size))
        gets = self.big_gets()
        self.assertEqual(len(gets), 4, gets)
        self.assertTrue(all(e["status"] == 206 for e in gets), gets)
        ranges = sorted(e["range"] for e in gets)
        self.assertIn(f"bytes=0-{self.part - 1}", ranges)
        self.assertIn(f"bytes={3 * self.part}-{self.size - 1}", ranges)
        self.assert_each_byte_fetched_once(gets)
        self.assert_big_visible_and_verified(doc)
        # below the threshold: one plain request
        self.hub.reset()
        shutil.rmtree(self.hub.hfaudit_home, ignore_errors=True)
        shutil.rmtree(self.hub.hf_home, ignore_errors=True)
        self.add_big_file(CLEAN, BIG, 2 << 20)
        self.hub.clear_log()
        self.pull_ok(CLEAN, "--include", BIG)
        self.assertEqual([e["range"] for e in self.big_gets()], [None])

    def test_a_range_cut_once_continues_from_where_it_stopped(self):
        self.hub.faults({"match": self.sha, "range": f"^bytes={self.part}-", "kind": "cut",
                         "after_bytes": 100000, "times": 1, "server": "cdn"})
        doc = self.pull_ok(CLEAN, "--include", BIG, env=RANGED)
        self.assertEqual(self.big(doc)["bytes_fetched"], self.size)
        ranges = [e["range"] for e in self.big_gets()]
        self.assertIn(f"bytes={self.part + 100000}-{2 * self.part - 1}", ranges)
        self.assert_each_byte_fetched_once(self.big_gets())
        self.assert_big_visible_and_verified(doc)

    def test_a_pull_cut_in_one_range_is_resumed_without_refetching_finished_ranges(self):
        # The second part breaks after 40000 bytes on every attempt: the pull gives up
        # (5 attempts) while the other parts complete and are checkpointed.
        self.hub.faults({"match": self.sha, "range": f"-{2 * self.part - 1}$", "kind": "cut",
                         "after_bytes": 40000, "times": -1, "server": "cdn"})
        r = self.pull(CLEAN, "--include", BIG, env=RANGED)
        self.assertEqual(r.returncode, 4, r.stdout + r.stderr)
        failed = self.big(json.loads(r.stdout))
        self.assertEqual(failed["outcome"], "failed")
        self.assertIn("kept breaking", failed["reason"])
        first = self.big_gets()
        self.assertFalse(os.path.lexists(os.path.join(self.snapshot(CLEAN, json.loads(r.stdout)["commit"]), BIG)))
        self.hub.clear_faults()
        self.hub.clear_log()
        doc = self.pull_ok(CLEAN, "--include", BIG, env=RANGED)
        big = self.big(doc)
        self.assertEqual((big["outcome"], big["source"]), ("linked", "resumed"))
        second = self.big_gets()
        # only the rest of the broken part: the finished parts are not fetched again
        self.assertEqual(big["bytes_fetched"], self.part - 5 * 40000)
        resumed_from = min(self.fetched_spans(second))[0]
        self.assertEqual(resumed_from, self.part + 5 * 40000)
        self.assertEqual(max(self.fetched_spans(second))[1], 2 * self.part)
        self.assert_each_byte_fetched_once(first + second)
        self.assert_big_visible_and_verified(doc)

    def test_a_ranged_pull_killed_mid_way_resumes_the_checkpointed_parts(self):
        self.hub.faults({"match": self.sha, "range": f"^bytes={self.part}-", "kind": "slow",
                         "chunk": 16384, "delay_ms": 100, "times": 1, "server": "cdn"})
        proc = subprocess.Popen([BIN, "pull", CLEAN, "--include", BIG],
                                env=self.hub.env(**RANGED),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        checkpoint = glob.glob(os.path.join(self.hub.hfaudit_home, "partial", "*.ranges"))
        deadline = time.time() + 30
        while time.time() < deadline and proc.poll() is None:
            checkpoint = glob.glob(os.path.join(self.hub.hfaudit_home, "partial", "*.ranges"))
            if checkpoint:
                with open(checkpoint[0]) as f:
                    try:
                        ranges = json.load(f)["ranges"]
                    except ValueError:
                        ranges = []
                if ranges and ranges[-1][1] == self.size and \
                        sum(b - a for a, b in ranges) >= 2 * self.part:
                    break  # parts 3 and 4 recorded while part 2 drips
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        self.assertTrue(checkpoint, "no checkpoint written")
        self.hub.clear_faults()
        self.hub.clear_log()
        doc = self.pull_ok(CLEAN, "--include", BIG, env=RANGED)
        big = self.big(doc)
        self.assertEqual((big["outcome"], big["source"]), ("linked", "resumed"))
        # parts 3 and 4 and what part 1 had were not fetched again
        self.assertLessEqual(big["bytes_fetched"], 2 * self.part)
        self.assertTrue(all(start < 2 * self.part for start, _ in self.fetched_spans(self.big_gets())))
        self.assert_big_visible_and_verified(doc)

    def test_a_tampered_range_is_rejected_and_nothing_is_visible(self):
        self.hub.faults({"match": self.sha, "range": f"^bytes={3 * self.part}-", "kind": "corrupt",
                         "times": -1, "server": "cdn"})
        r = self.pull(CLEAN, "--include", BIG, env=RANGED)
        self.assertEqual(r.returncode, 5, r.stdout + r.stderr)
        doc = json.loads(r.stdout)
        big = self.big(doc)
        self.assertEqual(big["outcome"], "failed")
        self.assertIn("sha256 mismatch", big["reason"])
        self.assertIn(f"hfaudit: error: not verified ({BIG})", r.stderr)
        self.assertFalse(os.path.lexists(os.path.join(self.snapshot(CLEAN, doc["commit"]), BIG)))
        self.assertEqual(glob.glob(os.path.join(self.hub.hfaudit_home, "blobs", "sha256", "*", "*", self.sha)), [])
        self.assertEqual(os.listdir(os.path.join(self.hub.hfaudit_home, "partial")), [])  # bytes discarded
        self.assert_layout_ok()

    def test_a_server_that_ignores_range_gets_one_plain_request(self):
        self.hub.faults({"match": self.sha, "kind": "ignore_range", "times": -1, "server": "cdn"})
        doc = self.pull_ok(CLEAN, "--include", BIG, env=RANGED)
        big = self.big(doc)
        self.assertEqual((big["outcome"], big["bytes_fetched"]), ("linked", self.size))
        gets = self.big_gets()
        self.assertTrue(all(e["status"] == 200 for e in gets), gets)
        self.assertEqual(gets[-1]["range"], None)  # the fallback asks for the whole file
        self.assertTrue(all(e["range"] for e in gets[:-1]), gets)
        self.assert_big_visible_and_verified(doc)

    def test_a_resume_the_server_answers_with_the_whole_file_still_verifies(self):
        self.hub.faults([{"match": self.sha, "kind": "cut", "after_bytes": 700000, "times": 1,
                          "server": "cdn"},
                         {"match": self.sha, "range": "^bytes=", "kind": "ignore_range",
                          "times": -1, "server": "cdn"}])
        doc = self.pull_ok(CLEAN, "--include", BIG)
        big = self.big(doc)
        self.assertEqual(big["outcome"], "linked")
        self.assertEqual([(e["range"], e["status"]) for e in self.big_gets()],
                         [(None, 200), ("bytes=700000-", 200)])
        self.assertEqual(big["bytes_fetched"], 700000 + self.size)  # the server sent it all again
        self.assert_big_visible_and_verified(doc)


class TimeoutTest(PullCase):
    """HF_HUB_ETAG_TIMEOUT bounds metadata (Hub API) requests, HF_HUB_DOWNLOAD_TIMEOUT file
    downloads, each a per-read timeout: a gap longer than it between two bytes aborts."""

    NO_RETRY = {"HFAUDIT_HTTP_RETRIES": "0"}

    def test_a_stalled_api_call_times_out_after_the_etag_timeout(self):
        self.hub.faults({"match": r"^/api/models/", "kind": "slow", "chunk": 256, "delay_ms": 2500,
                         "times": -1, "server": "hub"})
        r = self.pull(CLEAN, env=dict(self.NO_RETRY, HF_HUB_ETAG_TIMEOUT="0.5",
                                      HF_HUB_DOWNLOAD_TIMEOUT="60"))
        self.assertEqual(r.returncode, 4, r.stdout + r.stderr)
        self.assertLess(r.elapsed, 2.4)  # never waited for the 2.5 s gap
        self.assertIn("timed out", r.stderr.lower())
        self.assertEqual(self.cdn_requests(), [])

    def test_the_download_timeout_bounds_file_downloads_not_api_calls(self):
        slow_api = {"match": r"^/api/models/", "kind": "slow", "chunk": 2048, "delay_ms": 700,
                    "times": -1, "server": "hub"}
        # every attempt (the pull resumes after a cut) gets 16 bytes, then silence
        slow_file = {"match": r"model\.safetensors", "kind": "slow", "chunk": 16,
                     "delay_ms": 2500, "times": -1, "server": "cdn"}
        self.hub.faults([slow_api, slow_file])
        r = self.pull(CLEAN, "--include", "model.safetensors",
                      env=dict(self.NO_RETRY, HF_HUB_ETAG_TIMEOUT="5", HF_HUB_DOWNLOAD_TIMEOUT="0.5"))
        # the API calls dripped for 0.7 s between chunks and completed under the 5 s etag
        # timeout; the file stalled for 2.5 s and hit the 0.5 s download timeout
        self.assertEqual(r.returncode, 4, r.stdout + r.stderr)
        dripped = [e for e in self.hub.log(server="hub") if e["fault"] == "slow"]
        self.assertTrue(any(e["bytesSent"] > 2048 and e["status"] == 200 for e in dripped), dripped)
        bad = {f["path"]: f for f in json.loads(r.stdout)["files"]}["model.safetensors"]
        self.assertEqual(bad["outcome"], "failed")
        self.assertIn("timed out", bad["reason"].lower())


if __name__ == "__main__":
    unittest.main()
