#!/bin/sh
# The receipt log, attestations and element errors across an account's devices (issue 17,
# "Shares work from any device"), through the real binaries on SoftHSM2 tokens: a share
# made on each of two devices while the server is down leaves two branches after both
# sync, and both devices list every share, say which device made it and verify the tree;
# an attestation added on one device and an element error on the other show on both; a
# receipt signed by a key of no device, planted in one device's store, is pushed by it
# but not kept by the other, and that device's own verify names it; recover --cloud onto
# a fresh token brings every share back and the tree verifies there, and so does one
# after a device was revoked and every note sealed again under the new vault key.
# With IDVAULT_CLOUD_BACKEND=postgresql the server keeps everything in a private
# PostgreSQL. Called as: SCRIPT IDVAULT AGENT IDVAULT_CLOUD
. "$(dirname "$0")/cli_test_lib.sh"
. "$(dirname "$0")/cloud_test_lib.sh"
if [ "${IDVAULT_CLOUD_BACKEND:-sqlite}" = postgresql ]; then use_postgresql; fi
start_cloud
LAPTOP_SOCK="$WORK/run/laptop.sock"
make_service_key "$WORK"

# shares_are SOCK CHECK: `shares --verify --json` on that device, then the Python
# expression CHECK over it as j (with `by`: nonce -> device_id, `mine`: nonces made here).
shares_are() {
  IDVAULT_SOCK="$1" expect_ok "$IDVAULT" shares --verify --json
  "$PY" -c '
import json, sys
j = json.load(open(sys.argv[1]))
by = {s["receipt"]["signed"]["nonce"]: s.get("device_id") for s in j["shares"]}
mine = sorted(s["receipt"]["signed"]["nonce"] for s in j["shares"] if s["this_device"])
assert eval(sys.argv[2]), j' "$WORK/stdout" "$2" || fail "shares on $1 ($2): $(cat "$WORK/stdout")"
}

# Device 1 (desk), syncing only when asked; an email to share, put in the account.
start_agent --no-background-sync
expect_ok "$IDVAULT" init --pin-file "$WORK/pin"
expect_ok "$IDVAULT" put email --value ada@example.org
expect_ok "$IDVAULT" authorize "$(make_link 9 email "$WORK/pub.pem" desk-1)" --yes --out "$WORK/desk-1.json"
expect_ok "$IDVAULT" cloud init "$URL" --recovery-code-file "$WORK/code" --device-name desk --json
ACCOUNT_URL=$("$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["notes"] == 1, r; print(r["account_url"])' "$WORK/stdout") ||
  fail "cloud init did not send the share made before it: $(cat "$WORK/stdout")"

# Device 2 (laptop) joins and gets the email and the desk's share.
start_device laptop --no-background-sync
join_device laptop "$ACCOUNT_URL"
shares_are "$LAPTOP_SOCK" 'by == {"desk-1": "desk"} and mine == [] and j["verified"]["heads"] == 1'

# The server goes away; each device shares on its own meanwhile.
stop_pid "$CLOUD_PID"
expect_ok "$IDVAULT" authorize "$(make_link 9 email "$WORK/pub.pem" desk-2)" --yes --out "$WORK/desk-2.json"
IDVAULT_SOCK="$LAPTOP_SOCK" expect_ok "$IDVAULT" authorize "$(make_link 9 email "$WORK/pub.pem" laptop-1)" \
  --yes --out "$WORK/laptop-1.json"
expect_fail 1 '' "$IDVAULT" sync
start_cloud "${URL#*://}"

# Both sync: every share on both devices, two branches from desk-1, each share's device.
IDVAULT_SOCK="$LAPTOP_SOCK" expect_ok "$IDVAULT" sync --json
"$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["notes_pushed"] == 1, r' "$WORK/stdout" ||
  fail "the laptop's sync: $(cat "$WORK/stdout")"
expect_ok "$IDVAULT" sync --json
"$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["notes_pulled"] == 1 and r["notes_pushed"] == 1, r' "$WORK/stdout" ||
  fail "the desk's sync: $(cat "$WORK/stdout")"
IDVAULT_SOCK="$LAPTOP_SOCK" expect_ok "$IDVAULT" sync
ALL='{"desk-1": "desk", "desk-2": "desk", "laptop-1": "laptop"}'
shares_are "$WORK/run/agent.sock" "by == $ALL and mine == ['desk-1', 'desk-2'] and j['verified']['valid'] and j['verified']['heads'] == 2 and j['verified']['count'] == 3"
shares_are "$LAPTOP_SOCK" "by == $ALL and mine == ['laptop-1'] and j['verified']['valid'] and j['verified']['heads'] == 2"
# desk-2 follows the desk's own desk-1; the laptop, with none of its own, followed the
# newest it held (desk-1 too): a fork, both branches kept.
"$PY" -c '
import json, sys
j = json.load(open(sys.argv[1]))
s = {x["receipt"]["signed"]["nonce"]: x for x in j["shares"]}
assert s["desk-1"]["previous"] == "0" * 64, s
assert s["desk-2"]["previous"] == s["desk-1"]["id"] == s["laptop-1"]["previous"], s' "$WORK/stdout" ||
  fail "the branches: $(cat "$WORK/stdout")"
expect_ok "$IDVAULT" shares --verify
grep -q "receipt log verified: 3 share(s) in 2 branch(es)" "$WORK/stdout" || fail "shares --verify: $(cat "$WORK/stdout")"
grep -q "^#[0-9]*  device laptop .* service 9" "$WORK/stdout" || fail "shares does not name the laptop: $(cat "$WORK/stdout")"
grep -q "^#[0-9]*  this device .* service 9" "$WORK/stdout" || fail "shares does not name this device: $(cat "$WORK/stdout")"

# An attestation the laptop adds (issued to its identity key by a provider's key made
# here) shows on the desk.
IDVAULT_SOCK="$LAPTOP_SOCK" expect_ok "$IDVAULT" shares --json
"$PY" - "$WORK/stdout" "$WORK/attestation.json" <<'PYEOF'
import base64, hashlib, json, sys, time
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
holder = json.load(open(sys.argv[1]))["identity_key_sha256"]
key = ec.generate_private_key(ec.SECP256R1())
spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
now = int(time.time())
signed = {"v": 1, "element_type": "email", "value_sha256": hashlib.sha256(b"ada@example.org").hexdigest(),
          "holder_key_sha256": holder, "level": "basic", "issued_at": now, "expires_at": now + 86400}
canonical = json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
r, s = decode_dss_signature(key.sign(canonical, ec.ECDSA(hashes.SHA256())))
json.dump({"element_type": "email", "alg": "ES256", "public_key": base64.b64encode(spki).decode(),
           "signed": signed, "signature": base64.b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).decode()},
          open(sys.argv[2], "w"))
PYEOF
IDVAULT_SOCK="$LAPTOP_SOCK" expect_ok "$IDVAULT" attestation add "$WORK/attestation.json"
IDVAULT_SOCK="$LAPTOP_SOCK" expect_ok "$IDVAULT" sync
expect_ok "$IDVAULT" sync
expect_ok "$IDVAULT" attestation list --json
"$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); a=json.load(open(sys.argv[2])); assert j == [a], j' \
  "$WORK/stdout" "$WORK/attestation.json" || fail "the laptop's attestation on the desk: $(cat "$WORK/stdout")"

# The service reports an error about the laptop's share; the desk takes it (it holds
# that share's receipt now) and the laptop shows it after syncing.
"$PY" - "$WORK/laptop-1.json" "$WORK/key.pem" "$WORK/errors.json" <<'PYEOF'
import base64, json, sys, time
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
bundle = json.load(open(sys.argv[1]))
key = serialization.load_pem_private_key(open(sys.argv[2], "rb").read(), None)
spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
receipt = bundle["receipt"]["signed"]
signed = {"v": 1, "nonce": receipt["nonce"], "credentials_hash": receipt["credentials_hash"], "time": int(time.time()),
          "errors": [{"source": "unspecified", "type": "email", "element_hash": receipt["elements"]["email"],
                      "message": "Address bounced"}]}
canonical = json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
signature = key.sign(canonical, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
json.dump({"alg": "PS256", "public_key": base64.b64encode(spki).decode(), "signed": signed,
           "signature": base64.b64encode(signature).decode()}, open(sys.argv[3], "w"))
PYEOF
expect_ok "$IDVAULT" errors add "$WORK/errors.json"
expect_ok "$IDVAULT" sync
IDVAULT_SOCK="$LAPTOP_SOCK" expect_ok "$IDVAULT" sync
IDVAULT_SOCK="$LAPTOP_SOCK" expect_ok "$IDVAULT" list
grep -q "Address bounced" "$WORK/stdout" || fail "the desk's element error on the laptop: $(cat "$WORK/stdout")"

# A receipt signed by a key of no device, planted in the desk's store, following a real
# one: the desk's verify names it, the desk pushes it (it pushes what it holds), and the
# laptop refuses it, saying why, and still verifies.
"$PY" - "$WORK/data/vault.db" <<'PYEOF'
import base64, hashlib, json, sqlite3, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
db = sqlite3.connect(sys.argv[1])
previous = db.execute("SELECT entry_hash FROM receipts ORDER BY sequence LIMIT 1").fetchone()[0].decode()
key = ec.generate_private_key(ec.SECP256R1())
spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
signed = {"v": 1, "service_id": "9", "service_key_sha256": "a" * 64, "nonce": "planted",
          "credentials_hash": "Y3JlZA==", "elements": {"email": "aGFzaA=="}, "time": 1700000000, "previous": previous}
canonical = json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
r, s = decode_dss_signature(key.sign(canonical, ec.ECDSA(hashes.SHA256())))
signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
entry = hashlib.sha256(previous.encode() + canonical + signature).hexdigest()
receipt = {"alg": "ES256", "public_key": base64.b64encode(spki).decode(), "signed": signed,
           "signature": base64.b64encode(signature).decode()}
db.execute("INSERT INTO receipts(receipt, previous_hash, entry_hash) VALUES (?, ?, ?)",
           (json.dumps(receipt), previous.encode(), entry.encode()))
db.commit()
PYEOF
expect_fail 1 "receipt log broken at share #[0-9]*: signed by a key that is neither this vault's identity key nor a device key of the account" \
  "$IDVAULT" shares --verify
expect_ok "$IDVAULT" sync
IDVAULT_SOCK="$LAPTOP_SOCK" expect_ok "$IDVAULT" sync --json
"$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["notes_refused"] == 1 and r["notes_pulled"] == 0, r' "$WORK/stdout" ||
  fail "the laptop took the planted receipt: $(cat "$WORK/stdout")"
grep -q "not keeping receipt\.[0-9a-f]*: signed by a key that is neither" "$WORK/laptop.err" ||
  fail "the laptop did not say why: $(tail -n 5 "$WORK/laptop.err")"
shares_are "$LAPTOP_SOCK" "by == $ALL and j['verified']['valid']"

# A fresh token with the recovery code alone: every share of the account is back and
# verifies (the planted one is refused there too), each naming its device.
start_device fresh --no-background-sync
IDVAULT_SOCK="$WORK/run/fresh.sock" expect_ok "$IDVAULT" recover --cloud "$ACCOUNT_URL" \
  --recovery-code-file "$WORK/code" --pin-file "$WORK/pin" --device-name fresh
grep -q "not keeping receipt\.[0-9a-f]*: signed by a key that is neither" "$WORK/fresh.err" ||
  fail "the recovered device did not refuse the planted receipt: $(tail -n 5 "$WORK/fresh.err")"
shares_are "$WORK/run/fresh.sock" "by == $ALL and mine == [] and j['verified']['valid'] and j['verified']['heads'] == 2"
IDVAULT_SOCK="$WORK/run/fresh.sock" expect_ok "$IDVAULT" attestation list --json
"$PY" -c 'import json,sys; assert len(json.load(open(sys.argv[1]))) == 1' "$WORK/stdout" ||
  fail "the attestation after recovery: $(cat "$WORK/stdout")"
# Its own first share follows the newest receipt it holds, and the tree still verifies.
IDVAULT_SOCK="$WORK/run/fresh.sock" expect_ok "$IDVAULT" authorize "$(make_link 9 email "$WORK/pub.pem" fresh-1)" \
  --yes --out "$WORK/fresh-1.json"
shares_are "$WORK/run/fresh.sock" "mine == ['fresh-1'] and j['verified']['valid'] and j['verified']['count'] == 4"
IDVAULT_SOCK="$WORK/run/fresh.sock" expect_ok "$IDVAULT" sync

# The desk revokes the laptop: a new vault key, and every note the desk holds sealed
# again under it (the planted receipt too). fresh-1, which only the fresh device holds,
# is sealed again by it when it follows the rotation. A device recovered after that gets
# every share, still naming the revoked laptop's, and the attestation.
expect_ok "$IDVAULT" devices revoke laptop --json
"$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["items"] == 7, r' "$WORK/stdout" ||
  fail "devices revoke did not seal the notes again: $(cat "$WORK/stdout")"
IDVAULT_SOCK="$WORK/run/fresh.sock" expect_ok "$IDVAULT" sync --json
"$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["notes_pushed"] >= 1, r' "$WORK/stdout" ||
  fail "the fresh device did not seal its notes again: $(cat "$WORK/stdout")"
start_device later --no-background-sync
IDVAULT_SOCK="$WORK/run/later.sock" expect_ok "$IDVAULT" recover --cloud "$ACCOUNT_URL" \
  --recovery-code-file "$WORK/code" --pin-file "$WORK/pin" --device-name later
shares_are "$WORK/run/later.sock" "by == dict($ALL, **{'fresh-1': 'fresh'}) and j['verified']['valid'] and j['verified']['heads'] == 2"
IDVAULT_SOCK="$WORK/run/later.sock" expect_ok "$IDVAULT" attestation list --json
"$PY" -c 'import json,sys; assert len(json.load(open(sys.argv[1]))) == 1' "$WORK/stdout" ||
  fail "the attestation after the key rotation: $(cat "$WORK/stdout")"
if grep -q "does not open" "$WORK/later.err"; then fail "a note was left under the old key: $(cat "$WORK/later.err")"; fi
echo "cli cloud receipts: ok"
