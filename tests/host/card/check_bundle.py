"""Decrypts an idvault bundle with python-telegram-bot (the real peer) and checks the
values: check_bundle.py BUNDLE_JSON SERVICE_KEY_PEM NONCE EXPECTED_JSON

EXPECTED_JSON maps element type -> {"data": {...}} and/or {"front_side_sha256": hex}.
"""
import hashlib
import io
import json
import sys
import warnings

warnings.simplefilter("ignore")
from telegram import Bot, File, PassportData  # noqa: E402

TOKEN = "123456789:AAcardtestcardtestcardtestcardtestca"


class MemRequest:
    def __init__(self, blobs):
        self.blobs = blobs

    def retrieve(self, url, timeout=None):
        return self.blobs[url.rsplit("/", 1)[1]]


def main():
    bundle = json.load(open(sys.argv[1]))
    bot = Bot(TOKEN, private_key=open(sys.argv[2], "rb").read())
    import base64
    bot._request = MemRequest({k: base64.b64decode(v) for k, v in bundle["files"].items()})
    expected = json.loads(sys.argv[4])
    pd = PassportData.de_json(bundle["passport_data"], bot)
    if pd.decrypted_credentials.nonce != sys.argv[3]:
        print("nonce mismatch")
        return 1
    seen = 0
    for el in pd.decrypted_data:
        want = expected.get(el.type)
        if want is None:
            continue
        for key, value in want.get("data", {}).items():
            if getattr(el.data, key, None) != value:
                print(f"{el.type}.{key}: {getattr(el.data, key, None)!r} != {value!r}")
                return 1
        if "front_side_sha256" in want:
            pf = el.front_side
            f = File(pf.file_id, pf.file_unique_id, bot=bot, file_size=pf.file_size,
                     file_path=f"https://api.telegram.org/file/bot{TOKEN}/x/{pf.file_id}")
            f.set_credentials(pf._credentials)
            data = f.download(out=io.BytesIO()).getvalue()
            if hashlib.sha256(data).hexdigest() != want["front_side_sha256"]:
                print(f"{el.type}.front_side differs")
                return 1
        seen += 1
    if seen != len(expected):
        print(f"only {seen} of {len(expected)} expected elements decrypted")
        return 1
    print(f"python-telegram-bot decrypted {seen} elements from the card-backed vault")
    return 0


if __name__ == "__main__":
    sys.exit(main())
