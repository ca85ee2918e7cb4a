#!/bin/sh
# Recovery without any old device (issue 17): a vault put in an account on idvault-cloud,
# then a brand-new token, store and agent that have nothing but the server and the
# recovery code run 'recover --cloud' and get every element back byte for byte, as an
# enrolled device of the account. A wrong code, a typo'd one and an agent that already
# has a vault are refused, and the refusals change nothing on the server.
# Called as: SCRIPT IDVAULT AGENT IDVAULT_CLOUD
. "$(dirname "$0")/cli_test_lib.sh"
. "$(dirname "$0")/cloud_test_lib.sh"

start_cloud

# The desk: documents with scans, put in an account, the code written to a file.
start_agent
expect_ok "$IDVAULT" init --pin-file "$WORK/pin"
make_scan "$WORK/in/front.jpg" 40000
make_scan "$WORK/in/selfie.jpg" 25000
make_scan "$WORK/in/bill.jpg" 30000
expect_ok "$IDVAULT" put personal_details --field first_name=Ada --field last_name=Lovelace \
  --field birth_date=10.12.1815 --field gender=female --field country_code=GB --field residence_country_code=GB
expect_ok "$IDVAULT" put passport --field document_no=PX-SECRET-42 --field expiry_date=1.1.2030 \
  --front-side "$WORK/in/front.jpg" --selfie "$WORK/in/selfie.jpg"
expect_ok "$IDVAULT" put utility_bill --file "$WORK/in/bill.jpg"
expect_ok "$IDVAULT" put phone_number --value +441234567890
expect_ok "$IDVAULT" cloud init "$URL" --recovery-code-file "$WORK/code" --device-name desk --json
ACCOUNT_URL=$("$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["elements"] == 4, r; print(r["account_url"])' "$WORK/stdout") ||
  fail "cloud init printed: $(cat "$WORK/stdout")"
for type in personal_details passport utility_bill phone_number; do
  expect_ok "$IDVAULT" get "$type" --json
  "$PY" -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])).get("data"), sort_keys=True))' \
    "$WORK/stdout" >"$WORK/desk-$type.data"
done

# Another well-formed code (group 1 changed, its check character recomputed) and a typo.
"$PY" - "$WORK/code" "$WORK/wrong-code" "$WORK/typo-code" <<'PYEOF'
import sys
ALPHA = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
def mul(a, b):
    p = 0
    for bit in range(5):
        if (b >> bit) & 1:
            p ^= a
        a <<= 1
        if a & 0x20:
            a ^= 0x25
    return p
def xpow(e):
    v = 1
    for _ in range(e):
        v = mul(v, 2)
    return v
def check(symbols, group):
    s = mul(xpow(6), group + 1)
    for i, c in enumerate(symbols):
        s ^= mul(xpow(i + 1), c)
    return mul(s, xpow(26))
groups = open(sys.argv[1]).read().strip().split("-")
first = [ALPHA.index(c) for c in groups[0][:4]]
first[0] ^= 1
wrong = "".join(ALPHA[c] for c in first) + ALPHA[check(first, 0)]
open(sys.argv[2], "w").write("-".join([wrong] + groups[1:]) + "\n")
third = groups[2]
typo = third[:1] + ALPHA[(ALPHA.index(third[1]) + 1) % 32] + third[2:]
open(sys.argv[3], "w").write("-".join(groups[:2] + [typo] + groups[3:]) + "\n")
PYEOF
chmod 600 "$WORK/wrong-code" "$WORK/typo-code"

# A recover onto the desk, which has a vault, is refused.
expect_fail 1 'already has a vault' "$IDVAULT" recover --cloud "$ACCOUNT_URL" \
  --recovery-code-file "$WORK/code" --pin-file "$WORK/pin"

# The new device: its own empty token, store and agent.
start_device fresh
FRESH_SOCK="$WORK/run/fresh.sock"

# A typo is named before anything is sent; a wrong code opens nothing and changes nothing.
IDVAULT_SOCK="$FRESH_SOCK" expect_fail 2 'group 3' "$IDVAULT" recover --cloud "$ACCOUNT_URL" \
  --recovery-code-file "$WORK/typo-code" --pin-file "$WORK/pin"
IDVAULT_SOCK="$FRESH_SOCK" expect_fail 1 'wrong recovery code' "$IDVAULT" recover --cloud "$ACCOUNT_URL" \
  --recovery-code-file "$WORK/wrong-code" --pin-file "$WORK/pin" --device-name fresh
expect_ok "$IDVAULT" devices --json
"$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert [d["id"] for d in r["devices"]] == ["desk"], r' \
  "$WORK/stdout" || fail "a wrong code changed the account: $(cat "$WORK/stdout")"

# The right code: every element back, byte for byte.
IDVAULT_SOCK="$FRESH_SOCK" expect_ok "$IDVAULT" recover --cloud "$ACCOUNT_URL" \
  --recovery-code-file "$WORK/code" --pin-file "$WORK/pin" --device-name fresh --json
"$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["device_id"] == "fresh" and r["elements"] == 4, r' \
  "$WORK/stdout" || fail "recover --cloud printed: $(cat "$WORK/stdout")"
for type in personal_details passport utility_bill phone_number; do
  IDVAULT_SOCK="$FRESH_SOCK" expect_ok "$IDVAULT" get "$type" --json
  "$PY" -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])).get("data"), sort_keys=True))' \
    "$WORK/stdout" >"$WORK/fresh-$type.data"
  cmp -s "$WORK/desk-$type.data" "$WORK/fresh-$type.data" ||
    fail "$type differs after recovery: $(cat "$WORK/fresh-$type.data")"
done
IDVAULT_SOCK="$FRESH_SOCK" expect_ok "$IDVAULT" get passport --files-dir "$WORK/out"
cmp -s "$WORK/in/front.jpg" "$WORK/out/front_side.jpg" || fail "the front side differs after recovery"
cmp -s "$WORK/in/selfie.jpg" "$WORK/out/selfie.jpg" || fail "the selfie differs after recovery"
IDVAULT_SOCK="$FRESH_SOCK" expect_ok "$IDVAULT" get utility_bill --files-dir "$WORK/out"
cmp -s "$WORK/in/bill.jpg" "$WORK/out/files-0.jpg" || fail "the bill differs after recovery"

# An ordinary enrolled device now: both devices list both, and a put reaches the desk.
for sock in "$WORK/run/agent.sock" "$FRESH_SOCK"; do
  IDVAULT_SOCK="$sock" expect_ok "$IDVAULT" devices --json
  "$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert sorted(d["id"] for d in r["devices"]) == ["desk","fresh"], r; assert [d["approved_by"] for d in r["devices"] if d["id"] == "fresh"] == ["recovery"], r' \
    "$WORK/stdout" || fail "devices after recovery: $(cat "$WORK/stdout")"
done
IDVAULT_SOCK="$FRESH_SOCK" expect_ok "$IDVAULT" put email --value ada@example.org
IDVAULT_SOCK="$FRESH_SOCK" expect_ok "$IDVAULT" sync
expect_ok "$IDVAULT" sync
expect_ok "$IDVAULT" get email
grep -q 'ada@example.org' "$WORK/stdout" || fail "the recovered device's put on the desk: $(cat "$WORK/stdout")"
IDVAULT_SOCK="$FRESH_SOCK" expect_fail 1 'already has a vault' "$IDVAULT" recover --cloud "$ACCOUNT_URL" \
  --recovery-code-file "$WORK/code" --pin-file "$WORK/pin"
echo "cli cloud recover: ok"
