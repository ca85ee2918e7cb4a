#!/bin/sh
# `idvault authorize --out`: the bundle the CLI writes decrypts with python-telegram-bot's
# own Passport code (tests/interop/ptb_decrypt.py) to the values and scans put in, with a
# service key made by openssl on the host.
. "$(dirname "$0")/cli_test_lib.sh"
INTEROP=$HERE/../../interop
. "$HERE/../../support/missing_peer.sh"
if ! "$PY" -c 'import telegram, cryptography' 2>/dev/null; then
  skip_missing_peer "/usr/bin/python3 cannot import telegram (python3-python-telegram-bot; run scripts/setup)"
fi

start_agent
expect_ok "$IDVAULT" init --pin-file "$WORK/pin"
IN=$WORK/in
PLAIN=$WORK/plain
mkdir -p "$PLAIN"
for name in pp-front pp-selfie pp-tr bill-1 bill-2 bill-tr; do make_scan "$PLAIN/$name.jpg" 30000; done
expect_ok "$IDVAULT" put personal_details --field first_name=Ada --field last_name=Lovelace \
  --field birth_date=10.12.1815 --field gender=female --field country_code=GB --field residence_country_code=GB
expect_ok "$IDVAULT" put passport --field document_no=X1234567 --field expiry_date=01.01.2030 \
  --front-side "$PLAIN/pp-front.jpg" --selfie "$PLAIN/pp-selfie.jpg" --translation "$PLAIN/pp-tr.jpg"
expect_ok "$IDVAULT" put address --field street_line1="12 St James's Square" --field city=London \
  --field country_code=GB --field post_code="SW1Y 4LB"
expect_ok "$IDVAULT" put utility_bill --file "$PLAIN/bill-1.jpg" --file "$PLAIN/bill-2.jpg" --translation "$PLAIN/bill-tr.jpg"
expect_ok "$IDVAULT" put phone_number --value 447700900123
expect_ok "$IDVAULT" put email --value ada@example.org
for type in personal_details passport address; do
  expect_ok "$IDVAULT" get "$type"
  cp "$WORK/stdout" "$IN/$type.data.json"
done

make_service_key "$WORK"
SCOPE='{"data":["personal_details",{"one_of":["identity_card",{"type":"passport","selfie":true,"translation":true}]},"address",{"type":"utility_bill","translation":true},"phone_number","email",{"type":"driver_license"}],"v":1}'
LINK=$(make_link 4242 "$SCOPE" "$WORK/pub.pem" "nonce-$$")

# What is asked is shown before anything is shared; without a terminal, --yes is needed.
expect_fail 2 "no terminal to ask on: pass --yes" setsid "$IDVAULT" authorize "$LINK" --out "$WORK/bundle.json" </dev/null
[ ! -e "$WORK/bundle.json" ] || fail "a bundle was written without an answer"
expect_fail 2 "bad request link: link" "$IDVAULT" authorize "idvault://authorize?bot_id=1" --yes --out "$WORK/b.json"
expect_fail 2 "say where the bundle goes" "$IDVAULT" authorize "$LINK" --yes
expect_fail 2 "no callback_url to deliver to" "$IDVAULT" authorize "$LINK" --yes --deliver

expect_ok "$IDVAULT" authorize "$LINK" --yes --out "$WORK/bundle.json"
grep -q "service 4242 asks for:" "$WORK/stdout" || fail "authorize did not show the request: $(cat "$WORK/stdout")"
grep -q "one of: identity_card or passport (selfie, translation)" "$WORK/stdout" || fail "one_of not shown: $(cat "$WORK/stdout")"
grep -q "from your vault: personal_details, passport, address, utility_bill, phone_number, email" "$WORK/stdout" ||
  fail "held elements not shown: $(cat "$WORK/stdout")"
grep -q "not in your vault: driver_license" "$WORK/stdout" || fail "missing elements not shown: $(cat "$WORK/stdout")"
grep -q "bundle written to $WORK/bundle.json" "$WORK/stdout" || fail "authorize said: $(cat "$WORK/stdout")"
[ "$(stat -c %a "$WORK/bundle.json")" = 600 ] || fail "the bundle is not mode 0600"
grep -q "4242" "$WORK/consent.log" || fail "the agent's consent prompt was not asked"

"$PY" - "$IN" "nonce-$$" >"$WORK/expected.json" <<'PYEOF'
import json, sys
d, nonce = sys.argv[1], sys.argv[2]
data = lambda t: json.load(open(f"{d}/{t}.data.json"))
print(json.dumps({"nonce": nonce, "elements": {
    "personal_details": {"data": data("personal_details"), "files": {}},
    "passport": {"data": data("passport"), "files": {"front_side": "pp-front.jpg", "selfie": "pp-selfie.jpg",
                                                     "translation": ["pp-tr.jpg"]}},
    "address": {"data": data("address"), "files": {}},
    "utility_bill": {"files": {"files": ["bill-1.jpg", "bill-2.jpg"], "translation": ["bill-tr.jpg"]}},
    "phone_number": {"phone_number": "447700900123", "files": {}},
    "email": {"email": "ada@example.org", "files": {}},
}}))
PYEOF
grep -q '"last_name": "Lovelace"' "$IN/personal_details.data.json" || fail "personal_details as stored: $(cat "$IN/personal_details.data.json")"
"$PY" "$HERE/bundle_to_ptb.py" "$WORK/bundle.json" "$WORK/key.pem" "$WORK/expected.json" "$PLAIN" "$WORK/ptb"
"$PY" "$INTEROP/ptb_decrypt.py" "$WORK/ptb" || fail "python-telegram-bot did not decrypt the bundle to what was put"
echo "PASS"
