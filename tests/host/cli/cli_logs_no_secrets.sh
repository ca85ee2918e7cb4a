#!/bin/sh
# The agent's logs at the most verbose level, over a full holder flow, hold the audit
# stream (who asked for what, and the result) and each Cryptoki call's name and result —
# and no PIN, no document value, no scan bytes, no ciphertext.
. "$(dirname "$0")/cli_test_lib.sh"

LOG_PIN=83927461
softhsm2-util --init-token --free --label logs --pin "$LOG_PIN" --so-pin 5678 >/dev/null
printf '%s\n' "$LOG_PIN" >"$WORK/log-pin"
printf '61739258\n' >"$WORK/log-wrong-pin"
chmod 600 "$WORK/log-pin" "$WORK/log-wrong-pin"

"$AGENT" --socket "$IDVAULT_SOCK" --store "$WORK/data/vault.db" --module "$MODULE" \
  --token pkcs11:token=logs --confirm-program "$WORK/consent-yes" --log-level debug \
  >>"$WORK/agent.out" 2>>"$WORK/agent.err" &
AGENT_PID=$!
wait_for_agent

expect_ok "$IDVAULT" init --pin-file "$WORK/log-pin"
expect_ok "$IDVAULT" lock
expect_fail 1 'wrong PIN' "$IDVAULT" unlock --pin-file "$WORK/log-wrong-pin"
expect_ok "$IDVAULT" unlock --pin-file "$WORK/log-pin"
expect_ok "$IDVAULT" put personal_details --field first_name=Zanzibarius --field last_name=Quokkaworth \
  --field first_name_native=Zanzibarius --field last_name_native=Quokkaworth --field birth_date=02.03.1971 \
  --field gender=male --field country_code=NZ --field residence_country_code=NZ
{ printf 'SCANMARKER-'; head -c 20000 /dev/urandom; } >"$WORK/in/front.jpg"
expect_ok "$IDVAULT" put passport --field document_no=DOCMARK77 --field expiry_date= --front-side "$WORK/in/front.jpg"
expect_ok "$IDVAULT" get passport --files-dir "$WORK/out"
openssl genrsa -out "$WORK/service.pem" 2048 2>/dev/null
openssl rsa -in "$WORK/service.pem" -pubout -out "$WORK/service.pub" 2>/dev/null
expect_ok "$IDVAULT" authorize "$(make_link 77 personal_details,passport "$WORK/service.pub" LOGNONCE)" --yes \
  --out "$WORK/bundle.json"
expect_ok "$IDVAULT" lock
stop_agent

log="$WORK/agent.err"
for wanted in 'audit: uid=[0-9]+ pid=[0-9]+ method=init result=ok' \
              'method=unlock result=error -32004' 'method=unlock result=ok' \
              'method=element.put result=ok' 'method=authorize result=ok' \
              'C_Login -> CKR_PIN_INCORRECT' 'C_Login -> CKR_OK' 'event: locked'; do
  grep -Eq -- "$wanted" "$log" || fail "the log lacks /$wanted/"
done
scan_b64=$(head -c 30 "$WORK/in/front.jpg" | base64 | head -c 24)
data_b64=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["passport_data"]["data"][1]["data"][:24])' "$WORK/bundle.json")
for secret in "$LOG_PIN" 61739258 Zanzibarius Quokkaworth DOCMARK77 02.03.1971 SCANMARKER "$scan_b64" "$data_b64"; do
  if grep -qF -- "$secret" "$log" "$WORK/agent.out"; then
    fail "the agent's log contains '$secret'"
  fi
done
echo "agent logs: audit present, $(wc -l <"$log") lines, no secret"
