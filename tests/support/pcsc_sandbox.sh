# Sourced by the smart-card tests: a private pcscd with the virtual reader (vpcd) in
# private mount and network namespaces, so its /run/pcscd socket and vpcd's ports (which
# vpcd binds on 0.0.0.0) touch nothing on the host and parallel runs do not collide.
#
#   SELF=$(readlink -f "$0"); . tests/support/pcsc_sandbox.sh
#   pcsc_sandbox_enter "$@"      # re-executes the script inside the namespaces (or exits 77)
#   pcsc_sandbox_start           # $T (temp dir), cleanup trap, private /run, pcscd running
#   ... PIDS+=($!) for every background process; fail/ok/wait_until as below.

# Re-executes $SELF with the same arguments in new namespaces; returns inside them.
pcsc_sandbox_enter() {
  if [ "${PCSC_SANDBOX_INSIDE:-}" = 1 ]; then return 0; fi
  if ! unshare --mount --net --fork --kill-child true 2>/dev/null; then
    # Without the namespaces no private pcscd runs, so OpenSC is never reached.
    . "$(dirname "${BASH_SOURCE[0]}")/missing_peer.sh"
    skip_missing_peer "unshare --mount --net is not permitted here (needs root or user namespaces)"
  fi
  exec env PCSC_SANDBOX_INSIDE=1 unshare --mount --net --fork --kill-child "$SELF" "$@"
}

START=$EPOCHREALTIME
PIDS=()
# Logs shown when the test fails: "name:path" pairs, set by the test.
SANDBOX_LOGS=()

pcsc_sandbox_cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "$rc" -ne 0 ]; then
    for entry in "${SANDBOX_LOGS[@]}"; do
      echo "---- ${entry%%:*} (tail) ----"; tail -n 30 "${entry#*:}" 2>/dev/null || true
    done
  fi
  rm -rf "$T"
  exit "$rc"
}

fail() { echo "FAIL: $*"; exit 1; }
ok() { printf 'ok   %-70s %5.1fs\n' "$1" "$(awk -v a="$START" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')"; }

# Polls a command until it succeeds, at most $1 tenths of a second.
wait_until() {
  local tenths=$1; shift
  for _ in $(seq "$tenths"); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  return 1
}

# Private /run and HOME, a reader.conf.d with one vpcd reader "CardSim", pcscd started.
pcsc_sandbox_start() {
  T=$(mktemp -d)
  trap pcsc_sandbox_cleanup EXIT
  ip link set lo up
  mount -t tmpfs tmpfs /run
  mkdir -p /run/pcscd "$T/conf"
  printf 'FRIENDLYNAME "CardSim"\nDEVICENAME /dev/null:0x8C7B\nLIBPATH /usr/lib/pcsc/drivers/serial/libifdvpcd.so\nCHANNELID 0x8C7B\n' \
    > "$T/conf/vpcd"
  export HOME="$T/home"  # no user-level OpenSC cache or config from the host
  mkdir -p "$HOME"
  pcscd --foreground --apdu --debug -c "$T/conf" > "$T/pcscd.log" 2>&1 &
  PIDS+=($!)
  SANDBOX_LOGS+=("pcscd log:$T/pcscd.log")
}
