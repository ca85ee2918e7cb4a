"""Decrypt an idvault bundle with python-telegram-bot 13's own Passport code and check
every value against what idvault was given (interop test: ours -> the real peer).

Run with /usr/bin/python3 (Debian's python3-python-telegram-bot), on a directory made by
interop_make_bundle:  ptb_decrypt.py BUNDLE_DIR
Exit status 0 when everything matches, 1 with one line per mismatch otherwise.
"""
import base64
import io
import json
import os
import sys
import warnings

warnings.simplefilter("ignore")  # PTB warns about Debian's unbundled urllib3

from telegram import Bot, File, PassportData  # noqa: E402
from telegram.passport.credentials import decrypt_json  # noqa: E402

TOKEN = "123456789:AAinteropinteropinteropinteropinte"


class MemRequest:
    """Stands in for telegram.utils.request.Request: serves file downloads from memory,
    so File.download runs PTB's real decryption without a network."""

    def __init__(self, blobs):
        self.blobs = blobs

    def retrieve(self, url, timeout=None):
        return self.blobs[url.rsplit("/", 1)[1]]


def main():
    bundle = sys.argv[1]
    with open(os.path.join(bundle, "key.pem"), "rb") as f:
        bot = Bot(TOKEN, private_key=f.read())
    blobs = {}
    for name in os.listdir(os.path.join(bundle, "files")):
        with open(os.path.join(bundle, "files", name), "rb") as f:
            blobs[name] = f.read()
    bot._request = MemRequest(blobs)
    with open(os.path.join(bundle, "passport_data.json"), encoding="utf-8") as f:
        raw = json.load(f)
    with open(os.path.join(bundle, "expected.json"), encoding="utf-8") as f:
        expected = json.load(f)

    errors = []
    pd = PassportData.de_json(raw, bot)
    creds = pd.decrypted_credentials
    if creds.nonce != expected["nonce"]:
        errors.append(f"nonce: {creds.nonce!r} != {expected['nonce']!r}")

    elements = pd.decrypted_data
    seen = set()
    checked_files = 0
    for raw_el, el in zip(raw["data"], elements):
        want = expected["elements"].get(el.type)
        if want is None:
            errors.append(f"{el.type}: not expected")
            continue
        seen.add(el.type)
        if "phone_number" in want and el.phone_number != want["phone_number"]:
            errors.append(f"{el.type}: phone_number {el.phone_number!r}")
        if "email" in want and el.email != want["email"]:
            errors.append(f"{el.type}: email {el.email!r}")
        if "data" in want:
            # The exact JSON object, through PTB's own decrypt_json ...
            secure = getattr(creds.secure_data, el.type).data
            plain = decrypt_json(base64.b64decode(secure.secret), base64.b64decode(secure.hash),
                                 base64.b64decode(raw_el["data"]))
            if plain != want["data"]:
                errors.append(f"{el.type}.data: {plain!r} != {want['data']!r}")
            # ... and field by field through the objects PTB builds for a bot.
            for key, value in want["data"].items():
                if getattr(el.data, key, None) != value:
                    errors.append(f"{el.type}.data.{key}: {getattr(el.data, key, None)!r} != {value!r}")
        for slot, names in want["files"].items():
            got = getattr(el, slot)
            pairs = list(zip(got or [], names)) if isinstance(names, list) else [(got, names)]
            if isinstance(names, list) and len(got or []) != len(names):
                errors.append(f"{el.type}.{slot}: {len(got or [])} files, expected {len(names)}")
            for pf, name in pairs:
                if pf is None:
                    errors.append(f"{el.type}.{slot}: missing")
                    continue
                f = File(pf.file_id, pf.file_unique_id, bot=bot, file_size=pf.file_size,
                         file_path=f"https://api.telegram.org/file/bot{TOKEN}/passport/{pf.file_id}")
                f.set_credentials(pf._credentials)  # what PassportFile.get_file() does
                data = f.download(out=io.BytesIO()).getvalue()
                with open(os.path.join(bundle, "plain", name), "rb") as fh:
                    if data != fh.read():
                        errors.append(f"{name}: plaintext differs")
                checked_files += 1
    missing = set(expected["elements"]) - seen
    if missing:
        errors.append(f"elements PTB did not return: {sorted(missing)}")
    for e in errors:
        print("MISMATCH", e)
    if errors:
        return 1
    print(f"python-telegram-bot decrypted {len(seen)} elements and {checked_files} files; all match")
    return 0


if __name__ == "__main__":
    sys.exit(main())
