#!/bin/sh
# The agent started with a low descriptor limit (`prlimit --nofile=64:64`: soft = hard, so
# raising the soft limit at start gains nothing) and given more connections than that:
# accept4 fails with EMFILE, and the agent must wait, not spin, and serve again once the
# connections close (agent_out_of_descriptors.py).
. "$(dirname "$0")/cli_test_lib.sh"
if [ -n "${IDVAULT_SANITIZE:-}" ]; then
  echo "SKIP: a sanitizer's runtime opens descriptors and spends CPU of its own"
  exit 77
fi
prlimit --nofile=64:64 -- "$AGENT" --socket "$IDVAULT_SOCK" --store "$WORK/data/vault.db" --module "$MODULE" \
  --token pkcs11:token=holder --confirm-program "$WORK/consent-yes" >>"$WORK/agent.out" 2>>"$WORK/agent.err" &
AGENT_PID=$!
wait_for_agent
"$PY" "$HERE/agent_out_of_descriptors.py" "$IDVAULT_SOCK" "$AGENT_PID" || fail "the agent did not hold up (see above)"
kill -0 "$AGENT_PID" || fail "the agent died"
expect_ok "$IDVAULT" status
echo "PASS"
