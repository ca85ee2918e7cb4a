#!/usr/bin/env bash
# End to end: real OpenSC (opensc-pkcs11.so, pkcs11-tool, pkcs15-tool) drives
# idvault-cardsim through a real pcscd and its virtual reader (vpcd).
#
# Runs itself inside private mount and network namespaces (unshare), so its pcscd, its
# /run/pcscd socket and vpcd's ports (which vpcd binds on 0.0.0.0) touch nothing on the
# host, and parallel runs do not collide. Exits 77 (skipped) only when unshare is refused.
#
#   usage: opensc_e2e.sh /path/to/idvault-cardsim
set -euo pipefail

CARDSIM=${1:?usage: opensc_e2e.sh /path/to/idvault-cardsim}
CARDSIM=$(readlink -f "$CARDSIM")
SELF=$(readlink -f "$0")

. "$(dirname "$SELF")/../support/pcsc_sandbox.sh"
pcsc_sandbox_enter "$CARDSIM"
pcsc_sandbox_start
SANDBOX_LOGS+=("cardsim log:$T/cardsim.log")
MODULE=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so
PIN=123456
PUK=12345678

"$CARDSIM" init --state "$T/card.json" --rsa-bits 2048 --label idvault-cardsim > "$T/init.txt"
SERIAL=$("$CARDSIM" info --state "$T/card.json" | sed -n 's/^serial: //p')
tries() { "$CARDSIM" info --state "$T/card.json" | sed -n 's/^pin_tries_left: //p'; }

start_card() {
  "$CARDSIM" run --state "$T/card.json" --vpcd 127.0.0.1:35963 --log-level debug "$@" >> "$T/cardsim.log" 2>&1 &
  CARD=$!
  PIDS+=("$CARD")
}
card_present() { opensc-tool -l 2>/dev/null | grep -q 'Yes.*CardSim 00 00'; }
token_listed() { pkcs11-tool --module "$MODULE" -L 2>/dev/null | grep -q 'token label *: idvault-cardsim'; }
token_absent() { ! token_listed; }

start_card
wait_until 100 card_present || fail "card never showed up in opensc-tool -l"
ok "card present in the vpcd reader"

# --- enumeration ------------------------------------------------------------------------
P11="pkcs11-tool --module $MODULE"
$P11 -L > "$T/L.txt"
grep -q 'token label *: idvault-cardsim' "$T/L.txt" || { cat "$T/L.txt"; fail "token label"; }
grep -q "serial num *: $SERIAL" "$T/L.txt" || { cat "$T/L.txt"; "$CARDSIM" info --state "$T/card.json"; fail "serial $SERIAL (from the CHUID GUID)"; }
grep -q 'token manufacturer *: piv_II' "$T/L.txt" || fail "OpenSC did not bind its PIV driver"
ok "pkcs11-tool -L: label idvault-cardsim, serial $SERIAL"

$P11 --login --pin $PIN -O > "$T/O.txt" 2>/dev/null
for id in 01 02 03 04; do
  grep -q "ID: *$id" <<<"$(grep -A4 '^Private Key Object' "$T/O.txt")" || { cat "$T/O.txt"; fail "private key $id not listed"; }
done
ok "pkcs11-tool -O: private keys 01 02 03 04 with certificates"

# --- ECDSA with 9A (ID 01) and 9C (ID 02, PIN-always) ------------------------------------
echo -n "idvault end-to-end message" > "$T/msg"
openssl dgst -sha256 -binary "$T/msg" > "$T/msg.sha256"
for id in 01 02; do
  $P11 --read-object --type cert --id $id -o "$T/c$id.der" >/dev/null
  openssl x509 -inform DER -in "$T/c$id.der" -pubkey -noout > "$T/p$id.pem"
  $P11 --login --pin $PIN --sign --id $id -m ECDSA --signature-format openssl \
    -i "$T/msg.sha256" -o "$T/sig$id" >/dev/null 2>&1 || fail "ECDSA sign with key $id"
  openssl dgst -sha256 -verify "$T/p$id.pem" -signature "$T/sig$id" "$T/msg" >/dev/null || fail "ECDSA signature $id does not verify"
done
ok "ECDSA P-256 signatures from keys 01 and 02 verify with openssl"

# --- RSA-OAEP (SHA-1) decrypt with 9D (ID 03) -------------------------------------------
$P11 --read-object --type cert --id 03 -o "$T/c03.der" >/dev/null
openssl x509 -inform DER -in "$T/c03.der" -pubkey -noout > "$T/p03.pem"
head -c 32 /dev/urandom > "$T/secret"
openssl pkeyutl -encrypt -pubin -inkey "$T/p03.pem" -pkeyopt rsa_padding_mode:oaep \
  -pkeyopt rsa_oaep_md:sha1 -pkeyopt rsa_mgf1_md:sha1 -in "$T/secret" -out "$T/secret.enc"
$P11 --login --pin $PIN --decrypt --id 03 -m RSA-PKCS-OAEP --hash-algorithm SHA-1 --mgf MGF1-SHA1 \
  -i "$T/secret.enc" -o "$T/secret.dec" >/dev/null 2>&1 || fail "RSA-OAEP decrypt"
cmp -s "$T/secret" "$T/secret.dec" || fail "RSA-OAEP plaintext differs"
ok "RSA-2048 OAEP-SHA1 decrypt gives the plaintext back (command + response chaining)"

# --- wrong PIN down to blocked, then PUK unblock -----------------------------------------
[ "$(tries)" = 3 ] || fail "expected 3 PIN tries before the wrong-PIN run, state says $(tries)"
for left in 2 1 0; do
  out=$($P11 --login --pin 999999 -O 2>&1 || true)
  grep -q 'CKR_PIN_INCORRECT' <<<"$out" || { echo "$out"; fail "wrong PIN did not give CKR_PIN_INCORRECT"; }
  [ "$(tries)" = "$left" ] || fail "PIN tries left: expected $left, state file says $(tries)"
done
out=$($P11 --login --pin $PIN -O 2>&1 || true)
grep -q 'CKR_PIN_LOCKED' <<<"$out" || { echo "$out"; fail "a blocked PIN did not give CKR_PIN_LOCKED"; }
grep -q 'user PIN locked' <<<"$($P11 -L)" || fail "token flags do not show 'user PIN locked'"
ok "wrong PIN: CKR_PIN_INCORRECT with tries 2,1,0 persisted, then CKR_PIN_LOCKED"

out=$(pkcs15-tool --unblock-pin --auth-id 01 --puk $PUK --new-pin $PIN 2>&1) || { echo "$out"; fail "PUK unblock (RESET RETRY COUNTER)"; }
[ "$(tries)" = 3 ] || fail "PUK unblock did not restore the PIN tries"
$P11 --login --pin $PIN --sign --id 01 -m ECDSA -i "$T/msg.sha256" -o "$T/sig-after" >/dev/null 2>&1 || fail "sign after unblock"
ok "pkcs15-tool --unblock-pin with the PUK restores the PIN"

# --- removal and reinsertion -------------------------------------------------------------
kill -USR1 "$CARD"
wait_until 60 token_absent || fail "token still listed after SIGUSR1 (card pulled)"
ok "SIGUSR1: token gone from pkcs11-tool -L"
kill -USR1 "$CARD"
wait_until 60 token_listed || fail "token did not come back after the second SIGUSR1"
ok "SIGUSR1 again: token back"

kill "$CARD"; wait "$CARD" 2>/dev/null || true
start_card --fault remove-after=3 --reinsert-after-ms 2500
wait_until 100 card_present || fail "card (remove-after run) never showed up"
wait_until 60 token_absent || fail "token still listed after remove-after=3"
ok "--fault remove-after=3: card pulled after 3 APDUs"
wait_until 80 token_listed || fail "token did not come back after --reinsert-after-ms"
ok "--reinsert-after-ms: token back"

grep -q '313233343536' "$T/cardsim.log" && fail "the PIN appears in the simulator's debug log"
ok "debug log has one line per APDU and no PIN bytes"
