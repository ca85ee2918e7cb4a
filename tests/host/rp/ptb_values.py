"""Decrypt a Bot API PassportData with python-telegram-bot 13's own Passport code and
print what a bot sees, as one JSON object, for idvault-rp's output to be compared with:
  {"nonce": ..., "elements": {TYPE: {"data"?: {...}, "phone_number"?, "email"?,
                                     SLOT: [sha256 hex of each decrypted file, ...]}}}
Run with /usr/bin/python3 (Debian's python3-python-telegram-bot):
  ptb_values.py KEY_PEM PASSPORT_DATA_JSON FILES_DIR
"""
import base64
import hashlib
import io
import json
import os
import sys
import warnings

warnings.simplefilter("ignore")  # PTB warns about Debian's unbundled urllib3

from telegram import Bot, File, PassportData  # noqa: E402
from telegram.passport.credentials import decrypt_json  # noqa: E402

TOKEN = "123456789:AAservicesideservicesideservicesid"


class MemRequest:
    """Serves file downloads from FILES_DIR, so File.download runs PTB's real decryption."""

    def __init__(self, files_dir):
        self.files_dir = files_dir

    def retrieve(self, url, timeout=None):
        with open(os.path.join(self.files_dir, url.rsplit("/", 1)[1]), "rb") as f:
            return f.read()


def main():
    key_pem, pd_path, files_dir = sys.argv[1:4]
    with open(key_pem, "rb") as f:
        bot = Bot(TOKEN, private_key=f.read())
    bot._request = MemRequest(files_dir)
    with open(pd_path, encoding="utf-8") as f:
        raw = json.load(f)
    pd = PassportData.de_json(raw, bot)
    creds = pd.decrypted_credentials
    out = {"nonce": creds.nonce, "elements": {}}
    for raw_el, el in zip(raw["data"], pd.decrypted_data):
        item = {}
        if el.phone_number:
            item["phone_number"] = el.phone_number
        if el.email:
            item["email"] = el.email
        if raw_el.get("data"):
            secure = getattr(creds.secure_data, el.type).data
            item["data"] = decrypt_json(base64.b64decode(secure.secret), base64.b64decode(secure.hash),
                                        base64.b64decode(raw_el["data"]))
        for slot in ("front_side", "reverse_side", "selfie", "files", "translation"):
            got = getattr(el, slot)
            if not got:
                continue
            digests = []
            for pf in (got if isinstance(got, list) else [got]):
                f = File(pf.file_id, pf.file_unique_id, bot=bot, file_size=pf.file_size,
                         file_path=f"https://api.telegram.org/file/bot{TOKEN}/passport/{pf.file_id}")
                f.set_credentials(pf._credentials)  # what PassportFile.get_file() does
                digests.append(hashlib.sha256(f.download(out=io.BytesIO()).getvalue()).hexdigest())
            item[slot] = digests
        out["elements"][el.type] = item
    json.dump(out, sys.stdout, ensure_ascii=False)
    print()


if __name__ == "__main__":
    main()
