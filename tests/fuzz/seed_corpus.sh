#!/bin/sh
# Seeds one scratch corpus per fuzz target from the labelled fixture corpus
# (fixtures/scan/corpus) and the regression inputs (fixtures/scan/regressions).
# Usage: tests/fuzz/seed_corpus.sh [out-dir]   (default: fuzz-corpus, git-ignored)
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/fuzz-corpus}
corpus=$root/fixtures/scan/corpus
regressions=$root/fixtures/scan/regressions

# seed <target> <find expression...>: copy matching corpus files, flattened.
seed() {
  target=$1
  shift
  mkdir -p "$out/$target"
  find "$corpus" -type f "$@" | while read -r f; do
    cp "$f" "$out/$target/$(echo "${f#"$corpus"/}" | tr / _)"
  done
  if [ -d "$regressions/$target" ]; then
    cp "$regressions/$target"/* "$out/$target/" 2>/dev/null || true
  fi
}

seed sniff
seed pickle \( -path '*/pickle/*' -o -path '*/joblib/*' -o -name '*.pkl' \)
seed pytorch_legacy \( -name 'legacy_*.pt' ! -name 'legacy_tar*' -o -path '*/pickle/benign/*' \)
seed zip \( -name '*.zip' -o -name '*.npz' -o -name '*.keras' -o -path '*/pytorch/*.pt*' \
  -o -name 'keras_zip_named.h5' -o -name 'polyglot_pickle_then_zip.pkl' \)
seed tar \( -name '*.tar' -o -name 'legacy_tar*.pt' \)
seed npy -name '*.npy'
seed safetensors -name '*.safetensors'
seed onnx \( -name '*.onnx' -o -name 'tokenizer.model' \)
seed keras_config \( -path '*/not_model/*.json' -o -name 'config.json' \)
seed hdf5 \( -name '*.h5' ! -name 'keras_zip_named.h5' \)
seed gguf -name '*.gguf'
seed gzip \( -name '*.gz' -o -name '*.bz2' -o -name '*.xz' -o -name '*_gzip.joblib' \
  -o -name '*_zlib.joblib' \)

# Keras model configs live inside .keras archives: extract them as seeds.
python3 - "$corpus" "$out/keras_config" <<'PY'
import pathlib, sys, zipfile
corpus, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
for path in sorted(corpus.rglob("*.keras")):
    with zipfile.ZipFile(path) as z:
        if "config.json" in z.namelist():
            (out / (path.stem + "_config.json")).write_bytes(z.read("config.json"))
PY
for d in "$out"/*; do echo "$(basename "$d"): $(ls "$d" | wc -l) seeds"; done
