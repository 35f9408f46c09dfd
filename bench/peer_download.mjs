// The peer: @huggingface/hub's snapshotDownload of a repo from the fixture Hub
// into a fresh cache dir. Usage: node bench/peer_download.mjs HUB_URL REPO CACHE_DIR
// The client is installed (pinned) under tests/compat by `npm ci --prefix tests/compat`.
import { snapshotDownload } from "../tests/compat/node_modules/@huggingface/hub/dist/index.mjs";

const [hubUrl, repo, cacheDir] = process.argv.slice(2);
const started = performance.now();
const path = await snapshotDownload({ repo: { type: "model", name: repo }, hubUrl, cacheDir });
console.log(JSON.stringify({ path, seconds: (performance.now() - started) / 1000 }));
