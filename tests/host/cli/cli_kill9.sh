#!/bin/sh
# kill -9 of the agent during a stream of puts, then a restart: every put the CLI
# reported as done is there (the one in flight may or may not be), and SQLite's own
# integrity check passes.
. "$(dirname "$0")/cli_test_lib.sh"
start_agent
expect_ok "$IDVAULT" init --pin-file "$WORK/pin"
make_scan "$WORK/in/scan.jpg" 200000

# Puts cycle through three types; each carries its counter, so the store shows which won.
(
  i=0
  while [ "$i" -lt 100000 ]; do
    i=$((i + 1))
    echo "try $i" >>"$WORK/puts.log"
    case $((i % 3)) in
      0) "$IDVAULT" put email --value "n$i@example.org" ;;
      1) "$IDVAULT" put phone_number --value "$((1000000 + i))" ;;
      2) "$IDVAULT" put utility_bill --file "$WORK/in/scan.jpg" --translation "$WORK/in/scan.jpg" ;;
    esac >/dev/null 2>&1 || break
    echo "done $i" >>"$WORK/puts.log"
  done
) &
WRITER=$!
sleep 3
kill -9 "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null || true
AGENT_PID=
wait "$WRITER" 2>/dev/null || true

last_done=$(grep '^done' "$WORK/puts.log" | tail -n 1 | cut -d' ' -f2)
[ -n "$last_done" ] && [ "$last_done" -ge 3 ] || fail "too few puts before the kill to prove anything (${last_done:-0})"
echo "$last_done puts acknowledged before kill -9"

[ "$(sqlite3 "$WORK/data/vault.db" 'PRAGMA integrity_check')" = ok ] || fail "integrity_check after kill -9"
start_agent
expect_ok "$IDVAULT" unlock --pin-file "$WORK/pin"
[ "$(sqlite3 "$WORK/data/vault.db" 'PRAGMA integrity_check')" = ok ] || fail "integrity_check after restart"

# The last acknowledged put of email and phone_number is there, or a later one that was in
# flight (committed, but killed before the answer arrived).
in_flight=$((last_done + 1))
latest_of() {  # latest_of REMAINDER: the last acknowledged counter with i % 3 == REMAINDER
  i=$last_done
  while [ $((i % 3)) -ne "$1" ]; do i=$((i - 1)); done
  echo "$i"
}
expect_ok "$IDVAULT" get email
got=$(cat "$WORK/stdout")
want=$(latest_of 0)
[ "$got" = "n$want@example.org" ] || [ "$got" = "n$in_flight@example.org" ] || fail "email: $got, expected n$want"
expect_ok "$IDVAULT" get phone_number
got=$(cat "$WORK/stdout")
want=$((1000000 + $(latest_of 1)))
[ "$got" = "$want" ] || [ "$got" = "$((1000000 + in_flight))" ] || fail "phone_number: $got, expected $want"
expect_ok "$IDVAULT" get utility_bill --files-dir "$WORK/out/bill"
cmp "$WORK/out/bill/files-0.jpg" "$WORK/in/scan.jpg" || fail "utility_bill scan damaged"
echo "PASS"
