#!/bin/sh
# PIN prompts as a person meets them, on a pseudo-terminal (pty_session.py):
# - Ctrl-C, SIGTERM or SIGHUP during the terminal prompt end the CLI as before, but leave
#   the terminal with echo on (issue 13.22);
# - $IDVAULT_PINENTRY speaks the pinentry protocol, so Debian's pinentry-tty works, and a
#   cancel there is a clear error; the PIN's percent-escapes are decoded; an askpass-style
#   program still works there, and under its own name $IDVAULT_ASKPASS (issue 13.23).
. "$(dirname "$0")/cli_test_lib.sh"
[ -x /usr/bin/pinentry-tty ] || fail "pinentry-tty is not installed (scripts/setup installs it)"
unset IDVAULT_ASKPASS
start_agent
expect_ok "$IDVAULT" init --pin-file "$WORK/pin"
expect_ok "$IDVAULT" lock

# 1. The terminal prompt, interrupted.
for action in key:03 signal:TERM signal:HUP; do
  "$PY" "$HERE/pty_session.py" "PIN for token 'holder': " "$action" -- "$IDVAULT" unlock >"$WORK/pty.out" ||
    fail "pty session: $(cat "$WORK/pty.out")"
  case $action in
    key:03) want=INT ;;
    signal:*) want=${action#signal:} ;;
  esac
  grep -q "^signal: $want\$" "$WORK/pty.out" || fail "$action did not end the CLI by SIG$want: $(cat "$WORK/pty.out")"
  grep -q "^echo: on\$" "$WORK/pty.out" || fail "$action left the terminal without echo: $(cat "$WORK/pty.out")"
done
# ... and answered, it still works.
"$PY" "$HERE/pty_session.py" "PIN for token 'holder': " "type:$PIN" -- "$IDVAULT" unlock >"$WORK/pty.out" ||
  fail "pty session: $(cat "$WORK/pty.out")"
grep -q "^exit: 0\$" "$WORK/pty.out" || fail "unlock on the terminal: $(cat "$WORK/pty.out")"
grep -q "^echo: on\$" "$WORK/pty.out" || fail "the terminal was left without echo: $(cat "$WORK/pty.out")"
if grep -q "$PIN" "$WORK/pty.out"; then fail "the PIN was echoed: $(cat "$WORK/pty.out")"; fi
expect_ok "$IDVAULT" lock

# 2. Debian's pinentry-tty through the pinentry protocol, on the same kind of terminal.
IDVAULT_PINENTRY=/usr/bin/pinentry-tty "$PY" "$HERE/pty_session.py" "PIN for token 'holder':" "type:$PIN" -- \
  "$IDVAULT" unlock >"$WORK/pty.out" || fail "pty session: $(cat "$WORK/pty.out")"
grep -q "^exit: 0\$" "$WORK/pty.out" || fail "unlock through pinentry-tty: $(cat "$WORK/pty.out")"
grep -q "idvault asks for: PIN for token 'holder'" "$WORK/pty.out" || fail "pinentry-tty showed: $(cat "$WORK/pty.out")"
expect_ok "$IDVAULT" status
grep -q "vault: *unlocked" "$WORK/stdout" || fail "not unlocked through pinentry-tty: $(cat "$WORK/stdout")"
expect_ok "$IDVAULT" lock
# Cancelled there (end of input): one clear line, nothing unlocked.
IDVAULT_PINENTRY=/usr/bin/pinentry-tty "$PY" "$HERE/pty_session.py" "PIN for token 'holder':" "key:04" -- \
  "$IDVAULT" unlock >"$WORK/pty.out" || fail "pty session: $(cat "$WORK/pty.out")"
grep -q "^exit: 2\$" "$WORK/pty.out" || fail "a cancel in pinentry-tty: $(cat "$WORK/pty.out")"
grep -q "PIN entry cancelled (/usr/bin/pinentry-tty)" "$WORK/pty.out" || fail "a cancel said: $(cat "$WORK/pty.out")"

# 3. Without a terminal: a scripted pinentry that escapes the PIN ("3" as %33), one that
# is cancelled, and askpass-style programs under both names.
cat >"$WORK/pinentry-script" <<EOF
#!/bin/sh
echo "OK Pleased to meet you"
while read -r command rest; do
  echo "\$command \$rest" >>"$WORK/pinentry-script.log"
  case \$command in
    GETPIN) printf '# a comment line\nS PASSPHRASE_SEEN\nD 12%%334\nOK\n' ;;
    BYE) echo "OK closing connection"; exit 0 ;;
    *) echo OK ;;
  esac
done
EOF
sed 's/D 12%%334\\nOK/ERR 83886179 Operation cancelled <Pinentry>/' "$WORK/pinentry-script" >"$WORK/pinentry-cancel"
printf '#!/bin/sh\necho "$1" >%s/askpass-prompt\necho %s\n' "$WORK" "$PIN" >"$WORK/askpass"
chmod 700 "$WORK/pinentry-script" "$WORK/pinentry-cancel" "$WORK/askpass"
IDVAULT_PINENTRY=$WORK/pinentry-cancel expect_fail 2 "^idvault: PIN entry cancelled \($WORK/pinentry-cancel\)" \
  "$IDVAULT" unlock
IDVAULT_PINENTRY=$WORK/pinentry-script expect_ok "$IDVAULT" unlock
grep -q "^SETDESC idvault asks for: PIN for token 'holder'" "$WORK/pinentry-script.log" ||
  fail "the pinentry was told: $(cat "$WORK/pinentry-script.log")"
grep -q "^GETPIN" "$WORK/pinentry-script.log" || fail "the pinentry was told: $(cat "$WORK/pinentry-script.log")"
expect_ok "$IDVAULT" lock
IDVAULT_ASKPASS=$WORK/askpass expect_ok "$IDVAULT" unlock
grep -q "PIN for token 'holder'" "$WORK/askpass-prompt" || fail "the askpass prompt: $(cat "$WORK/askpass-prompt")"
expect_ok "$IDVAULT" lock
rm "$WORK/askpass-prompt"
IDVAULT_PINENTRY=$WORK/askpass expect_ok "$IDVAULT" unlock
grep -q "PIN for token 'holder'" "$WORK/askpass-prompt" || fail "the old name no longer runs an askpass program"
echo "PASS"
