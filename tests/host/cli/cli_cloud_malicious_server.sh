#!/bin/sh
# A malicious server, through the real processes (issue 17: "a server that adds a slot or
# device, drops or reorders log entries, or serves another account's item: every client
# refuses and says why"). tamper_proxy.py stands between two devices of an account and a
# real idvault-cloud and, mode by mode, shortens the account log after the devices saw
# its end, swaps two entries, forks it, appends a device-add or slot-add that no enrolled
# device signed, or answers with another account's item. Each time every device's sync
# (and a new device's join) fails with one line naming the cause, and the vault is as it
# was: its elements still read, scans byte for byte, and the next honest sync works.
# Called as: SCRIPT IDVAULT AGENT IDVAULT_CLOUD
. "$(dirname "$0")/cli_test_lib.sh"
. "$(dirname "$0")/cloud_test_lib.sh"
command -v openssl >/dev/null || { echo "SKIP: no openssl command to forge log entries with"; exit 77; }
start_cloud

# The malicious server: the proxy, in front of the real one.
"$PY" "$HERE/tamper_proxy.py" "$URL" "$WORK/mode" "$WORK/proxy.url" 2>>"$WORK/proxy.err" &
OTHER_PIDS="$OTHER_PIDS $!"
i=0
while [ ! -f "$WORK/proxy.url" ]; do
  i=$((i + 1))
  [ "$i" -lt 100 ] || fail "the proxy did not start: $(cat "$WORK/proxy.err")"
  sleep 0.1
done
PROXY=$(cat "$WORK/proxy.url")
set_mode() { echo "$1" >"$WORK/mode"; }
set_mode pass

# The desk: a vault with documents, put in an account on the real server.
start_agent --no-background-sync
expect_ok "$IDVAULT" init --pin-file "$WORK/pin"
make_scan "$WORK/in/front.jpg" 40000
expect_ok "$IDVAULT" put passport --field document_no=PX-42 --field expiry_date=1.1.2030 \
  --front-side "$WORK/in/front.jpg"
expect_ok "$IDVAULT" put phone_number --value +441234567890
expect_ok "$IDVAULT" cloud init "$URL" --recovery-code-file "$WORK/code" --device-name desk --json
ACCOUNT_URL=$(account_url_of "$WORK/stdout")
PROXY_ACCOUNT_URL=$PROXY${ACCOUNT_URL#"$URL"}

# join_through_proxy NAME: device NAME asks to join the account through the proxy; the
# desk approves; the join's status is left in $WORK/NAME-join.status, its output beside.
join_through_proxy() {
  IDVAULT_SOCK="$WORK/run/$1.sock" "$IDVAULT" cloud join "$PROXY_ACCOUNT_URL" --pin-file "$WORK/pin" \
    --device-name "$1" >"$WORK/$1-join.out" 2>"$WORK/$1-join.err" &
  join_pid=$!
  i=0
  while ! grep -q 'this device shows' "$WORK/$1-join.out"; do
    i=$((i + 1))
    [ "$i" -lt 100 ] || fail "cloud join on $1 did not ask: $(cat "$WORK/$1-join.err")"
    kill -0 "$join_pid" 2>/dev/null || fail "cloud join on $1 ended: $(cat "$WORK/$1-join.err")"
    sleep 0.1
  done
  expect_ok "$IDVAULT" devices --json
  expect_ok "$IDVAULT" devices approve "$(request_of "$1" "$WORK/stdout")"
  set +e
  wait "$join_pid"
  echo $? >"$WORK/$1-join.status"
  set -e
}

# Two devices of the account that reach it only through the proxy: the log they verify
# holds the genesis and both device-adds (entries 0-2).
for name in laptop spare; do
  start_device "$name" --no-background-sync
  join_through_proxy "$name"
  [ "$(cat "$WORK/$name-join.status")" = 0 ] || fail "$name did not join: $(cat "$WORK/$name-join.err")"
done
device laptop sync >/dev/null || fail "the laptop's first sync failed"

# Another account on the same server, stored through the proxy (which keeps what it
# stored, to serve it in the wrong place). Its vault is made as before VK came at init,
# so its cloud init re-wraps its one value secret (personal_details' data; a phone
# number has none): the older vaults' path, through the binaries.
start_device other --no-background-sync --init-without-vault-key
device other init --pin-file "$WORK/pin" >/dev/null || fail "init on the other account's device"
device other put phone_number --value +449999999999 >/dev/null || fail "put on the other account"
device other put personal_details --field first_name=Eve --field last_name=Other --field birth_date=1.1.1990 \
  --field gender=female --field country_code=GB --field residence_country_code=GB >/dev/null ||
  fail "put of personal_details on the other account"
device other cloud init "$PROXY" --recovery-code-file "$WORK/code-other" --device-name other --json \
  >"$WORK/other-init.json" || fail "cloud init of the other account"
"$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["secrets_rewrapped"] == 1, r' \
  "$WORK/other-init.json" || fail "the older vault's cloud init: $(cat "$WORK/other-init.json")"

# The desk changes the phone number: there is an item to pull.
expect_ok "$IDVAULT" put phone_number --value +440000000001
expect_ok "$IDVAULT" sync

# unchanged NAME: NAME's vault still reads, as it was before the attacks.
unchanged() {
  rm -rf "$WORK/out-$1"
  mkdir -p "$WORK/out-$1"
  device "$1" get passport --files-dir "$WORK/out-$1" >"$WORK/got" || fail "get passport on $1 after the attack"
  grep -q 'PX-42' "$WORK/got" || fail "the passport on $1: $(cat "$WORK/got")"
  cmp -s "$WORK/in/front.jpg" "$WORK/out-$1/front_side.jpg" || fail "the front side on $1 differs"
  device "$1" get phone_number >"$WORK/got" || fail "get phone_number on $1 after the attack"
  grep -q '441234567890' "$WORK/got" || fail "the phone number on $1: $(cat "$WORK/got")"
}

# refused MODE PATTERN: in MODE both devices' syncs fail with PATTERN; nothing changes.
refused() {
  set_mode "$1"
  for name in laptop spare; do
    expect_fail 1 "$2" device "$name" sync
  done
  set_mode pass
  for name in laptop spare; do unchanged "$name"; done
}
refused drop-last 'account log: .*entries were dropped'
refused reorder 'account log entry 1: carries seq 2: entries are missing, repeated or reordered'
refused fork 'account log entry 2: signed by a key that is no enrolled device'
refused add-device 'account log entry 3: signed by a key that is no enrolled device'
refused add-device-as-first 'account log entry 3: the signature of device "desk" is invalid'
refused add-slot 'account log entry 3: signed by a key that is no enrolled device'
refused foreign-item 'cloud item element.phone_number: does not open under this account'

# A device joining while the server plants a device-add refuses the log it is shown.
start_device late --no-background-sync
set_mode add-device
join_through_proxy late
set_mode pass
[ "$(cat "$WORK/late-join.status")" != 0 ] || fail "late joined through a log with a planted device"
grep -q 'account log entry 4: signed by a key that is no enrolled device' "$WORK/late-join.err" ||
  fail "late's join said: $(cat "$WORK/late-join.err")"
device late status --json >"$WORK/late.json" || fail "status on late"
"$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert not r["initialised"], r' "$WORK/late.json" ||
  fail "late has a vault after the refused join: $(cat "$WORK/late.json")"

# A device joining while the server seals a vault key of its own to the new device's slot
# key (public: the join request carries it) refuses it: no enrolled device vouched for
# that key (vault_key_check.h), so nothing this device puts goes under a key the server
# knows.
start_device late2 --no-background-sync
set_mode swap-slot
join_through_proxy late2
set_mode pass
[ "$(cat "$WORK/late2-join.status")" != 0 ] || fail "late2 joined with a vault key the server made"
grep -q 'the vault key sealed to this device is not one the account.s devices vouch for (the key in the slot is another key' \
  "$WORK/late2-join.err" || fail "late2's join said: $(cat "$WORK/late2-join.err")"
device late2 status --json >"$WORK/late2.json" || fail "status on late2"
"$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert not r["initialised"], r' "$WORK/late2.json" ||
  fail "late2 has a vault after the refused join: $(cat "$WORK/late2.json")"

# Honest again: the devices catch up, the change the foreign item hid included.
for name in laptop spare; do
  device "$name" sync >/dev/null || fail "$name's honest sync after the attacks failed"
  device "$name" get phone_number >"$WORK/got" || fail "get phone_number on $name"
  grep -q '440000000001' "$WORK/got" || fail "the phone number on $name after the honest sync: $(cat "$WORK/got")"
done
echo "PASS: cli_cloud_malicious_server"
