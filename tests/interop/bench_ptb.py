# Copied unchanged (apart from this note) from the team reference ../shared/reference/bench/ptb_bench.py:
# python-telegram-bot 13.15 decrypting a bench_gen_bundle.py bundle with its own code.
"""Time python-telegram-bot 13.15's own Telegram Passport decryption path on a bundle
made by gen_bundle.py.

Per bundle (all inputs already in memory, as a bot holds an update and downloaded files):
  meta phase:  json.loads(passport_data) -> telegram.PassportData.de_json(..., bot)
               -> .decrypted_credentials  (EncryptedCredentials.decrypted_secret: RSA-OAEP
                  with bot.private_key; .decrypted_data: AES-CBC + SHA-256 check + JSON)
               -> .decrypted_data         (every element's `data` via credentials.decrypt_json)
  files phase: for every PassportFile: telegram.File(...) + set_credentials(pf's FileCredentials)
               -> File.download(out=BytesIO) which calls telegram.passport.credentials.decrypt;
               bot.request.retrieve is replaced by an in-memory lookup (no network).
The bot's private key is loaded once (Bot(private_key=...)), as in a running bot.
The first (warm-up) bundle is verified against manifest.json (SHA-256 of every plaintext).

usage: python3 ptb_bench.py BUNDLE_DIR [--runs 200] [--warmup 5] [--tag ptb]
prints: result<TAB>ptb_bundle_{meta,files,total}_ms<TAB><ms>  (one line per bundle per phase)
        result<TAB>ptb_sustained_ms_per_bundle<TAB><ms>  (wall time of the whole timed loop / runs,
        which also pays for freeing each bundle's buffers and objects; one line per process)
"""
import argparse
import hashlib
import io
import json as stdjson
import os
import statistics
import sys
import time
import warnings

warnings.simplefilter("ignore")  # PTB warns about unbundled urllib3 on Debian

import telegram  # noqa: E402
from telegram import Bot, File, PassportData  # noqa: E402

TOKEN = "123456789:AAbenchbenchbenchbenchbenchbenchbe"


class MemRequest:
    """Stands in for telegram.utils.request.Request: serves getFile downloads from memory."""

    def __init__(self, blobs):
        self.blobs = blobs

    def retrieve(self, url, timeout=None):
        return self.blobs[url.rsplit("/", 1)[1]]


def passport_files(el):
    out = []
    for attr in ("front_side", "reverse_side", "selfie"):
        pf = getattr(el, attr)
        if pf is not None:
            out.append((f"{el.type}.{attr}", pf))
    for attr in ("files", "translation"):
        for i, pf in enumerate(getattr(el, attr) or []):
            out.append((f"{el.type}.{attr}.{i}", pf))
    return out


def one_bundle(bot, text):
    t0 = time.perf_counter()
    pd = PassportData.de_json(stdjson.loads(text), bot)
    creds = pd.decrypted_credentials
    elements = pd.decrypted_data
    t1 = time.perf_counter()
    plain = {}
    for el in elements:
        for name, pf in passport_files(el):
            f = File(pf.file_id, pf.file_unique_id, bot=bot, file_size=pf.file_size,
                     file_path=f"https://api.telegram.org/file/bot{TOKEN}/passport/{pf.file_id}")
            f.set_credentials(pf._credentials)  # what PassportFile.get_file() does
            plain[name] = f.download(out=io.BytesIO()).getvalue()
    t2 = time.perf_counter()
    return (t1 - t0, t2 - t1, t2 - t0), creds, elements, plain


def verify(manifest, creds, elements, plain):
    assert creds.nonce == manifest["nonce"], "nonce mismatch"
    want = manifest["plain_sha256"]
    for name, data in plain.items():
        assert hashlib.sha256(data).hexdigest() == want[name], name
    assert len(plain) == sum(1 for k in want if ".files." in k or k.endswith(("front_side", "selfie")))
    types = {el.type for el in elements}
    assert types == {"personal_details", "passport", "address", "utility_bill"}, types
    pdet = next(el for el in elements if el.type == "personal_details")
    assert pdet.data.first_name == "Aleksandra"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bundle")
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--tag", default="ptb", help="metric name prefix (run.sh uses ptb_notrim for "
                    "the run under MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_)")
    a = ap.parse_args()
    with open(os.path.join(a.bundle, "key.pem"), "rb") as f:
        bot = Bot(TOKEN, private_key=f.read())
    blobs = {}
    fdir = os.path.join(a.bundle, "files")
    for name in os.listdir(fdir):
        with open(os.path.join(fdir, name), "rb") as f:
            blobs[name] = f.read()
    bot._request = MemRequest(blobs)
    with open(os.path.join(a.bundle, "passport_data.json")) as f:
        text = f.read()
    with open(os.path.join(a.bundle, "manifest.json")) as f:
        manifest = stdjson.load(f)

    print(f"info\tptb\tpython-telegram-bot {telegram.__version__} on Python "
          f"{sys.version.split()[0]}, json={telegram.passport.credentials.json.__name__}")
    for i in range(a.warmup):
        _, creds, elements, plain = one_bundle(bot, text)
        if i == 0:
            verify(manifest, creds, elements, plain)
            print("info\tptb\tverified plaintexts against manifest")
    totals = []
    t_loop = time.perf_counter()
    for _ in range(a.runs):
        res = one_bundle(bot, text)
        meta, files, total = res[0]
        del res  # free this bundle's objects inside the loop, so the sustained figure pays for it
        totals.append(total)
        print(f"result\t{a.tag}_bundle_meta_ms\t{meta * 1e3:.4f}")
        print(f"result\t{a.tag}_bundle_files_ms\t{files * 1e3:.4f}")
        print(f"result\t{a.tag}_bundle_total_ms\t{total * 1e3:.4f}")
    sustained = (time.perf_counter() - t_loop) / a.runs
    print(f"result\t{a.tag}_sustained_ms_per_bundle\t{sustained * 1e3:.4f}")
    med = statistics.median(totals)
    print(f"info\tptb\tmedian {med * 1e3:.3f} ms/bundle = {1 / med:.1f} bundles/s = "
          f"{manifest['total_cipher_bytes'] / med / 1e6:.1f} MB/s", file=sys.stderr)


if __name__ == "__main__":
    main()
