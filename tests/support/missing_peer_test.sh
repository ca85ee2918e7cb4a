#!/bin/sh
# missing_peer.sh's rule (issue 13.24): a test whose peer is missing skips (77) on a
# developer's machine and fails (1) under CI, whatever value the CI service gives CI.
here=$(cd "$(dirname "$0")" && pwd)
status_with() {
  (
    if [ "$1" = unset ]; then unset CI; else CI=$1; export CI; fi
    . "$here/missing_peer.sh"
    skip_missing_peer "no such peer" >/dev/null
  )
  echo $?
}
failed=0
for case in unset:77 "":77 false:77 0:77 true:1 1:1 yes:1; do
  ci=${case%:*} expected=${case##*:}
  got=$(status_with "$ci")
  if [ "$got" != "$expected" ]; then
    echo "FAIL: CI=$ci: exit $got, expected $expected"
    failed=1
  fi
done
exit "$failed"
