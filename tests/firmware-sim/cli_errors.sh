#!/usr/bin/env bash
# Every bad invocation of idvault-cardsim exits non-zero with exactly one clear line on
# stderr; --help exits 0.
#   usage: cli_errors.sh /path/to/idvault-cardsim
set -uo pipefail
CARDSIM=${1:?usage: cli_errors.sh /path/to/idvault-cardsim}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
failures=0

# expect_error EXPECTED_TEXT ARGS...: non-zero exit, one stderr line containing the text.
expect_error() {
  local want=$1; shift
  local err rc
  err=$("$CARDSIM" "$@" 2>&1 >/dev/null); rc=$?
  if [ "$rc" -eq 0 ] || [ "$(printf '%s\n' "$err" | wc -l)" -ne 1 ] || [[ "$err" != *"$want"* ]]; then
    echo "FAIL: idvault-cardsim $* -> rc=$rc stderr=[$err] (wanted one line with '$want')"
    failures=$((failures + 1))
  else
    echo "ok   idvault-cardsim $* -> $err"
  fi
}

"$CARDSIM" --help >/dev/null || { echo "FAIL: --help"; failures=$((failures + 1)); }
grep -q -- '--fault' <<<"$("$CARDSIM" run --help)" || { echo "FAIL: run --help lists --fault"; failures=$((failures + 1)); }

expect_error "unknown command" frobnicate
expect_error "unrecognised option '--bogus'" run --state "$T/s.json" --bogus
expect_error "'--state' is required" init
expect_error "cannot read state file" run --state "$T/absent.json" --connect-timeout-ms 100
expect_error "a PIN must be 6 to 8 digits" init --state "$T/x.json" --pin 12
expect_error "a PIN must be digits only" init --state "$T/x.json" --pin abcdef
expect_error "a PUK must be 6 to 8 characters" init --state "$T/x.json" --puk 123
expect_error "RSA key size must be" init --state "$T/x.json" --rsa-bits 4096
expect_error "the argument ('lots') for option '--rsa-bits' is invalid" init --state "$T/x.json" --rsa-bits lots
echo 12345 > "$T/short.pin"
expect_error "a PIN must be 6 to 8 digits" init --state "$T/x.json" --pin-file "$T/short.pin"
expect_error "cannot read pin file" init --state "$T/x.json" --pin-file "$T/absent.pin"
expect_error "not both" init --state "$T/x.json" --pin 123456 --pin-file "$T/short.pin"
[ ! -e "$T/x.json" ] || { echo "FAIL: a refused init left a state file"; failures=$((failures + 1)); }

echo 24681357 > "$T/good.pin"
"$CARDSIM" init --state "$T/s.json" --pin-file "$T/good.pin" --rsa-bits 1024 >/dev/null || { echo "FAIL: init"; exit 1; }
[ "$(stat -c %a "$T/s.json")" = 600 ] || { echo "FAIL: state file mode is not 600"; failures=$((failures + 1)); }
grep -q '"pin": "24681357"' "$T/s.json" || { echo "FAIL: --pin-file was not used"; failures=$((failures + 1)); }
expect_error "exists; use --force" init --state "$T/s.json"
expect_error "expected HOST:PORT" run --state "$T/s.json" --vpcd nowhere
expect_error "the port must be a number" run --state "$T/s.json" --vpcd 127.0.0.1:99999
expect_error "unknown fault 'explode'" run --state "$T/s.json" --fault explode=1
expect_error "remove-after=0: N must be at least 1" run --state "$T/s.json" --fault remove-after=0
expect_error "expected error, info or debug" run --state "$T/s.json" --log-level loud
expect_error "cannot connect to vpcd" run --state "$T/s.json" --vpcd 127.0.0.1:9 --connect-timeout-ms 200
chmod 644 "$T/s.json"
expect_error "chmod 600" info --state "$T/s.json"

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all CLI error cases behave"
