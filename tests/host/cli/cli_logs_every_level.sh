#!/bin/bash
# A full holder flow (init with a recovery password, a wrong PIN, unlock, put with scans,
# get, list, authorize, shares --verify, rm, lock) at every --log-level the agent accepts:
# the agent's stderr and stdout (its log and audit stream) and everything the CLI printed
# — except `get`'s own stdout, whose job is to show the holder their documents — hold no
# PIN, no recovery password, no element value, no scan bytes, no value secret of the
# share, and no ciphertext. cli.logs_no_secrets checks what the debug log does contain.
. "$(dirname "$0")/cli_test_lib.sh"
set -euo pipefail

LEVEL_PIN=71830294
WRONG_PIN=62947150
RECOVERY='Recovery-Quetzal-8812'
printf '%s\n' "$WRONG_PIN" >"$WORK/level-wrong-pin"
printf '%s\n' "$RECOVERY" >"$WORK/level-recovery"
printf '%s\n' "$LEVEL_PIN" >"$WORK/level-pin"
chmod 600 "$WORK/level-wrong-pin" "$WORK/level-recovery" "$WORK/level-pin"
{ printf 'FRONTMARKER-'; head -c 30000 /dev/urandom; } >"$WORK/in/front.jpg"
{ printf 'SELFIEMARKER-'; head -c 20000 /dev/urandom; } >"$WORK/in/selfie.jpg"
{ printf 'TRANSLATIONMARKER-'; head -c 10000 /dev/urandom; } >"$WORK/in/translation.jpg"
make_service_key "$WORK"
# A scope that asks for the selfie and the translation too, so every scan is shared.
SCOPE='{"v":1,"data":[{"type":"personal_details"},{"type":"passport","selfie":true,"translation":true},{"type":"email"}]}'

# The levels of host/agent/audit_log.h; anything else is refused at start.
levels="error warning info debug"
if "$AGENT" --socket "$WORK/run/never.sock" --log-level trace >/dev/null 2>&1; then
  fail "the agent accepted --log-level trace: a level this test does not cover"
fi

for level in $levels; do
  out="$WORK/$level"
  mkdir -p "$out/data" "$out/files"
  softhsm2-util --init-token --free --label "level-$level" --pin "$LEVEL_PIN" --so-pin 5678 >/dev/null
  "$AGENT" --socket "$IDVAULT_SOCK" --store "$out/data/vault.db" --module "$MODULE" \
    --token "pkcs11:token=level-$level" --confirm-program "$WORK/consent-yes" --log-level "$level" \
    >"$out/agent.out" 2>"$out/agent.err" &
  AGENT_PID=$!
  wait_for_agent

  # run_cli NAME COMMAND...: the CLI's stdout and stderr kept for the grep below.
  run_cli() {
    name=$1
    shift
    "$@" >"$out/cli.$name.out" 2>"$out/cli.$name.err" || fail "[$level] '$*' failed: $(cat "$out/cli.$name.err")"
  }
  run_cli init "$IDVAULT" init --pin-file "$WORK/level-pin" --recovery-password-file "$WORK/level-recovery"
  run_cli lock "$IDVAULT" lock
  if "$IDVAULT" unlock --pin-file "$WORK/level-wrong-pin" >"$out/cli.wrong.out" 2>"$out/cli.wrong.err"; then
    fail "[$level] a wrong PIN unlocked the vault"
  fi
  run_cli unlock "$IDVAULT" unlock --pin-file "$WORK/level-pin"
  run_cli put-personal "$IDVAULT" put personal_details --field first_name=Ximenothea --field last_name=Brackwater \
    --field birth_date=17.09.1966 --field gender=female --field country_code=IS --field residence_country_code=IS
  run_cli put-passport "$IDVAULT" put passport --field document_no=PASSNO4471X --field expiry_date=01.01.2040 \
    --front-side "$WORK/in/front.jpg" --selfie "$WORK/in/selfie.jpg" --translation "$WORK/in/translation.jpg"
  run_cli put-email "$IDVAULT" put email --value quetzal.level@example.org
  "$IDVAULT" get passport --files-dir "$out/files" >"$out/get.stdout" 2>"$out/cli.get.err" ||
    fail "[$level] get failed: $(cat "$out/cli.get.err")"
  grep -q PASSNO4471X "$out/get.stdout" || fail "[$level] get did not show the document (the grep would prove nothing)"
  got_front=no
  for file in "$out"/files/*; do
    if cmp -s "$file" "$WORK/in/front.jpg"; then got_front=yes; fi
  done
  [ "$got_front" = yes ] || fail "[$level] get did not write the front side back"
  # list shows phone and e-mail values to the holder (they are stored in clear, as
  # Telegram sends them); its stdout is checked below for everything else.
  "$IDVAULT" list >"$out/list.stdout" 2>"$out/cli.list.err" || fail "[$level] list failed: $(cat "$out/cli.list.err")"
  grep -q quetzal.level "$out/list.stdout" || fail "[$level] list did not show the e-mail address"
  run_cli authorize "$IDVAULT" authorize \
    "$(make_link 91 "$SCOPE" "$WORK/pub.pem" "LEVELNONCE-$level")" --yes --out "$out/bundle.json"
  run_cli shares "$IDVAULT" shares --verify
  run_cli rm "$IDVAULT" rm email
  run_cli status "$IDVAULT" status
  run_cli lock-end "$IDVAULT" lock
  stop_agent

  # What must not appear: PINs, the recovery password, values, scan bytes (raw and as the
  # base64 the CLI sends), every secret of the share, and the start of each ciphertext.
  forbidden=("$LEVEL_PIN" "$WRONG_PIN" "$RECOVERY" Ximenothea Brackwater 17.09.1966 PASSNO4471X 01.01.2040
             quetzal.level FRONTMARKER SELFIEMARKER TRANSLATIONMARKER)
  for scan in front selfie translation; do
    forbidden+=("$(head -c 30 "$WORK/in/$scan.jpg" | base64 | head -c 24)")
  done
  mapfile -t value_secrets < <(/usr/bin/python3 "$HERE/value_secrets.py" "$out/bundle.json" "$WORK/key.pem")
  # credentials, personal_details data, passport data, front side, selfie, translation: 6
  # secrets, each as base64 and hex.
  [ "${#value_secrets[@]}" -eq 12 ] || fail "[$level] expected 6 secrets in the share, got ${#value_secrets[@]} lines"
  forbidden+=("${value_secrets[@]}")
  mapfile -t ciphertexts < <("$PY" -c '
import json, sys
bundle = json.load(open(sys.argv[1]))
for element in bundle["passport_data"]["data"]:
    if "data" in element: print(element["data"][:24])
for blob in bundle["files"].values(): print(blob[:24])
print(bundle["passport_data"]["credentials"]["data"][:24])' "$out/bundle.json")
  forbidden+=("${ciphertexts[@]}")

  logs=("$out/agent.err" "$out/agent.out" "$out"/cli.*)
  for secret in "${forbidden[@]}"; do
    [ -n "$secret" ] || continue
    if grep -aqF -- "$secret" "${logs[@]}"; then
      fail "[$level] '$secret' appears in $(grep -alF -- "$secret" "${logs[@]}" | xargs -n1 basename | tr '\n' ' ')"
    fi
    if [ "$secret" != quetzal.level ] && grep -aqF -- "$secret" "$out/list.stdout"; then
      fail "[$level] '$secret' appears in the output of idvault list"
    fi
  done
  echo "level $level: ${#forbidden[@]} secrets absent from $(cat "${logs[@]}" | wc -l) lines of agent log and CLI output"
done
# The levels differ: debug logs more than info, info (the audit stream) more than error.
[ "$(wc -l <"$WORK/debug/agent.err")" -gt "$(wc -l <"$WORK/info/agent.err")" ] || fail "debug logs no more than info"
grep -q 'method=authorize result=ok' "$WORK/info/agent.err" || fail "the info level lacks the audit stream"
echo "PASS"
