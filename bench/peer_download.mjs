// The peer: @huggingface/hub's snapshotDownload of a repo from the fixture Hub
// into a fresh cache dir. Usage: node bench/peer_download.mjs HUB_URL REPO CACHE_DIR
import { snapshotDownload } from "@huggingface/hub";

const [hubUrl, repo, cacheDir] = process.argv.slice(2);
const started = performance.now();
const path = await snapshotDownload({ repo: { type: "model", name: repo }, hubUrl, cacheDir });
console.log(JSON.stringify({ path, seconds: (performance.now() - started) / 1000 }));
