# Shared by the cli_cloud_*.sh tests, sourced after cli_test_lib.sh: an idvault-cloud
# server on loopback, more devices each on a SoftHSM2 token, agent, socket and store of
# its own, and what every test stops at its end. The desk is cli_test_lib's agent.
# The sourcing script is called as: SCRIPT IDVAULT AGENT IDVAULT_CLOUD
CLOUD_BIN=$3
CLOUD_PID=
DEVICE_PIDS=
OTHER_PIDS=  # a test's own background processes, stopped with the rest
CLOUD_STORE_ARGS=${CLOUD_STORE_ARGS:-"--data $WORK/cloud/data"}
mkdir -p "$WORK/cloud"

stop_pid() {
  [ -z "$1" ] || { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
}
stop_cloud_test() {
  for pid in $DEVICE_PIDS $CLOUD_PID $OTHER_PIDS; do stop_pid "$pid"; done
}
trap 'status=$?; stop_cloud_test; (exit "$status"); cleanup' EXIT

# start_cloud [ADDRESS]: the server on ADDRESS (default 127.0.0.1:0, a port of its
# choosing), storing as $CLOUD_STORE_ARGS says; sets URL.
start_cloud() {
  : >"$WORK/cloud.out"
  # shellcheck disable=SC2086 # an option and its value
  "$CLOUD_BIN" $CLOUD_STORE_ARGS --listen "${1:-127.0.0.1:0}" >"$WORK/cloud.out" 2>>"$WORK/cloud.err" &
  CLOUD_PID=$!
  i=0
  while ! grep -q 'listening on' "$WORK/cloud.out"; do
    i=$((i + 1))
    [ "$i" -lt 100 ] || fail "idvault-cloud did not start: $(cat "$WORK/cloud.err")"
    kill -0 "$CLOUD_PID" 2>/dev/null || fail "idvault-cloud exited: $(cat "$WORK/cloud.err")"
    sleep 0.1
  done
  URL=$(sed -n 's/^idvault-cloud: listening on //p' "$WORK/cloud.out")
}

# start_device NAME [AGENT OPTIONS...]: a new token NAME and an agent for it on
# $WORK/run/NAME.sock with its own store, waited for; `device NAME ARGS...` runs idvault
# against it.
start_device() {
  name=$1
  shift
  softhsm2-util --init-token --free --label "$name" --pin "$PIN" --so-pin 5678 >/dev/null
  "$AGENT" --socket "$WORK/run/$name.sock" --store "$WORK/$name/vault.db" --module "$MODULE" \
    --token "pkcs11:token=$name" --confirm-program "$WORK/consent-yes" "$@" \
    >>"$WORK/$name.out" 2>>"$WORK/$name.err" &
  DEVICE_PIDS="$DEVICE_PIDS $!"
  i=0
  while ! device "$name" status >/dev/null 2>&1; do
    i=$((i + 1))
    [ "$i" -lt 200 ] || fail "the $name's agent did not answer: $(tail -n 3 "$WORK/$name.err")"
    sleep 0.1
  done
}

device() {
  name=$1
  shift
  IDVAULT_SOCK="$WORK/run/$name.sock" "$IDVAULT" "$@"
}

# account_url_of FILE: the account_url of a `cloud init --json` answer.
account_url_of() {
  "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["account_url"])' "$1"
}

# request_of DEVICE_ID FILE: the id of DEVICE_ID's join request in a `devices --json` answer.
request_of() {
  "$PY" -c 'import json,sys; print([q["id"] for q in json.load(open(sys.argv[2]))["requests"] if q["device_id"] == sys.argv[1]][0])' \
    "$1" "$2"
}

# join_device NAME ACCOUNT_URL: NAME's agent (start_device) asks to join the account
# under the device name NAME, the desk (cli_test_lib's agent) approves the request and
# the join finishes; what the join printed stays in $WORK/join.out and join.err.
join_device() {
  device "$1" cloud join "$2" --pin-file "$WORK/pin" --device-name "$1" >"$WORK/join.out" 2>"$WORK/join.err" &
  join_pid=$!
  i=0
  until grep -q 'this device shows' "$WORK/join.out" 2>/dev/null; do
    i=$((i + 1))
    [ "$i" -lt 200 ] || fail "cloud join on $1 did not ask: $(cat "$WORK/join.err")"
    kill -0 "$join_pid" 2>/dev/null || grep -q 'this device shows' "$WORK/join.out" ||
      fail "cloud join on $1 ended: $(cat "$WORK/join.err")"
    sleep 0.1
  done
  expect_ok "$IDVAULT" devices --json
  join_request=$(request_of "$1" "$WORK/stdout") || fail "devices did not list $1: $(cat "$WORK/stdout")"
  expect_ok "$IDVAULT" devices approve "$join_request"
  wait "$join_pid" || fail "cloud join on $1 failed: $(cat "$WORK/join.err")"
}

# use_postgresql: the server keeps everything in a private PostgreSQL
# (tests/support/postgres_server.py), started here and stopped with the rest; exits 77
# (skip) without PostgreSQL's binaries. Call before start_cloud.
use_postgresql() {
  "$PY" - "$HERE/../../support" "$WORK/pg.uri" <<'PYEOF' &
import os, signal, sys, time
sys.path.insert(0, sys.argv[1])
from postgres_server import PostgresServer, available
if not available():
    open(sys.argv[2] + ".missing", "w").close()
    sys.exit(0)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
with PostgresServer() as pg:
    open(sys.argv[2] + ".tmp", "w").write(pg.create_database("cloud"))
    os.rename(sys.argv[2] + ".tmp", sys.argv[2])
    while True:
        time.sleep(1)
PYEOF
  pg_pid=$!
  OTHER_PIDS="$OTHER_PIDS $pg_pid"
  i=0
  while [ ! -f "$WORK/pg.uri" ]; do
    [ ! -f "$WORK/pg.uri.missing" ] || { echo "SKIP: no PostgreSQL binaries"; exit 77; }
    i=$((i + 1))
    [ "$i" -lt 300 ] || fail "PostgreSQL did not start"
    kill -0 "$pg_pid" 2>/dev/null || fail "PostgreSQL did not start"
    sleep 0.1
  done
  CLOUD_STORE_ARGS="--db $(cat "$WORK/pg.uri")"
}
