#!/bin/bash
# The agent as a process: not dumpable (its /proc files belong to root even when it runs
# as another user, so no same-uid ptrace or /proc/PID/mem), no core file when it crashes
# even under `ulimit -c unlimited`, RLIMIT_CORE 0 in /proc/PID/limits, and in asymmetric
# mode the vault key's page locked in RAM (VmLck) while unlocked and released on lock; the
# store it creates private (directory 0700, database and WAL 0600) under umask 022; and
# no copy of the PIN, a document value or a scan left in its memory after use.
# Each claim has a control: a plain process in the same place does dump core, and the
# token-AES mode (no vault key on the host) locks less than the asymmetric one.
. "$(dirname "$0")/cli_test_lib.sh"
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: needs root to run an agent as nobody"
  exit 77
fi

proc_value() {  # proc_value PID FIELD: a /proc/PID/status field's first number
  awk -v field="$2:" '$1 == field {print $2}' "/proc/$1/status"
}
core_files_in() {  # core_files_in DIR: how many core files a crash left there
  find "$1" -maxdepth 1 -name 'core*' | wc -l
}
# wait_gone PID: a killed process of ours is reaped (we are its parent shell).
wait_gone() {
  wait "$1" 2>/dev/null || true
}

core_pattern=$(cat /proc/sys/kernel/core_pattern)
cores_land_in_cwd=no
case $core_pattern in
  '|'* | /*) echo "note: core_pattern is '$core_pattern': checking RLIMIT_CORE only, not the crash" ;;
  *) cores_land_in_cwd=yes ;;
esac

# --- the agent as root, asymmetric mode: limits, mlock, crash -----------------------------
mkdir -p "$WORK/cwd-root"
(cd "$WORK/cwd-root" && ulimit -c unlimited && umask 022 && exec "$AGENT" --socket "$IDVAULT_SOCK" --store "$WORK/data/store/vault.db" \
  --module "$MODULE" --token pkcs11:token=holder --confirm-program "$WORK/consent-yes" --asymmetric \
  >>"$WORK/agent.out" 2>>"$WORK/agent.err") &
AGENT_PID=$!
wait_for_agent

grep -Eq '^Max core file size +0 +0 ' "/proc/$AGENT_PID/limits" ||
  fail "the agent's RLIMIT_CORE is not 0: $(grep 'core file' "/proc/$AGENT_PID/limits")"

locked_idle=$(proc_value "$AGENT_PID" VmLck)
expect_ok "$IDVAULT" init --pin-file "$WORK/pin"
grep -q "mode asymmetric" "$WORK/stdout" || fail "init did not choose the asymmetric mode: $(cat "$WORK/stdout")"
locked_unlocked=$(proc_value "$AGENT_PID" VmLck)
expect_ok "$IDVAULT" put email --value private@example.org
for entry in "store 700" "store/vault.db 600" "store/vault.db-wal 600"; do
  set -- $entry
  [ -e "$WORK/data/$1" ] || fail "the agent made no $1"
  [ "$(stat -c %a "$WORK/data/$1")" = "$2" ] || fail "$1 has mode $(stat -c %a "$WORK/data/$1"), not $2, under umask 022"
done
expect_ok "$IDVAULT" lock
locked_after_lock=$(proc_value "$AGENT_PID" VmLck)
expect_ok "$IDVAULT" unlock --pin-file "$WORK/pin"
locked_again=$(proc_value "$AGENT_PID" VmLck)
echo "VmLck (kB): before init $locked_idle, unlocked $locked_unlocked, locked $locked_after_lock, unlocked again $locked_again"
# AddressSanitizer makes mlock() a no-op that reports success: VmLck cannot move in that
# tree (the normal tree checks it).
case ${IDVAULT_SANITIZE:-} in *address*) under_asan=1 ;; *) under_asan=0 ;; esac
case $under_asan in
  1) echo "VmLck not checked: mlock is a no-op under AddressSanitizer" ;;
  *)
    [ "$locked_unlocked" -gt "$locked_after_lock" ] ||
      fail "VmLck did not grow while the asymmetric vault key is held ($locked_unlocked kB unlocked, $locked_after_lock kB locked)"
    [ "$locked_again" -gt "$locked_after_lock" ] || fail "VmLck did not grow again on unlock ($locked_again kB)"
    ;;
esac
expect_ok "$IDVAULT" lock
[ "$(proc_value "$AGENT_PID" VmLck)" -eq "$locked_after_lock" ] || fail "lock did not release the locked page"

# A crash: SIGSEGV from outside, under `ulimit -c unlimited`, leaves no core file.
kill -SEGV "$AGENT_PID"
wait_gone "$AGENT_PID"
AGENT_PID=
if [ "$cores_land_in_cwd" = yes ]; then
  [ "$(core_files_in "$WORK/cwd-root")" -eq 0 ] || fail "the agent left a core file: $(ls "$WORK/cwd-root")"
  # Control: an ordinary process killed the same way in the same place does dump core,
  # so the absence above is the agent's doing (if this host writes cores at all).
  mkdir -p "$WORK/cwd-control"
  (cd "$WORK/cwd-control" && ulimit -c unlimited && exec sleep 60) &
  control=$!
  sleep 0.2
  kill -SEGV "$control"
  wait_gone "$control"
  if [ "$(core_files_in "$WORK/cwd-control")" -eq 0 ]; then
    echo "note: this host writes no core files even for a plain process; the crash check proves only RLIMIT_CORE"
  else
    echo "control: a plain process left $(core_files_in "$WORK/cwd-control") core file(s); the agent none"
  fi
fi

# --- token-AES mode for comparison: no vault key on the host ------------------------------
softhsm2-util --init-token --free --label aes-holder --pin "$PIN" --so-pin 5678 >/dev/null
"$AGENT" --socket "$IDVAULT_SOCK" --store "$WORK/data/aes-vault.db" --module "$MODULE" \
  --token pkcs11:token=aes-holder --confirm-program "$WORK/consent-yes" >>"$WORK/agent.out" 2>>"$WORK/agent.err" &
AGENT_PID=$!
wait_for_agent
expect_ok "$IDVAULT" init --pin-file "$WORK/pin"
grep -q "mode token_aes" "$WORK/stdout" || fail "init did not choose token_aes: $(cat "$WORK/stdout")"
aes_locked_unlocked=$(proc_value "$AGENT_PID" VmLck)
echo "VmLck (kB) unlocked in token_aes mode: $aes_locked_unlocked"
[ "$under_asan" = 1 ] || [ "$locked_unlocked" -gt "$aes_locked_unlocked" ] ||
  fail "the asymmetric mode locks no more memory ($locked_unlocked kB) than token_aes ($aes_locked_unlocked kB)"
stop_agent

# --- no copy of a PIN or a document left in the agent's memory ---------------------------
# Read through /proc/PID/mem (we are root): after unlocks, a put with a scan, a get and
# a lock, neither the PIN nor a value nor the scan (raw or as the base64 the CLI sent)
# is anywhere in the agent's memory. SecretBytes wipes what idvault owns; the agent's
# wipe-on-free operator delete (host/memory/) wipes the copies libraries made.
MEM_PIN=Memscan-PIN-40817263
softhsm2-util --init-token --free --label memscan --pin "$MEM_PIN" --so-pin 5678 >/dev/null
(umask 077 && printf '%s\n' "$MEM_PIN" >"$WORK/mem-pin")
"$AGENT" --socket "$IDVAULT_SOCK" --store "$WORK/data/mem-vault.db" --module "$MODULE" \
  --token pkcs11:token=memscan --confirm-program "$WORK/consent-yes" >>"$WORK/agent.out" 2>>"$WORK/agent.err" &
AGENT_PID=$!
wait_for_agent
expect_ok "$IDVAULT" init --pin-file "$WORK/mem-pin"
for i in 1 2 3; do
  expect_ok "$IDVAULT" lock
  expect_ok "$IDVAULT" unlock --pin-file "$WORK/mem-pin"
done
{ printf 'MEMSCANMARKER-'; head -c 200000 /dev/urandom; } >"$WORK/in/mem-scan.jpg"
expect_ok "$IDVAULT" put personal_details --field first_name=Quillonmerrowby --field last_name=Vandersplotch \
  --field birth_date=03.04.1977 --field gender=female --field country_code=NL --field residence_country_code=NL
expect_ok "$IDVAULT" put passport --field document_no=MEMDOC99172 --field expiry_date= --front-side "$WORK/in/mem-scan.jpg"
expect_ok "$IDVAULT" get personal_details
grep -q Quillonmerrowby "$WORK/stdout" || fail "get did not return the value: the scan would prove nothing"
expect_ok "$IDVAULT" get passport --files-dir "$WORK/out/mem"
expect_ok "$IDVAULT" lock
# Under AddressSanitizer the agent's address space holds terabytes of shadow and allocator
# reservations: reading them through /proc/PID/mem would fault them in. The normal tree
# runs the scan.
if [ "$under_asan" = 1 ]; then
  echo "memory scan skipped: the AddressSanitizer tree's address space is too large to read"
else
  scan_b64=$(head -c 300 "$WORK/in/mem-scan.jpg" | base64 -w0 | cut -c 25-64)
  found=$(/usr/bin/python3 "$HERE/memory_scan.py" "$AGENT_PID" "$MEM_PIN" Quillonmerrowby Vandersplotch MEMDOC99172 \
    MEMSCANMARKER "$scan_b64")
  echo "copies in the agent's memory after unlocks, puts, gets and lock:" $found
  while read -r count what; do
    [ "$count" -eq 0 ] || fail "the agent's memory holds $count copies of '$what' after lock"
  done <<<"$found"
fi
stop_agent

# --- the agent as nobody: not dumpable, no core -------------------------------------------
# Run as an ordinary user, a dumpable process owns its /proc/PID files; a non-dumpable one
# has them owned by root, which is what keeps another process of the same user (malware,
# a debugger) from attaching or reading its memory.
NOBODY_DIR="$WORK/nobody"
mkdir -p "$NOBODY_DIR/run" "$NOBODY_DIR/data" "$NOBODY_DIR/cwd"
cp "$AGENT" "$NOBODY_DIR/idvault-agent"
chmod 755 "$WORK" "$NOBODY_DIR" "$NOBODY_DIR/idvault-agent"
chown -R nobody "$NOBODY_DIR/run" "$NOBODY_DIR/data" "$NOBODY_DIR/cwd"
chmod 700 "$NOBODY_DIR/run"
sanitizer_options_for_nobody "$NOBODY_DIR"
(cd "$NOBODY_DIR/cwd" && ulimit -c unlimited &&
  exec setpriv --reuid=nobody --regid=nogroup --clear-groups "$NOBODY_DIR/idvault-agent" \
    --socket "$NOBODY_DIR/run/agent.sock" --store "$NOBODY_DIR/data/vault.db" \
    >>"$WORK/agent.out" 2>>"$WORK/agent.err") &
nobody_agent=$!
i=0
until [ -S "$NOBODY_DIR/run/agent.sock" ]; do
  i=$((i + 1))
  [ "$i" -lt 200 ] || fail "the agent as nobody did not make its socket: $(tail -n 1 "$WORK/agent.err")"
  kill -0 "$nobody_agent" 2>/dev/null || fail "the agent as nobody exited: $(tail -n 1 "$WORK/agent.err")"
  sleep 0.1
done
nobody_uid=$(id -u nobody)
[ "$(awk '$1 == "Uid:" {print $2}' "/proc/$nobody_agent/status")" -eq "$nobody_uid" ] ||
  fail "the agent does not run as nobody: the test proves nothing"
owner=$(stat -c %u "/proc/$nobody_agent/status")
[ "$owner" -eq 0 ] || fail "the agent's /proc files belong to uid $owner, not root: it is dumpable"
# Control: a plain process run as nobody owns its /proc files.
(exec setpriv --reuid=nobody --regid=nogroup --clear-groups sleep 60) &
plain=$!
sleep 0.2
[ "$(stat -c %u "/proc/$plain/status")" -eq "$nobody_uid" ] || fail "control: a plain process as nobody does not own its /proc files"
kill "$plain"
wait_gone "$plain"
grep -Eq '^Max core file size +0 +0 ' "/proc/$nobody_agent/limits" || fail "the agent as nobody has a core limit"
kill -SEGV "$nobody_agent"
wait_gone "$nobody_agent"
if [ "$cores_land_in_cwd" = yes ]; then
  [ "$(core_files_in "$NOBODY_DIR/cwd")" -eq 0 ] || fail "the agent as nobody left a core file"
fi
echo "PASS: not dumpable (/proc owned by root while running as uid $nobody_uid), RLIMIT_CORE 0, no core after SIGSEGV, vault key mlocked only while unlocked"
