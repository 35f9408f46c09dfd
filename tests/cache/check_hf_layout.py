#!/usr/bin/env python3
"""Checks a huggingface_hub cache directory against the layout rules hfaudit
must follow when it writes the view (stdlib only).

Usage:
    check_hf_layout.py CACHE_DIR            # exit 0: clean; 1: violations (listed on stderr); 2: usage

Applies every `scan_cache_dir` corruption rule (hf-cache-layout.md §5) plus the
writer checklist (§7):
  - top-level entries are directories named <models|datasets|spaces>--<id>
    (skipped: .locks, CACHEDIR.TAG, .DS_Store, Thumbs.db, desktop.ini);
  - snapshots/ exists and is a directory; refs is not a file;
  - no plain file directly inside snapshots/; snapshot names are 40 hex;
  - every entry under snapshots/<commit>/ is a *relative* symlink of the form
    ../ x (2 + depth) + blobs/<etag> that resolves to an existing file inside
    the repo's blobs/;
  - every ref (recursively under refs/) is exactly 40 lowercase hex, no
    newline or whitespace, naming an existing snapshots/ directory;
  - blobs/ is flat and holds only files named by a 40-hex (git sha1) or
    64-hex (sha256) etag: no *.incomplete or other foreign files;
  - a trees/<commit>.json, if present, lists exactly the files of the snapshot;
  - nothing else (hfaudit's own files never live here).
Used by tests/cache/hf_view_test.cpp and the crash tests via std::system.
"""
import json
import os
import re
import stat
import sys

HEX40 = re.compile(r"^[0-9a-f]{40}$")
ETAG = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
SKIPPED_TOP = {".locks", "CACHEDIR.TAG", ".DS_Store", "Thumbs.db", "desktop.ini"}
REPO_ENTRIES = {"blobs", "refs", "snapshots", ".no_exist", "trees"}


def check_repo(repo_dir, name, errors):
    def err(msg):
        errors.append(f"{name}: {msg}")

    snapshots = os.path.join(repo_dir, "snapshots")
    if not os.path.isdir(snapshots) or os.path.islink(snapshots):
        err("snapshots dir doesn't exist or is not a directory")
        return
    refs = os.path.join(repo_dir, "refs")
    if os.path.exists(refs) and not os.path.isdir(refs):
        err("refs directory cannot be a file")
    for entry in sorted(os.listdir(repo_dir)):
        if entry not in REPO_ENTRIES:
            err(f"foreign entry in repo folder: {entry}")
    blobs = os.path.join(repo_dir, "blobs")
    blob_names = set()
    if os.path.isdir(blobs):
        for entry in sorted(os.listdir(blobs)):
            st = os.lstat(os.path.join(blobs, entry))
            if not stat.S_ISREG(st.st_mode):
                err(f"blobs/{entry}: not a regular file (blobs/ must be flat)")
            elif not ETAG.fullmatch(entry):
                err(f"blobs/{entry}: foreign file (not a sha1/sha256 etag; leftover temp file?)")
            else:
                blob_names.add(entry)
            if st.st_mode & 0o111:
                err(f"blobs/{entry}: executable")
    commits = set()
    for commit in sorted(os.listdir(snapshots)):
        path = os.path.join(snapshots, commit)
        if os.path.islink(path) or not os.path.isdir(path):
            err(f"snapshots folder corrupted: snapshots/{commit} is not a directory")
            continue
        if not HEX40.fullmatch(commit):
            err(f"snapshots/{commit}: not a 40-hex commit")
        commits.add(commit)
        files = set()
        for dirpath, dirnames, filenames in os.walk(path):
            for d in list(dirnames):
                if os.path.islink(os.path.join(dirpath, d)):
                    filenames.append(d)  # report a symlinked directory as an entry
                    dirnames.remove(d)
            for f in filenames:
                full = os.path.join(dirpath, f)
                rel = os.path.relpath(full, path)
                files.add(rel)
                where = f"snapshots/{commit}/{rel}"
                if not os.path.exists(full):
                    err(f"{where}: blob missing (broken symlink)")
                if not os.path.islink(full):
                    err(f"{where}: not a symlink")
                    continue
                target = os.readlink(full)
                depth = rel.count("/")
                m = re.match(r"^((?:\.\./)*)blobs/([^/]+)$", target)
                if target.startswith("/"):
                    err(f"{where}: absolute link target {target}")
                elif not m or len(m.group(1)) // 3 != 2 + depth:
                    err(f"{where}: link target {target} is not ../ x {2 + depth} + blobs/<etag>")
                elif m.group(2) not in blob_names:
                    err(f"{where}: links to {m.group(2)}, not a blob of this repo")
                real = os.path.realpath(full)
                if not real.startswith(os.path.realpath(blobs) + os.sep):
                    err(f"{where}: resolves outside blobs/ ({real})")
        trees = os.path.join(repo_dir, "trees", commit + ".json")
        if os.path.exists(trees):
            try:
                listed = set(json.load(open(trees)).get("files", {}))
            except (OSError, ValueError) as e:
                err(f"trees/{commit}.json unreadable: {e}")
            else:
                if listed != files:
                    err(f"trees/{commit}.json does not match the snapshot "
                        f"(missing {sorted(listed - files)}, extra {sorted(files - listed)})")
    if os.path.isdir(refs):
        for dirpath, _, filenames in os.walk(refs):
            for f in filenames:
                full = os.path.join(dirpath, f)
                rel = os.path.relpath(full, refs)
                raw = open(full, "rb").read()
                if not HEX40.fullmatch(raw.decode("latin-1")) or raw.endswith(b"\n"):
                    err(f"refs/{rel}: content {raw!r} is not exactly 40 lowercase hex without newline")
                elif raw.decode() not in commits:
                    err(f"refs/{rel}: references refer to missing commit hash {raw.decode()}")


def check(cache_dir):
    errors = []
    for entry in sorted(os.listdir(cache_dir)):
        if entry in SKIPPED_TOP:
            continue
        path = os.path.join(cache_dir, entry)
        if os.path.islink(path) or not os.path.isdir(path):
            errors.append(f"{entry}: repo path is not a directory")
            continue
        if "--" not in entry:
            errors.append(f"{entry}: not a valid cache directory (no '--')")
            continue
        repo_type = entry.split("--", 1)[0]
        if repo_type not in ("models", "datasets", "spaces"):
            errors.append(f"{entry}: invalid repo type {repo_type}")
            continue
        check_repo(path, entry, errors)
    return errors


def main(argv):
    if len(argv) != 2 or not os.path.isdir(argv[1]):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    errors = check(argv[1])
    for e in errors:
        print(f"check_hf_layout: {e}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
