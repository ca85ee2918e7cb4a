#!/bin/sh
# Bundle decryption benchmark: ours vs the floor vs python-telegram-bot, in one run.
# Generates the baseline bundle (4 elements, 2 MB of files) with bench_gen_bundle.py, then
# runs bench_bundle, which interleaves the three by round and prints medians and ratios.
# usage: tests/interop/bench_bundle.sh [BUILD_DIR] [-- bench_bundle options]
#   defaults: BUILD_DIR=build, --rounds 5 --bundles 60 --warmup 5 (ROUNDS, BUNDLES knobs)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
bench="$build/tests/interop/bench_bundle"
if [ ! -x "$bench" ]; then
  echo "bench_bundle.sh: $bench not built (cmake --build $build --target bench_bundle)" >&2
  exit 1
fi
if ! /usr/bin/python3 -c 'import telegram, cryptography' 2>/dev/null; then
  echo "bench_bundle.sh: /usr/bin/python3 lacks python-telegram-bot (run scripts/setup)" >&2
  exit 1
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/idvault-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
/usr/bin/python3 "$here/bench_gen_bundle.py" "$dir/bundle"
"$bench" "$dir/bundle" --rounds "${ROUNDS:-5}" --bundles "${BUNDLES:-60}" --warmup 5 \
  --ptb "$here/bench_ptb.py" 2>/dev/null
