# Copied unchanged (apart from this note) from the team reference ../shared/reference/bench/gen_bundle.py,
# the generator the baselines in docs/PERFORMANCE.md were measured with.
"""Build a realistic Telegram Passport bundle, encrypted the way Telegram does it.

Scheme (https://core.telegram.org/passport#decrypting-data, mirrored here):
  padded     = [pad_len][pad_len-1 random bytes] || plaintext,  32 <= pad_len <= 255,
               len(padded) % 16 == 0
  data_hash  = SHA-256(padded)
  key || iv  = SHA-512(value_secret || data_hash)[0:32], [32:48]
  ciphertext = AES-256-CBC(key, iv, padded), no extra padding
Credentials JSON is encrypted the same way with a fresh random 32-byte secret;
that secret is encrypted to the bot's RSA-2048 public key with RSA-OAEP
(SHA-1, MGF1-SHA1).

Bundle contents:
  personal_details  data JSON (~300 bytes)
  passport          data JSON + front_side (500 KiB) + selfie (500 KiB)
  address           data JSON
  utility_bill      files[0] (1 MiB)
  nonce             in credentials

Writes into OUTDIR:
  key.pem             RSA-2048 private key (PKCS#8 PEM, unencrypted)
  passport_data.json  the Bot API `passport_data` object (EncryptedPassportElement[] + EncryptedCredentials)
  files/<file_id>     encrypted file bytes as getFile would deliver them
  manifest.json       expected SHA-256 of every plaintext, byte counts (for verification only)

usage: python3 gen_bundle.py OUTDIR [--seed N]
"""
import argparse
import base64
import hashlib
import json
import os
import random
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

KIB = 1024


def b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def tg_pad(plain: bytes, rng: random.Random) -> bytes:
    choices = [p for p in range(32, 256) if (len(plain) + p) % 16 == 0]
    p = rng.choice(choices)
    return bytes([p]) + os.urandom(p - 1) + plain


def tg_encrypt(plain: bytes, rng: random.Random):
    """returns (ciphertext, data_hash, secret)"""
    padded = tg_pad(plain, rng)
    data_hash = hashlib.sha256(padded).digest()
    secret = os.urandom(32)
    kiv = hashlib.sha512(secret + data_hash).digest()
    enc = Cipher(algorithms.AES(kiv[:32]), modes.CBC(kiv[32:48])).encryptor()
    ct = enc.update(padded) + enc.finalize()
    assert len(ct) == len(padded)
    return ct, data_hash, secret


def fake_jpeg(size: int) -> bytes:
    # JPEG SOI/APP0 header + incompressible body + EOI: size is what matters
    head = bytes.fromhex("ffd8ffe000104a46494600010100000100010000")
    return head + os.urandom(size - len(head) - 2) + b"\xff\xd9"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    out = a.outdir
    os.makedirs(os.path.join(out, "files"), exist_ok=True)

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with open(os.path.join(out, "key.pem"), "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )

    personal_details = {
        "first_name": "Aleksandra",
        "last_name": "Kowalczyk-Novak",
        "middle_name": "Maria",
        "birth_date": "17.03.1988",
        "gender": "female",
        "country_code": "PL",
        "residence_country_code": "DE",
        "first_name_native": "Aleksandra",
        "last_name_native": "Kowalczyk-Novák",
        "middle_name_native": "Maria",
    }
    passport_data = {"document_no": "EK4471905", "expiry_date": "02.11.2031"}
    address = {
        "street_line1": "Karl-Marx-Allee 123",
        "street_line2": "Aufgang B, 4. OG",
        "city": "Berlin",
        "state": "Berlin",
        "country_code": "DE",
        "post_code": "10243",
    }
    files_plain = {
        "passport.front_side": fake_jpeg(500 * KIB),
        "passport.selfie": fake_jpeg(500 * KIB),
        "utility_bill.files.0": fake_jpeg(1024 * KIB),
    }

    manifest = {"plain_sha256": {}, "cipher_bytes": {}, "plain_bytes": {}}
    secure_data = {}
    elements = []
    now = int(time.time())

    def enc_json(name, obj):
        plain = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()
        ct, h, s = tg_encrypt(plain, rng)
        manifest["plain_sha256"][name] = hashlib.sha256(plain).hexdigest()
        manifest["plain_bytes"][name] = len(plain)
        manifest["cipher_bytes"][name] = len(ct)
        return b64(ct), {"data_hash": b64(h), "secret": b64(s)}

    def enc_file(name, idx):
        plain = files_plain[name]
        ct, h, s = tg_encrypt(plain, rng)
        file_id = f"DgADBAADBQADbench{idx:02d}{hashlib.sha1(name.encode()).hexdigest()[:12]}"
        with open(os.path.join(out, "files", file_id), "wb") as f:
            f.write(ct)
        manifest["plain_sha256"][name] = hashlib.sha256(plain).hexdigest()
        manifest["plain_bytes"][name] = len(plain)
        manifest["cipher_bytes"][name] = len(ct)
        pf = {
            "file_id": file_id,
            "file_unique_id": f"AgADBQADbench{idx:02d}",
            "file_size": len(ct),
            "file_date": now,
        }
        return pf, {"file_hash": b64(h), "secret": b64(s)}

    def el_hash(*parts):
        return b64(hashlib.sha256(b"".join(p.encode() for p in parts)).digest())

    d, c = enc_json("personal_details.data", personal_details)
    secure_data["personal_details"] = {"data": c}
    elements.append({"type": "personal_details", "data": d, "hash": el_hash(d)})

    d, c = enc_json("passport.data", passport_data)
    fs, fsc = enc_file("passport.front_side", 1)
    sf, sfc = enc_file("passport.selfie", 2)
    secure_data["passport"] = {"data": c, "front_side": fsc, "selfie": sfc}
    elements.append(
        {"type": "passport", "data": d, "front_side": fs, "selfie": sf,
         "hash": el_hash(d, fs["file_id"], sf["file_id"])}
    )

    d, c = enc_json("address.data", address)
    secure_data["address"] = {"data": c}
    elements.append({"type": "address", "data": d, "hash": el_hash(d)})

    ub, ubc = enc_file("utility_bill.files.0", 3)
    secure_data["utility_bill"] = {"files": [ubc]}
    elements.append({"type": "utility_bill", "files": [ub], "hash": el_hash(ub["file_id"])})

    credentials = {"secure_data": secure_data, "nonce": "vault-bench-nonce-" + os.urandom(8).hex()}
    cplain = json.dumps(credentials, separators=(",", ":")).encode()
    cct, ch, cs = tg_encrypt(cplain, rng)
    rsa_ct = key.public_key().encrypt(
        cs,
        padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None),
    )
    manifest["plain_sha256"]["credentials"] = hashlib.sha256(cplain).hexdigest()
    manifest["plain_bytes"]["credentials"] = len(cplain)
    manifest["cipher_bytes"]["credentials"] = len(cct)
    manifest["nonce"] = credentials["nonce"]

    pd = {"data": elements, "credentials": {"data": b64(cct), "hash": b64(ch), "secret": b64(rsa_ct)}}
    with open(os.path.join(out, "passport_data.json"), "w") as f:
        json.dump(pd, f, separators=(",", ":"))
    manifest["total_cipher_bytes"] = sum(manifest["cipher_bytes"].values())
    manifest["total_plain_bytes"] = sum(manifest["plain_bytes"].values())
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
    print(
        f"bundle: {len(elements)} elements, {len(files_plain)} files, "
        f"{manifest['total_cipher_bytes']} ciphertext bytes, "
        f"personal_details plaintext {manifest['plain_bytes']['personal_details.data']} B, "
        f"credentials plaintext {len(cplain)} B"
    )


if __name__ == "__main__":
    main()
