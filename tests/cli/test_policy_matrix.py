"""Every fixture repository under the shipped `default` and `strict` policies: exactly which rules
block and which warn, from `hfaudit policy explain --json` at each repository's main commit
(pinned). The expected table is the one in docs/policies.md ("What the shipped policies do to the
fixture repos"), so the documentation cannot drift from the behaviour. A few real pulls then show
that what the gate blocks never reaches a snapshot, while the index keeps the full record (audit
log and decisions, read with sqlite3)."""
import hashlib
import json
import os
import re
import shutil
import sqlite3
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from hubfixture import ORG, SOURCE_DIR, TOKEN_READER, HubTestCase  # noqa: E402

DOC = os.path.join(SOURCE_DIR, "docs", "policies.md")
STRICT = os.path.join(SOURCE_DIR, "policies", "strict.yaml")
POLICIES = {"default": [], "strict": ["--policy", STRICT]}
TABLE_TITLE = "## What the shipped policies do to the fixture repos"


def rule_set(cell):
    """`a`, `b` -> {"a", "b"}; an em dash is the empty set."""
    cell = cell.strip()
    return set() if cell in ("—", "-", "") else set(re.findall(r"`([a-z_.]+)`", cell))


def documented_matrix():
    """{(policy, repo): {"block": set, "warn": set}} from the table in docs/policies.md."""
    with open(DOC) as f:
        text = f.read()
    section = text[text.index(TABLE_TITLE):]
    rows = {}
    for line in section.splitlines()[1:]:
        if line.startswith("## "):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 5 or not cells[0].startswith("`"):
            continue
        repo = cells[0].strip("`")
        rows[("default", repo)] = {"block": rule_set(cells[1]), "warn": rule_set(cells[2])}
        rows[("strict", repo)] = {"block": rule_set(cells[3]), "warn": rule_set(cells[4])}
    return rows


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class PolicyMatrixTest(HubTestCase):
    def setUp(self):
        super().setUp()
        for d in (self.hub.hf_home, self.hub.hfaudit_home):
            shutil.rmtree(d, ignore_errors=True)

    def explain(self, spec, policy):
        r = self.hfaudit("policy", "explain", spec, "--json", *POLICIES[policy],
                         token=TOKEN_READER)
        self.assertIn(r.returncode, (0, 6), r.stderr)
        decision = json.loads(r.stdout)["decision"]
        fired = {"block": set(), "warn": set()}
        for rule in decision["rules"]:
            if rule["outcome"] in fired:
                fired[rule["outcome"]].add(rule["id"])
        # The exit code follows the verdict.
        self.assertEqual(r.returncode, 6 if fired["block"] else 0, (spec, policy, fired))
        return fired

    def test_every_fixture_repo_under_default_and_strict(self):
        expected = documented_matrix()
        repos = sorted(self.hub.repos())
        documented = sorted({repo for _, repo in expected})
        self.assertEqual(documented, sorted(r.split("/", 1)[1] if r.startswith(ORG + "/") else r
                                            for r in repos),
                         "docs/policies.md must list every fixture repository")
        for repo in repos:
            name = repo.split("/", 1)[1] if repo.startswith(ORG + "/") else repo
            commit = self.hub.repos()[repo]["main"]
            for policy in POLICIES:
                with self.subTest(repo=repo, policy=policy):
                    self.assertEqual(self.explain(f"{repo}@{commit}", policy),
                                     expected[(policy, name)])

    def test_strict_judges_content_after_download(self):
        # As docs/policies.md says below the table: the scan adds the content rules.
        repo = f"{ORG}/pickle-only"
        commit = self.hub.repos()[repo]["main"]
        r = self.hfaudit("pull", f"{repo}@{commit}", "--review", "--json", *POLICIES["strict"])
        self.assertEqual(r.returncode, 6, r.stderr)
        blocks = {rule["id"] for rule in json.loads(r.stdout)["decision"]["rules"]
                  if rule["outcome"] == "block"}
        self.assertEqual(blocks, {"approval.required", "formats.allowed", "formats.forbidden"})

    def test_strict_also_requires_a_pinned_commit(self):
        fired = self.explain(f"{ORG}/clean-safetensors", "strict")
        self.assertIn("provenance.pinned_commit", fired["block"])

    # ---- pulls: blocked content never reaches a snapshot; the index keeps the record

    def index_rows(self, sql, *args):
        db = sqlite3.connect(os.path.join(self.hub.hfaudit_home, "index.sqlite"))
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()

    def snapshot_files(self, repo, commit):
        snap = os.path.join(self.hub.hf_hub_cache, "models--" + repo.replace("/", "--"),
                            "snapshots", commit)
        out = []
        for root, _, files in os.walk(snap):
            out += [os.path.relpath(os.path.join(root, f), snap) for f in files]
        return sorted(out)

    def pull(self, repo, policy, code):
        r = self.hfaudit("pull", repo, "--json", *POLICIES[policy], token=TOKEN_READER)
        self.assertEqual(r.returncode, code, r.stdout + r.stderr)
        return json.loads(r.stdout)

    def assert_blocked_and_recorded(self, doc, policy_name, policy_sha, blocked_paths):
        repo, commit = doc["repo"], doc["commit"]
        visible = self.snapshot_files(repo, commit)
        for path in blocked_paths:
            self.assertNotIn(path, visible)
        # One block entry per blocked file, with the reason, then the pull summary.
        blocks = self.index_rows(
            "SELECT path, detail_json FROM audit_log WHERE action = 'block' AND repo_id = ? "
            "AND commit_sha = ? ORDER BY path", repo, commit)
        self.assertEqual([p for p, _ in blocks], sorted(blocked_paths))
        for _, detail in blocks:
            self.assertIn(f"policy {policy_name}:", json.loads(detail)["reason"])
        (summary,), = self.index_rows(
            "SELECT detail_json FROM audit_log WHERE action = 'pull' AND repo_id = ? "
            "AND commit_sha = ?", repo, commit)
        self.assertEqual(json.loads(summary)["blocked"], len(blocked_paths))
        # The commit-level decision, with the exact policy and every rule's outcome.
        (name, sha, decision, reasons), = self.index_rows(
            "SELECT policy_name, policy_sha256, decision, reasons_json FROM policy_decisions "
            "WHERE path IS NULL AND commit_sha = ?", commit)
        self.assertEqual((name, sha, decision), (policy_name, policy_sha, "block"))
        self.assertEqual(json.loads(reasons)["rules"], doc["decision"]["rules"])
        files = self.index_rows("SELECT path, state FROM files WHERE commit_sha = ? AND "
                                "state = 'blocked' ORDER BY path", commit)
        self.assertEqual([p for p, _ in files], sorted(blocked_paths))

    def test_blocked_pulls_leave_nothing_in_snapshots_and_a_full_record(self):
        default_sha = sha256_file(os.path.join(SOURCE_DIR, "policies", "default.yaml"))
        # A repository rule: nothing is downloaded, nothing is visible.
        custom = self.pull(f"{ORG}/custom-code", "default", 6)
        self.assertEqual(self.hub.log(server="cdn"), [])
        self.assertEqual(self.snapshot_files(custom["repo"], custom["commit"]), [])
        self.assert_blocked_and_recorded(custom, "default", default_sha,
                                         [f["path"] for f in custom["files"]])
        # A file rule: the flagged pickle stays out, the rest of the repository is admitted.
        malicious = self.pull(f"{ORG}/malicious-pickle", "default", 6)
        self.assert_blocked_and_recorded(malicious, "default", default_sha, ["pytorch_model.bin"])
        self.assertIn("config.json",
                      self.snapshot_files(malicious["repo"], malicious["commit"]))
        (findings,), = self.index_rows(
            "SELECT detail_json FROM audit_log WHERE action = 'block' AND path = ?",
            "pytorch_model.bin")
        self.assertTrue(json.loads(findings)["findings"])  # the scanner's evidence is kept
        # strict blocks even the clean repository before download.
        clean = self.pull(f"{ORG}/clean-safetensors", "strict", 6)
        self.assertEqual(self.snapshot_files(clean["repo"], clean["commit"]), [])
        self.assert_blocked_and_recorded(clean, "strict", sha256_file(STRICT),
                                         [f["path"] for f in clean["files"]])
        ls = json.loads(self.hfaudit("ls", "--json").stdout)
        decisions = {r["repo"]: r["snapshots"][0]["decision"] for r in ls["repos"]}
        self.assertEqual(set(decisions.values()), {"block"})


if __name__ == "__main__":
    unittest.main()
