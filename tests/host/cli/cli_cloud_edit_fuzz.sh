#!/bin/sh
# Offline edits on two devices, merged (issue 17): through the real binaries on two
# SoftHSM2 tokens and an idvault-cloud on loopback, both agents syncing only when asked,
# 1,000 random edits on each device (10 rounds of 100: put, change or clear a field,
# delete, make again) with no sync between, then both sync; cloud_edit_fuzz.py checks
# each round against a model of the merge rules: nothing lost silently, every field
# changed on both sides merged or shown as a conflict, on both devices.
#   IDVAULT_EDIT_FUZZ_ROUNDS, IDVAULT_EDIT_FUZZ_EDITS, IDVAULT_EDIT_FUZZ_SEED: the size
#   and the seed (a failure prints the seed to rerun it with).
# Called as: SCRIPT IDVAULT AGENT IDVAULT_CLOUD
. "$(dirname "$0")/cli_test_lib.sh"
. "$(dirname "$0")/cloud_test_lib.sh"

ROUNDS=${IDVAULT_EDIT_FUZZ_ROUNDS:-10}
EDITS=${IDVAULT_EDIT_FUZZ_EDITS:-100}
SEED=${IDVAULT_EDIT_FUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}

start_cloud
start_agent --no-background-sync
expect_ok "$IDVAULT" init --pin-file "$WORK/pin"
expect_ok "$IDVAULT" put personal_details --field first_name=Ada --field last_name=Lovelace \
  --field birth_date=10.12.1815 --field gender=female --field country_code=GB --field residence_country_code=GB
expect_ok "$IDVAULT" put email --value a@example.org
expect_ok "$IDVAULT" cloud init "$URL" --recovery-code-file "$WORK/code" --device-name desk --json
ACCOUNT_URL=$(account_url_of "$WORK/stdout") || fail "cloud init printed: $(cat "$WORK/stdout")"

start_device laptop --no-background-sync
join_device laptop "$ACCOUNT_URL"

"$PY" "$(dirname "$0")/cloud_edit_fuzz.py" "$WORK/run/agent.sock" "$WORK/run/laptop.sock" \
  "$ROUNDS" "$EDITS" "$SEED" >"$WORK/fuzz.out" 2>&1 ||
  fail "the merge differs from the model (seed $SEED):
$(tail -n 40 "$WORK/fuzz.out")"
cat "$WORK/fuzz.out"
echo "cli cloud edit fuzz: ok (seed $SEED)"
