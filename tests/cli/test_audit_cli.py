"""hfaudit audit against the fixture Hub over real HTTP: repositories change between two audits
and the second run reports exactly those changes as new; incremental organisation audits behind
a rate limit; integrity and re-scans of the cache; the reports (JSON, SARIF, HTML) and exit
codes."""
import base64
import hashlib
import json
import os
import pickle
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from hubfixture import SOURCE_DIR, HubTestCase  # noqa: E402

ORG = "hfaudit-fixtures"
CLEAN = f"{ORG}/clean-safetensors"
NO_CARD = f"{ORG}/no-card"
CUSTOM = f"{ORG}/custom-code"
FLAKY = f"{ORG}/flaky-model"
DRIFT = f"{ORG}/drift-model"
ALICE = "alice-fixture/tiny-user-model"


def b64(data):
    return base64.b64encode(data).decode()


def new_by_repo(doc):
    """{repo: set of rule ids} of the findings new in this run."""
    out = {}
    for f in doc["findings"]:
        if f["status"] == "new":
            out.setdefault(f["repo"], set()).add(f["rule"])
    return out


class AuditTestBase(HubTestCase):
    def setUp(self):
        super().setUp()
        for d in (self.hub.hf_home, self.hub.hfaudit_home):
            shutil.rmtree(d, ignore_errors=True)
        self.addCleanup(self.hub.reset)

    def audit(self, *args, expect=None, **kw):
        r = self.hfaudit("audit", *args, **kw)
        if expect is not None:
            self.assertEqual(r.returncode, expect, r.stdout[-3000:] + r.stderr[-3000:])
        return r

    def audit_json(self, *args, expect=None, **kw):
        r = self.audit(*args, "--json", expect=expect, **kw)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["schema"], "hfaudit.audit/1")
        self.assertIn("hfaudit_version", doc)
        return doc

    def api_paths(self, part):
        return [e["path"] for e in self.hub_requests() if part in e["path"]]


class OrgAuditTest(AuditTestBase):
    """--org: the listing decides what is fetched again; changes show up as new once."""

    def test_second_run_reports_exactly_the_changes_and_fetches_only_changed_repos(self):
        first = self.audit_json("--org", ORG, expect=1)
        self.assertIsNone(first["previous_run"])
        self.assertTrue(first["complete"])
        self.assertTrue(all(f["status"] == "new" for f in first["findings"]))
        self.assertEqual(first["stats"]["unchanged"], 0)
        # The Hub's own verdict on the malicious pickle is there from the start.
        self.assertTrue(any(f["rule"] == "risk.hub_scan" and f["repo"] == f"{ORG}/malicious-pickle"
                            and f["severity"] == "critical" for f in first["findings"]))

        # Nothing changed: no repository is fetched again, nothing is new or resolved.
        self.hub.clear_log()
        again = self.audit_json("--org", ORG, expect=1)
        self.assertEqual(again["previous_run"]["id"], first["run_id"])
        self.assertEqual(again["stats"]["new"], 0)
        self.assertEqual(again["stats"]["resolved"], 0)
        self.assertEqual(again["stats"]["present"], len(first["findings"]))
        self.assertEqual(again["stats"]["checked"], 0)
        self.assertEqual(self.api_paths("/tree/"), [])
        self.assertLessEqual(len(self.hub_requests()), 3)  # the listing and the owner's kind

        # Change four repositories on the Hub.
        self.hub.commit(repo=CLEAN, title="Tweak config",
                        files={"config.json": b64(b'{"model_type": "bert", "hidden_size": 8}\n')})
        payload = pickle.dumps({"weights": [1.0, 2.0]}, protocol=2)  # built, never loaded
        self.hub.commit(repo=NO_CARD, title="Switch to a pickle",
                        files={"model.safetensors": None, "pytorch_model.bin": b64(payload)})
        self.hub.commit(op="delete_repo", repo=CUSTOM)
        self.hub.commit(op="set_gated", repo=FLAKY, gated="manual")
        self.hub.clear_log()

        third = self.audit_json("--org", ORG, expect=1)
        new = new_by_repo(third)
        self.assertEqual(set(new), {CLEAN, NO_CARD, CUSTOM, FLAKY}, new)
        drift = {repo: {r for r in rules if r.startswith("drift.")} for repo, rules in new.items()}
        self.assertEqual(drift[CLEAN], {"drift.commit_moved", "drift.file_changed"})
        self.assertEqual(drift[NO_CARD],
                         {"drift.commit_moved", "drift.file_added", "drift.file_removed"})
        self.assertEqual(drift[CUSTOM], {"drift.not_found"})
        self.assertEqual(drift[FLAKY], {"drift.gated"})
        self.assertIn("risk.content.pickle_weights", new[NO_CARD])
        # The pickle that replaced the safetensors file is flagged as risky drift.
        added = [f for f in third["findings"] if f["rule"] == "drift.file_added"]
        self.assertEqual([(f["path"], f["severity"]) for f in added],
                         [("pytorch_model.bin", "medium")])
        # The deleted repository's risk findings no longer apply to anything that exists:
        # they are resolved, and the not-found finding replaces them.
        self.assertIn((CUSTOM, "risk.code.custom_code"),
                      {(f["repo"], f["rule"]) for f in third["resolved"]})
        repos = {r["repo"]: r for r in third["repos"]}
        self.assertEqual(repos[CUSTOM]["outcome"], "not_found")
        self.assertEqual(repos[CLEAN]["outcome"], "checked")
        self.assertEqual(repos[f"{ORG}/malicious-pickle"]["outcome"], "unchanged")
        # Only the changed repositories were fetched again.
        fetched = {p.split("/tree/")[0].replace("/api/models/", "") for p in self.api_paths("/tree/")}
        self.assertEqual(fetched, {CLEAN, NO_CARD, FLAKY})

        # A fourth run: the changes were reported once; conditions stay, nothing new.
        fourth = self.audit_json("--org", ORG, expect=1)
        self.assertEqual(fourth["stats"]["new"], 0)
        still = {(f["repo"], f["rule"]) for f in fourth["findings"]}
        self.assertIn((CUSTOM, "drift.not_found"), still)

    def test_hub_scan_turning_unsafe_is_new_with_refresh(self):
        self.audit_json("--org", ORG, expect=1)
        self.hub.commit(op="set_security", repo=DRIFT, path="model.safetensors", status="unsafe")
        quiet = self.audit_json("--org", ORG, expect=1)  # same commit: not fetched again
        self.assertEqual(quiet["stats"]["new"], 0)
        refreshed = self.audit_json("--org", ORG, "--refresh", expect=1)
        new = [f for f in refreshed["findings"] if f["status"] == "new"]
        self.assertEqual({(f["repo"], f["rule"], f["path"]) for f in new},
                         {(DRIFT, "risk.hub_scan", "model.safetensors")} |
                         {(DRIFT, f["rule"], "") for f in new if f["rule"].startswith("policy.")})
        hub_scan = [f for f in new if f["rule"] == "risk.hub_scan"][0]
        self.assertEqual(hub_scan["severity"], "critical")

    def test_a_repository_that_cannot_be_checked_makes_the_run_incomplete_exit_4(self):
        first = self.audit_json("--org", ORG, "--refresh", expect=1)
        before = {f["fingerprint"] for f in first["findings"] if f["repo"] == NO_CARD}
        self.assertTrue(before)
        self.hub.faults({"match": "/api/models/" + NO_CARD, "kind": "503", "times": -1})
        r = self.audit("--org", ORG, "--refresh", "--json", expect=4)
        doc = json.loads(r.stdout)
        self.assertFalse(doc["complete"])
        repo = [x for x in doc["repos"] if x["repo"] == NO_CARD][0]
        self.assertEqual(repo["outcome"], "error")
        self.assertIn("could not check", r.stderr)
        # Its findings are carried forward, not reported as resolved.
        self.assertFalse(before & {f["fingerprint"] for f in doc["resolved"]})
        self.assertTrue(before <= {f["fingerprint"] for f in doc["findings"]})

    def test_usage_errors_exit_2(self):
        self.audit(expect=2)
        self.audit("--org", "bad org!", expect=2)
        self.audit("--org", ORG, "--cache", expect=2)
        self.audit("--org", ORG, "--max-requests", "ten", expect=2)
        r = self.audit("--org", ORG, "--policy", os.path.join(self.hub.tmp, "missing.yaml"))
        self.assertIn(r.returncode, (2, 3))

    def test_unknown_org_listing_is_empty_and_clean(self):
        doc = self.audit_json("--org", "nobody-here", expect=0)
        self.assertEqual(doc["repos"], [])

    def test_sarif_has_rules_levels_fingerprints_and_hub_locations(self):
        r = self.audit("--org", ORG, "--sarif", expect=1)
        sarif = json.loads(r.stdout)
        self.assertEqual(sarif["version"], "2.1.0")
        run = sarif["runs"][0]
        rule_ids = {rule["id"] for rule in run["tool"]["driver"]["rules"]}
        self.assertIn("risk.hub_scan", rule_ids)
        for res in run["results"]:
            self.assertIn(res["ruleId"], rule_ids)
            self.assertIn(res["level"], ("error", "warning", "note"))
            self.assertIn("hfauditFinding/v1", res["partialFingerprints"])
            uri = res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            self.assertTrue(uri.startswith(self.hub.hub_url + "/"), uri)
        flagged = [res for res in run["results"] if res["ruleId"] == "risk.hub_scan"]
        self.assertTrue(any(res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                            .endswith("/pytorch_model.bin") and res["level"] == "error"
                            for res in flagged))

    def test_text_summary_lists_new_findings_with_fixes(self):
        r = self.audit("--org", ORG, expect=1)
        self.assertIn("NEW since the last run", r.stdout)
        self.assertIn("fix:", r.stdout)
        self.assertIn("first audit of this target", r.stdout)
        r = self.audit("--org", ORG, expect=1)
        self.assertIn("0 new,", r.stdout)
        self.assertIn("STILL PRESENT", r.stdout)


class CacheAuditTest(AuditTestBase):
    """--cache: every cached snapshot against the Hub; integrity and re-scans of blobs."""

    def pull(self, repo):
        r = self.hfaudit("pull", "--json", repo)
        self.assertIn(r.returncode, (0, 6), r.stderr)
        return json.loads(r.stdout)

    def test_changes_since_the_cached_snapshot_and_hub_scan_turning_unsafe(self):
        self.pull(CLEAN)
        self.pull(ALICE)
        first = self.audit_json("--cache", expect=1)
        self.assertEqual({r["repo"] for r in first["repos"]}, {CLEAN, ALICE})
        self.assertTrue(all(r["outcome"] == "checked" for r in first["repos"]))

        self.hub.commit(op="set_security", repo=CLEAN, path="model.safetensors", status="unsafe")
        self.hub.commit(repo=ALICE, title="New weights", files={"extra.txt": b64(b"hello\n")})
        second = self.audit_json("--cache", expect=1)
        new = [f for f in second["findings"] if f["status"] == "new"]
        self.assertIn((CLEAN, "risk.hub_scan", "model.safetensors", "critical"),
                      {(f["repo"], f["rule"], f["path"], f["severity"]) for f in new})
        self.assertEqual({f["rule"] for f in new if f["repo"] == ALICE and
                          f["rule"].startswith("drift.")},
                         {"drift.commit_moved", "drift.file_added"})
        alice = [r for r in second["repos"] if r["repo"] == ALICE][0]
        self.assertNotEqual(alice["baseline_commit"], alice["commit"])
        self.assertIn("added extra.txt", alice["changes"])

        # The Hub clears the file again: the finding is resolved.
        self.hub.commit(op="set_security", repo=CLEAN, path="model.safetensors", status="safe")
        third = self.audit_json("--cache", expect=1)
        self.assertIn((CLEAN, "risk.hub_scan"), {(f["repo"], f["rule"]) for f in third["resolved"]})

    def test_deleted_and_gated_repositories_since_the_pull(self):
        self.pull(CLEAN)
        self.pull(ALICE)
        self.audit_json("--cache", expect=1)
        self.hub.commit(op="delete_repo", repo=ALICE)
        self.hub.commit(op="set_gated", repo=CLEAN, gated="auto")
        doc = self.audit_json("--cache", expect=1)
        new = new_by_repo(doc)
        self.assertIn("drift.not_found", new[ALICE])
        self.assertIn("drift.gated", new[CLEAN])
        self.assertEqual({r for r in new[CLEAN] if r.startswith("drift.")}, {"drift.gated"})

    def test_rehash_finds_a_tampered_blob(self):
        self.pull(CLEAN)
        clean = self.audit_json("--cache", "--rehash", expect=0)  # a clean repository
        self.assertEqual(clean["findings"], [])
        store = os.path.join(self.hub.hfaudit_home, "blobs", "sha256")
        victim = None
        for root, _, files in os.walk(store):
            for name in files:
                path = os.path.join(root, name)
                if os.path.getsize(path) > 100:
                    victim = path
                    break
        self.assertIsNotNone(victim)
        os.chmod(victim, 0o644)
        with open(victim, "r+b") as f:
            f.write(b"X")
        doc = self.audit_json("--cache", "--rehash", expect=1)
        bad = [f for f in doc["findings"] if f["rule"] == "integrity.blob_changed"]
        self.assertEqual(len(bad), 1, doc["findings"])
        self.assertEqual(bad[0]["status"], "new")
        self.assertEqual(bad[0]["severity"], "critical")
        self.assertGreater(doc["stats"]["rehashed_blobs"], 0)

    def test_old_scanner_verdicts_are_rescanned(self):
        self.pull(CLEAN)
        db = sqlite3.connect(os.path.join(self.hub.hfaudit_home, "index.sqlite"))
        n = db.execute("UPDATE scan_results SET scanner_version = 'hfaudit-scan/0@old'").rowcount
        db.commit()
        db.close()
        self.assertGreater(n, 0)
        doc = self.audit_json("--cache", expect=0)
        self.assertEqual(doc["stats"]["rescanned_blobs"], n)
        # Recorded under the current version: the next audit reuses it.
        doc = self.audit_json("--cache", expect=0)
        self.assertEqual(doc["stats"]["rescanned_blobs"], 0)

    def test_empty_cache_is_clean(self):
        doc = self.audit_json("--cache", expect=0)
        self.assertEqual(doc["repos"], [])
        self.assertEqual(doc["findings"], [])


class LockAuditTest(AuditTestBase):
    """--lock: every pinned repository against its pin; SARIF points at the lockfile lines."""

    def lock_entry(self, repo, revision="main"):
        info = self.hub.get_json(f"/api/models/{repo}/revision/{revision}")
        commit = info["sha"]
        files = []
        for e in self.hub.get_json(f"/api/models/{repo}/tree/{commit}?recursive=true"):
            if e["type"] != "file":
                continue
            if "lfs" in e:
                sha = e["lfs"]["oid"]
            else:
                with urllib.request.urlopen(f"{self.hub.hub_url}/{repo}/resolve/{commit}/{e['path']}") as r:
                    sha = hashlib.sha256(r.read()).hexdigest()
            files.append({"git_oid": e["oid"], "lfs": "lfs" in e, "path": e["path"],
                          "sha256": sha, "size": e["size"]})
        return {"commit": commit, "exclude": [], "files": sorted(files, key=lambda f: f["path"]),
                "include": [], "policy": {"name": "default", "sha256": "0" * 64,
                                          "verdict": "allow", "warnings": []},
                "repo": repo, "revision": revision}

    def write_lock(self, entries):
        path = os.path.join(self.hub.tmp, "hfaudit.lock")
        with open(path, "w") as f:
            json.dump({"repos": sorted(entries, key=lambda e: e["repo"].lower()), "version": 1}, f,
                      indent=2, sort_keys=True)
            f.write("\n")
        return path

    def test_drift_from_the_pins_and_sarif_lines(self):
        lock = self.write_lock([self.lock_entry(CLEAN), self.lock_entry(DRIFT)])
        first = self.audit_json("--lock", lock, expect=1)
        self.assertEqual(first["scope"], "lock")
        self.assertFalse([f for f in first["findings"] if f["category"] in ("drift", "integrity")])

        self.hub.commit(repo=CLEAN, title="Tweak config",
                        files={"config.json": b64(b'{"model_type": "bert", "x": 1}\n')})
        self.hub.commit(op="set_gated", repo=DRIFT, gated="auto")
        second = self.audit_json("--lock", lock, expect=1)
        new = new_by_repo(second)
        self.assertEqual({r for r in new.get(CLEAN, ()) if r.startswith("drift.")},
                         {"drift.commit_moved", "drift.file_changed"})
        self.assertEqual({r for r in new.get(DRIFT, ()) if r.startswith("drift.")}, {"drift.gated"})

        with open(lock) as f:
            lines = f.read().splitlines()
        r = self.audit("--lock", lock, "--sarif", expect=1)
        results = json.loads(r.stdout)["runs"][0]["results"]
        moved = [x for x in results if x["ruleId"] == "drift.commit_moved"]
        self.assertEqual(len(moved), 1)
        loc = moved[0]["locations"][0]["physicalLocation"]
        self.assertEqual(loc["artifactLocation"]["uri"], lock)
        self.assertIn(f'"repo": "{CLEAN}"', lines[loc["region"]["startLine"] - 1])

    def test_a_pinned_commit_serving_other_files_is_an_integrity_finding(self):
        entry = self.lock_entry(CLEAN)
        entry["files"][0]["git_oid"] = "0" * 40  # the lock and the Hub disagree at the pin
        lock = self.write_lock([entry])
        doc = self.audit_json("--lock", lock, expect=1)
        bad = [f for f in doc["findings"] if f["rule"] == "integrity.lock_mismatch"]
        self.assertEqual([f["path"] for f in bad], [entry["files"][0]["path"]])

    def test_invalid_and_missing_lock_files(self):
        path = os.path.join(self.hub.tmp, "bad.lock")
        with open(path, "w") as f:
            f.write('{"version": 1, "repos": [{"repo": "x"}]}')
        r = self.audit("--lock", path, expect=2)
        self.assertIn("invalid lock file", r.stderr)
        r = self.audit("--lock", os.path.join(self.hub.tmp, "absent.lock"), expect=3)
        self.assertIn("cannot read lock file", r.stderr)


class HtmlReportTest(AuditTestBase):
    """The HTML report: self-contained, escaped, and rendered by a real browser."""

    EVIL = "<script>alert('x')</script><img src=x onerror=alert(1)>"

    def make_evil_repo(self):
        card = {"license": self.EVIL, "tags": [self.EVIL]}
        self.hub.commit(repo=f"{ORG}/evil-card", create={"author": ORG, "authorIsOrg": True},
                        title=self.EVIL, files={"README.md": b64(b"---\nlicense: x\n---\n"),
                                                "model.safetensors": b64(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")},
                        cardData=card)

    def test_hub_text_is_escaped_and_nothing_external_is_loaded(self):
        self.make_evil_repo()
        html_path = os.path.join(self.hub.tmp, "audit.html")
        self.audit("--org", ORG, "--html", html_path, expect=1)
        with open(html_path, encoding="utf-8") as f:
            html = f.read()
        self.assertIn(f"{ORG}/evil-card", html)
        # The payload is there as text only: no tag of it survived.
        self.assertNotIn("<script", html.lower())
        self.assertNotIn("<img", html.lower())
        self.assertIn("license: &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&lt;img src=x "
                      "onerror=alert(1)&gt;", html)
        for bad in ("src=\"http", "href=\"//", "<link", "@import", "url("):
            self.assertNotIn(bad, html)
        self.assertIn("Content-Security-Policy", html)

    def test_a_malicious_repository_name_in_the_listing_is_escaped_and_reported(self):
        evil = f'{ORG}/x"><script>alert(1)</script>'
        self.hub.commit(repo=evil, create={"author": ORG, "authorIsOrg": True},
                        files={"config.json": b64(b"{}")})
        html_path = os.path.join(self.hub.tmp, "evil-name.html")
        # Not a valid repository id: it cannot be checked, so the audit is incomplete (exit 4).
        r = self.audit("--org", ORG, "--html", html_path, expect=4)
        self.assertIn("could not check", r.stderr)
        with open(html_path, encoding="utf-8") as f:
            html = f.read()
        self.assertNotIn("<script", html.lower())
        self.assertIn("x&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;", html)

    def test_chromium_renders_the_report(self):
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        if not chromium:
            # scripts/test.sh installs it, so in CI a missing browser is a failure.
            self.assertFalse(os.environ.get("CI"), "chromium is not installed")
            self.skipTest("chromium is not installed (scripts/install-deps.sh installs it)")
        self.hub.commit(repo=CLEAN, title="Tweak config",
                        files={"config.json": b64(b'{"model_type": "bert"}\n')})
        html_path = os.path.join(self.hub.tmp, "report.html")
        self.audit("--org", ORG, expect=1)
        self.hub.commit(op="delete_repo", repo=CUSTOM)
        self.hub.commit(op="set_gated", repo=FLAKY, gated="manual")
        self.hub.commit(repo=NO_CARD, title="Switch to a pickle",
                        files={"model.safetensors": None,
                               "pytorch_model.bin": b64(pickle.dumps({"w": [1.0]}, protocol=2))})
        self.audit("--org", ORG, "--html", html_path, expect=1)
        png = os.path.join(self.hub.tmp, "report.png")
        with tempfile.TemporaryDirectory() as profile:
            r = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                                "--hide-scrollbars", f"--user-data-dir={profile}",
                                f"--screenshot={png}", "--window-size=1400,1000",
                                "file://" + html_path],
                               capture_output=True, text=True, timeout=120)
        self.assertTrue(os.path.exists(png), r.stderr[-2000:])
        with open(png, "rb") as f:
            data = f.read()
        self.assertEqual(data[:8], b"\x89PNG\r\n\x1a\n")
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        self.assertEqual((width, height), (1400, 1000))
        # A blank page compresses to almost nothing; a table of coloured rows does not.
        self.assertGreater(len(data), 30_000)
        keep = os.environ.get("HFAUDIT_KEEP_SCREENSHOT")
        if keep:
            shutil.copyfile(png, keep)


class ManyOrgRateLimitTest(AuditTestBase):
    """1,050 repositories behind a fixture rate limit: the audit paces itself and completes;
    the second run only reads the listing."""

    many_org = 1050

    def setUp(self):
        super().setUp()
        # A small window keeps the test quick; the quota is what the Hub enforces per window.
        self.hub.set_rate_limit(700, 2)
        self.addCleanup(self.hub.set_rate_limit, 100000, 300)

    def test_org_audit_completes_within_the_rate_limit_and_the_second_run_is_incremental(self):
        first = self.audit_json("--org", "many-org", timeout=300, expect=1)
        self.assertTrue(first["complete"])
        self.assertEqual(first["stats"]["repos"], 1050)
        self.assertEqual(first["stats"]["checked"], 1050)
        log = self.hub_requests()
        api = [e for e in log if e["path"].startswith("/api/")]
        limited = [e for e in api if e["status"] == 429]
        self.assertGreater(len(api), 2000)
        # It paced itself: only requests already in flight when the window ran out saw a 429.
        self.assertLess(len(limited), 100, len(limited))
        self.assertEqual(first["stats"]["requests"], len(log))
        # Every 250th repository is gated (auto): reported, not an error.
        self.assertEqual(sum(1 for r in first["repos"] if r["outcome"] == "checked"), 1050)

        self.hub.clear_log()
        second = self.audit_json("--org", "many-org", timeout=120, expect=1)
        self.assertEqual(second["stats"]["unchanged"], 1050)
        self.assertEqual(second["stats"]["new"], 0)
        self.assertLessEqual(len(self.hub_requests()), 4)


if __name__ == "__main__":
    unittest.main()
