#!/bin/sh
# `idvault authorize --deliver` POSTs the bundle to the request's callback_url: a local
# HTTP server gets exactly the bundle; a non-2xx answer, a refused connection and a
# plain-HTTP callback off this machine each give one clear line.
. "$(dirname "$0")/cli_test_lib.sh"
SERVER_PID=
stop_server() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  SERVER_PID=
}
# cleanup reads the script's exit status from $?: keep it past stop_server, or a failed
# check would end in a pass.
trap 'script_status=$?; stop_server; (exit "$script_status"); cleanup' EXIT

# start_server STATUS: a callback server answering STATUS; sets PORT.
start_server() {
  stop_server
  rm -f "$WORK/port"
  mkdir -p "$WORK/received-$1"
  "$PY" "$HERE/callback_server.py" "$WORK/port" "$WORK/received-$1" "$1" &
  SERVER_PID=$!
  i=0
  while [ ! -s "$WORK/port" ]; do
    i=$((i + 1)); [ "$i" -lt 100 ] || fail "the callback server did not start"
    sleep 0.1
  done
  PORT=$(cat "$WORK/port")
}

start_agent
expect_ok "$IDVAULT" init --pin-file "$WORK/pin"
expect_ok "$IDVAULT" put email --value ada@example.org
make_service_key "$WORK"

start_server 200
expect_ok "$IDVAULT" authorize "$(make_link 77 email "$WORK/pub.pem" n1 "http://127.0.0.1:$PORT/passport")" --yes --deliver
grep -q "delivered to http://127.0.0.1:$PORT/passport (HTTP 200)" "$WORK/stdout" || fail "deliver said: $(cat "$WORK/stdout")"
[ -s "$WORK/received-200/body-1.json" ] || fail "the server got nothing"
grep -q "application/json" "$WORK/received-200/type-1" || fail "not sent as JSON"
"$PY" -c '
import json, sys
b = json.load(open(sys.argv[1]))
assert set(b) >= {"passport_data", "files", "receipt"}, list(b)
assert b["passport_data"]["data"][0]["type"] == "email" and b["passport_data"]["data"][0]["email"] == "ada@example.org"
assert b["receipt"]["signed"]["nonce"] == "n1"
' "$WORK/received-200/body-1.json" || fail "the server did not get the bundle"
# --out and --deliver together: the same bundle in both places.
# With --json: stdout is one object saying where the bundle went (the request shown on stderr).
expect_ok "$IDVAULT" authorize "$(make_link 77 email "$WORK/pub.pem" n2 "http://localhost:$PORT/cb")" --yes --deliver \
  --out "$WORK/b2.json" --json
cmp "$WORK/b2.json" "$WORK/received-200/body-2.json" || fail "--out and --deliver differ"
"$PY" -c '
import json, os, sys
j = json.load(open(sys.argv[1]))
assert j["service_id"] == "77" and j["nonce"] == "n2" and j["callback_url"] == "http://localhost:'"$PORT"'/cb", j
assert j["delivered"] == {"url": j["callback_url"], "http_status": 200}, j
assert j["out"] == sys.argv[2] and j["bundle_bytes"] == os.path.getsize(sys.argv[2]) and "bundle" not in j, j
assert [e["type"] for e in j["offer"]["elements"]] == ["email"] and j["offer"]["missing"] == [], j
' "$WORK/stdout" "$WORK/b2.json" || fail "authorize --json: $(cat "$WORK/stdout")"
grep -q "service 77 asks for" "$WORK/stderr" || fail "authorize --json did not show the request on stderr"

start_server 500
expect_fail 1 "the service at http://127.0.0.1:$PORT/x answered HTTP 500: bundle rejected: nonce unknown$" \
  "$IDVAULT" authorize "$(make_link 77 email "$WORK/pub.pem" n3 "http://127.0.0.1:$PORT/x")" --yes --deliver
stop_server

expect_fail 1 "cannot deliver to http://127.0.0.1:$PORT/x: .*(refused|connect)" \
  "$IDVAULT" authorize "$(make_link 77 email "$WORK/pub.pem" n4 "http://127.0.0.1:$PORT/x")" --yes --deliver

# Plain HTTP leaves the machine only over HTTPS; refused before anything is shared.
expect_ok "$IDVAULT" shares --json
before=$("$PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["shares"]))' "$WORK/stdout")
expect_fail 2 "refusing to deliver over http to example.org" \
  "$IDVAULT" authorize "$(make_link 77 email "$WORK/pub.pem" n5 "http://example.org/cb")" --yes --deliver
expect_fail 2 "refusing to deliver over ftp" \
  "$IDVAULT" authorize "$(make_link 77 email "$WORK/pub.pem" n6 "ftp://127.0.0.1/cb")" --yes --deliver
expect_ok "$IDVAULT" shares --json
after=$("$PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["shares"]))' "$WORK/stdout")
[ "$before" = "$after" ] || fail "a refused delivery still shared ($before -> $after)"
echo "PASS"
