#!/usr/bin/env bash
# A simulated PIV card joins a cloud account (issue 17): an idvault-cloud server on
# loopback, a desk device on a SoftHSM2 token that puts its vault in the account, and
# the card (idvault-cardsim through pcscd, vpcd and real OpenSC) as the joining device.
# The card cannot make keys, so it joins with its own: 9D (RSA) as the slot key VK is
# sealed to, its EC key as the identity that signs the requests. Checks: the digits
# match on both sides, the desk's scan arrives byte for byte, a put on the card reaches
# the desk, and lock and unlock on the card open VK again from the slot via the card.
#
# Runs in the private namespaces of tests/support/pcsc_sandbox.sh (exits 77 without).
#
#   usage: cloud_join_on_card.sh IDVAULT_AGENT IDVAULT_CARDSIM IDVAULT IDVAULT_CLOUD
set -euo pipefail

usage="usage: cloud_join_on_card.sh IDVAULT_AGENT IDVAULT_CARDSIM IDVAULT IDVAULT_CLOUD"
AGENT=$(readlink -f "${1:?$usage}")
CARDSIM=$(readlink -f "${2:?$usage}")
IDVAULT=$(readlink -f "${3:?$usage}")
CLOUD=$(readlink -f "${4:?$usage}")
HERE=$(dirname "$(readlink -f "$0")")
# shellcheck disable=SC2034 # read by pcsc_sandbox.sh, which re-executes this script
SELF=$(readlink -f "$0")
PY=/usr/bin/python3

. "$HERE/../../support/pcsc_sandbox.sh"
pcsc_sandbox_enter "$AGENT" "$CARDSIM" "$IDVAULT" "$CLOUD"
pcsc_sandbox_start
SANDBOX_LOGS+=("cloud log:$T/cloud.err" "desk agent log:$T/desk.log" "card agent log:$T/card-agent.log"
  "cardsim log:$T/cardsim.log" "join output:$T/join.err")
OPENSC=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so
SOFTHSM=/usr/lib/softhsm/libsofthsm2.so
CARD_PIN=123456
DESK_PIN=1234
mkdir -p "$T/run" "$T/in" "$T/out" "$T/out2" "$T/desk" "$T/card" "$T/cloud" "$T/tokens"
chmod 700 "$T/run"
printf '%s\n' "$CARD_PIN" > "$T/card-pin"
printf '%s\n' "$DESK_PIN" > "$T/desk-pin"
chmod 600 "$T/card-pin" "$T/desk-pin"

# run_ok COMMAND...: must exit 0; its stdout is left in $T/stdout.
run_ok() { "$@" > "$T/stdout" 2> "$T/stderr" || fail "'$*' failed: $(cat "$T/stderr")"; }
desk() { IDVAULT_SOCK="$T/run/desk.sock" "$IDVAULT" "$@"; }
card() { IDVAULT_SOCK="$T/run/card.sock" "$IDVAULT" "$@"; }

# The server, on a port of its own choosing (loopback is private to the sandbox).
"$CLOUD" --data "$T/cloud/data" --listen 127.0.0.1:0 > "$T/cloud.out" 2> "$T/cloud.err" &
PIDS+=($!)
listening() { grep -q 'listening on' "$T/cloud.out"; }
wait_until 100 listening || fail "idvault-cloud did not start: $(cat "$T/cloud.err")"
URL=$(sed -n 's/^idvault-cloud: listening on //p' "$T/cloud.out")

# The card, started now so OpenSC sees it by the time the desk is done.
"$CARDSIM" init --state "$T/card.json" --rsa-bits 2048 --label idvault-card > /dev/null
"$CARDSIM" run --state "$T/card.json" --vpcd 127.0.0.1:35963 --reconnect >> "$T/cardsim.log" 2>&1 &
PIDS+=($!)

# The desk: a vault on a SoftHSM2 token with a passport and its scan, put in the account.
export SOFTHSM2_CONF="$T/softhsm2.conf"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$T/tokens" > "$SOFTHSM2_CONF"
softhsm2-util --init-token --free --label desk --pin "$DESK_PIN" --so-pin 5678 > /dev/null
"$AGENT" --socket "$T/run/desk.sock" --store "$T/desk/vault.db" --module "$SOFTHSM" \
  --token pkcs11:token=desk --confirm-program /bin/true > "$T/desk.log" 2>&1 &
PIDS+=($!)
wait_until 200 desk status || fail "the desk's agent did not answer"
run_ok desk init --pin-file "$T/desk-pin"
head -c 30000 /dev/urandom > "$T/in/front.jpg"
run_ok desk put passport --field document_no=PX-CARD-17 --field expiry_date=1.1.2030 --front-side "$T/in/front.jpg"
run_ok desk cloud init "$URL" --recovery-code-file "$T/code" --device-name desk --json
ACCOUNT_URL=$($PY -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["elements"] == 1, r; print(r["account_url"])' "$T/stdout") ||
  fail "cloud init printed: $(cat "$T/stdout")"
ok "the desk's vault is in the account"

# The card's agent: no vault on it yet; it asks to join and waits for the desk.
card_listed() { pkcs11-tool --module "$OPENSC" -L 2> /dev/null | grep -q 'token label *: idvault-card'; }
wait_until 100 card_listed || fail "the card never showed up through OpenSC"
"$AGENT" --socket "$T/run/card.sock" --store "$T/card/vault.db" --module "$OPENSC" \
  --token pkcs11:token=idvault-card --confirm-program /bin/true > "$T/card-agent.log" 2>&1 &
PIDS+=($!)
wait_until 200 card status || fail "the card's agent did not answer"
card cloud join "$ACCOUNT_URL" --pin-file "$T/card-pin" --device-name card > "$T/join.out" 2> "$T/join.err" &
JOIN_PID=$!
PIDS+=("$JOIN_PID")
asked() {
  grep -q 'this device shows' "$T/join.out" && return 0
  kill -0 "$JOIN_PID" 2> /dev/null || fail "cloud join ended: $(cat "$T/join.err")"
  return 1
}
wait_until 300 asked || fail "cloud join did not ask: $(cat "$T/join.err")"
CODE=$(sed -n 's/^this device shows: //p' "$T/join.out")

# The desk lists the request with the same digits, computed on its own, and approves it.
run_ok desk devices --json
REQUEST=$($PY -c '
import json, sys
r = json.load(open(sys.argv[1]))
reqs = [q for q in r["requests"] if q["device_id"] == "card"]
assert len(reqs) == 1 and reqs[0]["code"] == sys.argv[2], (r, sys.argv[2])
print(reqs[0]["id"])' "$T/stdout" "$CODE") || fail "devices did not list the card with $CODE: $(cat "$T/stdout")"
run_ok desk devices approve "$REQUEST"
wait "$JOIN_PID" || fail "cloud join failed: $(cat "$T/join.err")"
grep -q 'joined: 1 elements' "$T/join.out" || fail "cloud join said: $(cat "$T/join.out")"
ok "the card joined with the digits the desk shows"

# The card's vault is cloud-keyed with the card's own keys: asymmetric, VK from a slot.
run_ok card status --json
$PY -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r.get("mode") == "asymmetric", r' "$T/stdout" ||
  fail "the card's status: $(cat "$T/stdout")"

# What the desk stored is on the card, byte for byte.
run_ok card get passport --files-dir "$T/out"
cmp -s "$T/in/front.jpg" "$T/out/front_side.jpg" || fail "the front side differs on the card"
grep -q 'PX-CARD-17' "$T/stdout" || fail "the passport's data on the card: $(cat "$T/stdout")"
ok "the desk's passport and scan open on the card"

# The other direction: a put on the card, signed by its EC key, reaches the desk.
head -c 20000 /dev/urandom > "$T/in/bill.jpg"
run_ok card put utility_bill --file "$T/in/bill.jpg"
run_ok card sync
# (The agents also sync in the background: the bill may already be on the desk.)
run_ok desk sync
run_ok desk get utility_bill --files-dir "$T/out2"
cmp -s "$T/in/bill.jpg" "$T/out2/files-0.jpg" || fail "the bill differs on the desk"
ok "a put on the card reaches the desk with its scan"

# Lock and unlock on the card: VK opens again from the slot with 9D on the card.
run_ok card lock
if card get passport > /dev/null 2>&1; then fail "get worked on a locked card device"; fi
run_ok card unlock --pin-file "$T/card-pin"
rm -f "$T/out2/files-0.jpg"
run_ok card get utility_bill --files-dir "$T/out2"
cmp -s "$T/in/bill.jpg" "$T/out2/files-0.jpg" || fail "the bill differs on the card after unlock"
ok "lock and unlock on the card open the vault key again"
echo "cloud join on card: all checks passed"
