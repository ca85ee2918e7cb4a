#!/bin/sh
# kill -9 of idvault-cloud during uploads (issue 17: "nothing acknowledged is lost;
# clients retry"), through the real binaries. The desk puts six elements with scans while
# its agent pushes them in the background; the server is killed -9 while it is storing a
# file (a staged ".incoming-" file seen in its folder), the desk goes on putting offline,
# and the server is started again on the same data and port. Then the laptop sees every
# element, each scan byte for byte, without anyone asking the desk to sync (its agent
# retries by itself), and the server's files folder holds only whole files under their
# final names (each hashes to its name) and no staged leftover.
# Called as: SCRIPT IDVAULT AGENT IDVAULT_CLOUD
. "$(dirname "$0")/cli_test_lib.sh"
. "$(dirname "$0")/cloud_test_lib.sh"
start_cloud
PORT=${URL##*:}
FILES="$WORK/cloud/data/files"

# The desk syncs in the background (the default); the laptop only when asked.
start_agent
expect_ok "$IDVAULT" init --pin-file "$WORK/pin"
expect_ok "$IDVAULT" cloud init "$URL" --recovery-code-file "$WORK/code" --device-name desk --json
ACCOUNT_URL=$(account_url_of "$WORK/stdout")
start_device laptop --no-background-sync
join_device laptop "$ACCOUNT_URL"

# The killer: waits for the server to stage a file and kills it -9 then.
"$PY" - "$FILES" "$CLOUD_PID" "$WORK/killed" <<'PYEOF' &
import os, signal, sys, time
files, pid, report = sys.argv[1], int(sys.argv[2]), sys.argv[3]
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    try:
        for account in os.scandir(files):
            for entry in os.scandir(account.path):
                if entry.name.startswith(".incoming-"):
                    os.kill(pid, signal.SIGKILL)
                    open(report, "w").write("killed while staging " + entry.name + "\n")
                    sys.exit(0)
    except FileNotFoundError:
        pass
    time.sleep(0.0005)
open(report, "w").write("no upload seen\n")
PYEOF
KILLER_PID=$!
OTHER_PIDS="$OTHER_PIDS $KILLER_PID"

# Six elements with scans of 3 MB each, put one after another: the agent pushes each in
# the background, and the server dies during one of those uploads.
for type in passport identity_card driver_license internal_passport; do
  make_scan "$WORK/in/$type-front.jpg" 3000000
  make_scan "$WORK/in/$type-back.jpg" 1000000
done
for type in utility_bill bank_statement; do make_scan "$WORK/in/$type.jpg" 3000000; done
expect_ok "$IDVAULT" put passport --field document_no=P-1 --field expiry_date=1.1.2030 \
  --front-side "$WORK/in/passport-front.jpg" --selfie "$WORK/in/passport-back.jpg"
for type in identity_card driver_license; do
  expect_ok "$IDVAULT" put "$type" --field document_no="$type-1" --field expiry_date=1.1.2031 \
    --front-side "$WORK/in/$type-front.jpg" --reverse-side "$WORK/in/$type-back.jpg"
done
expect_ok "$IDVAULT" put internal_passport --field document_no=IP-1 --field expiry_date=1.1.2032 \
  --front-side "$WORK/in/internal_passport-front.jpg" --selfie "$WORK/in/internal_passport-back.jpg"
for type in utility_bill bank_statement; do
  expect_ok "$IDVAULT" put "$type" --file "$WORK/in/$type.jpg"
done
wait "$KILLER_PID" || true
grep -q '^killed while staging' "$WORK/killed" || fail "the server was not killed mid-upload: $(cat "$WORK/killed")"
wait "$CLOUD_PID" 2>/dev/null || true
CLOUD_PID=

# Back on the same data and port: the desk's agent retries by itself.
start_cloud "127.0.0.1:$PORT"
[ "$URL" = "http://127.0.0.1:$PORT" ] || fail "the server came back at $URL"

# got_all: the laptop holds every element, each scan byte for byte.
got_all() {
  device laptop sync >/dev/null 2>&1 || return 1
  for type in passport internal_passport; do
    rm -rf "$WORK/out" && mkdir -p "$WORK/out"
    device laptop get "$type" --files-dir "$WORK/out" >/dev/null 2>&1 || return 1
    cmp -s "$WORK/in/$type-front.jpg" "$WORK/out/front_side.jpg" || return 1
    cmp -s "$WORK/in/$type-back.jpg" "$WORK/out/selfie.jpg" || return 1
  done
  for type in identity_card driver_license; do
    rm -rf "$WORK/out" && mkdir -p "$WORK/out"
    device laptop get "$type" --files-dir "$WORK/out" >/dev/null 2>&1 || return 1
    cmp -s "$WORK/in/$type-front.jpg" "$WORK/out/front_side.jpg" || return 1
    cmp -s "$WORK/in/$type-back.jpg" "$WORK/out/reverse_side.jpg" || return 1
  done
  for type in utility_bill bank_statement; do
    rm -rf "$WORK/out" && mkdir -p "$WORK/out"
    device laptop get "$type" --files-dir "$WORK/out" >/dev/null 2>&1 || return 1
    cmp -s "$WORK/in/$type.jpg" "$WORK/out/files-0.jpg" || return 1
  done
}
i=0
until got_all; do
  i=$((i + 1))
  [ "$i" -lt 240 ] || fail "the laptop does not have every element 120 s after the restart: $(device laptop list 2>&1)"
  sleep 0.5
done

# The server's files: whole, under their final names, no staged leftover.
"$PY" - "$FILES" <<'PYEOF' || fail "the server's files folder"
import hashlib, os, re, sys
count = 0
for account in os.scandir(sys.argv[1]):
    for entry in os.scandir(account.path):
        assert not entry.name.startswith(".incoming-"), "staged leftover " + entry.name
        assert re.fullmatch(r"[0-9a-f]{64}", entry.name), "unexpected file " + entry.name
        digest = hashlib.sha256(open(entry.path, "rb").read()).hexdigest()
        assert digest == entry.name, "partial or altered file " + entry.name
        count += 1
assert count >= 10, "only %d files stored" % count
PYEOF
echo "PASS: cli_cloud_server_kill9"
