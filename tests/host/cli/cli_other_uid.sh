#!/bin/sh
# Another uid is refused even when the socket's directory and the socket itself were
# opened up to everyone: the agent checks the peer (SO_PEERCRED), not only file modes.
# (The folder is opened for reading only: nobody's own client refuses a folder others
# may write to before it connects, cli_squatted_socket.sh, and would not reach the agent.)
# The CLI runs as `nobody` (setpriv) and fails with one line; the agent keeps serving.
. "$(dirname "$0")/cli_test_lib.sh"
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: needs root to run a client as nobody"
  exit 77
fi
start_agent
expect_ok "$IDVAULT" init --pin-file "$WORK/pin"
chmod 755 "$WORK"
chmod 755 "$WORK/run"
chmod 666 "$IDVAULT_SOCK"
# A copy nobody can execute wherever the build tree lives (a checkout under a 0700
# directory is out of nobody's reach, which would fail the test for the wrong reason).
cp "$IDVAULT" "$WORK/idvault-for-nobody"
chmod 755 "$WORK/idvault-for-nobody"
sanitizer_options_for_nobody "$WORK"
as_nobody() {
  setpriv --reuid=nobody --regid=nogroup --clear-groups env IDVAULT_SOCK="$IDVAULT_SOCK" "$@"
}
# nobody can reach the socket file, so only the peer check stands in the way.
as_nobody test -w "$IDVAULT_SOCK" || fail "nobody cannot even open the socket: the test proves nothing"
for command in status list lock; do
  expect_fail 1 "the agent closed the connection without answering" as_nobody "$WORK/idvault-for-nobody" "$command"
done
expect_ok "$IDVAULT" status
grep -q "vault: *unlocked" "$WORK/stdout" || fail "nobody's lock got through: $(cat "$WORK/stdout")"
kill -0 "$AGENT_PID" || fail "the agent died"
echo "PASS"
