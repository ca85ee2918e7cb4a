#!/bin/sh
# The real idvault-agent binary under garbage, a 64 MB line, a stalled client and 100
# clients at once (agent_abuse.py): it keeps answering the others and does not crash; the
# CLI still works afterwards.
. "$(dirname "$0")/cli_test_lib.sh"
start_agent
expect_ok "$IDVAULT" init --pin-file "$WORK/pin"
expect_ok "$IDVAULT" put email --value ada@example.org
"$PY" "$HERE/agent_abuse.py" "$IDVAULT_SOCK" || fail "the agent did not hold up (see above)"
kill -0 "$AGENT_PID" || fail "the agent died"
expect_ok "$IDVAULT" get email
[ "$(cat "$WORK/stdout")" = ada@example.org ] || fail "get after the abuse: $(cat "$WORK/stdout")"
echo "PASS"
