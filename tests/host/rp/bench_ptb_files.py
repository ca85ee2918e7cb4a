"""python-telegram-bot 13.15 on the Telegram-migration path, as a whole process: N decrypts
of a bench_gen_bundle.py PassportData, each reading passport_data.json and every file it
names from disk (files/<file_id>, as a bot keeps what it fetched by file_id), decrypting
with PTB's own code (File.download with its credentials) — what
`idvault-rp decrypt --files-dir DIR/files DIR/passport_data.json...` does with N inputs.
The first decrypt is checked against manifest.json. bench_rp files-dir times the process.

usage: /usr/bin/python3 bench_ptb_files.py BUNDLE_DIR [--decrypts 100]
"""
import argparse
import io
import json
import os
import sys
import warnings

warnings.simplefilter("ignore")  # PTB warns about unbundled urllib3 on Debian

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "interop"))
from bench_ptb import TOKEN, passport_files, verify  # noqa: E402
from telegram import Bot, File, PassportData  # noqa: E402


class DiskRequest:
    """Stands in for telegram.utils.request.Request: a download reads files/<file_id>."""

    def __init__(self, files_dir):
        self.files_dir = files_dir

    def retrieve(self, url, timeout=None):
        with open(os.path.join(self.files_dir, url.rsplit("/", 1)[1]), "rb") as f:
            return f.read()


def one_decrypt(bot, path):
    with open(path, encoding="utf-8") as f:
        pd = PassportData.de_json(json.load(f), bot)
    creds = pd.decrypted_credentials
    elements = pd.decrypted_data
    plain = {}
    for el in elements:
        for name, pf in passport_files(el):
            f = File(pf.file_id, pf.file_unique_id, bot=bot, file_size=pf.file_size,
                     file_path=f"https://api.telegram.org/file/bot{TOKEN}/passport/{pf.file_id}")
            f.set_credentials(pf._credentials)  # what PassportFile.get_file() does
            plain[name] = f.download(out=io.BytesIO()).getvalue()
    return creds, elements, plain


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bundle")
    ap.add_argument("--decrypts", type=int, default=100)
    a = ap.parse_args()
    with open(os.path.join(a.bundle, "key.pem"), "rb") as f:
        bot = Bot(TOKEN, private_key=f.read())
    bot._request = DiskRequest(os.path.join(a.bundle, "files"))
    path = os.path.join(a.bundle, "passport_data.json")
    with open(os.path.join(a.bundle, "manifest.json")) as f:
        manifest = json.load(f)
    for i in range(a.decrypts):
        result = one_decrypt(bot, path)
        if i == 0:
            verify(manifest, *result)
        del result
    print(f"decrypted {a.decrypts}")


if __name__ == "__main__":
    main()
