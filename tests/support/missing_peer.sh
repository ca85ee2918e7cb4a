# Sourced by the tests that need a program beside idvault (python-telegram-bot, chromium,
# the private pcscd that drives OpenSC): `skip_missing_peer WHY` exits 77, ctest's skip,
# on a developer's machine; under CI (CI set, as every CI service does, and not "false"
# or "0") it exits 1, because there a missing peer means the test tested nothing.
# tests/support/missing_peer.h and demo_page_test.py apply the same rule.
skip_missing_peer() {
  case "${CI:-}" in
    "" | false | 0)
      echo "SKIP: $*"
      exit 77
      ;;
    *)
      echo "FAIL: $* (CI=$CI: a missing peer fails under CI instead of skipping)"
      exit 1
      ;;
  esac
}
