"""hfaudit lock and hfaudit pull --locked against the fixture Hub over real HTTP: the lock file
pins what the real pull verified, re-locking changes only what changed, and a locked pull
installs exactly the pinned files, with no request at all when they are cached, and refuses
anything the Hub now serves differently."""
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from hubfixture import BIN, SOURCE_DIR, FixtureHub, HubTestCase, run_hfaudit  # noqa: E402

CLEAN = "hfaudit-fixtures/clean-safetensors"
DRIFT = "hfaudit-fixtures/drift-model"
MALICIOUS = "hfaudit-fixtures/malicious-pickle"


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def git_blob_id(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def b64(data):
    return base64.b64encode(data).decode()


class LockTestBase(HubTestCase):
    def setUp(self):
        super().setUp()
        for d in (self.hub.hf_home, self.hub.hfaudit_home):
            shutil.rmtree(d, ignore_errors=True)
        self.addCleanup(self.hub.reset)
        self.work = tempfile.mkdtemp(prefix="hfaudit-lock-")
        self.addCleanup(shutil.rmtree, self.work, True)
        self.lockfile = os.path.join(self.work, "hfaudit.lock")

    def run_in_work(self, *args, env=None, hub=None):
        """hfaudit with the working directory set to self.work (where hfaudit.lock goes)."""
        hub = hub or self.hub
        cwd = os.getcwd()
        os.chdir(self.work)
        try:
            return run_hfaudit(args, hub.env(**(env or {})))
        finally:
            os.chdir(cwd)

    def lock(self, *args, **kw):
        return self.run_in_work("lock", *args, **kw)

    def lock_ok(self, *args, **kw):
        r = self.lock("--json", *args, **kw)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return json.loads(r.stdout)

    def pull_locked(self, *args, **kw):
        return self.run_in_work("pull", "--locked", *args, **kw)

    def read_lock(self):
        with open(self.lockfile) as f:
            return f.read()

    def entry(self, repo, text=None):
        doc = json.loads(text or self.read_lock())
        return next(e for e in doc["repos"] if e["repo"] == repo)

    def wipe_cache(self):
        for d in (self.hub.hf_home, self.hub.hfaudit_home):
            shutil.rmtree(d, ignore_errors=True)

    def snapshot(self, repo, commit, hub=None):
        return os.path.join((hub or self.hub).hf_hub_cache, "models--" + repo.replace("/", "--"),
                            "snapshots", commit)

    def tree(self, repo, rev):
        return {e["path"]: e for e in
                self.hub.get_json(f"/api/models/{repo}/tree/{rev}?recursive=true")
                if e["type"] == "file"}

    def assert_installed_exactly(self, repo, entry, hub=None):
        """The snapshot holds exactly the pinned files, each with the pinned sha256."""
        snap = self.snapshot(repo, entry["commit"], hub)
        found = sorted(os.path.relpath(os.path.join(d, n), snap)
                       for d, _, names in os.walk(snap) for n in names)
        self.assertEqual(found, [f["path"] for f in entry["files"]])
        for f in entry["files"]:
            with open(os.path.join(snap, f["path"]), "rb") as fh:
                self.assertEqual(sha256(fh.read()), f["sha256"], f["path"])


class LockTest(LockTestBase):
    def test_lock_pins_every_file_with_the_verified_hashes_and_warms_the_cache(self):
        doc = self.lock_ok(CLEAN)
        self.assertEqual(doc["schema"], "hfaudit.lock/1")
        self.assertEqual(doc["repos"][0]["outcome"], "added")
        self.assertTrue(doc["written"])
        text = self.read_lock()
        lock = json.loads(text)
        # Canonical: sorted keys, two-space indentation, newline at the end.
        self.assertEqual(text, json.dumps(lock, indent=2, sort_keys=True) + "\n")
        self.assertEqual(lock["version"], 1)
        entry = lock["repos"][0]
        self.assertEqual(entry["repo"], CLEAN)
        self.assertEqual(entry["revision"], "main")
        self.assertEqual(entry["commit"], self.hub.repos()[CLEAN]["main"])
        self.assertEqual((entry["include"], entry["exclude"]), ([], []))
        self.assertEqual(entry["policy"]["name"], "default")
        self.assertRegex(entry["policy"]["sha256"], r"^[0-9a-f]{64}$")
        self.assertIn(entry["policy"]["verdict"], ("allow", "warn"))
        tree = self.tree(CLEAN, entry["commit"])
        self.assertEqual([f["path"] for f in entry["files"]], sorted(tree))
        snap = self.snapshot(CLEAN, entry["commit"])
        for f in entry["files"]:
            e = tree[f["path"]]
            with open(os.path.join(snap, f["path"]), "rb") as fh:
                data = fh.read()  # the cache is warm: lock ran the real pull
            self.assertEqual(f["sha256"], sha256(data), f["path"])
            self.assertEqual(f["size"], len(data))
            self.assertEqual(f["git_oid"], e["oid"])
            self.assertEqual(f["lfs"], "lfs" in e)
            if "lfs" in e:
                self.assertEqual(f["sha256"], e["lfs"]["oid"])
            else:
                self.assertEqual(f["git_oid"], git_blob_id(data))
        self.assertTrue(any(f["lfs"] for f in entry["files"]))
        self.assertTrue(any(not f["lfs"] for f in entry["files"]))

    def test_several_repos_from_arguments_and_a_requirements_file(self):
        with open(os.path.join(self.work, "models.txt"), "w") as f:
            f.write("# the models of the search service\n\n"
                    f"{DRIFT}@v1   # the tag, not main\n"
                    "   \n")
        r = self.lock(CLEAN, "-r", "models.txt", "--exclude", "*.txt")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("2 added", r.stdout)
        lock = json.loads(self.read_lock())
        self.assertEqual([e["repo"] for e in lock["repos"]], [CLEAN, DRIFT])
        drift = self.entry(DRIFT)
        self.assertEqual(drift["revision"], "v1")
        self.assertEqual(drift["commit"], self.hub.get_json(
            f"/api/models/{DRIFT}/revision/v1")["sha"])
        self.assertEqual(drift["exclude"], ["*.txt"])
        clean = self.entry(CLEAN)
        self.assertNotIn("vocab.txt", [f["path"] for f in clean["files"]])
        self.assertIn("config.json", [f["path"] for f in clean["files"]])

    def test_requirements_file_errors_name_the_file_and_line(self):
        cases = [
            ("org/a\n# fine\norg/b org/c\n", "invalid requirements (models.txt:3)"),
            ("hfaudit-fixtures/clean-safetensors\nnot//valid\n", "invalid requirement (models.txt:2)"),
            (f"{CLEAN}\n{CLEAN}@v1.0\n", "repository named twice (models.txt:2)"),
            ("# only comments\n", "nothing to lock (models.txt)"),
        ]
        for text, expected in cases:
            with self.subTest(expected=expected):
                with open(os.path.join(self.work, "models.txt"), "w") as f:
                    f.write(text)
                r = self.lock("-r", "models.txt")
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(f"hfaudit: error: {expected}: ", r.stderr)
                self.assertFalse(os.path.exists(self.lockfile))
        self.assertEqual(self.hub_requests(), [])  # refused before any request
        r = self.lock("-r", "missing.txt")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("cannot read requirements (missing.txt)", r.stderr)

    def test_relock_is_byte_identical_and_a_new_commit_changes_only_its_entry(self):
        self.lock_ok(CLEAN, f"{DRIFT}@v1")
        first = self.read_lock()
        mtime = os.stat(self.lockfile).st_mtime_ns

        # Re-locking everything (no REPO): nothing moved, nothing is rewritten.
        doc = self.lock_ok()
        self.assertEqual([r["outcome"] for r in doc["repos"]], ["unchanged", "unchanged"])
        self.assertFalse(doc["written"])
        self.assertEqual(self.read_lock(), first)
        self.assertEqual(os.stat(self.lockfile).st_mtime_ns, mtime)

        # A new commit on main of one repository.
        old_commit = self.entry(CLEAN, first)["commit"]
        new_config = b'{"model_type": "bert", "hidden_size": 32, "note": "v2"}\n'
        pushed = self.hub.commit(repo=CLEAN, branch="main", title="tweak config",
                                 files={"config.json": b64(new_config)})
        doc = self.lock_ok(CLEAN)  # only CLEAN named: the DRIFT entry is kept as is
        self.assertEqual(doc["repos"][0]["outcome"], "updated")
        self.assertEqual(doc["repos"][0]["previous_commit"], old_commit)
        second = self.read_lock()
        self.assertEqual(self.entry(DRIFT, second), self.entry(DRIFT, first))
        before, after = self.entry(CLEAN, first), self.entry(CLEAN, second)
        self.assertEqual(after["commit"], pushed["commit"])
        changed = [a["path"] for a, b in zip(after["files"], before["files"]) if a != b]
        self.assertEqual(changed, ["config.json"])
        self.assertEqual(next(f for f in after["files"] if f["path"] == "config.json")["sha256"],
                         sha256(new_config))
        # The text differs only in the lines of what changed: the commit and config.json's
        # git_oid, sha256 and size.
        self.assertEqual(len(first.splitlines()), len(second.splitlines()))
        diff = [b for a, b in zip(first.splitlines(), second.splitlines()) if a != b]
        self.assertEqual(sorted(line.split('"')[1] for line in diff),
                         ["commit", "git_oid", "sha256", "size"], diff)

        # And re-locking again is stable.
        self.lock_ok()
        self.assertEqual(self.read_lock(), second)

    def test_two_locks_at_once_keep_both_entries(self):
        procs = [subprocess.Popen([BIN, "lock", repo], cwd=self.work, env=self.hub.env(),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for repo in (CLEAN, f"{DRIFT}@v1", "hfaudit-fixtures/no-card")]
        for p in procs:
            out, err = p.communicate(timeout=120)
            self.assertEqual(p.returncode, 0, out + err)
        self.assertEqual([e["repo"] for e in json.loads(self.read_lock())["repos"]],
                         [CLEAN, DRIFT, "hfaudit-fixtures/no-card"])

    def test_blocked_repo_is_not_locked_and_an_existing_entry_is_kept(self):
        r = self.lock(CLEAN, MALICIOUS)
        self.assertEqual(r.returncode, 6, r.stdout + r.stderr)
        self.assertIn(f"hfaudit: error: not locked ({MALICIOUS}): ", r.stderr)
        self.assertIn(f"blocked ({MALICIOUS}: pytorch_model.bin)", r.stderr)
        lock = json.loads(self.read_lock())
        self.assertEqual([e["repo"] for e in lock["repos"]], [CLEAN])

        # drift-model's main adds a pickle next to safetensors weights, which the default
        # policy refuses: re-locking it from the tag to main keeps the tag's entry.
        self.lock_ok(f"{DRIFT}@v1")
        kept = self.read_lock()
        r = self.lock("--json", f"{DRIFT}@main")
        self.assertEqual(r.returncode, 6, r.stdout + r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["repos"][0]["outcome"], "blocked")
        self.assertEqual(doc["repos"][0]["exit_code"], 6)
        self.assertFalse(doc["written"])
        self.assertEqual(self.read_lock(), kept)
        self.assertIn("its entry in hfaudit.lock was kept", r.stderr)

    def test_lock_needs_the_hub(self):
        r = self.lock(CLEAN, env={"HF_HUB_OFFLINE": "1"})
        self.assertEqual(r.returncode, 4, r.stderr)
        self.assertIn("HF_HUB_OFFLINE", r.stderr)
        self.assertFalse(os.path.exists(self.lockfile))
        r = self.lock()
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("nothing to lock", r.stderr)

    def test_a_hub_error_fails_that_repo_only(self):
        r = self.lock(CLEAN, "hfaudit-fixtures/does-not-exist")
        self.assertEqual(r.returncode, 4, r.stdout + r.stderr)
        self.assertIn("not locked (hfaudit-fixtures/does-not-exist)", r.stderr)
        self.assertEqual([e["repo"] for e in json.loads(self.read_lock())["repos"]], [CLEAN])

    def test_globs_matching_nothing_are_a_usage_error(self):
        r = self.lock(CLEAN, "--include", "*.gguf")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("matches the include/exclude globs", r.stderr)
        self.assertFalse(os.path.exists(self.lockfile))

    def test_invalid_lock_files_are_usage_errors_and_never_overwritten(self):
        cases = [
            ("{\n  \"version\": 1,\n  \"repos\": [\n}", "line 4 column 1: not valid JSON"),
            ('{"version": 2, "repos": []}',
             "version: format version 2 is newer than this hfaudit reads (1); upgrade hfaudit"),
            ('{"version": 1, "repos": [{"repo": "org/x"}]}', 'repos[0] "org/x"'),
        ]
        for text, expected in cases:
            with self.subTest(expected=expected):
                with open(self.lockfile, "w") as f:
                    f.write(text)
                for r in (self.pull_locked(), self.lock(CLEAN)):
                    self.assertEqual(r.returncode, 2, r.stderr)
                    self.assertIn("hfaudit: error: invalid lock file (hfaudit.lock): " + expected,
                                  r.stderr)
                self.assertEqual(self.read_lock(), text)
        os.remove(self.lockfile)
        r = self.pull_locked()
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("cannot read lock file (hfaudit.lock)", r.stderr)
        r = self.run_in_work("pull", "--locked", "hfaudit.lock", CLEAN)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(self.hub_requests(), [])


class PullLockedTest(LockTestBase):
    def test_pull_locked_installs_exactly_the_pinned_files_into_a_fresh_cache(self):
        self.lock_ok(CLEAN, f"{DRIFT}@v1", "--exclude", "*.txt")
        lock = json.loads(self.read_lock())
        # main moves on after locking; the lock still installs the pinned commit.
        self.hub.commit(repo=CLEAN, branch="main", title="later",
                        files={"config.json": b64(b'{"later": true}\n')})
        self.wipe_cache()
        r = self.pull_locked("--json")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["schema"], "hfaudit.pull-locked/1")
        self.assertTrue(doc["network_used"])
        self.assertEqual([p["repo"] for p in doc["repos"]], [CLEAN, DRIFT])
        for entry, pulled in zip(lock["repos"], doc["repos"]):
            self.assertEqual(pulled["commit"], entry["commit"])
            self.assert_installed_exactly(entry["repo"], entry)
            ref = os.path.join(self.hub.hf_hub_cache,
                               "models--" + entry["repo"].replace("/", "--"), "refs",
                               entry["revision"])
            with open(ref) as f:
                self.assertEqual(f.read(), entry["commit"])
        # Nothing outside the pinned set was downloaded.
        cdn = self.hub.log(server="cdn")
        self.assertFalse(any("vocab" in e["path"] for e in self.hub_requests()))
        self.assertTrue(cdn)

    def test_pull_locked_with_a_warm_cache_makes_no_request_even_with_the_hub_down(self):
        # Its own Hub, so that stopping it does not disturb the other tests.
        hub = FixtureHub(many_org=0).start()
        self.addCleanup(hub.stop)
        r = self.run_in_work("lock", CLEAN, f"{DRIFT}@v1", hub=hub)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        lock = json.loads(self.read_lock())
        # Remove the huggingface_hub view: the locked pull must rebuild it from the store.
        shutil.rmtree(hub.hf_hub_cache)
        hub.clear_log()
        r = self.run_in_work("pull", "--locked", "--json", hub=hub)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertFalse(json.loads(r.stdout)["network_used"])
        self.assertEqual(hub.log(), [])  # not a single request, API or CDN
        for entry in lock["repos"]:
            self.assert_installed_exactly(entry["repo"], entry, hub)
        # The rebuilt view follows huggingface_hub's layout rules (refs included).
        checker = os.path.join(SOURCE_DIR, "tests", "cache", "check_hf_layout.py")
        r = subprocess.run([sys.executable, checker, hub.hf_hub_cache], capture_output=True,
                           text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        hf_hub_cache = hub.hf_hub_cache
        env = hub.env()
        hub.proc.terminate()  # the Hub is down; its directory (and the cache) stays until cleanup
        hub.proc.wait(timeout=10)
        for extra in ({}, {"HF_HUB_OFFLINE": "1"}):
            with self.subTest(env=extra):
                cwd = os.getcwd()
                os.chdir(self.work)
                try:
                    r = run_hfaudit(["pull", "--locked"], dict(env, **extra))
                finally:
                    os.chdir(cwd)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                self.assertIn("all from the cache, no request", r.stdout)
        ref = os.path.join(hf_hub_cache, "models--hfaudit-fixtures--drift-model", "refs", "v1")
        with open(ref) as f:
            self.assertEqual(f.read(), self.entry(DRIFT)["commit"])

    def test_offline_without_the_files_cached_fails_clearly(self):
        self.lock_ok(CLEAN)
        self.wipe_cache()
        self.hub.clear_log()
        r = self.pull_locked(env={"HF_HUB_OFFLINE": "1"})
        self.assertEqual(r.returncode, 4, r.stderr)
        self.assertIn(f"cannot pull ({CLEAN})", r.stderr)
        self.assertEqual(self.hub_requests(), [])

    def test_hub_serving_other_content_for_a_pinned_file_is_an_integrity_error(self):
        self.lock_ok(CLEAN)
        entry = self.entry(CLEAN)
        commit = entry["commit"]
        with open(os.path.join(self.snapshot(CLEAN, commit), "config.json"), "rb") as f:
            config = f.read()
        same_size = bytes([config[0] ^ 0x20]) + config[1:]  # one byte changed
        cases = [
            ("config.json", b64(same_size), "another git oid"),
            ("model.safetensors", b64(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      "), "another size"),
            ("vocab.txt", None, "no longer lists this pinned file"),
        ]
        for path, content, expected in cases:
            with self.subTest(path=path):
                self.hub.reset()
                self.wipe_cache()
                self.hub.commit(op="rewrite_commit", repo=CLEAN, commit=commit,
                                files={path: content})
                self.hub.clear_log()
                r = self.pull_locked()
                self.assertEqual(r.returncode, 5, r.stdout + r.stderr)
                self.assertIn(f"hfaudit: error: not verified ({CLEAN}: {path}): ", r.stderr)
                self.assertIn(expected, r.stderr)
                snap = self.snapshot(CLEAN, commit)
                self.assertFalse(os.path.lexists(os.path.join(snap, path)))
                # The changed file was never fetched.
                self.assertFalse([e for e in self.hub.log()
                                  if e["path"].endswith(f"/{commit}/{path}")])

    def test_corrupted_bytes_for_a_pinned_file_are_an_integrity_error(self):
        self.lock_ok(CLEAN)
        commit = self.entry(CLEAN)["commit"]
        self.wipe_cache()
        self.hub.commit(op="set_corrupt", repo=CLEAN, paths=["model.safetensors"])
        r = self.pull_locked()
        self.assertEqual(r.returncode, 5, r.stdout + r.stderr)
        self.assertIn(f"not verified ({CLEAN}: model.safetensors)", r.stderr)
        snap = self.snapshot(CLEAN, commit)
        self.assertFalse(os.path.lexists(os.path.join(snap, "model.safetensors")))
        self.assertTrue(os.path.exists(os.path.join(snap, "config.json")))

    def test_a_file_whose_bytes_differ_from_the_pinned_sha256_is_never_linked(self):
        # The Hub publishes only a git SHA-1 for regular files: the lock's sha256 is checked
        # on the downloaded bytes (here the lock is edited to disagree).
        self.lock_ok(CLEAN)
        text = self.read_lock()
        lock = json.loads(text)
        config = next(f for f in lock["repos"][0]["files"] if f["path"] == "config.json")
        config["sha256"] = "0" * 64
        with open(self.lockfile, "w") as f:
            f.write(json.dumps(lock, indent=2, sort_keys=True) + "\n")
        self.wipe_cache()
        r = self.pull_locked()
        self.assertEqual(r.returncode, 5, r.stdout + r.stderr)
        self.assertIn(f"not verified ({CLEAN}: config.json): downloaded bytes have sha256", r.stderr)
        snap = self.snapshot(CLEAN, lock["repos"][0]["commit"])
        self.assertFalse(os.path.lexists(os.path.join(snap, "config.json")))
        self.assertTrue(os.path.exists(os.path.join(snap, "model.safetensors")))
        # A warm cache does not hide the mismatch either: the cached sha256 is compared too.
        r = self.pull_locked(env={"HF_HUB_OFFLINE": "1"})
        self.assertEqual(r.returncode, 4, r.stdout + r.stderr)

    def test_the_current_policy_is_applied_not_the_one_of_lock_time(self):
        self.lock_ok(CLEAN)
        self.assertEqual(self.entry(CLEAN)["policy"]["name"], "default")
        strict = os.path.join(SOURCE_DIR, "policies", "strict.yaml")
        r = self.pull_locked("--json", "--policy", strict)
        doc = json.loads(r.stdout)
        decision = doc["repos"][0]["decision"]
        self.assertTrue(doc["network_used"])  # judged again with the Hub's metadata
        self.assertEqual(decision["policy"]["name"], "strict")
        self.assertEqual(r.returncode, 6 if decision["verdict"] == "block" else 0, r.stderr)
        # Offline, a verdict of the current policy must be in the cache.
        self.wipe_cache()
        self.lock_ok(CLEAN)
        r = self.pull_locked("--policy", strict, env={"HF_HUB_OFFLINE": "1"})
        self.assertEqual(r.returncode, 4, r.stderr)
        self.assertIn("under policy strict", r.stderr)


if __name__ == "__main__":
    unittest.main()
