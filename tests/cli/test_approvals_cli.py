"""The approved-model registry end to end against the fixture Hub: a repository with custom code
is blocked, fetched for review, approved, then pulled; the approval stops holding when its files
change; revoking it blocks again. Approvals, revocations and blocks are read back from the audit
log in the SQLite index."""
import base64
import glob
import json
import os
import shutil
import sqlite3
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from hubfixture import HubTestCase  # noqa: E402

CUSTOM = "hfaudit-fixtures/custom-code"
CLEAN = "hfaudit-fixtures/clean-safetensors"
APPROVAL_ONLY = "version: 1\nname: approval-only\nrules:\n  approval.required: {}\n"


class ApprovalsTest(HubTestCase):
    def setUp(self):
        super().setUp()
        for d in (self.hub.hf_home, self.hub.hfaudit_home):
            shutil.rmtree(d, ignore_errors=True)
        self.addCleanup(self.hub.reset)
        self.commit = self.hub.repos()[CUSTOM]["main"]
        self.pinned = f"{CUSTOM}@{self.commit}"

    # ---- helpers

    def run_json(self, *args, code=0, **kw):
        r = self.hfaudit(*args, "--json", **kw)
        self.assertEqual(r.returncode, code, r.stdout + r.stderr)
        return json.loads(r.stdout)

    def approve(self, spec, *extra, code=0):
        return self.run_json("approve", spec, "--reason", "modeling_x.py reviewed, SEC-1",
                             "--by", "alice", *extra, code=code)

    def snapshot_files(self, repo, commit):
        snap = os.path.join(self.hub.hf_hub_cache, "models--" + repo.replace("/", "--"),
                            "snapshots", commit)
        return sorted(os.path.relpath(p, snap)
                      for p in glob.glob(os.path.join(snap, "**"), recursive=True)
                      if os.path.islink(p) or os.path.isfile(p))

    def audit(self, action=None):
        db = sqlite3.connect(os.path.join(self.hub.hfaudit_home, "index.sqlite"))
        try:
            rows = db.execute("SELECT action, actor, repo_id, commit_sha, path, detail_json "
                              "FROM audit_log ORDER BY id").fetchall()
        finally:
            db.close()
        return [(a, actor, repo, commit, path, json.loads(detail))
                for a, actor, repo, commit, path, detail in rows if action in (None, a)]

    def cdn_requests(self):
        return self.hub.log(server="cdn")

    def write_policy(self, text):
        path = os.path.join(self.hub.tmp, "policy.yaml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def review_and_approve(self):
        """Blocked under the default policy, fetched for review, approved by alice."""
        review = self.run_json("pull", self.pinned, "--review", code=6)
        self.assertTrue(all(f["outcome"] == "blocked" for f in review["files"]), review["files"])
        self.assertTrue(all(f["sha256"] for f in review["files"]), review["files"])
        return self.approve(self.pinned)

    def tamper_and_quarantine(self, pull_document, path):
        """Flips a byte of the cached blob behind `path`; hfaudit verify quarantines it."""
        sha256 = {f["path"]: f for f in pull_document["files"]}[path]["sha256"]
        blob = glob.glob(os.path.join(self.hub.hfaudit_home, "blobs", "sha256", "*", "*",
                                      sha256))[0]
        os.chmod(blob, 0o644)
        with open(blob, "r+b") as f:
            f.seek(64)
            byte = f.read(1)
            f.seek(64)
            f.write(bytes([byte[0] ^ 0xFF]))
        self.assertEqual(self.hfaudit("verify").returncode, 5)

    # ---- the flow

    def test_custom_code_is_blocked_reviewed_approved_and_then_pulled(self):
        blocked = self.run_json("pull", CUSTOM, code=6)
        rules = {r["id"]: r for r in blocked["decision"]["rules"]}
        self.assertEqual(rules["code.custom_code"]["outcome"], "block")
        self.assertIn("hfaudit approve", rules["code.custom_code"]["remediation"])
        self.assertEqual(blocked["decision"]["approval"]["status"], "not_approved")
        self.assertEqual(self.cdn_requests(), [])  # blocked before any download

        # Nothing verified yet: approving needs the files, and says how to get them.
        r = self.hfaudit("approve", self.pinned, "--reason", "x", env={"USER": "carol"})
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertTrue(r.stderr.startswith(f"hfaudit: error: cannot approve ({self.pinned}): "),
                        r.stderr)
        self.assertIn("not verified in the cache", r.stderr)
        self.assertIn(f"hint: pull it first: hfaudit pull {self.pinned} --review", r.stderr)

        doc = self.review_and_approve()
        self.assertEqual(doc["schema"], "hfaudit.approve/1")
        self.assertEqual(doc["operation"], "approve")
        approval = doc["approval"]
        self.assertEqual((approval["repo"], approval["commit"]), (CUSTOM, self.commit))
        self.assertEqual(approval["approved_by"], "alice")
        self.assertEqual(approval["reason"], "modeling_x.py reviewed, SEC-1")
        self.assertEqual(approval["policy"]["name"], "default")
        self.assertEqual(len(approval["policy"]["sha256"]), 64)
        files = {f["path"]: f for f in approval["files"]}
        self.assertEqual(set(files), {".gitattributes", "README.md", "config.json",
                                      "configuration_x.py", "model.safetensors", "modeling_x.py"})
        self.assertEqual(files["model.safetensors"]["lfs"], True)
        self.assertEqual(len(files["modeling_x.py"]["sha256"]), 64)
        self.assertEqual(len(files["modeling_x.py"]["git_oid"]), 40)
        self.assertIsNotNone(files["modeling_x.py"]["scan"]["max_severity"])
        # Review fetched the bytes but admitted nothing.
        self.assertEqual(self.snapshot_files(CUSTOM, self.commit), [])

        (action, actor, repo, commit, _, detail), = self.audit("approve")
        self.assertEqual((action, actor, repo, commit), ("approve", "alice", CUSTOM, self.commit))
        self.assertEqual(detail["operation"], "approve")
        self.assertEqual(detail["reason"], "modeling_x.py reviewed, SEC-1")
        self.assertEqual(len(detail["files"]), 6)

        self.hub.clear_log()
        pulled = self.run_json("pull", CUSTOM)
        self.assertEqual(pulled["commit"], self.commit)
        self.assertEqual(pulled["decision"]["approval"]["status"], "approved")
        self.assertIn("approved by alice", pulled["decision"]["approval"]["detail"])
        rules = {r["id"]: r for r in pulled["decision"]["rules"]}
        self.assertEqual(rules["code.custom_code"]["outcome"], "pass")
        self.assertIn("is approved", rules["code.custom_code"]["evidence"])
        self.assertIn("modeling_x.py", self.snapshot_files(CUSTOM, self.commit))
        self.assertEqual(self.cdn_requests(), [])  # the reviewed bytes were reused

        listed = self.run_json("approvals")
        self.assertEqual(listed["schema"], "hfaudit.approvals/1")
        (item,) = listed["approvals"]
        self.assertEqual((item["valid"], item["cached"], item["changes"]), (True, True, []))

        explained = self.run_json("policy", "explain", CUSTOM)
        self.assertEqual(explained["decision"]["approval"]["status"], "approved")
        text = self.hfaudit("approvals")
        self.assertEqual(text.returncode, 0, text.stderr)
        self.assertIn(f"{self.pinned}  valid\n  approved by alice on ", text.stdout)
        self.assertTrue(text.stdout.endswith("1 approval, 0 no longer valid\n"), text.stdout)

    def test_a_tampered_and_quarantined_blob_invalidates_the_approval(self):
        self.review_and_approve()
        self.tamper_and_quarantine(self.run_json("pull", self.pinned), "model.safetensors")

        (item,) = self.run_json("approvals")["approvals"]
        self.assertFalse(item["valid"])
        self.assertEqual(len(item["changes"]), 1, item["changes"])
        self.assertTrue(item["changes"][0].startswith("model.safetensors quarantined"),
                        item["changes"])
        text = self.hfaudit("approvals", CUSTOM).stdout
        self.assertIn(f"{self.pinned}  NO LONGER VALID", text)
        self.assertIn("  - model.safetensors quarantined", text)

        # A pull verifies the bytes against the Hub's hashes again: exactly the approved
        # content comes back, and with it the approval.
        again = self.run_json("pull", self.pinned)
        self.assertEqual(again["decision"]["approval"]["status"], "approved")
        self.assertTrue(self.run_json("approvals")["approvals"][0]["valid"])

    def test_the_audit_honours_the_approval_and_reports_it_voided(self):
        self.review_and_approve()
        pulled = self.run_json("pull", self.pinned)
        before = self.run_json("audit", "--cache", code=1)
        rules = {f["rule"] for f in before["findings"] if f["repo"] == CUSTOM}
        self.assertNotIn("policy.code.custom_code", rules, before["findings"])
        self.assertNotIn("policy.approval_invalidated", rules, before["findings"])

        self.tamper_and_quarantine(pulled, "model.safetensors")
        after = self.run_json("audit", "--cache", code=1)
        mine = {f["rule"]: f for f in after["findings"] if f["repo"] == CUSTOM}
        self.assertIn("policy.approval_invalidated", mine, after["findings"])
        self.assertEqual(mine["policy.approval_invalidated"]["status"], "new")
        self.assertIn("model.safetensors", mine["policy.approval_invalidated"]["detail"])
        self.assertIn("policy.code.custom_code", mine, after["findings"])

    def test_a_new_commit_is_not_covered_by_the_approval_of_the_old_one(self):
        self.review_and_approve()
        code = base64.b64encode(b"import os\nos.system('id')\n").decode()
        new = self.hub.commit(repo=CUSTOM, branch="main", title="change modeling",
                              files={"modeling_x.py": code})["commit"]
        blocked = self.run_json("pull", CUSTOM, code=6)
        self.assertEqual(blocked["commit"], new)
        self.assertEqual(blocked["decision"]["approval"]["status"], "not_approved")
        self.assertEqual(self.snapshot_files(CUSTOM, new), [])
        explained = self.run_json("policy", "explain", CUSTOM, code=6)
        rules = {r["id"]: r for r in explained["decision"]["rules"]}
        self.assertEqual(rules["code.custom_code"]["outcome"], "block")
        # The reviewed commit keeps its approval and still pulls.
        (item,) = self.run_json("approvals")["approvals"]
        self.assertEqual((item["commit"], item["valid"]), (self.commit, True))
        self.assertEqual(self.run_json("pull", self.pinned)["decision"]["approval"]["status"],
                         "approved")

    def test_files_added_at_the_approved_commit_invalidate_it(self):
        # Approve a partial pull: files pulled later at that commit were never reviewed.
        policy = self.write_policy(APPROVAL_ONLY)
        self.run_json("pull", self.pinned, "--review", "--exclude", "*.py", "--policy", policy,
                      code=6)
        self.approve(self.pinned, "--policy", policy)
        ok = self.run_json("pull", self.pinned, "--exclude", "*.py", "--policy", policy)
        self.assertEqual(ok["decision"]["approval"]["status"], "approved")
        full = self.run_json("pull", self.pinned, "--policy", policy, code=6)
        self.assertEqual(full["decision"]["approval"]["status"], "invalidated")
        self.assertIn("modeling_x.py added", full["decision"]["approval"]["detail"])
        rules = {r["id"]: r for r in full["decision"]["rules"]}
        self.assertIn("invalidated", rules["approval.required"]["evidence"])
        (item,) = self.run_json("approvals")["approvals"]
        self.assertFalse(item["valid"])
        self.assertIn("configuration_x.py added (not covered by the approval)", item["changes"])

    def test_approval_required_admits_only_approved_commits(self):
        policy = self.write_policy(APPROVAL_ONLY)
        clean = self.hub.repos()[CLEAN]["main"]
        r = self.run_json("pull", f"{CLEAN}@{clean}", "--policy", policy, code=6)
        self.assertEqual({r["id"]: r["outcome"] for r in r["decision"]["rules"]},
                         {"approval.required": "block"})
        self.run_json("pull", f"{CLEAN}@{clean}", "--policy", policy, "--review", code=6)
        doc = self.approve(f"{CLEAN}@{clean}", "--policy", policy)
        self.assertEqual(doc["approval"]["policy"]["name"], "approval-only")
        ok = self.run_json("pull", f"{CLEAN}@{clean}", "--policy", policy)
        self.assertEqual(ok["decision"]["verdict"], "allow")
        self.assertIn("model.safetensors", self.snapshot_files(CLEAN, clean))

    def test_revoking_blocks_again_and_is_logged(self):
        self.review_and_approve()
        self.run_json("pull", self.pinned)
        r = self.hfaudit("approve", "--revoke", self.pinned, "--reason", "superseded",
                         env={"USER": "bob", "LOGNAME": None})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith(f"revoked the approval of {self.pinned} (given by "
                                            "alice on "), r.stdout)
        self.assertEqual(self.run_json("approvals")["approvals"], [])
        entries = self.audit("approve")
        self.assertEqual([(e[1], e[5]["operation"]) for e in entries],
                         [("alice", "approve"), ("bob", "revoke")])
        self.assertEqual(entries[1][5]["revoked"]["approved_by"], "alice")
        self.assertEqual(entries[1][5]["reason"], "superseded")
        # The cached verdict was made under the approval: the pinned pull is judged again.
        again = self.run_json("pull", self.pinned, code=6)
        self.assertTrue(again["network_used"])
        self.assertEqual(again["decision"]["approval"]["status"], "not_approved")
        # Nothing left to revoke.
        r = self.hfaudit("approve", "--revoke", self.pinned, "--reason", "again", "--by", "bob")
        self.assertEqual(r.returncode, 2)
        self.assertIn("is not approved; nothing to revoke", r.stderr)

    def test_branches_and_missing_arguments_are_usage_errors(self):
        self.run_json("pull", CUSTOM, code=6)  # records main -> commit in the index
        r = self.hfaudit("approve", f"{CUSTOM}@main", "--reason", "x")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(r.stderr.splitlines()[0],
                         f"hfaudit: error: cannot approve ({CUSTOM}@main): 'main' is not a full "
                         "commit id; approvals are per commit, since a branch or tag can move to "
                         "files nobody reviewed")
        self.assertEqual(r.stderr.splitlines()[1],
                         f"hint: 'main' was pulled as commit {self.commit}: hfaudit approve "
                         f"{self.pinned} --reason '...'")
        self.assertEqual(self.hfaudit("approve", self.pinned).returncode, 2)  # no --reason
        r = self.hfaudit("approve", self.pinned, "--reason", "x",
                         env={"USER": None, "LOGNAME": None})
        self.assertEqual(r.returncode, 2)
        self.assertIn("pass --by NAME", r.stderr)
        r = self.hfaudit("approve", "hfaudit-fixtures/never-pulled@" + "0" * 40, "--reason", "x",
                         "--by", "carol")
        self.assertEqual(r.returncode, 3)
        self.assertIn("is not in the cache", r.stderr)
        self.assertEqual(self.audit("approve"), [])

    def test_approvals_of_an_empty_cache(self):
        r = self.hfaudit("approvals")
        self.assertEqual((r.returncode, r.stdout), (0, "no approvals\n"))
        self.assertFalse(os.path.exists(os.path.join(self.hub.hfaudit_home, "index.sqlite")))


if __name__ == "__main__":
    unittest.main()
