#!/bin/sh
# ctest driver: idvault encrypts a bundle of every element type (interop_make_bundle),
# python-telegram-bot decrypts it with its own code (ptb_decrypt.py) and checks every value.
# usage: ptb_interop.sh INTEROP_MAKE_BUNDLE [--key-bits N]
set -eu
tool=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../support/missing_peer.sh"
if ! /usr/bin/python3 -c 'import telegram, cryptography' 2>/dev/null; then
  skip_missing_peer "/usr/bin/python3 cannot import telegram (Debian package python3-python-telegram-bot; run scripts/setup)"
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/idvault-ptb.XXXXXX")
trap 'rm -rf "$dir"' EXIT
"$tool" "$dir/bundle" "$@"
/usr/bin/python3 "$here/ptb_decrypt.py" "$dir/bundle"
