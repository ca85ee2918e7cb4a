#!/bin/sh
# A PIN is never sent to a socket another user could have planted (issue 13.2): with
# XDG_RUNTIME_DIR unset the socket falls back to /tmp/idvault-<uid>, which any user can
# make first. Here `nobody` squats it with a fake agent that records what it gets, and
# `idvault unlock --pin-file` must refuse with one line and send nothing. The same for a
# folder others may write to, and for an agent run by another uid in a folder that is
# ours; and the agent itself refuses to listen in such folders.
# Runs in a private mount namespace with its own /tmp, so the real /tmp/idvault-0 of the
# machine is neither used nor disturbed.
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: needs root to run a fake agent as nobody"
  exit 77
fi
if [ -z "${IDVAULT_SQUAT_NAMESPACE:-}" ]; then
  if ! unshare --mount true 2>/dev/null; then
    echo "SKIP: unshare --mount is not permitted here"
    exit 77
  fi
  exec env IDVAULT_SQUAT_NAMESPACE=1 unshare --mount --propagation private "$0" "$@"
fi
mount -t tmpfs -o mode=1777 tmpfs /tmp || exit 1
. "$(dirname "$0")/cli_test_lib.sh"
chmod 755 "$WORK"
cp "$HERE/fake_agent.py" "$WORK/fake_agent.py"
chmod 755 "$WORK/fake_agent.py"
NOBODY=$(id -u nobody)
FAKE_PID=
stop_fake() {
  if [ -n "$FAKE_PID" ]; then kill "$FAKE_PID" 2>/dev/null || true; wait "$FAKE_PID" 2>/dev/null || true; fi
  FAKE_PID=
}
trap 'status=$?; stop_fake; (exit $status); cleanup' EXIT
# run_fake SOCKET LOG: nobody's fake agent, listening once this returns.
run_fake() {
  setpriv --reuid=nobody --regid=nogroup --clear-groups "$PY" "$WORK/fake_agent.py" "$1" "$2" >"$WORK/fake.out" 2>&1 &
  FAKE_PID=$!
  i=0
  until grep -q ready "$WORK/fake.out" 2>/dev/null; do
    i=$((i + 1))
    [ "$i" -lt 100 ] || fail "the fake agent did not start: $(cat "$WORK/fake.out")"
    sleep 0.1
  done
}
nothing_sent() {
  if [ -s "$1" ]; then fail "the client sent the fake agent: $(cat "$1")"; fi
}

# 1. The /tmp fallback, made first by nobody (as the review did it).
squat=/tmp/idvault-$(id -u)
mkdir -m 755 "$squat"
chown nobody "$squat"
run_fake "$squat/agent.sock" "$squat/received"
expect_fail 1 "refusing the agent socket in $squat: the folder belongs to uid $NOBODY, not to you" \
  env -u XDG_RUNTIME_DIR -u IDVAULT_SOCK "$IDVAULT" unlock --pin-file "$WORK/pin"
nothing_sent "$squat/received"
# ... and with the folder opened to everyone as well.
chmod 777 "$squat"
expect_fail 1 "refusing the agent socket in $squat: the folder belongs to uid $NOBODY" \
  env -u XDG_RUNTIME_DIR -u IDVAULT_SOCK "$IDVAULT" unlock --pin-file "$WORK/pin"
nothing_sent "$squat/received"
stop_fake

# 2. A folder of ours that anyone may write to (mode 0777): whatever socket is in it may
# be anyone's.
mkdir -m 777 "$WORK/open"
chmod 777 "$WORK/open"
run_fake "$WORK/open/agent.sock" "$WORK/open/received"
expect_fail 1 "refusing the agent socket in $WORK/open: the folder is writable by group or others \(mode 0777\)" \
  env IDVAULT_SOCK="$WORK/open/agent.sock" "$IDVAULT" unlock --pin-file "$WORK/pin"
nothing_sent "$WORK/open/received"
stop_fake

# 3. A private folder of ours, but the agent behind the socket is nobody's: only the
# peer's uid (SO_PEERCRED) tells. The listening socket is moved in after nobody bound it.
mkdir -m 755 "$WORK/nobody"
chown nobody "$WORK/nobody"
run_fake "$WORK/nobody/agent.sock" "$WORK/nobody/received"
mkdir -m 700 "$WORK/ours"
mv "$WORK/nobody/agent.sock" "$WORK/ours/agent.sock"
expect_fail 1 "refusing the agent at $WORK/ours/agent.sock: it runs as uid $NOBODY, not as you" \
  env IDVAULT_SOCK="$WORK/ours/agent.sock" "$IDVAULT" unlock --pin-file "$WORK/pin"
nothing_sent "$WORK/nobody/received"
stop_fake

# 4. The agent will not listen in such folders either.
mkdir -m 777 "$WORK/open-for-agent"
chmod 777 "$WORK/open-for-agent"
set +e
"$AGENT" --socket "$WORK/open-for-agent/agent.sock" --store "$WORK/data/vault.db" --module "$MODULE" \
  --token pkcs11:token=holder --confirm-program "$WORK/consent-yes" >"$WORK/agent.out" 2>"$WORK/agent-open.err"
status=$?
set -e
[ "$status" -ne 0 ] || fail "the agent listened in a folder anyone may write to"
grep -q "is writable by group or others (mode 0777); refusing to use it" "$WORK/agent-open.err" ||
  fail "the agent said: $(cat "$WORK/agent-open.err")"
[ ! -e "$WORK/open-for-agent/agent.sock" ] || fail "the agent made its socket in the open folder"

# The genuine agent in a private folder still works.
start_agent
expect_ok "$IDVAULT" init --pin-file "$WORK/pin"
expect_ok "$IDVAULT" status
echo "PASS"
