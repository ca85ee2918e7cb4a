#!/usr/bin/env bash
# What a smart card costs the holder: unlock, get and authorize latency through the real
# idvault-agent on the simulated PIV card (OpenSC, pcscd, vpcd), against the same agent on
# SoftHSM2, in one run. The card runs with no delay (the agent's and OpenSC's own cost)
# and with idvault-cardsim's --fault delay-ms set to a real card's private-key time, which
# the simulator adds to every APDU; the APDU counts printed let you redo the sum for a
# card that is slow only at private-key operations. Not a ctest test: it only measures.
#
#   usage: bench_card.sh IDVAULT_AGENT IDVAULT_CARDSIM
#   env:   ROUNDS (default 15), EC_MS (default 80), RSA_MS (default 150)
#
# Runs itself in private mount and network namespaces, like agent_on_card.sh.
set -euo pipefail

AGENT=$(readlink -f "${1:?usage: bench_card.sh IDVAULT_AGENT IDVAULT_CARDSIM}")
CARDSIM=$(readlink -f "${2:?usage: bench_card.sh IDVAULT_AGENT IDVAULT_CARDSIM}")
HERE=$(dirname "$(readlink -f "$0")")
SELF=$(readlink -f "$0")
PY=/usr/bin/python3
ROUNDS=${ROUNDS:-15}
EC_MS=${EC_MS:-80}
RSA_MS=${RSA_MS:-150}

. "$HERE/../../support/pcsc_sandbox.sh"
pcsc_sandbox_enter "$AGENT" "$CARDSIM"
pcsc_sandbox_start
# The sandbox's pcscd logs every APDU at debug level; a quiet one measures the card path
# as a holder's machine runs it.
# stop_pid PID: ends one process this script started and forgets it.
stop_pid() {
  local keep=() pid
  kill "$1" 2>/dev/null || true
  { wait "$1" || true; } 2>/dev/null
  for pid in "${PIDS[@]}"; do [ "$pid" = "$1" ] || keep+=("$pid"); done
  PIDS=("${keep[@]}")
}
stop_pid "${PIDS[-1]}"
pcscd --foreground -c "$T/conf" > "$T/pcscd.log" 2>&1 &
PIDS+=($!)

CARD_MODULE=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so
SOFTHSM_MODULE=/usr/lib/softhsm/libsofthsm2.so
PIN=123456
export SOFTHSM2_CONF="$T/softhsm2.conf"
mkdir -p "$T/tokens"
echo "directories.tokendir = $T/tokens" > "$SOFTHSM2_CONF"
openssl genrsa -out "$T/service.pem" 2048 2>/dev/null
openssl rsa -in "$T/service.pem" -pubout -out "$T/service.pub" 2>/dev/null
head -c 30000 /dev/urandom | base64 -w0 > "$T/front.b64"

rpc() {  # rpc SOCKET METHOD [PARAMS_JSON]
  printf '%s' "${3:-"{}"}" | $PY "$HERE/rpc_call.py" "$1" "$2"
}

# start_agent NAME MODULE TOKEN_URI [EXTRA...]: an agent on its own socket and store.
# The token watcher polls hourly so no presence check lands inside a timed step.
start_agent() {
  local name=$1 module=$2 uri=$3
  shift 3
  "$AGENT" --socket "$T/$name.sock" --store "$T/$name/vault.db" --module "$module" --token "$uri" \
    --confirm-program /bin/true --token-poll-ms 3600000 "$@" >> "$T/$name.log" 2>&1 &
  AGENT_PID=$!
  PIDS+=("$AGENT_PID")
  SANDBOX_LOGS+=("$name agent log:$T/$name.log")
  wait_until 100 test -S "$T/$name.sock" || fail "$name: agent socket never appeared"
}
stop_agent() { stop_pid "$AGENT_PID"; }

# fill SOCKET: init the vault and store what every round reads back.
fill() {
  local out
  out=$(rpc "$1" init "{\"pin\":\"$PIN\"}") || fail "init: $out"
  rpc "$1" element.put '{"type":"personal_details","data":{"first_name":"Grace","last_name":"Hopper","first_name_native":"Grace","last_name_native":"Hopper","birth_date":"09.12.1906","gender":"female","country_code":"US","residence_country_code":"US"}}' > /dev/null \
    || fail "put personal_details"
  printf '{"type":"passport","data":{"document_no":"P1234567","expiry_date":""},"front_side":"%s"}' "$(cat "$T/front.b64")" > "$T/put.json"
  rpc "$1" element.put "$(cat "$T/put.json")" > /dev/null || fail "put passport"
}

# measure NAME SOCKET [APDU_LOG]: the rounds, as JSON in $T/NAME.json.
measure() {
  echo "$PIN" | $PY "$HERE/bench_card_client.py" "$2" "$ROUNDS" "$T/service.pub" ${3:+"$3"} > "$T/$1.json" \
    || fail "$1: the timed rounds failed"
  echo "measured $1" >&2
}

# --- SoftHSM2: the AES-on-token mode it normally runs, and the card's key hierarchy ------
for mode in aes asymmetric; do
  softhsm2-util --init-token --free --label "bench-$mode" --pin "$PIN" --so-pin 12345678 > /dev/null
  extra=()
  [ "$mode" = asymmetric ] && extra=(--asymmetric)
  start_agent "softhsm-$mode" "$SOFTHSM_MODULE" "pkcs11:token=bench-$mode" "${extra[@]}"
  fill "$T/softhsm-$mode.sock"
  measure "softhsm-$mode" "$T/softhsm-$mode.sock"
  stop_agent
done

# --- the simulated card, with no delay and with a real card's private-key times ---------
"$CARDSIM" init --state "$T/card.json" --rsa-bits 2048 --label idvault-card > /dev/null
card_listed() { pkcs11-tool --module "$CARD_MODULE" -L 2>/dev/null | grep -q 'token label *: idvault-card'; }
SANDBOX_LOGS+=("cardsim log:$T/cardsim.log")
first=1
for delay in 0 "$EC_MS" "$RSA_MS"; do
  faults=()
  [ "$delay" -gt 0 ] && faults=(--fault "delay-ms=$delay")
  "$CARDSIM" run --state "$T/card.json" --vpcd 127.0.0.1:35963 --log-level debug "${faults[@]}" >> "$T/cardsim.log" 2>&1 &
  CARD_PID=$!
  PIDS+=("$CARD_PID")
  wait_until 300 card_listed || fail "the card (delay $delay ms) never showed up through OpenSC"
  start_agent card "$CARD_MODULE" "pkcs11:token=idvault-card"
  if [ "$first" = 1 ]; then fill "$T/card.sock"; first=0; fi
  measure "card-$delay" "$T/card.sock" "$T/cardsim.log"
  stop_agent
  stop_pid "$CARD_PID"
  wait_until 100 sh -c "! pkcs11-tool --module $CARD_MODULE -L 2>/dev/null | grep -q idvault-card" || fail "the card did not leave"
done

# --- the table ---------------------------------------------------------------------------
$PY - "$T" "$EC_MS" "$RSA_MS" "$ROUNDS" <<'PY'
import json, statistics, sys
t, ec, rsa, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
runs = ["softhsm-aes", "softhsm-asymmetric", "card-0", f"card-{ec}", f"card-{rsa}"]
data = {name: json.load(open(f"{t}/{name}.json")) for name in runs}
steps = ["unlock", "get_details", "get_passport", "authorize"]
med = lambda xs: statistics.median(xs)
print(f"\nmedian latency over {rounds} rounds, ms (APDUs per step / of them private-key operations)")
print(f"{'step':<14}" + "".join(f"{name:>20}" for name in runs))
for step in steps:
    row = f"{step:<14}"
    for name in runs:
        cell = f"{med(data[name][step]['ms']):.2f}"
        apdus = data[name][step]["apdus"]
        if apdus[0] is not None:
            cell += f" ({med(apdus):.0f}/{med(data[name][step]['private_ops']):.0f})"
        row += f"{cell:>20}"
    print(row)
base = "softhsm-asymmetric"
print(f"\nratios to {base} (same key hierarchy), and what the delay added per APDU")
print(f"{'step':<14}{'card-0 / soft':>16}{f'card-{ec} / soft':>18}{f'card-{rsa} / soft':>18}"
      f"{'card-0 - soft':>16}{f'(card-{rsa} - card-0)/APDU':>28}")
for step in steps:
    soft = med(data[base][step]["ms"])
    c0 = med(data["card-0"][step]["ms"])
    cec = med(data[f"card-{ec}"][step]["ms"])
    crsa = med(data[f"card-{rsa}"][step]["ms"])
    apdus = med(data[f"card-{rsa}"][step]["apdus"])
    per_apdu = f"{(crsa - c0) / apdus:.1f} ms" if apdus else "no APDUs"
    print(f"{step:<14}{c0 / soft:>16.2f}{cec / soft:>18.2f}{crsa / soft:>18.2f}{c0 - soft:>13.2f} ms{per_apdu:>28}")
names = {"a4": "SELECT", "cb": "GET DATA", "c0": "GET RESPONSE", "20": "VERIFY", "87": "GENERAL AUTHENTICATE"}
print("\nAPDUs per step on the card (last round, by command):")
for step in steps:
    commands = data["card-0"][step]["commands"]
    listed = ", ".join(f"{names.get(ins, 'INS ' + ins)} x{n}" for ins, n in sorted(commands.items(), key=lambda kv: -kv[1]))
    print(f"  {step:<14}{listed or 'none'}")
PY
