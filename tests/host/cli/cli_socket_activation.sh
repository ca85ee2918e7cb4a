#!/bin/sh
# The agent started as systemd would start it from idvault-agent.socket: it serves the
# socket it was handed (LISTEN_FDS=1, LISTEN_PID=its pid, fd 3), and ignores one meant for
# another process (LISTEN_PID of someone else), as sd_listen_fds does.
. "$(dirname "$0")/cli_test_lib.sh"

ACTIVATED=$WORK/systemd/idvault/agent.sock
AGENT_PID=$("$PY" "$HERE/socket_activate.py" "$ACTIVATED" "$WORK/activated.log" -- "$AGENT" --store "$WORK/data/vault.db" \
  --module "$MODULE" --token pkcs11:token=holder --confirm-program "$WORK/consent-yes")
export IDVAULT_SOCK=$ACTIVATED
wait_for_agent
expect_ok "$IDVAULT" init --pin-file "$WORK/pin"
expect_ok "$IDVAULT" put email --value ada@example.org
expect_ok "$IDVAULT" status
grep -q "vault: *unlocked" "$WORK/stdout" || fail "status over the passed socket: $(cat "$WORK/stdout")"
# The agent did not make a socket of its own: it printed no IDVAULT_SOCK line.
if grep -q IDVAULT_SOCK "$WORK/activated.log"; then fail "the agent made its own socket"; fi
kill -0 "$AGENT_PID" || fail "the agent died"
stop_agent

# A LISTEN_PID that is not the agent's: the fd is not taken, --socket is used instead.
OWN=$WORK/own/agent.sock
AGENT_PID=$("$PY" "$HERE/socket_activate.py" "$WORK/other/agent.sock" "$WORK/own.log" --wrong-pid -- "$AGENT" --socket "$OWN" \
  --store "$WORK/data/vault.db" --module "$MODULE" --token pkcs11:token=holder)
export IDVAULT_SOCK=$OWN
wait_for_agent
expect_ok "$IDVAULT" status
grep -q "vault: *locked" "$WORK/stdout" || fail "status on the agent's own socket: $(cat "$WORK/stdout")"
grep -q "IDVAULT_SOCK=$OWN" "$WORK/own.log" || fail "the agent did not listen on --socket: $(cat "$WORK/own.log")"
stop_agent

# LISTEN_FDS=1 with nothing on fd 3: refused with a clear error, not an agent serving nothing.
pid=$("$PY" "$HERE/socket_activate.py" "$WORK/none/agent.sock" "$WORK/none.log" --no-socket -- "$AGENT" \
  --store "$WORK/data/vault.db" --module "$MODULE")
i=0
while kill -0 "$pid" 2>/dev/null; do
  i=$((i + 1))
  [ "$i" -lt 100 ] || { kill "$pid"; fail "the agent kept running without a socket"; }
  sleep 0.1
done
grep -q "fd 3 .*not a listening" "$WORK/none.log" || fail "no clear error without a passed socket: $(cat "$WORK/none.log")"

# wait_for_exit PID: the agent must stop by itself within 10 s; prints its exit status
# when it was our child.
wait_for_exit() {
  i=0
  while kill -0 "$1" 2>/dev/null; do
    i=$((i + 1))
    [ "$i" -lt 100 ] || { kill "$1"; fail "the agent kept running with a module it cannot load"; }
    sleep 0.1
  done
}

# A module that cannot be loaded is a configuration error, said at start: one line on
# stderr naming the path and why, a non-zero exit, no IDVAULT_SOCK line, no socket left.
set +e
"$AGENT" --socket "$WORK/bad/agent.sock" --store "$WORK/data/vault.db" --module /nonexistent.so \
  >"$WORK/bad.out" 2>"$WORK/bad.err" &
pid=$!
wait_for_exit "$pid"
wait "$pid"
status=$?
set -e
[ "$status" -eq 2 ] || fail "a module that does not exist: exit $status, expected 2 ($(cat "$WORK/bad.err"))"
[ "$(wc -l <"$WORK/bad.err")" -eq 1 ] || fail "not one line on stderr: $(cat "$WORK/bad.err")"
grep -q "cannot load PKCS#11 module '/nonexistent.so': No such file" "$WORK/bad.err" ||
  fail "the error does not name the module and why: $(cat "$WORK/bad.err")"
if grep -q IDVAULT_SOCK "$WORK/bad.out"; then fail "the agent announced a socket with a bad module"; fi
[ ! -e "$WORK/bad/agent.sock" ] || fail "the agent left a socket behind"
# A file that is there but not a library: dlopen's reason is given.
printf 'not a library\n' >"$WORK/fake.so"
set +e
"$AGENT" --socket "$WORK/bad/agent.sock" --store "$WORK/data/vault.db" --module "$WORK/fake.so" \
  >"$WORK/bad.out" 2>"$WORK/bad.err"
status=$?
set -e
[ "$status" -eq 2 ] || fail "a module that is not a library: exit $status, expected 2"
grep -q "cannot load PKCS#11 module '$WORK/fake.so': $WORK/fake.so: [a-z]" "$WORK/bad.err" ||
  fail "no dlopen reason: $(cat "$WORK/bad.err")"
# The same from systemd (the module named in agent.conf): exits, the error in its log.
printf 'module = /nonexistent.so\n' >"$WORK/agent.conf"
pid=$("$PY" "$HERE/socket_activate.py" "$WORK/bad-activated/agent.sock" "$WORK/bad-activated.log" -- "$AGENT" \
  --store "$WORK/data/vault.db" --config "$WORK/agent.conf")
wait_for_exit "$pid"
grep -q "cannot load PKCS#11 module '/nonexistent.so'" "$WORK/bad-activated.log" ||
  fail "socket activation with a bad module: $(cat "$WORK/bad-activated.log")"

# A token that is merely absent is not a mistake: the agent starts and waits for it.
AGENT_PID=$("$PY" "$HERE/socket_activate.py" "$ACTIVATED" "$WORK/absent.log" -- "$AGENT" --store "$WORK/data/vault.db" \
  --module "$MODULE" --token pkcs11:token=not-yet-inserted)
export IDVAULT_SOCK=$ACTIVATED
wait_for_agent
expect_fail 1 "token not present" "$IDVAULT" unlock --pin-file "$WORK/pin"
stop_agent
echo "PASS"
