// Reads a cache written by hfaudit with a real third-party Hub client,
// @huggingface/hub (huggingface.js), and prints what it sees as JSON:
//   node check_cache.mjs CACHE_DIR [REPO COMMIT PATH...]
// - scanCacheDir(CACHE_DIR): repos, revisions, refs, files, and its warnings
//   (anything it considers corrupted);
// - downloadFileToCacheDir({revision: COMMIT}) for each PATH, against an
//   endpoint that does not exist: it must resolve from the cache alone.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { downloadFileToCacheDir, scanCacheDir } from "@huggingface/hub";

const [cacheDir, repo, commit, ...paths] = process.argv.slice(2);
const info = await scanCacheDir(cacheDir);
const out = {
  warnings: info.warnings.map((w) => String(w.message ?? w)),
  repos: info.repos.map((r) => ({
    id: `${r.id.type}:${r.id.name}`,
    filesCount: r.filesCount,
    revisions: r.revisions.map((v) => ({
      commit: v.commitOid,
      refs: [...v.refs].sort(),
      files: v.files.map((f) => f.path.slice(v.path.length + 1)).sort(),
    })),
  })),
  resolved: {},
};
for (const path of paths) {
  try {
    const local = await downloadFileToCacheDir({
      repo: { type: "model", name: repo },
      path,
      revision: commit,
      cacheDir,
      hubUrl: "http://127.0.0.1:9", // nothing listens here: a request would fail
    });
    const bytes = await readFile(local);
    out.resolved[path] = { path: local, sha256: createHash("sha256").update(bytes).digest("hex") };
  } catch (e) {
    out.resolved[path] = { error: String(e.message ?? e) };
  }
}
console.log(JSON.stringify(out, null, 1));
