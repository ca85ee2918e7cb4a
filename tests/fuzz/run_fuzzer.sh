#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time as a ctest test:
#   run_fuzzer.sh FUZZ_BINARY SEED_CORPUS_DIR WORK_DIR [--json]
# New corpus units and any crash input go to WORK_DIR (in the build tree), never to the
# checked-in seeds. IDVAULT_FUZZ_SECONDS (default 30) bounds the run. Fails on any crash,
# leak, sanitizer report, timeout or out-of-memory, naming the input that caused it.
# --json (targets that read JSON): first runs every deep variant of the seeds
# (deep_variants.py: values swapped for arrays nested up to 200,000 deep), then fuzzes
# with inputs up to 1 MiB instead of libFuzzer's 4 KiB, so nesting can grow deep.
set -euo pipefail
fuzzer=$1 seeds=$2 work=$3 kind=${4:-}
seconds=${IDVAULT_FUZZ_SECONDS:-30}
mkdir -p "$work/corpus" "$work/artifacts"
# Keep what earlier runs found (it is a build-tree cache), but not their crash inputs.
rm -f "$work/artifacts"/*
status=0
length=()
if [ "$kind" = --json ]; then
  rm -rf "$work/deep"
  /usr/bin/python3 "$(dirname "$0")/deep_variants.py" "$seeds" "$work/deep"
  # Given files instead of folders, libFuzzer runs each once.
  find "$work/deep" -type f -print0 | xargs -0 -r "$fuzzer" -timeout=25 -rss_limit_mb=2048 \
    -artifact_prefix="$work/artifacts/" || status=$?
  length=(-max_len=1048576)
fi
if [ "$status" -eq 0 ]; then
  "$fuzzer" "$work/corpus" "$seeds" "${length[@]}" \
    -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 \
    -artifact_prefix="$work/artifacts/" -print_final_stats=1 || status=$?
fi
if [ "$status" -ne 0 ]; then
  echo "run_fuzzer: $(basename "$fuzzer") failed ($status); inputs kept in $work/artifacts:" >&2
  ls -l "$work/artifacts" >&2 || true
fi
exit "$status"
