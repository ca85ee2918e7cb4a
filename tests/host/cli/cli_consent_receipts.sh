#!/bin/sh
# Consent and the receipt log through the CLI: when the agent's prompt says no, authorize
# fails with one line and `idvault shares` shows nothing new; shares --verify passes on an
# honest log and names the broken entry, exit 1, once the store's receipts are tampered.
. "$(dirname "$0")/cli_test_lib.sh"
CONSENT=$WORK/consent-no start_agent
expect_ok "$IDVAULT" init --pin-file "$WORK/pin"
expect_ok "$IDVAULT" put email --value ada@example.org
make_service_key "$WORK"
expect_ok "$IDVAULT" shares
grep -q "no shares yet" "$WORK/stdout" || fail "shares before any: $(cat "$WORK/stdout")"

expect_fail 1 "^idvault: the holder did not consent: nothing shared$" \
  "$IDVAULT" authorize "$(make_link 9 email "$WORK/pub.pem" refused)" --yes --out "$WORK/bundle.json"
[ ! -e "$WORK/bundle.json" ] || fail "a bundle was written without consent"
# The agent writes the bundle into a file the CLI passed it (a temporary renamed into
# place on success): a refused share leaves a file already there as it was, and no
# temporary beside it.
printf 'keep me' >"$WORK/kept.json"
expect_fail 1 "^idvault: the holder did not consent: nothing shared$" \
  "$IDVAULT" authorize "$(make_link 9 email "$WORK/pub.pem" refused-again)" --yes --out "$WORK/kept.json"
[ "$(cat "$WORK/kept.json")" = "keep me" ] || fail "a refused share changed the file at --out"
if ls "$WORK" | grep -q '^kept\.json\.'; then fail "a temporary bundle was left: $(ls "$WORK")"; fi
if ls "$WORK" | grep -q '^bundle\.json\.'; then fail "a temporary bundle was left: $(ls "$WORK")"; fi
grep -q '"service_id":"9"' "$WORK/consent.log" || fail "the prompt was not asked: $(cat "$WORK/consent.log")"
grep -q '"summary":"Share with service \\"9\\" (key ' "$WORK/consent.log" || fail "the prompt's summary: $(cat "$WORK/consent.log")"
expect_ok "$IDVAULT" shares
grep -q "no shares yet" "$WORK/stdout" || fail "a refused share was logged: $(cat "$WORK/stdout")"

stop_agent
start_agent
expect_ok "$IDVAULT" unlock --pin-file "$WORK/pin"
for nonce in one two; do
  expect_ok "$IDVAULT" authorize "$(make_link 9 email "$WORK/pub.pem" "$nonce")" --yes --out "$WORK/bundle-$nonce.json"
done
# The CLI shows the fingerprint of the key the share is encrypted to.
KEY=$(openssl pkey -pubin -in "$WORK/pub.pem" -outform DER | sha256sum | cut -c1-64)
grep -q "^service key: SHA-256 $KEY\$" "$WORK/stdout" || fail "authorize did not show the key: $(cat "$WORK/stdout")"
# --json: the outcome alone on stdout, the bundle written by the agent into the file.
expect_ok "$IDVAULT" authorize "$(make_link 9 email "$WORK/pub.pem" three)" --yes --out "$WORK/bundle-three.json" --json
"$PY" -c '
import json, os, sys
j = json.load(open(sys.argv[1]))
assert j["service_id"] == "9" and j["nonce"] == "three" and j["out"] == sys.argv[2], j
assert j["bundle_bytes"] == os.path.getsize(sys.argv[2]) and "bundle" not in j and "delivered" not in j, j
' "$WORK/stdout" "$WORK/bundle-three.json" || fail "authorize --json: $(cat "$WORK/stdout")"
expect_ok "$IDVAULT" shares --verify --json
"$PY" -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert [s["sequence"] for s in j["shares"]] == [1, 2, 3] and j["shares"][2]["receipt"]["signed"]["nonce"] == "three", j
assert j["verified"]["valid"] is True and j["verified"]["count"] == 3, j
' "$WORK/stdout" || fail "shares --json: $(cat "$WORK/stdout")"
# The same service id with another key (a look-alike link): the CLI shows the new
# fingerprint, the agent's prompt is warned, and so is the person at the CLI.
mkdir "$WORK/other" && make_service_key "$WORK/other"
OTHER=$(openssl pkey -pubin -in "$WORK/other/pub.pem" -outform DER | sha256sum | cut -c1-64)
expect_ok "$IDVAULT" authorize "$(make_link 9 email "$WORK/other/pub.pem" swapped)" --yes --out "$WORK/bundle-swapped.json"
grep -q "^service key: SHA-256 $OTHER\$" "$WORK/stdout" || fail "authorize did not show the new key: $(cat "$WORK/stdout")"
grep -q "WARNING: service 9 used a different key before this share" "$WORK/stderr" ||
  fail "the CLI did not warn of the changed key: $(cat "$WORK/stderr")"
tail -n 1 "$WORK/consent.log" | grep -q "\"summary\":\"WARNING: service \\\\\"9\\\\\" now uses a DIFFERENT KEY (was $(echo "$KEY" | cut -c1-16), now $(echo "$OTHER" | cut -c1-16))" ||
  fail "the prompt was not warned: $(tail -n 1 "$WORK/consent.log")"
expect_ok "$IDVAULT" shares --verify
[ "$(grep -c '^#[0-9]' "$WORK/stdout")" -eq 4 ] || fail "shares lists: $(cat "$WORK/stdout")"
grep -q "^#2 .* service 9 .* email" "$WORK/stdout" || fail "shares lists: $(cat "$WORK/stdout")"
grep -q "receipt log verified: 4 share(s)" "$WORK/stdout" || fail "verify said: $(cat "$WORK/stdout")"
grep -q "^identity key sha256: [0-9a-f]\{64\}$" "$WORK/stdout" || fail "shares did not show the identity key: $(cat "$WORK/stdout")"
# The log is checked against the identity key on the token: not while locked.
expect_ok "$IDVAULT" lock
expect_fail 1 "needs the identity key on the token: run 'idvault unlock'" "$IDVAULT" shares --verify
expect_ok "$IDVAULT" unlock --pin-file "$WORK/pin"

sqlite3 "$WORK/data/vault.db" "UPDATE receipts SET receipt = replace(receipt, '\"two\"', '\"TWO\"') WHERE sequence = 2"
expect_fail 1 "receipt log broken at share #2: " "$IDVAULT" shares --verify
expect_ok "$IDVAULT" shares  # listing without --verify still works
echo "PASS"
