#!/bin/sh
# Two devices and an idvault-cloud server on loopback, through the real binaries on two
# SoftHSM2 tokens (issue 17): a vault put in an account (recovery code to a file), a new
# device joining with the digits both show, documents and scans appearing on the other
# device in both directions, two offline edits of one element merged field by field
# with the clashing field kept as a conflict until resolved, and the server's files
# holding none of the plaintext.
# With IDVAULT_CLOUD_BACKEND=postgresql the server keeps everything in a private
# PostgreSQL (tests/support/postgres_server.py) and its dump is what is searched.
# Called as: SCRIPT IDVAULT AGENT IDVAULT_CLOUD
. "$(dirname "$0")/cli_test_lib.sh"
. "$(dirname "$0")/cloud_test_lib.sh"
BACKEND=${IDVAULT_CLOUD_BACKEND:-sqlite}

# The server, on a port of its own choosing.
[ "$BACKEND" != postgresql ] || use_postgresql
start_cloud

# Device 1 (desk): a vault with documents, then put in the account. Both agents sync
# only when asked, so the edits below are offline edits (background sync:
# cli_cloud_background_sync.sh).
start_agent --no-background-sync
expect_ok "$IDVAULT" init --pin-file "$WORK/pin"
# A new vault has its vault key from init: VK sealed to the token's slot key (256 bytes
# of RSA-OAEP), no master key.
setting() { sqlite3 "$WORK/data/vault.db" "SELECT $2 FROM settings WHERE name = '$1'"; }
[ "$(setting key_hierarchy 'CAST(value AS TEXT)')" = vault_key ] || fail "init made no vault key"
[ "$(setting vault_key_slot 'length(value)')" = 256 ] || fail "the vault key slot: $(setting vault_key_slot 'hex(value)')"
[ -z "$(setting master_key_uri name)" ] || fail "init still made a master key"
make_scan "$WORK/in/front.jpg" 40000
make_scan "$WORK/in/selfie.jpg" 25000
expect_ok "$IDVAULT" put personal_details --field first_name=Ada --field last_name=Lovelace \
  --field birth_date=10.12.1815 --field gender=female --field country_code=GB --field residence_country_code=GB
expect_ok "$IDVAULT" put passport --field document_no=PX-SECRET-42 --field expiry_date=1.1.2030 \
  --front-side "$WORK/in/front.jpg" --selfie "$WORK/in/selfie.jpg"
expect_ok "$IDVAULT" put phone_number --value +441234567890

expect_fail 2 'no terminal to show the recovery code on' "$IDVAULT" cloud init "$URL" </dev/null
expect_ok "$IDVAULT" cloud init "$URL" --recovery-code-file "$WORK/code" --device-name desk --json
ACCOUNT_URL=$("$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["elements"] == 3 and r["secrets_rewrapped"] == 0, r; print(r["account_url"])' "$WORK/stdout") ||
  fail "cloud init printed: $(cat "$WORK/stdout")"
grep -q 'cloud: the vault has its vault key since init: nothing re-wrapped' "$WORK/agent.err" ||
  fail "the agent did not say cloud init re-wrapped nothing: $(tail -n 5 "$WORK/agent.err")"
[ "$(stat -c %a "$WORK/code")" = 600 ] || fail "the recovery code file is not 0600"
grep -Eq '^([0-9A-Z]{5}-){7}[0-9A-Z]{5}$' "$WORK/code" || fail "the recovery code file holds: $(cat "$WORK/code")"
expect_fail 2 'exists' "$IDVAULT" cloud init "$URL" --recovery-code-file "$WORK/code"
expect_fail 1 'already in the cloud account' "$IDVAULT" cloud init "$URL" --recovery-code-file "$WORK/code2"

# Device 2 (laptop): its own token and store, no vault; asks to join and waits.
start_device laptop --no-background-sync
LAPTOP_SOCK="$WORK/run/laptop.sock"
IDVAULT_SOCK="$LAPTOP_SOCK" "$IDVAULT" cloud join "$ACCOUNT_URL" --pin-file "$WORK/pin" --device-name laptop \
  >"$WORK/join.out" 2>"$WORK/join.err" &
JOIN_PID=$!
i=0
while ! grep -q 'this device shows' "$WORK/join.out"; do
  i=$((i + 1))
  [ "$i" -lt 100 ] || fail "cloud join did not ask: $(cat "$WORK/join.err")"
  kill -0 "$JOIN_PID" 2>/dev/null || fail "cloud join ended: $(cat "$WORK/join.err")"
  sleep 0.1
done
CODE=$(sed -n 's/^this device shows: //p' "$WORK/join.out")

# The desk lists the request with the same digits, computed on its own, and approves it.
expect_ok "$IDVAULT" devices --json
REQUEST=$("$PY" -c '
import json, sys
r = json.load(open(sys.argv[1]))
reqs = [q for q in r["requests"] if q["device_id"] == "laptop"]
assert len(reqs) == 1 and reqs[0]["code"] == sys.argv[2], (r, sys.argv[2])
print(reqs[0]["id"])' "$WORK/stdout" "$CODE") || fail "devices did not list the laptop with $CODE: $(cat "$WORK/stdout")"
expect_fail 1 'no pending join request' "$IDVAULT" devices approve 0123456789abcdef0123456789abcdef
expect_ok "$IDVAULT" devices approve "$REQUEST"
wait "$JOIN_PID" || fail "cloud join failed: $(cat "$WORK/join.err")"
grep -q 'joined: 3 elements' "$WORK/join.out" || fail "cloud join said: $(cat "$WORK/join.out")"

# What the desk stored is on the laptop, byte for byte.
IDVAULT_SOCK="$LAPTOP_SOCK" expect_ok "$IDVAULT" get passport --files-dir "$WORK/out"
cmp -s "$WORK/in/front.jpg" "$WORK/out/front_side.jpg" || fail "the front side differs on the laptop"
cmp -s "$WORK/in/selfie.jpg" "$WORK/out/selfie.jpg" || fail "the selfie differs on the laptop"
grep -q 'PX-SECRET-42' "$WORK/stdout" || fail "the passport's data on the laptop: $(cat "$WORK/stdout")"
IDVAULT_SOCK="$LAPTOP_SOCK" expect_ok "$IDVAULT" get phone_number
grep -q '441234567890' "$WORK/stdout" || fail "the phone number on the laptop: $(cat "$WORK/stdout")"
expect_ok "$IDVAULT" devices --json
"$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert sorted(d["id"] for d in r["devices"]) == ["desk","laptop"] and r["requests"] == [], r' \
  "$WORK/stdout" || fail "devices after approval: $(cat "$WORK/stdout")"

# The other direction: a put on the laptop reaches the desk, with its scan.
make_scan "$WORK/in/bill.jpg" 30000
IDVAULT_SOCK="$LAPTOP_SOCK" expect_ok "$IDVAULT" put utility_bill --file "$WORK/in/bill.jpg"
IDVAULT_SOCK="$LAPTOP_SOCK" expect_ok "$IDVAULT" sync
expect_ok "$IDVAULT" sync
grep -q 'received 1' "$WORK/stdout" || fail "the desk's sync said: $(cat "$WORK/stdout")"
mkdir -p "$WORK/out2"
expect_ok "$IDVAULT" get utility_bill --files-dir "$WORK/out2"
cmp -s "$WORK/in/bill.jpg" "$WORK/out2/files-0.jpg" || fail "the bill differs on the desk"

# Both edit personal_details offline: first_name clashes, last_name only on the laptop,
# gender only on the desk. After both sync, each keeps what only it changed, and the
# clash is a conflict on the device that merged it.
expect_ok "$IDVAULT" put personal_details --field first_name=Adele --field last_name=Lovelace \
  --field birth_date=10.12.1815 --field gender=male --field country_code=GB --field residence_country_code=GB
IDVAULT_SOCK="$LAPTOP_SOCK" expect_ok "$IDVAULT" put personal_details --field first_name=Augusta \
  --field last_name=King --field birth_date=10.12.1815 --field gender=female --field country_code=GB \
  --field residence_country_code=GB
expect_ok "$IDVAULT" sync
IDVAULT_SOCK="$LAPTOP_SOCK" expect_ok "$IDVAULT" sync
grep -q 'conflicts 1' "$WORK/stdout" || fail "the laptop's merge said: $(cat "$WORK/stdout")"
IDVAULT_SOCK="$LAPTOP_SOCK" expect_ok "$IDVAULT" list
grep -q 'conflict: data.first_name: here "Augusta", other device "Adele"' "$WORK/stdout" ||
  fail "list on the laptop does not show the conflict: $(cat "$WORK/stdout")"
IDVAULT_SOCK="$LAPTOP_SOCK" expect_ok "$IDVAULT" get personal_details --json
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1]))["data"]; assert (d["first_name"], d["last_name"], d["gender"]) == ("Augusta","King","male"), d' \
  "$WORK/stdout" || fail "the merge on the laptop: $(cat "$WORK/stdout")"
expect_fail 2 'take local or --take remote' "$IDVAULT" resolve personal_details
IDVAULT_SOCK="$LAPTOP_SOCK" expect_ok "$IDVAULT" resolve personal_details --take remote
expect_ok "$IDVAULT" sync
expect_ok "$IDVAULT" get personal_details --json
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1]))["data"]; assert (d["first_name"], d["last_name"], d["gender"]) == ("Adele","King","male"), d' \
  "$WORK/stdout" || fail "the desk after the laptop resolved: $(cat "$WORK/stdout")"
expect_ok "$IDVAULT" list
if grep -q conflict "$WORK/stdout"; then fail "a settled conflict still shows on the desk: $(cat "$WORK/stdout")"; fi

# The server holds ciphertext only: no value, no scan, no recovery code, searched in its
# files or in a dump of its database (bytea dumps as hex, so each needle in hex too).
if [ "$BACKEND" = postgresql ]; then
  mkdir -p "$WORK/cloud/data"
  /usr/lib/postgresql/15/bin/pg_dump -d "$(cat "$WORK/pg.uri")" -f "$WORK/cloud/data/dump.sql" ||
    fail "pg_dump failed"
  [ -s "$WORK/cloud/data/dump.sql" ] || fail "the dump is empty"
fi
"$PY" - "$WORK/cloud/data" "$WORK/in/front.jpg" "$WORK/in/bill.jpg" "$WORK/code" <<'PYEOF' || fail "the server holds plaintext"
import os, sys
root, scans, code = sys.argv[1], sys.argv[2:4], open(sys.argv[4], "rb").read().strip()
needles = [b"PX-SECRET-42", b"Lovelace", b"Augusta", b"441234567890", code]
needles += [open(s, "rb").read()[1000:1064] for s in scans]
needles += [n.hex().encode() for n in list(needles)]
found = 0
for folder, _, files in os.walk(root):
    for name in files:
        data = open(os.path.join(folder, name), "rb").read()
        for n in needles:
            if n in data or n.lower() in data.lower():
                print("found %r in %s" % (n[:20], name))
                found += 1
sys.exit(1 if found else 0)
PYEOF
# A third device joins; then the desk revokes the laptop. The server refuses the laptop
# from then on; the phone follows the new vault key at its next sync and still opens
# every element; what the phone puts reaches the desk under the new key.
start_device phone --no-background-sync
PHONE_SOCK="$WORK/run/phone.sock"
IDVAULT_SOCK="$PHONE_SOCK" expect_ok "$IDVAULT" cloud join "$ACCOUNT_URL" --pin-file "$WORK/pin" \
  --device-name phone --no-wait --json
expect_ok "$IDVAULT" devices --json
REQUEST=$(request_of phone "$WORK/stdout") ||
  fail "no request from the phone: $(cat "$WORK/stdout")"
expect_ok "$IDVAULT" devices approve "$REQUEST"
IDVAULT_SOCK="$PHONE_SOCK" expect_ok "$IDVAULT" cloud join "$ACCOUNT_URL" --pin-file "$WORK/pin" --device-name phone
grep -q 'joined' "$WORK/stdout" || fail "the phone's join said: $(cat "$WORK/stdout")"

expect_fail 1 'does not revoke itself' "$IDVAULT" devices revoke desk
expect_ok "$IDVAULT" devices revoke laptop --json
"$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["vk_generation"] == 2 and r["items"] >= 4, r' \
  "$WORK/stdout" || fail "devices revoke printed: $(cat "$WORK/stdout")"
IDVAULT_SOCK="$LAPTOP_SOCK" expect_fail 1 '403' "$IDVAULT" sync
IDVAULT_SOCK="$PHONE_SOCK" expect_ok "$IDVAULT" sync
rm -rf "$WORK/out3" && mkdir -p "$WORK/out3"
IDVAULT_SOCK="$PHONE_SOCK" expect_ok "$IDVAULT" get passport --files-dir "$WORK/out3"
cmp -s "$WORK/in/front.jpg" "$WORK/out3/front_side.jpg" || fail "the phone lost the front side after the rotation"
IDVAULT_SOCK="$PHONE_SOCK" expect_ok "$IDVAULT" lock
IDVAULT_SOCK="$PHONE_SOCK" expect_ok "$IDVAULT" unlock --pin-file "$WORK/pin"
IDVAULT_SOCK="$PHONE_SOCK" expect_ok "$IDVAULT" put email --value phone@example.org
IDVAULT_SOCK="$PHONE_SOCK" expect_ok "$IDVAULT" sync
expect_ok "$IDVAULT" sync
expect_ok "$IDVAULT" get email
grep -q 'phone@example.org' "$WORK/stdout" || fail "the phone's put after the rotation: $(cat "$WORK/stdout")"
expect_ok "$IDVAULT" devices --json
"$PY" -c 'import json,sys; d={x["id"]: x["revoked"] for x in json.load(open(sys.argv[1]))["devices"]}; assert d == {"desk": False, "phone": False, "laptop": True}, d' \
  "$WORK/stdout" || fail "devices after the revocation: $(cat "$WORK/stdout")"
echo "cli cloud two devices: ok"
