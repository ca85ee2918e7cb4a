#!/bin/sh
# A vault made without a recovery password says, at init, that losing the token loses
# it and how to add one; `idvault recovery add` then seals what it already holds, and a
# later `recover` brings all of it to a new token (issue 14.9). A put with more files
# than one message can carry is refused by the CLI with the limit, before it is sent
# (issue 13.26).
. "$(dirname "$0")/cli_test_lib.sh"

printf 'correct horse battery\n' >"$WORK/recovery"
chmod 600 "$WORK/recovery"

start_agent
expect_ok "$IDVAULT" init --pin-file "$WORK/pin"
grep -q "recovery: none: if this token is lost or broken, the vault is lost with it; add a recovery password with 'idvault recovery add'" \
  "$WORK/stdout" || fail "init did not warn about recovery: $(cat "$WORK/stdout")"
make_scan "$WORK/in/front.jpg" 30000
expect_ok "$IDVAULT" put passport --field document_no=LATE1 --field expiry_date= --front-side "$WORK/in/front.jpg"

# 254 files: more than SCM_MAX_FD.
i=0
set --
while [ "$i" -lt 254 ]; do
  set -- "$@" --file "$WORK/in/front.jpg"
  i=$((i + 1))
done
expect_fail 2 'one put takes at most 253 files .*this one has 254' "$IDVAULT" put utility_bill "$@"

expect_fail 2 'usage: idvault recovery add' "$IDVAULT" recovery remove
expect_ok "$IDVAULT" recovery add --recovery-password-file "$WORK/recovery"
grep -q "recovery password added (2 secrets sealed" "$WORK/stdout" || fail "recovery add said: $(cat "$WORK/stdout")"
# Again, for a program: replacing it answers in JSON.
expect_ok "$IDVAULT" recovery add --recovery-password-file "$WORK/recovery" --json
/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r["replaced"] is True and r["secrets"] == 2 else 1)' \
  "$WORK/stdout" || fail "recovery add --json printed: $(cat "$WORK/stdout")"
expect_ok "$IDVAULT" put email --value ada@example.org
stop_agent

softhsm2-util --init-token --free --label spare --pin "$PIN" --so-pin 5678 >/dev/null
softhsm2-util --delete-token --token holder >/dev/null
"$AGENT" --socket "$IDVAULT_SOCK" --store "$WORK/data/vault.db" --module "$MODULE" \
  --token pkcs11:token=spare --confirm-program "$WORK/consent-yes" >>"$WORK/agent.out" 2>>"$WORK/agent.err" &
AGENT_PID=$!
wait_for_agent
expect_ok "$IDVAULT" recover --pin-file "$WORK/pin" --recovery-password-file "$WORK/recovery"
expect_ok "$IDVAULT" get passport --files-dir "$WORK/out"
cmp -s "$WORK/in/front.jpg" "$WORK/out/front_side.jpg" || fail "the scan put before recovery add was not recovered"
echo "cli recovery add: ok"
