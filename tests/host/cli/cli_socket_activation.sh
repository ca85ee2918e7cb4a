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
echo "PASS"
