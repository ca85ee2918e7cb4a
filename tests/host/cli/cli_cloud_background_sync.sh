#!/bin/sh
# Background sync (issue 17): two devices and an idvault-cloud server on loopback, through
# the real binaries on two SoftHSM2 tokens. After the join, a put on one device reaches
# the other with no 'idvault sync', in both directions, and a client subscribed to events
# hears of it; 'idvault lock' returns at once while a long poll is open; with the server
# stopped a put still succeeds, and once the server is back (same port, same data) the
# change reaches the other device by itself.
# Called as: SCRIPT IDVAULT AGENT IDVAULT_CLOUD
. "$(dirname "$0")/cli_test_lib.sh"
. "$(dirname "$0")/cloud_test_lib.sh"

# wait_for SECONDS DESCRIPTION COMMAND...: until COMMAND succeeds.
wait_for() {
  limit=$(($1 * 10))
  what=$2
  shift 2
  i=0
  until "$@" >/dev/null 2>&1; do
    i=$((i + 1))
    [ "$i" -lt "$limit" ] || fail "$what did not happen within $limit tenths of a second"
    sleep 0.1
  done
}

start_cloud
ADDRESS=${URL#http://}

# The desk: a vault put in the account.
start_agent
expect_ok "$IDVAULT" init --pin-file "$WORK/pin"
expect_ok "$IDVAULT" put phone_number --value +441234567890
expect_ok "$IDVAULT" cloud init "$URL" --recovery-code-file "$WORK/code" --device-name desk --json
ACCOUNT_URL=$(account_url_of "$WORK/stdout") ||
  fail "cloud init printed: $(cat "$WORK/stdout")"

# The laptop joins; the desk approves.
start_device laptop
LAPTOP_SOCK="$WORK/run/laptop.sock"
laptop() { device laptop "$@"; }
join_device laptop "$ACCOUNT_URL"

# A client of the laptop's agent that listens for events.
"$PY" - "$LAPTOP_SOCK" >"$WORK/events" 2>"$WORK/events.err" <<'PYEOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"events.subscribe"}\n')
for line in s.makefile("r"):
    print(line.strip(), flush=True)
PYEOF
OTHER_PIDS=$!
wait_for 5 "the event subscription" grep -q subscribed "$WORK/events"

# A put on the desk reaches the laptop with no 'idvault sync', and the laptop says so.
has() { "$@" >"$WORK/has.out" 2>&1 && grep -q "$HAS" "$WORK/has.out"; }
expect_ok "$IDVAULT" put email --value ada@example.org
HAS=ada@example.org; wait_for 10 "the desk's e-mail reaching the laptop" has laptop get email
wait_for 5 "a cloud.synced event on the laptop" grep -q '"cloud.synced"' "$WORK/events"

# And the other way.
IDVAULT_SOCK="$LAPTOP_SOCK" expect_ok "$IDVAULT" put phone_number --value +449876543210
HAS=449876543210; wait_for 10 "the laptop's phone number reaching the desk" has "$IDVAULT" get phone_number

# A lock does not wait for the long poll that is open: the poll waits 25 s on the server,
# so a lock that waited for it would take most of that. The bound is far from both, so a
# loaded machine cannot fail it and a lock held behind the poll cannot pass it.
sleep 0.5
START=$("$PY" -c 'import time; print(time.monotonic())')
IDVAULT_SOCK="$LAPTOP_SOCK" expect_ok "$IDVAULT" lock
"$PY" -c 'import sys, time; t = time.monotonic() - float(sys.argv[1]); sys.exit(0 if t < 12.0 else 1)' "$START" ||
  fail "idvault lock waited for the long poll (12 s or more)"
IDVAULT_SOCK="$LAPTOP_SOCK" expect_ok "$IDVAULT" unlock --pin-file "$WORK/pin"

# The server goes away: a put still succeeds (never an error to the client), and once
# the server is back on the same port and data, the change reaches the laptop by itself.
kill "$CLOUD_PID"
wait "$CLOUD_PID" 2>/dev/null || true
CLOUD_PID=
expect_ok "$IDVAULT" put email --value lovelace@example.org
sleep 0.5
start_cloud "$ADDRESS"
HAS=lovelace@example.org; wait_for 15 "the change made offline reaching the laptop" has laptop get email
grep -q 'out of reach' "$WORK/agent.err" || fail "the desk did not say the server was out of reach"
[ "$(grep -c 'out of reach' "$WORK/agent.err")" -eq 1 ] || fail "the desk said the outage more than once: $(grep 'out of reach' "$WORK/agent.err")"
grep -q 'answers again' "$WORK/agent.err" || fail "the desk did not say the server answers again"
echo "cli cloud background sync: ok"
