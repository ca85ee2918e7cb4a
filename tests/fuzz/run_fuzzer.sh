#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time as a ctest test:
#   run_fuzzer.sh FUZZ_BINARY SEED_CORPUS_DIR WORK_DIR
# New corpus units and any crash input go to WORK_DIR (in the build tree), never to the
# checked-in seeds. IDVAULT_FUZZ_SECONDS (default 30) bounds the run. Fails on any crash,
# leak, sanitizer report, timeout or out-of-memory, naming the input that caused it.
set -euo pipefail
fuzzer=$1 seeds=$2 work=$3
seconds=${IDVAULT_FUZZ_SECONDS:-30}
mkdir -p "$work/corpus" "$work/artifacts"
# Keep what earlier runs found (it is a build-tree cache), but not their crash inputs.
rm -f "$work/artifacts"/*
status=0
"$fuzzer" "$work/corpus" "$seeds" \
  -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 \
  -artifact_prefix="$work/artifacts/" -print_final_stats=1 || status=$?
if [ "$status" -ne 0 ]; then
  echo "run_fuzzer: $(basename "$fuzzer") failed ($status); inputs kept in $work/artifacts:" >&2
  ls -l "$work/artifacts" >&2 || true
fi
exit "$status"
