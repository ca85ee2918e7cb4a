#!/bin/sh
# Services see the account, not the device (issue 17; design.md, "Holder identity towards
# services"), through the real binaries on SoftHSM2 tokens: the desk, in a cloud account,
# shares with a verification provider, whose `idvault-verifier attest` binds the
# attestations to the account id; a laptop joins later, and a share it makes carries the
# account's log as proof and the desk's attestation, which `idvault-rp decrypt` reports
# valid. A share whose proof is stripped, names another account, carries an altered entry
# or does not enrol the signing key is refused with its reason (or, stripped, falls back to
# the per-device rule); an attestation issued to the desk's key before the cloud is not
# the laptop's to add; after the desk revokes the laptop, the laptop's share with the
# account's log as it now stands is refused, and so, by `idvault-rp serve` once it has seen
# that log, is the laptop's share with the older log it last saw; python-telegram-bot
# still reads a share that carries a proof.
# Called as: SCRIPT IDVAULT AGENT IDVAULT_CLOUD IDVAULT_RP IDVAULT_VERIFIER
. "$(dirname "$0")/cli_test_lib.sh"
. "$(dirname "$0")/cloud_test_lib.sh"
RP=$4
VERIFIER=$5
INTEROP=$HERE/../../interop

start_cloud

# The provider (decryption and attestation keys) and the service, each on its own token.
for party in provider service; do
  softhsm2-util --init-token --free --label "$party" --pin "$PIN" --so-pin 5678 >/dev/null
done
expect_ok "$RP" keygen --module "$MODULE" --token pkcs11:token=provider --label inbox --pin-file "$WORK/pin"
cp "$WORK/stdout" "$WORK/provider-inbox.pem"
expect_ok "$VERIFIER" keygen --module "$MODULE" --token pkcs11:token=provider --label sign --pin-file "$WORK/pin"
cp "$WORK/stdout" "$WORK/provider-sign.pem"
expect_ok "$RP" keygen --module "$MODULE" --token pkcs11:token=service --label rp --pin-file "$WORK/pin"
SERVICE_KEY="pkcs11:token=service;object=rp"

# The desk: a vault with documents, put in an account.
start_agent --no-background-sync
expect_ok "$IDVAULT" init --pin-file "$WORK/pin"
make_scan "$WORK/in/front.jpg" 30000
expect_ok "$IDVAULT" put personal_details --field first_name=Ada --field last_name=Lovelace \
  --field birth_date=10.12.1815 --field gender=female --field country_code=GB --field residence_country_code=GB
expect_ok "$IDVAULT" put passport --field document_no=PX-42 --field expiry_date=1.1.2030 --front-side "$WORK/in/front.jpg"

# rp_request KEY_URI NONCE SERVICE_ID: a request link for personal_details and passport.
rp_request() {
  expect_ok "$RP" request --key "$1" --module "$MODULE" \
    --scope '{"data":["personal_details","passport"],"v":1}' --nonce "$2" --service-id "$3"
  cat "$WORK/stdout"
}

# Before the cloud: a share without a proof, attested to the desk's own key.
LINK=$(rp_request "pkcs11:token=provider;object=inbox" check-0 900)
expect_ok "$IDVAULT" authorize "$LINK" --yes --out "$WORK/before-cloud.json"
grep -q '"account"' "$WORK/before-cloud.json" && fail "a share of a vault in no account carries a proof"
expect_ok "$VERIFIER" attest --module "$MODULE" --decrypt-key "pkcs11:token=provider;object=inbox" \
  --sign-key "pkcs11:token=provider;object=sign" --pin-file "$WORK/pin" --nonce check-0 "$WORK/before-cloud.json"
cp "$WORK/stdout" "$WORK/desk-key-attestations.json"

expect_ok "$IDVAULT" cloud init "$URL" --recovery-code-file "$WORK/code" --device-name desk --json
ACCOUNT_URL=$(account_url_of "$WORK/stdout")
ACCOUNT=${ACCOUNT_URL##*/}

# The desk shares with the provider; the bundle carries the account's proof.
LINK=$(rp_request "pkcs11:token=provider;object=inbox" check-1 900)
expect_ok "$IDVAULT" authorize "$LINK" --yes --out "$WORK/to-provider.json"
"$PY" - "$WORK/to-provider.json" "$ACCOUNT" <<'PYEOF' || fail "the desk's share has no proof of the account"
import json, sys
b = json.load(open(sys.argv[1]))
assert b["account"]["id"] == sys.argv[2], b.get("account")
assert len(b["account"]["log"]) == 1, b["account"]  # the genesis, this device's
assert list(b)[:3] == ["passport_data", "files", "receipt"], list(b)
PYEOF
expect_ok "$VERIFIER" attest --module "$MODULE" --decrypt-key "pkcs11:token=provider;object=inbox" \
  --sign-key "pkcs11:token=provider;object=sign" --pin-file "$WORK/pin" --nonce check-1 "$WORK/to-provider.json"
cp "$WORK/stdout" "$WORK/attestations.json"
"$PY" -c '
import json, sys
a = json.load(open(sys.argv[1]))
assert sorted(x["element_type"] for x in a) == ["passport", "personal_details"], a
assert all(x["signed"]["holder_key_sha256"] == sys.argv[2] for x in a), a' "$WORK/attestations.json" "$ACCOUNT" ||
  fail "the attestations are not issued to the account: $(cat "$WORK/attestations.json")"
expect_ok "$IDVAULT" attestation add "$WORK/attestations.json"

# The laptop joins after the attestations were issued.
start_device laptop --no-background-sync
join_device laptop "$ACCOUNT_URL"
# One issued to the desk's key alone is not the laptop's; the account's are.
expect_fail 1 "attestation: issued to neither this account nor this device's key" \
  device laptop attestation add "$WORK/desk-key-attestations.json"
# The holder carries the account's attestations to the laptop (sync may have already).
expect_ok device laptop attestation list --json
grep -q passport "$WORK/stdout" || expect_ok device laptop attestation add "$WORK/attestations.json"

# A share made on the laptop: its proof enrols the laptop, and the desk's attestations hold.
LINK=$(rp_request "$SERVICE_KEY" order-1 4242)
expect_ok device laptop authorize "$LINK" --yes --out "$WORK/from-laptop.json"
"$PY" -c '
import json, sys
b = json.load(open(sys.argv[1]))
assert b["account"]["id"] == sys.argv[2] and len(b["account"]["log"]) == 2, b["account"]
assert len(b["attestations"]) == 2, b["attestations"]' "$WORK/from-laptop.json" "$ACCOUNT" ||
  fail "the laptop's share: $(head -c 600 "$WORK/from-laptop.json")"

# rp_decrypt BUNDLE: idvault-rp decrypt for order-1, trusting the provider.
rp_decrypt() {
  "$RP" decrypt --module "$MODULE" --key "$SERVICE_KEY" --pin-file "$WORK/pin" --nonce order-1 \
    --trust-verifier "$WORK/provider-sign.pem" "$1"
}
expect_ok rp_decrypt "$WORK/from-laptop.json"
"$PY" -c '
import json, sys
r = json.loads(open(sys.argv[1]).readline())
assert r["receipt"]["valid"], r["receipt"]
assert r["receipt"]["account"] == {"id": sys.argv[2], "device_id": "laptop", "log_entries": 2}, r["receipt"]
assert len(r["attestations"]) == 2 and all(a["valid"] for a in r["attestations"]), r["attestations"]' \
  "$WORK/stdout" "$ACCOUNT" || fail "idvault-rp decrypt of the laptop's share: $(cat "$WORK/stdout")"

# edit_bundle IN OUT PYTHON: OUT is IN with the Python statement run on it as b.
edit_bundle() {
  "$PY" -c '
import json, sys
b = json.load(open(sys.argv[1]))
provider = json.load(open(sys.argv[4]))
exec(sys.argv[3])
json.dump(b, open(sys.argv[2], "w"))' "$1" "$2" "$3" "$WORK/to-provider.json"
}

# Without its proof the share is the laptop's alone: accepted, the account's attestations not.
edit_bundle "$WORK/from-laptop.json" "$WORK/stripped.json" 'del b["account"]'
expect_ok rp_decrypt "$WORK/stripped.json"
"$PY" -c '
import json, sys
r = json.loads(open(sys.argv[1]).readline())
assert "account" not in r["receipt"], r["receipt"]
assert r["attestations"] and all(not a["valid"] and a["reason"] == "issued to another holder" for a in r["attestations"]), r' \
  "$WORK/stdout" || fail "the stripped share: $(cat "$WORK/stdout")"

# A proof that names another account, carries an altered entry, or does not enrol the key.
edit_bundle "$WORK/from-laptop.json" "$WORK/other-id.json" 'b["account"]["id"] = "0" * 64'
expect_fail 1 'account: account log entry 0: the genesis hash is not the account id' rp_decrypt "$WORK/other-id.json"
edit_bundle "$WORK/from-laptop.json" "$WORK/altered.json" \
  'b["account"]["log"][1] = b["account"]["log"][1].replace("\"laptop\"", "\"lapto0\"")'
expect_fail 1 'account: account log entry 1: ' rp_decrypt "$WORK/altered.json"
edit_bundle "$WORK/from-laptop.json" "$WORK/desk-proof.json" 'b["account"] = provider["account"]'
expect_fail 1 "account: the receipt's key is no device the account's log enrols" rp_decrypt "$WORK/desk-proof.json"
edit_bundle "$WORK/from-laptop.json" "$WORK/bad-shape.json" 'b["account"]["log"] = []'
expect_fail 1 'account.log' rp_decrypt "$WORK/bad-shape.json"

# python-telegram-bot reads a share that carries the proof, as it reads any other.
if "$PY" -c 'import telegram, cryptography' 2>/dev/null; then
  make_service_key "$WORK"
  LINK=$(make_link 77 '{"data":["personal_details","passport"],"v":1}' "$WORK/pub.pem" ptb-1)
  expect_ok device laptop authorize "$LINK" --yes --out "$WORK/ptb-bundle.json"
  grep -q '"account"' "$WORK/ptb-bundle.json" || fail "the share for python-telegram-bot carries no proof"
  expect_ok device laptop get personal_details
  cp "$WORK/stdout" "$WORK/personal_details.json"
  expect_ok device laptop get passport
  cp "$WORK/stdout" "$WORK/passport.json"
  mkdir -p "$WORK/plain"
  cp "$WORK/in/front.jpg" "$WORK/plain/front.jpg"
  "$PY" -c '
import json, sys
data = lambda f: json.load(open(f))
print(json.dumps({"nonce": "ptb-1", "elements": {
    "personal_details": {"data": data(sys.argv[1]), "files": {}},
    "passport": {"data": data(sys.argv[2]), "files": {"front_side": "front.jpg"}}}}))' \
    "$WORK/personal_details.json" "$WORK/passport.json" >"$WORK/expected.json"
  "$PY" "$HERE/bundle_to_ptb.py" "$WORK/ptb-bundle.json" "$WORK/key.pem" "$WORK/expected.json" \
    "$WORK/plain" "$WORK/ptb"
  "$PY" "$INTEROP/ptb_decrypt.py" "$WORK/ptb" || fail "python-telegram-bot did not read the share with a proof"
else
  echo "note: /usr/bin/python3 has no python-telegram-bot; its part skipped"
fi

# The desk revokes the laptop. The account's log as it now stands (in any share the desk
# makes) shows the revocation: the laptop's later share with it is refused.
expect_ok "$IDVAULT" devices revoke laptop
LINK=$(rp_request "$SERVICE_KEY" order-2 4242)
expect_ok "$IDVAULT" authorize "$LINK" --yes --out "$WORK/desk-after.json"
"$PY" -c '
import json, sys
b = json.load(open(sys.argv[1]))
assert len(b["account"]["log"]) == 4, b["account"]  # genesis, device-add, device-revoke, key-rotate' \
  "$WORK/desk-after.json" || fail "the desk's share after the revocation: $(head -c 600 "$WORK/desk-after.json")"
LINK=$(rp_request "$SERVICE_KEY" order-1 4242)
expect_ok device laptop authorize "$LINK" --yes --out "$WORK/laptop-after.json"
"$PY" -c '
import json, sys
b, now = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
b["account"] = now["account"]
json.dump(b, open(sys.argv[3], "w"))' "$WORK/laptop-after.json" "$WORK/desk-after.json" "$WORK/laptop-revoked.json"
expect_fail 1 "account: the receipt's key is device \"laptop\", revoked at log entry 2" \
  rp_decrypt "$WORK/laptop-revoked.json"
# The desk's own share with the same log is accepted.
"$RP" decrypt --module "$MODULE" --key "$SERVICE_KEY" --pin-file "$WORK/pin" --nonce order-2 \
  --trust-verifier "$WORK/provider-sign.pem" "$WORK/desk-after.json" >"$WORK/stdout" 2>"$WORK/stderr" ||
  fail "the desk's share after the revocation: $(cat "$WORK/stderr")"
"$PY" -c '
import json, sys
r = json.loads(open(sys.argv[1]).readline())
assert r["receipt"]["account"]["device_id"] == "desk", r["receipt"]
assert all(a["valid"] for a in r["attestations"]), r["attestations"]' "$WORK/stdout" ||
  fail "the desk's share after the revocation: $(cat "$WORK/stdout")"

# `idvault-rp serve` keeps each account's longest verified log: once it has seen the desk's
# share carrying the revocation, the laptop's later share with the log it last saw (it
# never learns of its revocation) is refused, which `idvault-rp decrypt` cannot tell.
"$RP" serve --listen 127.0.0.1:0 --module "$MODULE" --key "$SERVICE_KEY" --pin-file "$WORK/pin" \
  --db "$WORK/rp.db" --scope personal_details,passport --service-id 4242 \
  >"$WORK/serve.out" 2>"$WORK/serve.err" &
OTHER_PIDS="$OTHER_PIDS $!"
i=0
until grep -q 'listening on ' "$WORK/serve.out"; do
  i=$((i + 1)); [ "$i" -lt 300 ] || fail "idvault-rp serve did not start: $(cat "$WORK/serve.err")"
  sleep 0.1
done
SERVE=$(sed -n 's/^idvault-rp serve: listening on //p' "$WORK/serve.out")
# serve_share DEVICE_COMMAND OUT: a share made on a link the service issued, posted to it;
# prints the HTTP status, the answer in OUT.
serve_share() {
  curl -sf "$SERVE/request" >"$WORK/request.json" || fail "GET /request failed"
  link=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["link"])' "$WORK/request.json")
  $1 authorize "$link" --yes --out "$WORK/serve-bundle.json" >/dev/null 2>"$WORK/stderr" ||
    fail "authorize for serve: $(cat "$WORK/stderr")"
  curl -s -o "$2" -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary @"$WORK/serve-bundle.json" "$SERVE/callback"
}
[ "$(serve_share "$IDVAULT" "$WORK/serve-desk.json")" = 200 ] ||
  fail "serve refused the desk's share: $(cat "$WORK/serve-desk.json")"
[ "$(serve_share "device laptop" "$WORK/serve-laptop.json")" = 400 ] ||
  fail "serve took the revoked laptop's share: $(cat "$WORK/serve-laptop.json")"
grep -q "account: the receipt's key is device \\\\\"laptop\\\\\", revoked at log entry 2" \
  "$WORK/serve-laptop.json" || fail "serve's refusal of the laptop: $(cat "$WORK/serve-laptop.json")"
echo "PASS"
