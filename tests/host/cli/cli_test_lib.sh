# Shared set-up for the CLI's process-level tests, sourced by each cli_*.sh, in the manner
# of OpenSSH's regress/test-exec.sh: a throwaway SoftHSM2 token and temp dirs per run, the
# real idvault-agent and idvault binaries, one-line checks that say what broke.
#
# The sourcing script is called as: SCRIPT IDVAULT_BINARY AGENT_BINARY
set -eu

IDVAULT=$1
AGENT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3  # Debian's, which has python-telegram-bot; not the python3 on PATH
MODULE=/usr/lib/softhsm/libsofthsm2.so
PIN=1234
AGENT_PID=

WORK=$(mktemp -d "${TMPDIR:-/tmp}/idvault-cli.XXXXXX")
cleanup() {
  status=$?
  stop_agent
  if [ "$status" -ne 0 ] && [ -f "$WORK/agent.err" ]; then
    echo "--- agent stderr:" >&2
    tail -n 20 "$WORK/agent.err" >&2
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 143' INT TERM

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# In a sanitizer tree the *_OPTIONS name suppression files inside the checkout, which
# nobody may not be allowed to read (a clone under a 0700 mktemp -d), and a sanitizer that
# cannot read them refuses to start. Copies them into DIR (which nobody can read) and
# points the options there, for the processes a test runs as nobody.
sanitizer_options_for_nobody() {
  for var in ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS TSAN_OPTIONS; do
    eval "value=\${$var:-}"
    [ -n "$value" ] || continue
    out=
    old_ifs=$IFS
    IFS=:
    for part in $value; do
      case $part in
        suppressions=*)
          file=${part#suppressions=}
          cp "$file" "$1/" && chmod 644 "$1/${file##*/}"
          part="suppressions=$1/${file##*/}"
          ;;
      esac
      out="${out:+$out:}$part"
    done
    IFS=$old_ifs
    export "$var=$out"
  done
}

export SOFTHSM2_CONF="$WORK/softhsm2.conf"
mkdir -p "$WORK/tokens" "$WORK/run" "$WORK/data" "$WORK/in" "$WORK/out"
chmod 700 "$WORK/run"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$WORK/tokens" >"$SOFTHSM2_CONF"
softhsm2-util --init-token --free --label holder --pin "$PIN" --so-pin 5678 >/dev/null
printf '%s\n' "$PIN" >"$WORK/pin"
printf '9999\n' >"$WORK/wrong-pin"
chmod 600 "$WORK/pin" "$WORK/wrong-pin"

# The agent's consent programs: each logs what it is asked (one line of JSON on its
# standard input, the summary among it; its argument is the same for every request).
printf '#!/bin/sh\ncat >> "%s/consent.log"\nexit 0\n' "$WORK" >"$WORK/consent-yes"
printf '#!/bin/sh\ncat >> "%s/consent.log"\nexit 1\n' "$WORK" >"$WORK/consent-no"
chmod 700 "$WORK/consent-yes" "$WORK/consent-no"

export IDVAULT_SOCK="$WORK/run/agent.sock"
unset IDVAULT_PINENTRY

# start_agent [extra idvault-agent options...]: runs it in the background on $IDVAULT_SOCK
# and waits until it answers. Its consent prompt is $CONSENT (default: always yes).
start_agent() {
  "$AGENT" --socket "$IDVAULT_SOCK" --store "$WORK/data/vault.db" --module "$MODULE" \
    --token pkcs11:token=holder --confirm-program "${CONSENT:-$WORK/consent-yes}" "$@" \
    >>"$WORK/agent.out" 2>>"$WORK/agent.err" &
  AGENT_PID=$!
  wait_for_agent
}

wait_for_agent() {
  i=0
  while ! "$IDVAULT" status >/dev/null 2>&1; do
    i=$((i + 1))
    [ "$i" -lt 200 ] || fail "the agent did not answer on $IDVAULT_SOCK within 20 s"
    kill -0 "$AGENT_PID" 2>/dev/null || fail "the agent exited: $(tail -n 1 "$WORK/agent.err")"
    sleep 0.1
  done
}

stop_agent() {
  if [ -n "$AGENT_PID" ] && kill -0 "$AGENT_PID" 2>/dev/null; then
    kill "$AGENT_PID" 2>/dev/null || true
    wait "$AGENT_PID" 2>/dev/null || true
    # Not always our child (socket activation forks it elsewhere): wait for it to be gone.
    i=0
    while kill -0 "$AGENT_PID" 2>/dev/null && [ "$i" -lt 100 ]; do
      i=$((i + 1))
      sleep 0.1
    done
  fi
  AGENT_PID=
}

# expect_ok COMMAND...: must exit 0; its stdout is left in $WORK/stdout.
expect_ok() {
  if ! "$@" >"$WORK/stdout" 2>"$WORK/stderr"; then
    fail "'$*' failed: $(cat "$WORK/stderr")"
  fi
}

# expect_fail STATUS PATTERN COMMAND...: must exit with STATUS and print exactly one
# line on stderr, matching the grep -E PATTERN.
expect_fail() {
  want=$1
  pattern=$2
  shift 2
  set +e
  "$@" >"$WORK/stdout" 2>"$WORK/stderr"
  got=$?
  set -e
  [ "$got" -eq "$want" ] || fail "'$*' exited $got, expected $want (stderr: $(cat "$WORK/stderr"))"
  lines=$(wc -l <"$WORK/stderr")
  [ "$lines" -eq 1 ] || fail "'$*' printed $lines lines on stderr, expected one: $(cat "$WORK/stderr")"
  grep -Eq -- "$pattern" "$WORK/stderr" || fail "'$*' said '$(cat "$WORK/stderr")', expected /$pattern/"
}

# A scan whose bytes are not all the same: random, so a mix-up of two files shows.
make_scan() {
  head -c "$2" /dev/urandom >"$1"
}

# An authorization link the way a service's JS SDK builds one (encodeURIComponent).
# make_link SERVICE_ID SCOPE PUBLIC_KEY_PEM_FILE NONCE [CALLBACK_URL]
make_link() {
  "$PY" - "$@" <<'PYEOF'
import sys
from urllib.parse import quote
service, scope, key_file, nonce = sys.argv[1:5]
enc = lambda s: quote(s, safe="-_.!~*'()")
link = ("idvault://authorize?bot_id=" + enc(service) + "&scope=" + enc(scope) +
        "&public_key=" + enc(open(key_file).read()) + "&nonce=" + enc(nonce))
if len(sys.argv) > 5:
    link += "&callback_url=" + enc(sys.argv[5])
print(link)
PYEOF
}

# make_service_key DIR: an RSA-2048 service key as a relying party would have (key.pem,
# pub.pem), made with openssl on the host.
make_service_key() {
  openssl genrsa -out "$1/key.pem" 2048 2>/dev/null
  openssl rsa -in "$1/key.pem" -pubout -out "$1/pub.pem" 2>/dev/null
}
