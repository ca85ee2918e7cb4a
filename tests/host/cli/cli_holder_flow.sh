#!/bin/sh
# The holder's whole flow through the idvault CLI against a real idvault-agent on a
# throwaway SoftHSM2 token: init, put every element type (--field and --data-file, with
# scans), list, get --files-dir (bytes equal, mode 0600), rm, lock, wrong PIN, status,
# tokens, service errors, the usage errors a person is most likely to make, and --json on
# every command that prints for programs, in the shape docs/AGENT.md gives.
. "$(dirname "$0")/cli_test_lib.sh"

# json_is EXPRESSION: $WORK/stdout is one JSON document j for which the Python
# expression holds.
json_is() {
  "$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); assert eval("(" + sys.argv[2] + ")"), j' "$WORK/stdout" "$1" ||
    fail "JSON output: not $1: $(head -c 600 "$WORK/stdout")"
}

# Before an agent runs: a clear line, exit 1.
expect_fail 1 "no agent answers at .*agent.sock" "$IDVAULT" status

start_agent

# Usage errors: exit 2, one line. There is no --pin: a PIN never goes through argv.
expect_fail 2 "unrecognised option '--pin'" "$IDVAULT" unlock --pin 1234
expect_fail 2 "unrecognised option '--pin=1234'" "$IDVAULT" init --pin=1234
expect_fail 2 "unknown command 'frobnicate'" "$IDVAULT" frobnicate
expect_fail 2 "^idvault: missing command; usage: idvault COMMAND" "$IDVAULT"
expect_fail 2 "unknown element type 'pasport' \(one of: personal_details, passport" "$IDVAULT" put pasport --field x=y
expect_fail 2 "missing TYPE" "$IDVAULT" get
expect_fail 2 "too many arguments" "$IDVAULT" rm passport email
expect_fail 2 "cannot read PIN file $WORK/nope" "$IDVAULT" init --pin-file "$WORK/nope"
: >"$WORK/empty-pin"
expect_fail 2 "empty PIN" "$IDVAULT" init --pin-file "$WORK/empty-pin"
expect_fail 2 "no terminal to ask for the PIN: use --pin-file" setsid "$IDVAULT" init </dev/null
expect_ok "$IDVAULT" --help
grep -q "authorize" "$WORK/stdout" || fail "idvault --help does not list authorize"
for verb in init unlock lock status tokens put list get rm authorize shares attestation errors; do
  expect_ok "$IDVAULT" "$verb" --help
  grep -q "^usage: idvault $verb" "$WORK/stdout" || fail "idvault $verb --help has no usage line"
done

# Not initialised yet: the agent's words, exit 1.
expect_fail 1 "vault not initialised: run 'idvault init'" "$IDVAULT" list
expect_ok "$IDVAULT" status
grep -q "vault: *not initialised" "$WORK/stdout" || fail "status before init: $(cat "$WORK/stdout")"

# init --token/--module only check that the agent uses the token meant.
expect_fail 1 "no token the agent sees matches pkcs11:token=other" "$IDVAULT" init --pin-file "$WORK/pin" --token pkcs11:token=other
expect_fail 2 "--token: " "$IDVAULT" init --pin-file "$WORK/pin" --token 'http://not-a-pkcs11-uri'
expect_fail 1 "the agent uses module .*libsofthsm2.so, not /usr/lib/x86_64-linux-gnu/p11-kit-proxy.so" \
  "$IDVAULT" init --pin-file "$WORK/pin" --module /usr/lib/x86_64-linux-gnu/p11-kit-proxy.so
expect_ok "$IDVAULT" init --pin-file "$WORK/pin" --token pkcs11:token=holder --module "$MODULE" --json
json_is 'j["token"] == "holder" and j["mode"] == "token_aes" and j["recovery"] is False and "token=holder" in j["token_uri"]
         and len(j["identity_key_sha256"]) == 64 and j["identity_key"].startswith("pkcs11:")'
expect_fail 1 "vault already initialised" "$IDVAULT" init --pin-file "$WORK/pin"

# tokens: URI and capabilities.
expect_ok "$IDVAULT" tokens
grep -q "^holder$" "$WORK/stdout" || fail "tokens: no holder token: $(cat "$WORK/stdout")"
grep -q "uri: *pkcs11:.*token=holder" "$WORK/stdout" || fail "tokens: no URI"
grep -q "capabilities:.*aes_key_wrap.*rsa_oaep_sha1" "$WORK/stdout" || fail "tokens: no capabilities: $(cat "$WORK/stdout")"
expect_ok "$IDVAULT" tokens --json
json_is 'j[0]["label"] == "holder" and j[0]["capabilities"]["ecdsa"] is True and j[0]["vault_mode"] == "token_aes"'
expect_ok "$IDVAULT" status --json
json_is 'j["initialised"] is True and j["unlocked"] is True and j["token_label"] == "holder" and j["elements"] == 0'
expect_ok "$IDVAULT" unlock --pin-file "$WORK/pin" --json
json_is 'j == {"unlocked": True, "already": True}'

# Every element type, data by --field or --json, with scans.
IN=$WORK/in
for name in pp-front pp-selfie pp-tr ip-front dl-front dl-back ic-front ic-back ic-selfie; do
  make_scan "$IN/$name.jpg" $((3000 + $(od -An -N2 -tu2 /dev/urandom)))
done
for doc in utility_bill bank_statement rental_agreement passport_registration temporary_registration; do
  make_scan "$IN/$doc-1.jpg" 4000
  make_scan "$IN/$doc-2.jpg" 100
  make_scan "$IN/$doc-tr.jpg" 700
done
cat >"$IN/address.json" <<'JSON'
{"street_line1": "12 St James's Square", "street_line2": "", "city": "London", "state": "",
 "country_code": "GB", "post_code": "SW1Y 4LB"}
JSON
printf '{"document_no": "DL-77", "expiry_date": "01.02.2031"}' >"$IN/dl.json"

expect_ok "$IDVAULT" put personal_details --field first_name=Ada --field last_name=Lovelace \
  --field birth_date=10.12.1815 --field gender=female --field country_code=GB --field residence_country_code=GB \
  --field first_name_native=Ада
expect_ok "$IDVAULT" put passport --field document_no=X1234567 --field expiry_date=1.1.2030 \
  --front-side "$IN/pp-front.jpg" --selfie "$IN/pp-selfie.jpg" --translation "$IN/pp-tr.jpg"
grep -q "stored passport: data, front_side, selfie, 1 translation" "$WORK/stdout" || fail "put said: $(cat "$WORK/stdout")"
expect_ok "$IDVAULT" put internal_passport --field document_no=IP-1 --field expiry_date= --front-side "$IN/ip-front.jpg"
expect_ok "$IDVAULT" put driver_license --data-file "$IN/dl.json" --front-side "$IN/dl-front.jpg" --reverse-side "$IN/dl-back.jpg"
[ ! -s "$WORK/stderr" ] || fail "put --data-file warned: $(cat "$WORK/stderr")"
expect_ok "$IDVAULT" put identity_card --field document_no=IC-9 --front-side "$IN/ic-front.jpg" \
  --reverse-side "$IN/ic-back.jpg" --selfie "$IN/ic-selfie.jpg"
# --json F is put's old name for --data-file F: still taken, with a warning.
expect_ok "$IDVAULT" put address --json "$IN/address.json"
grep -q "warning: put --json F is deprecated, use --data-file F" "$WORK/stderr" || fail "no deprecation warning: $(cat "$WORK/stderr")"
expect_ok "$IDVAULT" put address --json="$IN/address.json"
# A bare --json: put prints no JSON, and says where its data goes instead.
expect_fail 2 "put prints no JSON .*--data-file F" "$IDVAULT" put address --json
expect_fail 2 "put prints no JSON .*--data-file F" "$IDVAULT" put address --json --field city=X
expect_ok "$IDVAULT" put phone_number --value +447700900123
expect_ok "$IDVAULT" put email --value ada@example.org
for doc in utility_bill bank_statement rental_agreement passport_registration temporary_registration; do
  expect_ok "$IDVAULT" put "$doc" --file "$IN/$doc-1.jpg" --file "$IN/$doc-2.jpg" --translation "$IN/$doc-tr.jpg"
done

# Bad input to put: exit 2, the field named, nothing sent.
expect_fail 2 "personal_details.birth_date" "$IDVAULT" put personal_details --field first_name=A --field last_name=B \
  --field birth_date=31.02.1990 --field gender=female --field country_code=GB --field residence_country_code=GB
expect_fail 2 "passport.nonsense|nonsense" "$IDVAULT" put passport --field nonsense=1 --front-side "$IN/pp-front.jpg"
expect_fail 2 "passport needs --front-side" "$IDVAULT" put passport --field document_no=1
expect_fail 2 "address takes no --selfie" "$IDVAULT" put address --data-file "$IN/address.json" --selfie "$IN/pp-selfie.jpg"
expect_fail 2 "either as --data-file F or as --field" "$IDVAULT" put address --data-file "$IN/address.json" --field city=X
expect_fail 2 "utility_bill has no data fields" "$IDVAULT" put utility_bill --field a=b --file "$IN/pp-tr.jpg"
expect_fail 2 "email needs --value" "$IDVAULT" put email
expect_fail 2 "--value is only for phone_number and email" "$IDVAULT" put address --data-file "$IN/address.json" --value x
expect_fail 2 "cannot read $IN/missing.jpg" "$IDVAULT" put utility_bill --file "$IN/missing.jpg"
printf 'not json' >"$IN/bad.json"
expect_fail 2 "bad.json: not valid JSON" "$IDVAULT" put address --data-file "$IN/bad.json"
printf '{"document_no": "1", "expiry_date": "2030-01-01"}' >"$IN/bad-date.json"
expect_fail 2 "driver_license.expiry_date" "$IDVAULT" put driver_license --data-file "$IN/bad-date.json" \
  --front-side "$IN/dl-front.jpg" --reverse-side "$IN/dl-back.jpg"

# list: all 13.
expect_ok "$IDVAULT" list
[ "$(wc -l <"$WORK/stdout")" -eq 13 ] || fail "list shows $(wc -l <"$WORK/stdout") lines: $(cat "$WORK/stdout")"
grep -q "^passport .*data, front_side, selfie, 1 translation" "$WORK/stdout" || fail "list: $(cat "$WORK/stdout")"
grep -q "^email .*ada@example.org" "$WORK/stdout" || fail "list: no e-mail"
expect_ok "$IDVAULT" list --json
json_is 'len(j) == 13 and {"type": "passport", "data": True, "front_side": True, "selfie": True, "translation": 1}.items()
         <= next(e for e in j if e["type"] == "passport").items()'

# get --files-dir: the same bytes back, each file 0600, the data as JSON.
OUT=$WORK/out
expect_ok "$IDVAULT" get passport --files-dir "$OUT/passport"
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["document_no"]=="X1234567" and d["expiry_date"]=="01.01.2030", d' \
  "$WORK/stdout" || fail "get passport data: $(cat "$WORK/stdout")"
cmp "$OUT/passport/front_side.jpg" "$IN/pp-front.jpg" || fail "passport front_side differs"
cmp "$OUT/passport/selfie.jpg" "$IN/pp-selfie.jpg" || fail "passport selfie differs"
cmp "$OUT/passport/translation-0.jpg" "$IN/pp-tr.jpg" || fail "passport translation differs"
[ "$(stat -c %a "$OUT/passport/front_side.jpg")" = 600 ] || fail "front_side.jpg is not mode 0600"
[ "$(stat -c %a "$OUT/passport")" = 700 ] || fail "the files dir is not mode 0700"
expect_ok "$IDVAULT" get driver_license --files-dir "$OUT/dl"
cmp "$OUT/dl/front_side.jpg" "$IN/dl-front.jpg" && cmp "$OUT/dl/reverse_side.jpg" "$IN/dl-back.jpg" || fail "driver_license scans differ"
grep -q '"document_no": "DL-77"' "$WORK/stdout" || fail "driver_license data: $(cat "$WORK/stdout")"
expect_ok "$IDVAULT" get identity_card --files-dir "$OUT/ic"
cmp "$OUT/ic/selfie.jpg" "$IN/ic-selfie.jpg" || fail "identity_card selfie differs"
for doc in utility_bill bank_statement rental_agreement passport_registration temporary_registration; do
  expect_ok "$IDVAULT" get "$doc" --files-dir "$OUT/$doc"
  cmp "$OUT/$doc/files-0.jpg" "$IN/$doc-1.jpg" && cmp "$OUT/$doc/files-1.jpg" "$IN/$doc-2.jpg" &&
    cmp "$OUT/$doc/translation-0.jpg" "$IN/$doc-tr.jpg" || fail "$doc scans differ"
done
expect_ok "$IDVAULT" get personal_details
grep -q '"first_name_native": "Ада"' "$WORK/stdout" || fail "personal_details: $(cat "$WORK/stdout")"
expect_ok "$IDVAULT" get phone_number
[ "$(cat "$WORK/stdout")" = 447700900123 ] || fail "phone_number: $(cat "$WORK/stdout")"
# get --json: one object, the same for every type.
expect_ok "$IDVAULT" get passport --json
json_is 'j["type"] == "passport" and j["data"]["document_no"] == "X1234567" and j["errors"] == []
         and j["scans"] == ["front_side.jpg", "selfie.jpg", "translation-0.jpg"] and "files_dir" not in j'
expect_ok "$IDVAULT" get phone_number --json
json_is 'j == {"type": "phone_number", "value": "447700900123", "errors": [], "scans": []}'
expect_ok "$IDVAULT" get identity_card --files-dir "$OUT/ic-json" --json
json_is 'j["scans"] == ["front_side.jpg", "reverse_side.jpg", "selfie.jpg"] and j["files_dir"].endswith("/out/ic-json")'
cmp "$OUT/ic-json/selfie.jpg" "$IN/ic-selfie.jpg" || fail "get --json --files-dir: selfie differs"
# A symlink where a scan would go is not followed.
mkdir -p "$OUT/trap" && chmod 700 "$OUT/trap" && ln -s "$WORK/victim" "$OUT/trap/front_side.jpg"
expect_fail 2 "cannot write $OUT/trap/front_side.jpg" "$IDVAULT" get passport --files-dir "$OUT/trap"
[ ! -e "$WORK/victim" ] || fail "get followed a symlink"

# Errors a service sent must be signed by the service the share went to (scripts/demo,
# run as a test, sends real ones from idvault-rp errors and checks that they show and
# clear); a bare PassportElementError list is refused.
hash=$("$PY" -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())')
printf '[{"source":"data","type":"passport","field_name":"document_no","data_hash":"%s","message":"Number unreadable"}]' \
  "$hash" >"$IN/errors.json"
expect_fail 2 "not a signed error list" "$IDVAULT" errors add "$IN/errors.json"
expect_ok "$IDVAULT" list
if grep -q "Number unreadable" "$WORK/stdout"; then fail "an unsigned error was kept"; fi

# Attestations.
# Only a real, signed attestation for this holder is kept (scripts/demo, run as a test,
# adds real ones from idvault-verifier); a made-up one is refused and nothing is kept.
printf '{"element_type":"passport","issuer":"verifier.example","signature":"c2ln"}' >"$IN/attestation.json"
expect_fail 1 'attestation' "$IDVAULT" attestation add "$IN/attestation.json"
expect_ok "$IDVAULT" attestation list
grep -q "no attestations" "$WORK/stdout" || fail "attestation list: $(cat "$WORK/stdout")"
expect_ok "$IDVAULT" attestation list --json
json_is 'j == []'
expect_fail 2 "unknown action 'remove'" "$IDVAULT" attestation remove "$IN/attestation.json"

# rm.
expect_ok "$IDVAULT" rm bank_statement --json
json_is 'j == {"deleted": "bank_statement"}'
expect_fail 1 "no bank_statement in the vault" "$IDVAULT" get bank_statement
expect_fail 1 "no bank_statement in the vault" "$IDVAULT" rm bank_statement

# A large put with --progress: the agent reports each file as it is encrypted (stderr is
# not a terminal here, so a line per report), ending at the whole; stored byte for byte.
make_scan "$IN/big-1.jpg" 3000000
make_scan "$IN/big-2.jpg" 1000000
expect_ok "$IDVAULT" put bank_statement --file "$IN/big-1.jpg" --file "$IN/big-2.jpg" --progress
[ "$(grep -c '^storing \[' "$WORK/stderr")" -eq 2 ] || fail "progress: $(cat "$WORK/stderr")"
tail -n 1 "$WORK/stderr" | grep -q '^storing \[#*\]   3.8/3.8 MiB 100%$' || fail "progress end: $(cat "$WORK/stderr")"
grep -q "stored bank_statement: 2 files" "$WORK/stdout" || fail "put said: $(cat "$WORK/stdout")"
expect_ok "$IDVAULT" get bank_statement --files-dir "$OUT/big"
cmp "$OUT/big/files-0.jpg" "$IN/big-1.jpg" && cmp "$OUT/big/files-1.jpg" "$IN/big-2.jpg" || fail "large scans differ"
# Without --progress and without a terminal: no bar.
expect_ok "$IDVAULT" put bank_statement --file "$IN/big-1.jpg"
[ ! -s "$WORK/stderr" ] || fail "a bar without a terminal: $(cat "$WORK/stderr")"
expect_ok "$IDVAULT" rm bank_statement

# lock, then a wrong PIN (SoftHSM has no retry counter, so no "tries left" to show), never resent.
expect_ok "$IDVAULT" lock --json
json_is 'j == {"locked": True, "was_unlocked": True}'
expect_ok "$IDVAULT" lock
grep -q "vault was already locked" "$WORK/stdout" || fail "lock said: $(cat "$WORK/stdout")"
expect_ok "$IDVAULT" status --json
json_is 'j["unlocked"] is False and j["lock_reason"] == "requested" and isinstance(j["locked_at"], int)'
# Why and when, not only that it is locked.
expect_fail 1 "vault locked: locked on request at [0-9]{2}:[0-9]{2} \('idvault lock'\); run 'idvault unlock'" "$IDVAULT" list
expect_ok "$IDVAULT" status
grep -q "vault: *locked (on request at [0-9][0-9]:[0-9][0-9])" "$WORK/stdout" || fail "status when locked: $(cat "$WORK/stdout")"
expect_fail 1 "^idvault: wrong PIN" "$IDVAULT" unlock --pin-file "$WORK/wrong-pin"
expect_fail 1 "already rejected by the token" "$IDVAULT" unlock --pin-file "$WORK/wrong-pin"
# The PIN from a pinentry-style program; a cancelled entry is a clear error.
printf '#!/bin/sh\nexit 1\n' >"$WORK/pinentry-cancel" && chmod 700 "$WORK/pinentry-cancel"
IDVAULT_PINENTRY=$WORK/pinentry-cancel expect_fail 2 "PIN entry cancelled" "$IDVAULT" unlock
printf '#!/bin/sh\necho "$1" > %s/pinentry-prompt\necho %s\n' "$WORK" "$PIN" >"$WORK/pinentry" && chmod 700 "$WORK/pinentry"
IDVAULT_PINENTRY=$WORK/pinentry expect_ok "$IDVAULT" unlock --json
json_is 'j == {"unlocked": True, "mode": "token_aes", "token": "holder"}'
grep -q "holder" "$WORK/pinentry-prompt" || fail "the pinentry prompt does not name the token"
expect_ok "$IDVAULT" status
grep -q "vault: *unlocked" "$WORK/stdout" && grep -q "elements: 12" "$WORK/stdout" || fail "status: $(cat "$WORK/stdout")"
expect_ok "$IDVAULT" unlock --pin-file "$WORK/pin"
grep -q "already unlocked" "$WORK/stdout" || fail "second unlock said: $(cat "$WORK/stdout")"

# Nothing readable on disk: the database, its WAL, and the file ciphertexts beside it
# (the scans went there as attachments, the agent offering them).
ls "$WORK/data/vault.db.files/"*.tgc >/dev/null || fail "no file ciphertexts beside the store"
cat "$WORK/data/"vault.db "$WORK/data/"vault.db-* "$WORK/data/vault.db.files/"* >"$WORK/disk"
for plain in Lovelace X1234567 DL-77 "St James"; do
  if grep -aq "$plain" "$WORK/disk"; then fail "'$plain' is readable in the store"; fi
done
for scan in pp-front ic-selfie; do  # 32 bytes from inside each scan
  /usr/bin/python3 -c 'import sys; sys.exit(open(sys.argv[2], "rb").read()[1000:1032] in open(sys.argv[1], "rb").read())' \
    "$WORK/disk" "$IN/$scan.jpg" || fail "bytes of $scan.jpg are readable in the store"
done
echo "PASS"
