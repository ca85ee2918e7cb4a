"""Independent Telegram Passport encoder for the not-ours -> ours interop test.

Written from the spec (docs: core.telegram.org/passport, /passport/encryption) with
python3-cryptography, after ../shared/reference/bench/gen_bundle.py; it shares no code
with idvault. Each variant reproduces what some real encoder does:

  android     pads drawn from the whole range 32..255, secrets with Telegram's 239 checksum,
              credentials secure_data first with Android org.json's "\\/" escapes, raw
              UTF-8 in data, all 13 element types
  tdlib       TDLib's pads (smallest: 32..47), every data key written ("" for absent
              optional values, empty expiry_date), credentials and passport_data with sorted
              keys (nonce first), 2018-era PassportFile (no file_unique_id, no file_size)
  legacy      Passport 1.0 credentials ("payload" instead of "nonce"), data JSON with
              \\uXXXX escapes, plain random secrets, a PKCS#1 ("BEGIN RSA PRIVATE KEY") key
  pad_sweep   one utility_bill whose 224 files use every pad length 32..255 once

usage: /usr/bin/python3 gen_vectors.py OUTDIR VARIANT
writes OUTDIR/{key.pem, passport_data.json, files/<file_id>, manifest.json}; the manifest
holds the nonce and, per element, the data object, the SHA-256 of the data plaintext and of
each file plaintext, and the plain phone_number/email.
"""
import base64
import hashlib
import json
import os
import random
import sys
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def b64(b):
    return base64.b64encode(b).decode("ascii")


def sha(b):
    return hashlib.sha256(b).hexdigest()


def telegram_secret():
    s = bytearray(os.urandom(32))
    d = (255 + 239 - sum(s) % 255) % 255
    s[0] = (s[0] + d) % 255
    return bytes(s)


class Encoder:
    def __init__(self, pad_mode, checksum_secrets, rng):
        self.pad_mode = pad_mode
        self.checksum_secrets = checksum_secrets
        self.rng = rng
        self.pads = []

    def pad_length(self, n, forced=None):
        if forced is not None:
            return forced
        choices = [p for p in range(32, 256) if (n + p) % 16 == 0]
        if self.pad_mode == "tdlib":
            return ((32 + 15 + n) & ~15) - n  # TDLib SecureStorage: always the smallest
        return self.rng.choice(choices)

    def encrypt(self, plain, forced_pad=None):
        pad = self.pad_length(len(plain), forced_pad)
        assert 32 <= pad <= 255 and (pad + len(plain)) % 16 == 0
        self.pads.append(pad)
        padded = bytes([pad]) + os.urandom(pad - 1) + plain
        value_hash = hashlib.sha256(padded).digest()
        secret = telegram_secret() if self.checksum_secrets else os.urandom(32)
        kiv = hashlib.sha512(secret + value_hash).digest()
        enc = Cipher(algorithms.AES(kiv[:32]), modes.CBC(kiv[32:48])).encryptor()
        return enc.update(padded) + enc.finalize(), value_hash, secret


def jpeg(size):
    head = bytes.fromhex("ffd8ffe000104a464946000101")
    if size < len(head) + 2:
        return os.urandom(size)
    return head + os.urandom(size - len(head) - 2) + b"\xff\xd9"


def build(variant, out):
    rng = random.Random()
    enc = Encoder("tdlib" if variant == "tdlib" else "random", variant in ("android", "tdlib"), rng)
    os.makedirs(os.path.join(out, "files"), exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_format = (serialization.PrivateFormat.TraditionalOpenSSL if variant == "legacy"
                  else serialization.PrivateFormat.PKCS8)
    with open(os.path.join(out, "key.pem"), "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, key_format, serialization.NoEncryption()))

    tdlib = variant == "tdlib"
    now = int(time.time())
    manifest = {"elements": {}}
    secure_data = {}
    elements = []
    counter = [0]

    def data_json(obj):
        if variant == "legacy":
            return json.dumps(obj, ensure_ascii=True).encode()
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()

    def add_file(plain, forced_pad=None):
        ct, h, s = enc.encrypt(plain, forced_pad)
        counter[0] += 1
        file_id = f"BQACAgIAAxkBAAI{variant}{counter[0]:04d}{os.urandom(6).hex()}"
        with open(os.path.join(out, "files", file_id), "wb") as f:
            f.write(ct)
        pf = {"file_id": file_id}
        if not tdlib:
            pf["file_unique_id"] = f"AQAD{counter[0]:04d}"
            pf["file_size"] = len(ct)
        pf["file_date"] = now
        return pf, {"file_hash": b64(h), "secret": b64(s)}, sha(plain)

    def add(type_, data=None, single=None, lists=None, plain_value=None):
        el = {"type": type_}
        want = {"files": {}}
        cred = {}
        if data is not None:
            plain = data_json(data)
            ct, h, s = enc.encrypt(plain)
            el["data"] = b64(ct)
            cred["data"] = {"data_hash": b64(h), "secret": b64(s)}
            want["data"] = data
            want["data_sha256"] = sha(plain)
        if plain_value is not None:
            el[type_] = plain_value
            want[type_] = plain_value
        for slot in ("front_side", "reverse_side", "selfie"):
            if single and slot in single:
                pf, fc, digest = add_file(single[slot])
                el[slot] = pf
                cred[slot] = fc
                want["files"][slot] = digest
        for slot in ("files", "translation"):
            if lists and slot in lists:
                el[slot], cred[slot], want["files"][slot] = [], [], []
                for item in lists[slot]:
                    plain, forced = item if isinstance(item, tuple) else (item, None)
                    pf, fc, digest = add_file(plain, forced)
                    el[slot].append(pf)
                    cred[slot].append(fc)
                    want["files"][slot].append(digest)
        el["hash"] = b64(os.urandom(32))  # opaque, as from Telegram's server
        if cred:
            secure_data[type_] = cred
        elements.append(el)
        manifest["elements"][type_] = want

    def person():
        d = {"first_name": "Ærøskøbing", "last_name": "O'Brien-Ñúñez", "birth_date": "01.01.1970",
             "gender": "male", "country_code": "DK", "residence_country_code": "ES",
             "first_name_native": "Эрёскёбинг", "last_name_native": "Нуньес"}
        if tdlib:
            d = {"first_name": d["first_name"], "middle_name": "", "last_name": d["last_name"],
                 "first_name_native": d["first_name_native"], "middle_name_native": "",
                 "last_name_native": d["last_name_native"], "birth_date": d["birth_date"],
                 "gender": d["gender"], "country_code": d["country_code"],
                 "residence_country_code": d["residence_country_code"]}
        return d

    def document(no, expiry):
        return {"document_no": no, "expiry_date": expiry} if (tdlib or expiry) else {"document_no": no}

    if variant == "pad_sweep":
        add("personal_details", person())
        sweep = []
        for i in range(224):
            pad = 32 + i
            size = 40 + (-(pad + 40)) % 16
            sweep.append((jpeg(size), pad))
        add("utility_bill", lists={"files": sweep})
    else:
        add("personal_details", person())
        add("passport", document("AB/12 345", "" if tdlib else "31.12.2031"),
            single={"front_side": jpeg(200_003), "selfie": jpeg(50_000)},
            lists={"translation": [jpeg(1000), jpeg(17)]})
        add("driver_license", document("D-42", "05.05.2030"),
            single={"front_side": jpeg(1), "reverse_side": jpeg(16), "selfie": jpeg(4095)})
        add("address", {"street_line1": "Calle de Alcalá 1", "street_line2": "", "city": "Madrid",
                        "state": "", "country_code": "ES", "post_code": "28014"} if tdlib else
            {"street_line1": "Calle de Alcalá 1", "city": "Madrid", "country_code": "ES",
             "post_code": "28014"})
        add("utility_bill", lists={"files": [jpeg(70_000), jpeg(33)]})
        add("phone_number", plain_value="34600111222")
        add("email", plain_value="ñ@example.es")
        if variant == "android":
            add("identity_card", document("IC1", ""),
                single={"front_side": jpeg(900), "reverse_side": jpeg(901)})
            add("internal_passport", document("IP1", ""), single={"front_side": jpeg(902)})
            add("bank_statement", lists={"files": [jpeg(100)], "translation": [jpeg(101)]})
            add("rental_agreement", lists={"files": [jpeg(102)]})
            add("passport_registration", lists={"files": [jpeg(103)]})
            add("temporary_registration", lists={"files": [jpeg(104)]})

    nonce = "nonce/" + os.urandom(8).hex() + "+ünï"
    nonce_key = "payload" if variant == "legacy" else "nonce"
    credentials = {"secure_data": secure_data, nonce_key: nonce}
    if tdlib:
        cplain = json.dumps(credentials, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    else:
        cplain = json.dumps(credentials, ensure_ascii=False, separators=(",", ":"))
    if variant == "android":
        cplain = cplain.replace("/", "\\/")  # org.json escapes every slash
    cplain = cplain.encode()
    cct, ch, cs = enc.encrypt(cplain)
    wrapped = key.public_key().encrypt(
        cs, padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None))
    passport_data = {"data": elements, "credentials": {"data": b64(cct), "hash": b64(ch), "secret": b64(wrapped)}}
    with open(os.path.join(out, "passport_data.json"), "w", encoding="utf-8") as f:
        json.dump(passport_data, f, sort_keys=tdlib, ensure_ascii=False)
    manifest["nonce"] = nonce
    manifest["pads"] = sorted(set(enc.pads))
    with open(os.path.join(out, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[2] not in ("android", "tdlib", "legacy", "pad_sweep"):
        sys.exit("usage: gen_vectors.py OUTDIR android|tdlib|legacy|pad_sweep")
    build(sys.argv[2], sys.argv[1])
