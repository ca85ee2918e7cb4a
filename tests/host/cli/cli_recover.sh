#!/bin/sh
# Recovery through the CLI: a vault made with a recovery password survives the loss of
# its token; the passwords are read from files or the terminal, never argv.
. "$(dirname "$0")/cli_test_lib.sh"

printf 'correct horse battery\n' >"$WORK/recovery"
printf 'wrong horse battery\n' >"$WORK/wrong-recovery"
printf 'short\n' >"$WORK/short-recovery"
chmod 600 "$WORK/recovery" "$WORK/wrong-recovery" "$WORK/short-recovery"

start_agent
expect_fail 2 'recovery-password' "$IDVAULT" init --pin-file "$WORK/pin" --recovery-password 'correct horse'
expect_fail 1 'at least 8 characters' "$IDVAULT" init --pin-file "$WORK/pin" --recovery-password-file "$WORK/short-recovery"
expect_ok "$IDVAULT" init --pin-file "$WORK/pin" --recovery-password-file "$WORK/recovery"
grep -q 'recovery: password set' "$WORK/stdout" || fail "init did not report the recovery password: $(cat "$WORK/stdout")"
make_scan "$WORK/in/front.jpg" 40000
expect_ok "$IDVAULT" put passport --field document_no=RC123 --field expiry_date= --front-side "$WORK/in/front.jpg"
expect_ok "$IDVAULT" put email --value ada@example.org
expect_fail 1 'without a recovery password|own token' "$IDVAULT" recover --pin-file "$WORK/pin" --recovery-password-file "$WORK/recovery"
stop_agent

# The token is lost; a new one arrives.
softhsm2-util --init-token --free --label spare --pin "$PIN" --so-pin 5678 >/dev/null
softhsm2-util --delete-token --token holder >/dev/null
"$AGENT" --socket "$IDVAULT_SOCK" --store "$WORK/data/vault.db" --module "$MODULE" \
  --token pkcs11:token=spare --confirm-program "$WORK/consent-yes" >>"$WORK/agent.out" 2>>"$WORK/agent.err" &
AGENT_PID=$!
wait_for_agent
expect_fail 1 "belongs to token 'holder'" "$IDVAULT" unlock --pin-file "$WORK/pin"
expect_fail 1 'wrong recovery password' "$IDVAULT" recover --pin-file "$WORK/pin" --recovery-password-file "$WORK/wrong-recovery"
expect_ok "$IDVAULT" recover --pin-file "$WORK/pin" --recovery-password-file "$WORK/recovery"
grep -q "recovered onto token 'spare'" "$WORK/stdout" || fail "recover said: $(cat "$WORK/stdout")"
expect_ok "$IDVAULT" get passport --files-dir "$WORK/out"
cmp -s "$WORK/in/front.jpg" "$WORK/out/front_side.jpg" || fail "the recovered scan differs"
expect_ok "$IDVAULT" lock
expect_ok "$IDVAULT" unlock --pin-file "$WORK/pin"
expect_ok "$IDVAULT" get email
grep -q 'ada@example.org' "$WORK/stdout" || fail "email lost in recovery"
echo "cli recover: ok"
