#!/bin/sh
# The relying party's load tool, both halves, in one go:
#   decrypt: the reference bundle (bench_gen_bundle.py) with its key imported into
#            SoftHSM2, 1 and 2 jobs, against the floor and python-telegram-bot
#   serve:   50 concurrent clients posting bundles to idvault-rp serve's endpoints
# usage: tests/host/rp/bench_rp.sh [BUILD_DIR]   (ROUNDS, BUNDLES, CLIENTS, POSTS knobs)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
build=${1:-build}
bench="$build/tests/host/rp/bench_rp"
if [ ! -x "$bench" ]; then
  echo "bench_rp.sh: $bench not built (cmake --build $build --target bench_rp)" >&2
  exit 1
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/idvault-bench-rp.XXXXXX")
trap 'rm -rf "$dir"' EXIT
/usr/bin/python3 "$root/tests/interop/bench_gen_bundle.py" "$dir/bundle"
"$bench" decrypt "$dir/bundle" --rounds "${ROUNDS:-5}" --bundles "${BUNDLES:-40}" --warmup 3 \
  --ptb "$root/tests/interop/bench_ptb.py"
"$bench" serve --clients "${CLIENTS:-50}" --posts "${POSTS:-10}"
