"""`hfaudit info` end to end: the real binary against the fixture Hub over HTTP on 127.0.0.1.

One fixture Hub per test class (tests/cli/hubfixture.py). Every fault the fixture can inject
is observed from the server side through /_fixture/log. Retries use HFAUDIT_HTTP_BACKOFF_MS=10
(set by hubfixture) so the whole file runs in well under a minute.
"""
import json
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from hubfixture import (ORG, TOKEN_NOGRANT, TOKEN_READER, HubTestCase,  # noqa: E402
                        run_hfaudit)

HEX40 = re.compile(r"^[0-9a-f]{40}$")
SEVERITIES = ["info", "low", "medium", "high", "critical"]

CLEAN = f"{ORG}/clean-safetensors"
PICKLE = f"{ORG}/pickle-only"
MALICIOUS = f"{ORG}/malicious-pickle"
CUSTOM = f"{ORG}/custom-code"
NO_CARD = f"{ORG}/no-card"
GATED_MANUAL = f"{ORG}/gated-manual"
GATED_AUTO = f"{ORG}/gated-auto"
PRIVATE = f"{ORG}/private-model"
DISABLED = f"{ORG}/disabled-model"
USER_REPO = "alice-fixture/tiny-user-model"

# Model info of a repository as hfaudit asks for it (any revision), and its tree listing.
def info_re(repo):
    return "^/api/models/" + re.escape(repo) + r"/revision/"


def tree_re(repo):
    return "^/api/models/" + re.escape(repo) + r"/tree/"


def severity_rank(name):
    return SEVERITIES.index(name)


class InfoTestCase(HubTestCase):
    """Helpers shared by the test classes below."""

    def info(self, *args, **kw):
        return self.hfaudit("info", *args, **kw)

    def info_json(self, repo, *args, **kw):
        r = self.info(repo, "--json", *args, **kw)
        self.assertEqual(r.returncode, 0, r.stderr)
        try:
            doc = json.loads(r.stdout)
        except ValueError as e:
            self.fail(f"stdout is not one JSON document ({e}): {r.stdout[:500]}")
        self.check_envelope(doc)
        return r, doc

    def check_envelope(self, doc):
        # The contract: "schema" and "hfaudit_version" at the top of every --json document.
        self.assertEqual(list(doc)[:2], ["schema", "hfaudit_version"])
        self.assertEqual(doc["schema"], "hfaudit.info/1")
        self.assertEqual(doc["hfaudit_version"], self.version())
        self.assertRegex(doc["commit"], HEX40)
        for key in ("repo", "revision", "commit", "provenance", "community", "content",
                    "documentation", "hub_security", "risk_factors", "overall_risk"):
            self.assertIn(key, doc)
        factors = doc["risk_factors"]
        for f in factors:
            self.assertEqual(sorted(f), ["evidence", "id", "remediation", "severity", "title"])
            self.assertIn(f["severity"], SEVERITIES)
            self.assertTrue(f["evidence"] and f["remediation"] and f["title"], f)
        ranks = [severity_rank(f["severity"]) for f in factors]
        self.assertEqual(ranks, sorted(ranks, reverse=True), "most severe first")
        self.assertEqual(doc["overall_risk"], factors[0]["severity"] if factors else "info")

    _version = None

    def version(self):
        if InfoTestCase._version is None:
            r = run_hfaudit(["--version"], self.hub.env())
            InfoTestCase._version = r.stdout.split()[-1]
        return InfoTestCase._version

    def ids(self, doc):
        return {f["id"] for f in doc["risk_factors"]}

    def factor(self, doc, factor_id):
        matches = [f for f in doc["risk_factors"] if f["id"] == factor_id]
        self.assertEqual(len(matches), 1, f"{factor_id} in {self.ids(doc)}")
        return matches[0]

    def refs(self, repo, token=None):
        refs = self.hub.get_json(f"/api/models/{repo}/refs?include_prs=1", token=token)
        out = {b["name"]: b["targetCommit"] for b in refs["branches"]}
        out.update({t["name"]: t["targetCommit"] for t in refs["tags"]})
        out.update({p["ref"]: p["targetCommit"] for p in refs.get("pullRequests", [])})
        return out

    def assert_error(self, r, code, *fragments):
        """Exit `code`, nothing on stdout, stderr = one error line (+ an optional hint line)."""
        self.assertEqual(r.returncode, code, r.stdout + r.stderr)
        self.assertEqual(r.stdout, "")
        lines = r.stderr.splitlines()
        self.assertIn(len(lines), (1, 2), r.stderr)
        self.assertTrue(lines[0].startswith("hfaudit: error: "), r.stderr)
        if len(lines) == 2:
            self.assertTrue(lines[1].startswith("hint: "), r.stderr)
        for fragment in fragments:
            self.assertIn(fragment, r.stderr)
        return lines

    def requests_to(self, pattern, server="hub"):
        return [e for e in self.hub.log(server=server) if re.search(pattern, e["path"])]


class InfoReposTest(InfoTestCase):
    """Every fixture repository, human and JSON."""

    def test_clean_safetensors(self):
        _, doc = self.info_json(CLEAN)
        self.assertEqual(doc["repo"], CLEAN)
        self.assertEqual(doc["revision"], "main")
        self.assertEqual(doc["commit"], self.refs(CLEAN)["main"])
        # Nothing above low; the only factors a clean, popular, organisation repo may get.
        self.assertEqual(self.ids(doc), set())
        self.assertIn(doc["overall_risk"], ("info", "low"))
        self.assertEqual(doc["documentation"]["license"], "apache-2.0")
        self.assertTrue(doc["documentation"]["license_known_open"])
        self.assertTrue(doc["documentation"]["card_present"])
        self.assertTrue(doc["documentation"]["card_has_metadata"])
        self.assertEqual(doc["content"]["safetensors_coverage"], "full")
        self.assertEqual(doc["content"]["pickle_files"], [])
        self.assertFalse(doc["content"]["custom_code"])
        self.assertEqual(doc["content"]["file_count"], 10)
        self.assertIn("1_Pooling/config.json", doc["content"]["formats"]["config"])
        self.assertTrue(doc["provenance"]["base_models"])
        self.assertEqual(doc["provenance"]["author"], ORG)
        self.assertEqual(doc["provenance"]["author_kind"], "organization")
        self.assertEqual(doc["provenance"]["gated"], "no")
        self.assertIs(doc["provenance"]["private"], False)
        self.assertIsInstance(doc["provenance"]["days_since_created"], int)
        self.assertTrue(doc["community"]["has_eval_results"])
        self.assertEqual(doc["community"]["downloads"], 12345)
        self.assertTrue(doc["hub_security"]["scans_done"])
        paths = [f["path"] for f in doc["hub_security"]["files"]]
        self.assertIn("model.safetensors", paths)
        st = next(f for f in doc["hub_security"]["files"] if f["path"] == "model.safetensors")
        self.assertEqual(st["hub_status"], "safe")
        self.assertTrue(st["lfs"])
        self.assertEqual(st["kind"], "safetensors")

    def test_clean_safetensors_human(self):
        r = self.info(CLEAN)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        commit = self.refs(CLEAN)["main"]
        first = r.stdout.splitlines()[0]
        self.assertEqual(first, f"{CLEAN} @ main -> {commit}")
        self.assertIn("base model", r.stdout)
        self.assertIn("apache-2.0 (open)", r.stdout)
        self.assertIn("safetensors coverage full", r.stdout)
        self.assertIn("evaluation results: yes", r.stdout)
        self.assertRegex(r.stdout, r"\nrisk: (info|low)\n")
        self.assertNotIn("\x1b[", r.stdout, "no colour when stdout is not a terminal")

    def test_verbose_lists_every_file(self):
        r = self.info(CLEAN, "-v")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("files:", r.stdout)
        for path in ("1_Pooling/config.json", "model.safetensors", "tokenizer.json"):
            self.assertIn(path, r.stdout)

    def test_pickle_only(self):
        _, doc = self.info_json(PICKLE)
        self.assertEqual(doc["commit"], self.refs(PICKLE)["main"])
        f = self.factor(doc, "content.pickle_weights")
        self.assertEqual(f["severity"], "medium")
        self.assertIn("pytorch_model.bin", f["evidence"])
        self.assertEqual(doc["content"]["safetensors_coverage"], "none")
        self.assertEqual(doc["content"]["pickle_files"], ["pytorch_model.bin"])
        self.assertNotIn("hub.flagged", self.ids(doc))
        self.assertEqual(doc["overall_risk"], "medium")

    def test_malicious_pickle(self):
        _, doc = self.info_json(MALICIOUS)
        self.assertEqual(doc["commit"], self.refs(MALICIOUS)["main"])
        f = self.factor(doc, "hub.flagged")
        self.assertEqual(f["severity"], "critical")
        self.assertIn("pytorch_model.bin", f["evidence"])
        self.assertIn("posix.system", f["evidence"])
        self.assertEqual(doc["overall_risk"], "critical")
        self.assertIn("content.pickle_weights", self.ids(doc))
        [bin_file] = [x for x in doc["hub_security"]["files"] if x["path"] == "pytorch_model.bin"]
        self.assertEqual(bin_file["hub_status"], "unsafe")
        self.assertIn({"module": "posix", "name": "system", "safety": "dangerous"},
                      bin_file["hub_pickle_imports"])
        r = self.info(MALICIOUS)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("risk: critical", r.stdout)
        self.assertIn("hub.flagged", r.stdout)
        self.assertIn("posix.system", r.stdout)

    def test_custom_code(self):
        _, doc = self.info_json(CUSTOM)
        f = self.factor(doc, "code.custom_code")
        self.assertEqual(f["severity"], "high")
        self.assertIn("auto_map", f["evidence"])
        self.assertIn("modeling_x.py", f["evidence"])
        self.assertTrue(doc["content"]["custom_code"])
        self.assertEqual(doc["overall_risk"], "high")

    def test_no_card(self):
        _, doc = self.info_json(NO_CARD)
        f = self.factor(doc, "documentation.no_card")
        self.assertEqual(f["severity"], "medium")
        self.assertFalse(doc["documentation"]["card_present"])
        self.assertIsNone(doc["documentation"]["license"])
        self.assertIn("license.missing", self.ids(doc))
        # No Hub scan results at all: the weights are reported as not scanned.
        self.assertIn("hub.not_scanned", self.ids(doc))
        self.assertFalse(doc["hub_security"]["scans_done"])

    def test_user_owned_repository(self):
        _, doc = self.info_json(USER_REPO)
        self.assertEqual(doc["provenance"]["author_kind"], "user")
        f = self.factor(doc, "provenance.user_account")
        self.assertEqual(f["severity"], "low")
        self.assertIn("alice-fixture", f["evidence"])
        # The pre-2022 sentinel date is not an age.
        self.assertIsNone(doc["provenance"]["days_since_created"])
        self.assertNotIn("provenance.new_repository", self.ids(doc))

    def test_gated_repositories_work_anonymously(self):
        for repo, mode in ((GATED_MANUAL, "manual"), (GATED_AUTO, "auto")):
            with self.subTest(repo=repo):
                _, doc = self.info_json(repo)
                self.assertEqual(doc["provenance"]["gated"], mode)
                self.assertEqual(doc["commit"], self.refs(repo)["main"])
                r = self.info(repo)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn(f"gated {mode}", r.stdout)
        self.assertFalse([e for e in self.hub.log() if e["authorization"]])

    def test_private_anonymous_is_not_found_or_no_access(self):
        r = self.info(PRIVATE)
        lines = self.assert_error(r, 4)
        self.assertEqual(len(lines), 2, r.stderr)
        self.assertTrue(lines[0].startswith(f"hfaudit: error: cannot assess repository ({PRIVATE}): "),
                        lines[0])
        self.assertIn("not found or no access", lines[0])
        self.assertIn("no token was sent", lines[1])
        self.assertIn("HF_TOKEN", lines[1])

    def test_private_with_token_that_cannot_see_it(self):
        r = self.info(PRIVATE, token=TOKEN_NOGRANT)
        lines = self.assert_error(r, 4, "not found or no access")
        self.assertIn("a token was sent", lines[1])
        self.assertNotIn(TOKEN_NOGRANT, r.stderr)

    def test_private_with_reader_token(self):
        _, doc = self.info_json(PRIVATE, token=TOKEN_READER)
        self.assertIs(doc["provenance"]["private"], True)
        self.assertEqual(doc["commit"], self.refs(PRIVATE, token=TOKEN_READER)["main"])

    def test_bad_token_is_invalid_credentials(self):
        secret = "hf_not_a_real_token_0123456789"
        r = self.info(CLEAN, token=secret)
        lines = self.assert_error(r, 4, "rejected the token", "Invalid credentials")
        self.assertEqual(len(lines), 2)
        self.assertIn("HF_TOKEN", lines[1])
        self.assertNotIn(secret, r.stderr)

    def test_disabled_repository(self):
        _, doc = self.info_json(DISABLED)
        self.assertIs(doc["provenance"]["disabled"], True)
        f = self.factor(doc, "provenance.disabled")
        self.assertEqual(f["severity"], "high")
        r = self.info(DISABLED)
        self.assertIn("DISABLED", r.stdout)

    def test_renamed_repository_follows_the_redirect(self):
        _, doc = self.info_json(f"{ORG}/old-clean-name")
        self.assertEqual(doc["repo"], CLEAN)
        self.assertEqual(doc["commit"], self.refs(CLEAN)["main"])
        statuses = [e["status"] for e in self.hub.log()]
        self.assertIn(307, statuses)

    def test_exact_risk_factors_per_repository(self):
        # The fixture cards are a few hundred bytes at most (thin_card, low) and most fixture
        # repos have under 100 downloads (low_adoption, low).
        thin, few = "documentation.thin_card", "community.low_adoption"
        expected = {
            CLEAN: set(),
            PICKLE: {"content.pickle_weights", thin},
            MALICIOUS: {"hub.flagged", "content.pickle_weights", few, thin},
            CUSTOM: {"code.custom_code", few, thin},
            NO_CARD: {"documentation.no_card", "license.missing", "hub.not_scanned", few},
            USER_REPO: {"provenance.user_account", few, thin},
            # license: other (license_name/license_link) needs a human.
            GATED_MANUAL: {few, thin, "license.review"},
            GATED_AUTO: {few, thin, "license.review"},
            DISABLED: {"provenance.disabled", "documentation.no_card", "license.missing",
                       "hub.not_scanned", few},
        }
        for repo, ids in expected.items():
            with self.subTest(repo=repo):
                _, doc = self.info_json(repo)
                self.assertEqual(self.ids(doc), ids)

    def test_fail_on(self):
        r = self.info(MALICIOUS, "--fail-on", "high")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("risk: critical", r.stdout)
        r = self.info(MALICIOUS, "--fail-on", "high", "--json")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(json.loads(r.stdout)["overall_risk"], "critical")
        r = self.info(CLEAN, "--fail-on", "high")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.info(PICKLE, "--fail-on", "medium")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.hub.clear_log()
        r = self.info(CLEAN, "--fail-on", "severe")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(self.hub.log(), [], "a usage error makes no request")

    def test_output_file(self):
        with self.subTest("json"):
            out = os.path.join(self.hub.tmp, "info.json")
            r = self.info(CLEAN, "--json", "-o", out)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, "")
            with open(out) as f:
                doc = json.load(f)
            self.check_envelope(doc)
            self.assertEqual(doc["repo"], CLEAN)
            self.assertFalse(os.path.exists(out + ".tmp"))
        with self.subTest("human"):
            out = os.path.join(self.hub.tmp, "info.txt")
            r = self.info(CLEAN, "-o", out)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, "")
            with open(out) as f:
                self.assertTrue(f.read().startswith(f"{CLEAN} @ main -> "))
        with self.subTest("unwritable"):
            r = self.info(CLEAN, "--json", "-o", os.path.join(self.hub.tmp, "no", "such", "f.json"))
            self.assert_error(r, 3, "cannot write report")

    def test_help(self):
        r = self.hfaudit("info", "--help")
        self.assertEqual(r.returncode, 0)
        for word in ("--fail-on", "--json", "Examples", "Exit codes"):
            self.assertIn(word, r.stdout)


class InfoRevisionsTest(InfoTestCase):
    def test_tag_branch_short_and_full_sha(self):
        refs = self.refs(CLEAN)
        tag_commit = refs["v1.0"]
        cases = [("v1.0", tag_commit), ("dev", refs["dev"]), ("main", refs["main"]),
                 (tag_commit[:7], tag_commit), (tag_commit, tag_commit)]
        for rev, commit in cases:
            with self.subTest(rev=rev):
                self.hub.clear_log()
                _, doc = self.info_json(f"{CLEAN}@{rev}")
                self.assertEqual(doc["revision"], rev)
                self.assertEqual(doc["commit"], commit)
                # The tree is pinned to the commit the info resolved.
                trees = self.requests_to(tree_re(CLEAN))
                self.assertTrue(trees)
                self.assertTrue(all(f"/tree/{commit}" in e["path"] for e in trees), trees)

    def test_revision_option(self):
        refs = self.refs(CLEAN)
        _, doc = self.info_json(CLEAN, "--revision", "v1.0")
        self.assertEqual(doc["commit"], refs["v1.0"])
        r = self.info(f"{CLEAN}@dev", "--revision", "v1.0")
        self.assert_error(r, 2, "two revisions")

    def test_pull_request_ref_is_url_encoded(self):
        refs = self.refs(CLEAN)
        _, doc = self.info_json(f"{CLEAN}@refs/pr/1")
        self.assertEqual(doc["revision"], "refs/pr/1")
        self.assertEqual(doc["commit"], refs["refs/pr/1"])
        [info] = self.requests_to(info_re(CLEAN))
        self.assertIn("/revision/refs%2Fpr%2F1", info["path"])

    def test_missing_revision(self):
        r = self.info(f"{CLEAN}@no-such-branch")
        lines = self.assert_error(r, 4, "no-such-branch")
        self.assertIn("revision no-such-branch not found", lines[0])

    def test_malformed_repository_ids(self):
        for bad in ("no-slash", "a/b/c", "org/na me", "/name", "org/", "org/name@"):
            with self.subTest(repo=bad):
                r = self.info(bad)
                self.assert_error(r, 2)
        self.assertEqual(self.hub.log(), [])


class InfoFaultsTest(InfoTestCase):
    """Every fault mode of the fixture Hub, observed from the server side."""

    def statuses(self, pattern):
        return [(e["status"], e["fault"]) for e in self.requests_to(pattern)]

    def test_429_retry_after_seconds_then_success(self):
        self.hub.faults({"match": info_re(CLEAN), "kind": "429", "retry_after": 1})
        _, doc = self.info_json(CLEAN)
        self.assertEqual(doc["commit"], self.refs(CLEAN)["main"])
        log = self.requests_to(info_re(CLEAN))
        self.assertEqual([(e["status"], e["fault"]) for e in log], [(429, "429"), (200, None)])
        # The wait the Hub asked for was honoured, not the 10 ms backoff.
        self.assertGreaterEqual(log[1]["time"] - log[0]["time"], 0.9)

    def test_429_retry_after_http_date_then_success(self):
        self.hub.faults({"match": tree_re(CLEAN), "kind": "429", "retry_after": 2,
                         "retry_after_format": "date"})
        self.info_json(CLEAN)
        log = self.requests_to(tree_re(CLEAN))
        self.assertEqual([(e["status"], e["fault"]) for e in log], [(429, "429"), (200, None)])
        self.assertGreaterEqual(log[1]["time"] - log[0]["time"], 0.9)

    def test_503_retry_after_http_date_then_success(self):
        # Without a RateLimit header the HTTP-date form of Retry-After is what the client reads.
        self.hub.faults({"match": tree_re(CLEAN), "kind": "503", "retry_after": 2,
                         "retry_after_format": "date"})
        self.info_json(CLEAN)
        log = self.requests_to(tree_re(CLEAN))
        self.assertEqual([(e["status"], e["fault"]) for e in log], [(503, "503"), (200, None)])
        self.assertGreaterEqual(log[1]["time"] - log[0]["time"], 0.9)

    def test_500_and_503_then_success(self):
        for kind in ("500", "502", "503", "504"):
            with self.subTest(kind=kind):
                self.hub.clear_log()
                self.hub.faults({"match": info_re(CLEAN), "kind": kind, "times": 2})
                _, doc = self.info_json(CLEAN)
                self.assertEqual(self.statuses(info_re(CLEAN)),
                                 [(int(kind), kind), (int(kind), kind), (200, None)])

    def test_persistent_500_fails_after_bounded_attempts(self):
        self.hub.faults({"match": info_re(CLEAN), "kind": "500", "times": -1})
        r = self.info(CLEAN, env={"HFAUDIT_HTTP_RETRIES": "3"})
        lines = self.assert_error(r, 4, "4 attempts", "HTTP 500")
        self.assertEqual(len(self.requests_to(info_re(CLEAN))), 4)
        self.assertIn("cannot assess repository", lines[0])
        # The default budget: 1 + 5 retries, still fast with a small backoff base.
        self.hub.clear_log()
        r = self.info(CLEAN)
        self.assert_error(r, 4, "6 attempts")
        self.assertEqual(len(self.requests_to(info_re(CLEAN))), 6)
        # No retries at all.
        self.hub.clear_log()
        r = self.info(CLEAN, env={"HFAUDIT_HTTP_RETRIES": "0"})
        self.assert_error(r, 4, "HTTP 500")
        self.assertEqual(len(self.requests_to(info_re(CLEAN))), 1)

    def test_persistent_429_is_rate_limited(self):
        self.hub.faults({"match": info_re(CLEAN), "kind": "429", "retry_after": 0, "times": -1})
        r = self.info(CLEAN, env={"HFAUDIT_HTTP_RETRIES": "1"})
        self.assert_error(r, 4, "rate limited")
        self.assertEqual(len(self.requests_to(info_re(CLEAN))), 2)

    def test_connection_reset_then_success(self):
        self.hub.faults({"match": info_re(CLEAN), "kind": "reset"})
        self.info_json(CLEAN)
        self.assertEqual(self.statuses(info_re(CLEAN)), [(0, "reset"), (200, None)])

    def test_persistent_reset_is_a_network_error(self):
        self.hub.faults({"match": tree_re(CLEAN), "kind": "reset", "times": -1})
        r = self.info(CLEAN, env={"HFAUDIT_HTTP_RETRIES": "2"})
        self.assert_error(r, 4, "cannot assess repository", "Connection reset", "3 attempts")
        # 3 attempts by hfaudit; libcurl itself re-sends a request once when a reused
        # keep-alive connection turns out dead, so the server may see up to twice as many.
        n = len(self.requests_to(tree_re(CLEAN)))
        self.assertGreaterEqual(n, 3)
        self.assertLessEqual(n, 6)

    def test_cut_body_then_success(self):
        self.hub.faults({"match": tree_re(CLEAN), "kind": "cut", "after_bytes": 100})
        _, doc = self.info_json(CLEAN)
        self.assertEqual(doc["content"]["file_count"], 10)
        log = self.requests_to(tree_re(CLEAN))
        self.assertEqual([e["fault"] for e in log], ["cut", None])
        self.assertEqual(log[0]["bytesSent"], 100)

    def test_corrupt_body_is_a_bad_response(self):
        # Flipped bytes in a JSON answer: unparseable, reported (not retried, not crashed).
        self.hub.faults({"match": info_re(CLEAN), "kind": "corrupt"})
        r = self.info(CLEAN)
        self.assert_error(r, 4, "cannot assess repository")

    def test_slow_drip_within_timeouts(self):
        self.hub.faults({"match": tree_re(CLEAN), "kind": "slow", "chunk": 256, "delay_ms": 100})
        _, doc = self.info_json(CLEAN, env={"HF_HUB_DOWNLOAD_TIMEOUT": "2"})
        self.assertEqual(doc["content"]["file_count"], 10)
        self.assertEqual(self.statuses(tree_re(CLEAN)), [(200, "slow")])

    def test_slow_beyond_the_etag_timeout_fails_fast(self):
        # HF_HUB_ETAG_TIMEOUT bounds metadata requests: every API call.
        self.hub.faults({"match": info_re(CLEAN), "kind": "slow", "chunk": 16, "delay_ms": 4000,
                         "times": -1})
        r = self.info(CLEAN, env={"HF_HUB_ETAG_TIMEOUT": "1", "HF_HUB_DOWNLOAD_TIMEOUT": "60",
                                  "HFAUDIT_HTTP_RETRIES": "1"})
        self.assert_error(r, 4, "cannot assess repository")
        self.assertLess(r.elapsed, 8, r.stderr)
        self.assertEqual(len(self.requests_to(info_re(CLEAN))), 2)

    def test_download_timeout_does_not_limit_api_calls(self):
        # HF_HUB_DOWNLOAD_TIMEOUT bounds file downloads only; info makes API GETs only.
        self.hub.faults({"match": tree_re(CLEAN), "kind": "slow", "chunk": 1024,
                         "delay_ms": 1500})
        self.info_json(CLEAN, env={"HF_HUB_ETAG_TIMEOUT": "5", "HF_HUB_DOWNLOAD_TIMEOUT": "1"})
        dripped = [e for e in self.hub.log() if e["fault"] == "slow"]
        self.assertGreater(dripped[0]["bytesSent"], 1024)  # so there was a 1.5 s gap

    def test_bad_timeout_values_warn(self):
        r = self.info(CLEAN, "--json", env={"HF_HUB_DOWNLOAD_TIMEOUT": "soon",
                                            "HFAUDIT_HTTP_RETRIES": "99"})
        self.assertEqual(r.returncode, 0, r.stderr)
        json.loads(r.stdout)
        lines = r.stderr.splitlines()
        self.assertEqual(len(lines), 2, r.stderr)
        self.assertTrue(all(x.startswith("hfaudit: warning: ") for x in lines), r.stderr)
        self.assertIn("HF_HUB_DOWNLOAD_TIMEOUT", r.stderr)
        self.assertIn("HFAUDIT_HTTP_RETRIES", r.stderr)

    def test_redirect_loop(self):
        for loop in ("self", "pair"):
            with self.subTest(loop=loop):
                self.hub.clear_log()
                self.hub.clear_faults()
                self.hub.faults({"match": info_re(CLEAN), "kind": "redirect_loop", "loop": loop,
                                 "times": -1})
                r = self.info(CLEAN)
                self.assert_error(r, 4, "redirect loop")
                # A revisited URL is recognised at once: 1 request (self), 2 (A->B->A).
                n = len(self.requests_to(info_re(CLEAN)))
                self.assertEqual(n, 1 if loop == "self" else 2)

    def test_owner_lookup_failure_leaves_the_kind_unknown(self):
        # The owner's kind is a signal, not a prerequisite.
        self.hub.faults({"match": "/overview", "kind": "500", "times": -1})
        _, doc = self.info_json(CLEAN, env={"HFAUDIT_HTTP_RETRIES": "0"})
        self.assertEqual(doc["provenance"]["author_kind"], "unknown")


class InfoPaginationTest(InfoTestCase):
    hub_args = ("--page-size", "2")

    def test_tree_pages_are_followed(self):
        _, doc = self.info_json(CLEAN)
        self.assertEqual(doc["content"]["file_count"], 10)
        paths = sorted(f["path"] for f in doc["hub_security"]["files"])
        self.assertEqual(len(paths), len(set(paths)))
        trees = self.requests_to(tree_re(CLEAN))
        # 10 files + the 1_Pooling folder = 11 entries, 2 per page.
        self.assertEqual(len(trees), 6)
        self.assertNotIn("cursor=", trees[0]["path"])
        self.assertTrue(all("cursor=" in e["path"] for e in trees[1:]), trees)
        self.assertTrue(all(e["status"] == 200 for e in trees))
        commit = doc["commit"]
        self.assertTrue(all(f"/tree/{commit}" in e["path"] for e in trees))

    def test_fault_on_a_later_page_is_retried(self):
        self.hub.faults({"match": tree_re(CLEAN) + ".*cursor=", "kind": "503"})
        _, doc = self.info_json(CLEAN)
        self.assertEqual(doc["content"]["file_count"], 10)
        self.assertEqual(len(self.requests_to(tree_re(CLEAN))), 7)


class InfoEnvironmentTest(InfoTestCase):
    def test_offline_makes_no_request(self):
        for value in ("1", "TRUE", "yes"):
            with self.subTest(value=value):
                r = self.info(CLEAN, env={"HF_HUB_OFFLINE": value})
                self.assert_error(r, 4, "offline")
        r = self.info(CLEAN, "--json", env={"TRANSFORMERS_OFFLINE": "1"})
        self.assert_error(r, 4, "offline")
        self.assertEqual(self.hub.log(), [])
        self.assertEqual(self.hub.log(server="cdn"), [])

    def test_offline_off_values(self):
        self.info_json(CLEAN, env={"HF_HUB_OFFLINE": "0"})

    def test_token_never_printed_and_sent_only_to_the_hub(self):
        outputs = []
        for args in (("--json",), ("-v",), ("-v", "--json"), ()):
            r = self.info(PRIVATE, *args, token=TOKEN_READER)
            self.assertEqual(r.returncode, 0, r.stderr)
            outputs.append(r.stdout + r.stderr)
        # -v prints the client's debug lines: the requests, never the token.
        r = self.info(PRIVATE, "-v", token=TOKEN_READER)
        self.assertIn("hfaudit: debug: GET", r.stderr)
        outputs.append(r.stdout + r.stderr)
        # Failures with a token, verbose.
        r = self.info(f"{PRIVATE}@nope", "-v", token=TOKEN_READER)
        self.assertEqual(r.returncode, 4)
        outputs.append(r.stdout + r.stderr)
        self.hub.faults({"match": info_re(PRIVATE), "kind": "500", "times": -1})
        r = self.info(PRIVATE, "-v", token=TOKEN_READER, env={"HFAUDIT_HTTP_RETRIES": "1"})
        self.assertEqual(r.returncode, 4)
        outputs.append(r.stdout + r.stderr)
        for text in outputs:
            self.assertNotIn(TOKEN_READER, text)
            self.assertNotIn("fixture_reader", text)
        hub_log = self.hub.log(server="hub")
        self.assertTrue(hub_log)
        self.assertTrue(all(e["token"] == TOKEN_READER for e in hub_log))
        self.assertFalse([e for e in self.hub.log(server="cdn") if e["authorization"]])

    def test_token_from_the_token_file(self):
        path = os.path.join(self.hub.hf_home, "token")
        with open(path, "w") as f:
            f.write(TOKEN_READER + "\n")
        try:
            _, doc = self.info_json(PRIVATE)
            self.assertIs(doc["provenance"]["private"], True)
        finally:
            os.remove(path)

    def test_no_token_sends_no_authorization(self):
        self.info_json(CLEAN)
        self.assertFalse([e for e in self.hub.log() if e["authorization"]])

    def test_user_agent(self):
        self.info_json(CLEAN)
        agents = {e["headers"].get("user-agent", "") for e in self.hub.log()}
        self.assertTrue(agents)
        self.assertTrue(all(a.startswith("hfaudit/") for a in agents), agents)

    def test_unusable_endpoint_is_a_clear_error(self):
        r = self.info(CLEAN, env={"HF_ENDPOINT": "ftp://example.invalid"})
        self.assert_error(r, 2, "HF_ENDPOINT")

    def test_refused_connection_is_a_network_error(self):
        # A port nothing listens on (the CDN port of a stopped server would race; use port 1).
        r = self.info(CLEAN, env={"HF_ENDPOINT": "http://127.0.0.1:1",
                                  "HFAUDIT_HTTP_RETRIES": "1"})
        self.assert_error(r, 4, "cannot assess repository")
        self.assertLess(r.elapsed, 10)


if __name__ == "__main__":
    unittest.main()
