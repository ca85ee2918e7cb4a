"""Print every secret a share bundle carries for its service, one per line, in base64 and
in hex: the credentials secret and each value secret (data, front/reverse side, selfie,
files, translation), decrypted with the service key the way a Telegram Passport decoder
does it. Tests grep logs for these; the script itself never logs anything.

usage: value_secrets.py BUNDLE_JSON SERVICE_KEY_PEM
"""
import base64
import hashlib
import json
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def decrypt_value(secret, value_hash, data):
    digest = hashlib.sha512(secret + value_hash).digest()
    decryptor = Cipher(algorithms.AES(digest[:32]), modes.CBC(digest[32:48])).decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    if hashlib.sha256(padded).digest() != value_hash:
        raise ValueError("credentials hash mismatch")
    return padded[padded[0]:]


def main():
    bundle_path, key_path = sys.argv[1:3]
    with open(bundle_path, encoding="utf-8") as f:
        bundle = json.load(f)
    with open(key_path, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    credentials = bundle["passport_data"]["credentials"]
    oaep = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
    credentials_secret = key.decrypt(base64.b64decode(credentials["secret"]), oaep)
    plain = decrypt_value(credentials_secret, base64.b64decode(credentials["hash"]),
                          base64.b64decode(credentials["data"]))
    secrets = [credentials_secret]
    for value in json.loads(plain)["secure_data"].values():
        for part in value.values():
            for item in part if isinstance(part, list) else [part]:
                secrets.append(base64.b64decode(item["secret"]))
    for secret in secrets:
        print(base64.b64encode(secret).decode())
        print(secret.hex())


if __name__ == "__main__":
    main()
