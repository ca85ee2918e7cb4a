#!/usr/bin/env bash
# The holder's agent on a smart card: idvault-agent drives the simulated PIV card through
# real OpenSC (opensc-pkcs11.so), pcscd and its virtual reader — the path a real card
# takes. Asymmetric key mode (a PIV token has no AES and no unwrap), the card's PIN
# counter, the final try, lockout and PUK unblock, and a card pulled while unlocked.
#
# Runs itself in private mount and network namespaces (pcscd's socket and vpcd's ports
# stay private); exits 77 (skipped) only when unshare is refused.
#
#   usage: agent_on_card.sh IDVAULT_AGENT IDVAULT_CARDSIM [IDVAULT_CLI]
set -euo pipefail

AGENT=$(readlink -f "${1:?usage: agent_on_card.sh IDVAULT_AGENT IDVAULT_CARDSIM}")
CARDSIM=$(readlink -f "${2:?usage: agent_on_card.sh IDVAULT_AGENT IDVAULT_CARDSIM}")
CLI=${3:+$(readlink -f "$3")}
HERE=$(dirname "$(readlink -f "$0")")
SELF=$(readlink -f "$0")
PY=/usr/bin/python3

. "$HERE/../../support/pcsc_sandbox.sh"
pcsc_sandbox_enter "$AGENT" "$CARDSIM" ${CLI:+"$CLI"}
pcsc_sandbox_start
SANDBOX_LOGS+=("agent log:$T/agent.log" "cardsim log:$T/cardsim.log")
MODULE=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so
PIN=123456
PUK=12345678

"$CARDSIM" init --state "$T/card.json" --rsa-bits 2048 --label idvault-card > /dev/null
tries() { "$CARDSIM" info --state "$T/card.json" | sed -n 's/^pin_tries_left: //p'; }
"$CARDSIM" run --state "$T/card.json" --vpcd 127.0.0.1:35963 --reconnect >> "$T/cardsim.log" 2>&1 &
CARD=$!
PIDS+=("$CARD")
card_listed() { pkcs11-tool --module "$MODULE" -L 2>/dev/null | grep -q 'token label *: idvault-card'; }
wait_until 100 card_listed || fail "the card never showed up through OpenSC"

SOCK="$T/run/agent.sock"
"$AGENT" --socket "$SOCK" --store "$T/data/vault.db" --module "$MODULE" --token "pkcs11:token=idvault-card" \
  --confirm-program /bin/true > "$T/agent.log" 2>&1 &
AGENT_PID=$!
PIDS+=("$AGENT_PID")
wait_until 50 test -S "$SOCK" || fail "agent socket never appeared"

rpc() {  # rpc METHOD [PARAMS_JSON]  -> prints result or error JSON; status 0/1
  local method=$1 params=${2:-"{}"}
  printf '%s' "$params" | $PY "$HERE/rpc_call.py" "$SOCK" "$method"
}
field() { $PY -c 'import json,sys; v=json.load(sys.stdin); 
for k in sys.argv[1].split("."): v=v[int(k)] if isinstance(v,list) else v.get(k)
print(v if not isinstance(v,(dict,list)) else json.dumps(v))' "$1"; }

# --- what the card can do, and init in the asymmetric mode ------------------------------
out=$(rpc tokens) || fail "tokens: $out"
grep -q '"aes_key_wrap": false' <<<"$out" || fail "the PIV token has no AES key wrap: $out"
grep -q '"vault_mode": "asymmetric"' <<<"$out" || fail "tokens should propose the asymmetric mode: $out"
grep -q '"uri": "pkcs11:' <<<"$out" || fail "tokens should show a URI: $out"
ok "tokens: the card has no AES and cannot make keys: the asymmetric mode is proposed"
if [ -n "$CLI" ]; then
  out=$(IDVAULT_SOCK="$SOCK" "$CLI" tokens) || fail "idvault tokens: $out"
  grep -q '^idvault-card$' <<<"$out" || fail "idvault tokens should name the card: $out"
  grep -q '^  uri: *pkcs11:.*token=idvault-card' <<<"$out" || fail "idvault tokens should show the card's URI: $out"
  grep -q '^  vault mode: *asymmetric$' <<<"$out" || fail "idvault tokens should show the asymmetric mode: $out"
  caps=$(echo "$out" | sed -n 's/^  capabilities: //p')
  for cap in ecdsa rsa_oaep_sha1; do
    [[ " $caps " == *" $cap "* ]] || fail "idvault tokens should show $cap: $out"
  done
  [[ " $caps " != *" aes_key_wrap "* ]] || fail "idvault tokens claims AES key wrap on the card: $out"
  ok "idvault tokens: the card's URI, the asymmetric mode and what it can do"
fi

out=$(rpc init "{\"pin\":\"$PIN\"}") || fail "init: $out"
[ "$(echo "$out" | field mode)" = asymmetric ] || fail "init mode: $out"
ok "init on the card: asymmetric mode, identity key from the card"

# --- documents in, documents out, and a share decrypted by python-telegram-bot -----------
head -c 30000 /dev/urandom > "$T/front.jpg"
FRONT_B64=$(base64 -w0 "$T/front.jpg")
FRONT_SHA=$(sha256sum "$T/front.jpg" | cut -d' ' -f1)
rpc element.put '{"type":"personal_details","data":{"first_name":"Grace","last_name":"Hopper","first_name_native":"Grace","last_name_native":"Hopper","birth_date":"09.12.1906","gender":"female","country_code":"US","residence_country_code":"US"}}' >/dev/null \
  || fail "put personal_details"
printf '{"type":"passport","data":{"document_no":"P1234567","expiry_date":""},"front_side":"%s"}' "$FRONT_B64" > "$T/put.json"
rpc element.put "$(cat "$T/put.json")" > /dev/null || fail "put passport"
got=$(rpc element.get '{"type":"passport"}') || fail "get passport: $got"
[ "$(echo "$got" | field front_side)" = "$FRONT_B64" ] || fail "front side differs after the round trip"
ok "put/get through the card: values and scans come back"

openssl genrsa -out "$T/service.pem" 2048 2>/dev/null
openssl rsa -in "$T/service.pem" -pubout -out "$T/service.pub" 2>/dev/null
LINK=$($PY -c 'import sys, urllib.parse as u
q = {"bot_id": "31337", "scope": "{\"data\":[\"personal_details\",\"passport\"],\"v\":1}",
     "public_key": open(sys.argv[1]).read(), "nonce": "card-nonce-1"}
print("idvault://authorize?" + "&".join(k + "=" + u.quote(v, safe="") for k, v in q.items()))' "$T/service.pub")
rpc authorize "$($PY -c 'import json,sys; print(json.dumps({"link": sys.argv[1]}))' "$LINK")" > "$T/answer.json" \
  || fail "authorize: $(cat "$T/answer.json")"
$PY -c 'import json,sys; json.dump(json.load(open(sys.argv[1]))["bundle"], open(sys.argv[2],"w"))' "$T/answer.json" "$T/bundle.json"
$PY "$HERE/check_bundle.py" "$T/bundle.json" "$T/service.pem" card-nonce-1 \
  "{\"personal_details\":{\"data\":{\"last_name\":\"Hopper\"}},\"passport\":{\"data\":{\"document_no\":\"P1234567\"},\"front_side_sha256\":\"$FRONT_SHA\"}}" \
  || fail "python-telegram-bot could not decrypt the card-backed share"
out=$(rpc shares '{"verify":true}') || fail "shares: $out"
grep -q '"valid": true' <<<"$out" || fail "receipt signed by the card does not verify: $out"
ok "authorize: PTB decrypts the share; the receipt signed on the card verifies"

# --- the PIN counter: wrong PIN, tries left, the final try only on request, lockout -------
rpc lock > /dev/null
[ "$(tries)" = 3 ] || fail "expected 3 tries, the card says $(tries)"
out=$(rpc unlock '{"pin":"111111"}') && fail "a wrong PIN unlocked the vault"
grep -q 'wrong PIN' <<<"$out" || fail "wrong PIN message: $out"
FIRST_WRONG=$out
[ "$(tries)" = 2 ] || fail "after one wrong PIN the card should have 2 tries, it has $(tries)"
out=$(rpc unlock '{"pin":"111111"}') && fail "the same wrong PIN unlocked"
grep -q 'not sent again' <<<"$out" || fail "a rejected PIN must not be resent: $out"
[ "$(tries)" = 2 ] || fail "the agent resent a rejected PIN: the card has $(tries) tries"
ok "wrong PIN: reported, counted on the card, never resent"
echo "     first answer: $FIRST_WRONG"

out=$(rpc unlock '{"pin":"222222"}') && fail "second wrong PIN unlocked"
[ "$(tries)" = 1 ] || fail "after two wrong PINs the card should have 1 try, it has $(tries)"
out=$(rpc unlock "{\"pin\":\"$PIN\"}") && fail "the agent spent the final try without being asked: $out"
grep -q 'one PIN try left' <<<"$out" || fail "final try not announced: $out"
[ "$(tries)" = 1 ] || fail "the final try was spent without confirmation"
ok "final try: refused until the holder confirms it"

out=$(rpc unlock '{"pin":"333333","allow_final_try":true}') && fail "third wrong PIN unlocked"
[ "$(tries)" = 0 ] || fail "the card should be blocked now, it has $(tries) tries"
out=$(rpc unlock "{\"pin\":\"$PIN\"}") && fail "a blocked card unlocked"
grep -q 'PIN locked' <<<"$out" || fail "a blocked PIN must say so: $out"
ok "PIN blocked: its own error"

pkcs15-tool --unblock-pin --auth-id 01 --puk $PUK --new-pin $PIN > /dev/null 2>&1 || fail "PUK unblock"
out=$(rpc unlock "{\"pin\":\"$PIN\"}") || fail "unlock after PUK unblock: $out"
ok "after PUK unblock the right PIN unlocks again"

# --- pulling the card while unlocked -----------------------------------------------------
kill -USR1 "$CARD"
locked() { rpc status | grep -q '"unlocked": false'; }
wait_until 100 locked || fail "the vault stayed unlocked after the card was pulled"
out=$(rpc element.get '{"type":"passport"}') && fail "get worked with the card out"
grep -q 'locked' <<<"$out" || fail "get with the card out: $out"
ok "card pulled: the vault locks within seconds and says so"

kill -USR1 "$CARD"
wait_until 100 card_listed || fail "the card did not come back"
out=$(rpc unlock "{\"pin\":\"$PIN\"}") || fail "unlock after reinsertion: $out"
got=$(rpc element.get '{"type":"passport"}') || fail "get after reinsertion: $got"
[ "$(echo "$got" | field front_side)" = "$FRONT_B64" ] || fail "data changed across removal"
ok "card back: unlock resumes, nothing lost"
echo "agent on card: all checks passed"
