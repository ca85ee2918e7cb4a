#!/bin/sh
# The relying party's load tool, every part in one go (or the parts named):
#   decrypt:   the reference bundle (bench_gen_bundle.py) with its key imported into
#              SoftHSM2, 1 and 2 jobs, against the floor and python-telegram-bot
#   files-dir: the Telegram-migration path as whole processes: idvault-rp decrypt
#              --files-dir on DECRYPTS copies of the bare PassportData, 1 and 2 jobs, against
#              python-telegram-bot decrypting as many from the same files (bench_ptb_files.py)
#   serve:     50 concurrent clients posting bundles to idvault-rp serve's endpoints
# usage: tests/host/rp/bench_rp.sh [BUILD_DIR [PART...]]
#   (ROUNDS, BUNDLES, DECRYPTS, CLIENTS, POSTS knobs)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
build=${1:-build}
[ $# -gt 0 ] && shift
parts=${*:-decrypt files-dir serve}
bench="$build/tests/host/rp/bench_rp"
if [ ! -x "$bench" ] || [ ! -x "$build/host/rp/idvault-rp" ]; then
  echo "bench_rp.sh: $bench not built (cmake --build $build --target bench_rp idvault-rp)" >&2
  exit 1
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/idvault-bench-rp.XXXXXX")
trap 'rm -rf "$dir"' EXIT
/usr/bin/python3 "$root/tests/interop/bench_gen_bundle.py" "$dir/bundle"
for part in $parts; do
  case $part in
    decrypt)
      "$bench" decrypt "$dir/bundle" --rounds "${ROUNDS:-5}" --bundles "${BUNDLES:-40}" --warmup 3 \
        --ptb "$root/tests/interop/bench_ptb.py" ;;
    files-dir)
      echo "info	load	$(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) before the run"
      "$bench" files-dir "$dir/bundle" --rounds "${ROUNDS:-5}" --decrypts "${DECRYPTS:-100}" \
        --rp "$build/host/rp/idvault-rp" --ptb "$here/bench_ptb_files.py"
      echo "info	load	$(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) after the run" ;;
    serve)
      "$bench" serve --clients "${CLIENTS:-50}" --posts "${POSTS:-10}" ;;
    *)
      echo "bench_rp.sh: unknown part '$part' (decrypt, files-dir, serve)" >&2
      exit 2 ;;
  esac
done
