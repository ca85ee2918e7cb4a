#!/bin/bash
# No PIN in argv or the environment of any process that handles one: the agent's consent
# program and the CLI's pinentry program (children) dump their own and their parent's
# /proc cmdline and environ; the CLI and idvault-rp, each given --pin-file naming a FIFO,
# are looked at while they wait for the PIN (and must have RLIMIT_CORE 0 by then). The
# PIN (a distinctive value) must be in none of them, while every flow succeeds.
#
# Called as: SCRIPT IDVAULT_BINARY AGENT_BINARY IDVAULT_RP_BINARY
. "$(dirname "$0")/cli_test_lib.sh"
set -euo pipefail
RP=$3

CHILD_PIN=58203917
SERVICE_PIN=46172839
softhsm2-util --init-token --free --label children --pin "$CHILD_PIN" --so-pin 5678 >/dev/null
softhsm2-util --init-token --free --label service --pin "$SERVICE_PIN" --so-pin 5678 >/dev/null
printf '%s\n' "$CHILD_PIN" >"$WORK/child-pin"
printf '%s\n' "$SERVICE_PIN" >"$WORK/service-pin"
chmod 600 "$WORK/child-pin" "$WORK/service-pin"
mkdir -p "$WORK/dumps"

# dump_process NAME PID: what anyone able to read /proc saw of that process.
dump_process() {
  cat "/proc/$2/cmdline" >"$WORK/dumps/$1.cmdline" 2>/dev/null || echo unreadable >"$WORK/dumps/$1.cmdline"
  cat "/proc/$2/environ" >"$WORK/dumps/$1.environ" 2>/dev/null || echo unreadable >"$WORK/dumps/$1.environ"
}

# The programs dump themselves ($$) and their parent, then do their job: the consent
# program keeps its JSON input too and says yes; the pinentry reads the PIN from a file.
cat >"$WORK/consent-dump" <<SH
#!/bin/sh
cat /proc/\$\$/cmdline >"$WORK/dumps/consent.self.cmdline"
cat /proc/\$\$/environ >"$WORK/dumps/consent.self.environ"
cat /proc/\$PPID/cmdline >"$WORK/dumps/consent.parent.cmdline" 2>/dev/null || echo unreadable >"$WORK/dumps/consent.parent.cmdline"
cat /proc/\$PPID/environ >"$WORK/dumps/consent.parent.environ" 2>/dev/null || echo unreadable >"$WORK/dumps/consent.parent.environ"
cat >"$WORK/dumps/consent.stdin"
exit 0
SH
cat >"$WORK/pinentry-dump" <<SH
#!/bin/sh
tag=\$(basename "\$(cat /proc/\$PPID/comm)")-\$\$
cat /proc/\$\$/cmdline >"$WORK/dumps/pinentry.\$tag.self.cmdline"
cat /proc/\$\$/environ >"$WORK/dumps/pinentry.\$tag.self.environ"
cat /proc/\$PPID/cmdline >"$WORK/dumps/pinentry.\$tag.parent.cmdline" 2>/dev/null || echo unreadable >"$WORK/dumps/pinentry.\$tag.parent.cmdline"
cat /proc/\$PPID/environ >"$WORK/dumps/pinentry.\$tag.parent.environ" 2>/dev/null || echo unreadable >"$WORK/dumps/pinentry.\$tag.parent.environ"
cat "\$PINENTRY_ANSWER_FILE"
SH
chmod 700 "$WORK/consent-dump" "$WORK/pinentry-dump"

"$AGENT" --socket "$IDVAULT_SOCK" --store "$WORK/data/vault.db" --module "$MODULE" \
  --token pkcs11:token=children --confirm-program "$WORK/consent-dump" \
  >>"$WORK/agent.out" 2>>"$WORK/agent.err" &
AGENT_PID=$!
wait_for_agent

# The CLI with its PIN from the pinentry program (init), then from a FIFO (unlock).
PINENTRY_ANSWER_FILE="$WORK/child-pin" IDVAULT_PINENTRY="$WORK/pinentry-dump" expect_ok "$IDVAULT" init
expect_ok "$IDVAULT" lock
mkfifo -m 600 "$WORK/pin-fifo"
"$IDVAULT" unlock --pin-file "$WORK/pin-fifo" >"$WORK/unlock.out" 2>"$WORK/unlock.err" &
cli=$!
exec 3>"$WORK/pin-fifo"  # returns once the CLI has opened its PIN file: it waits for the PIN now
dump_process cli-waiting-for-pin "$cli"
grep -Eq '^Max core file size +0 +0 ' "/proc/$cli/limits" || fail "the CLI holding a PIN may dump core"
cat "$WORK/child-pin" >&3
exec 3>&-
wait "$cli" || fail "unlock with a PIN FIFO failed: $(cat "$WORK/unlock.err")"
dump_process agent "$AGENT_PID"

# A share, so the agent runs its consent program.
expect_ok "$IDVAULT" put email --value children@example.org
make_service_key "$WORK"
expect_ok "$IDVAULT" authorize "$(make_link 5 email "$WORK/pub.pem" CHILDNONCE)" --yes --out "$WORK/bundle.json"
[ -s "$WORK/dumps/consent.self.cmdline" ] || fail "the consent program did not run"

# idvault-rp: a FIFO PIN file, then the pinentry program.
"$RP" keygen --module "$MODULE" --token pkcs11:token=service --label rp-fifo --bits 2048 \
  --pin-file "$WORK/pin-fifo" >"$WORK/rp.out" 2>"$WORK/rp.err" &
rp=$!
exec 3>"$WORK/pin-fifo"
dump_process rp-waiting-for-pin "$rp"
grep -Eq '^Max core file size +0 +0 ' "/proc/$rp/limits" || fail "idvault-rp holding a PIN may dump core"
cat "$WORK/service-pin" >&3
exec 3>&-
wait "$rp" || fail "idvault-rp keygen with a PIN FIFO failed: $(cat "$WORK/rp.err")"
PINENTRY_ANSWER_FILE="$WORK/service-pin" IDVAULT_PINENTRY="$WORK/pinentry-dump" \
  expect_ok "$RP" keygen --module "$MODULE" --token pkcs11:token=service --label rp-pinentry --bits 2048
ls "$WORK/dumps"/pinentry.idvault-rp-*.parent.cmdline >/dev/null 2>&1 || fail "idvault-rp did not run the pinentry program"
ls "$WORK/dumps"/pinentry.idvault-*.parent.cmdline >/dev/null 2>&1 || fail "no pinentry dump"

# Each dump must exist, hold something, and hold no PIN (the NULs of cmdline/environ are
# no obstacle to grep -a).
dumps=0
for dump in "$WORK/dumps"/*; do
  case $dump in *.stdin) ;; *) [ -s "$dump" ] || fail "empty dump $(basename "$dump")" ;; esac
  grep -q unreadable "$dump" && echo "note: $(basename "$dump") was unreadable"
  for secret in "$CHILD_PIN" "$SERVICE_PIN"; do
    if grep -aqF -- "$secret" "$dump"; then
      fail "$(basename "$dump") holds a PIN"
    fi
  done
  dumps=$((dumps + 1))
done
# The pinentry and consent children were dumped with their parents (CLI, idvault-rp, agent).
for wanted in consent.parent.environ cli-waiting-for-pin.environ rp-waiting-for-pin.environ agent.environ; do
  [ -f "$WORK/dumps/$wanted" ] || fail "missing dump $wanted"
done
grep -aq "idvault-agent" "$WORK/dumps/consent.parent.cmdline" || fail "the consent program's parent is not the agent"
echo "PASS: $dumps process dumps (consent program, pinentry under idvault and idvault-rp, their parents, the CLI and idvault-rp waiting on a PIN FIFO, the agent): no PIN"
