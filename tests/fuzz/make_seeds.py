"""Regenerates the seed corpora of the fuzz targets added for issue #7 from real examples:
python-telegram-bot-compatible vectors made by tests/interop/gen_vectors.py (an encoder
independent of idvault, in its android, tdlib and legacy variants), decrypted here with
python3-cryptography, and ES256 statements signed with a fresh key over the canonical
bytes our readers expect.

usage: /usr/bin/python3 tests/fuzz/make_seeds.py   (rewrites tests/fuzz/corpus/<target>/)
Seeds are kept small: files are cut to a few hundred bytes, one or two elements each.
"""
import base64
import hashlib
import json
import os
import pathlib
import subprocess
import sys
import tempfile

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

HERE = pathlib.Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
GEN = HERE.parent / "interop" / "gen_vectors.py"


def b64(data):
    return base64.b64encode(data).decode("ascii")


def write(target, name, data):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    (folder / name).write_bytes(data)


def value_key(secret, value_hash):
    digest = hashlib.sha512(secret + value_hash).digest()
    return digest[:32], digest[32:48]


def decrypt_value(ciphertext, value_hash, secret):
    key, iv = value_key(secret, value_hash)
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    return padded[padded[0]:]


def decrypt_credentials(folder):
    key = serialization.load_pem_private_key((folder / "key.pem").read_bytes(), password=None)
    passport_data = json.loads((folder / "passport_data.json").read_text())
    encrypted = passport_data["credentials"]
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
    secret = key.decrypt(base64.b64decode(encrypted["secret"]), oaep)
    return passport_data, decrypt_value(base64.b64decode(encrypted["data"]),
                                        base64.b64decode(encrypted["hash"]), secret)


def canonical(statement):
    return json.dumps(statement, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def es256_envelope(key, statement):
    der = key.sign(canonical(statement).encode("ascii"), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    spki = key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    return {"alg": "ES256", "public_key": b64(spki), "signed": statement,
            "signature": b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))}


def main():
    with tempfile.TemporaryDirectory() as temp:
        temp = pathlib.Path(temp)
        variants = {}
        for variant in ("android", "tdlib", "legacy"):
            subprocess.run([sys.executable, str(GEN), str(temp / variant), variant], check=True,
                           stdout=subprocess.DEVNULL)
            variants[variant] = decrypt_credentials(temp / variant)

        holder = ec.generate_private_key(ec.SECP256R1())
        provider = ec.generate_private_key(ec.SECP256R1())
        holder_spki = holder.public_key().public_bytes(serialization.Encoding.DER,
                                                       serialization.PublicFormat.SubjectPublicKeyInfo)
        for variant, (passport_data, credentials_text) in variants.items():
            credentials = json.loads(credentials_text)
            # credentials: the decrypted JSON exactly as the encoder wrote it (escapes, order).
            write("credentials", variant, credentials_text)
            # passport_data: the first two elements, credentials untouched.
            small = dict(passport_data, data=passport_data["data"][:2])
            write("passport_data", variant, json.dumps(small, ensure_ascii=False))
            # value_decrypt: [hash length][hash][secret][ciphertext] of the first data value.
            element = next(e for e in passport_data["data"] if "data" in e)
            data_credentials = credentials["secure_data"][element["type"]]["data"]
            value_hash = base64.b64decode(data_credentials["data_hash"])
            write("value_decrypt", variant,
                  bytes([len(value_hash)]) + value_hash + base64.b64decode(data_credentials["secret"]) +
                  base64.b64decode(element["data"]))

            # bundle: one element with its files cut short, a receipt, an attestation.
            element = dict(next(e for e in passport_data["data"] if "front_side" in e))
            file_ids = [element[slot]["file_id"] for slot in ("front_side", "reverse_side", "selfie")
                        if slot in element]
            files = {fid: b64((temp / variant / "files" / fid).read_bytes()[:96]) for fid in file_ids}
            receipt = es256_envelope(holder, {
                "v": 1, "service_id": "12345", "service_key_sha256": "ab" * 32,
                "nonce": credentials.get("nonce", credentials.get("payload", "")),
                "credentials_hash": passport_data["credentials"]["hash"], "previous": "0" * 64,
                "time": 1764200000, "elements": {element["type"]: element.get("hash", "")}})
            signed = {"v": 1, "element_type": element["type"],
                      "data_hash": credentials["secure_data"][element["type"]]["data"]["data_hash"],
                      "files": {"front_side": credentials["secure_data"][element["type"]]["front_side"]["file_hash"]},
                      "holder_key_sha256": hashlib.sha256(holder_spki).hexdigest(),
                      "level": "document", "issued_at": 1764200000, "expires_at": 1795736000}
            attestation = dict(es256_envelope(provider, signed), element_type=element["type"])
            bundle = {"passport_data": dict(passport_data, data=[element]), "files": files,
                      "receipt": receipt, "attestations": [attestation]}
            write("bundle", variant, json.dumps(bundle))
            write("bundle", variant + "_bare", json.dumps(dict(passport_data, data=[element])))
            write("attestation", variant, json.dumps(attestation))
            write("agent_params", "attestation_add_" + variant, json.dumps({"attestation": attestation}))

        # agent_params: element.put as clients send it, and a signed error list (errors.add).
        write("agent_params", "put_passport", json.dumps({
            "type": "passport",
            "data": {"document_no": "X1234567", "expiry_date": "01.01.2031"},
            "front_side": b64(b"front scan"), "selfie": b64(b"selfie"),
            "translation": [b64(b"page 1")]}))
        write("agent_params", "put_utility_bill", json.dumps({
            "type": "utility_bill", "files": [b64(b"bill"), b64(b"page 2")]}))
        write("agent_params", "put_phone", json.dumps({"type": "phone_number", "value": "15551234567"}))
        write("agent_params", "put_personal_details", json.dumps({
            "type": "personal_details",
            "data": {"first_name": "Ann", "last_name": "Lee", "birth_date": "02.03.1990",
                     "gender": "female", "country_code": "GB", "residence_country_code": "DE"}}))
        write("agent_params", "errors_add", json.dumps({"errors": {
            "alg": "PS256", "public_key": b64(holder_spki),
            "signed": {"v": 1, "nonce": "n0nce", "credentials_hash": b64(b"h" * 32), "time": 1764200000,
                       "errors": [{"source": "data", "type": "passport", "field_name": "document_no",
                                   "data_hash": b64(b"d" * 32), "message": "unreadable"}]},
            "signature": b64(b"s" * 256)}}))

        # rpc_frames: JSON-RPC lines as clients write them, several per input.
        frames = [
            '{"jsonrpc":"2.0","id":1,"method":"status"}\n',
            '{"jsonrpc":"2.0","id":"a","method":"unlock","params":{"pin":"1234"}}\r\n'
            '{"jsonrpc":"2.0","method":"lock"}\n',
            '{"jsonrpc":"2.0","id":7,"method":"element.get","params":{"type":"passport"}}\n{"jsonrpc":',
            '{"jsonrpc":"2.0","id":2,"method":"element.put","params":' +
            json.dumps({"type": "passport", "data": {"document_no": "\u00e9\\"}, "front_side": b64(b"x" * 40)}) +
            '}\n',
            '[1,2,{"a":"\\ud83d\\ude00"}]\n{"id":null}\nnot json\n',
            # attachments: byte counts and passed descriptors ("fd"), and bad announcements
            '{"jsonrpc":"2.0","id":3,"method":"element.put","attachments":["fd",3,"fd"],'
            '"params":{"type":"utility_bill","files":[{"attachment":0},{"attachment":1}],'
            '"translation":[{"attachment":2}],"progress":true}}\n'
            '{"jsonrpc":"2.0","id":4,"method":"element.put","attachments":["FD",-1,2.5]}\n',
        ]
        for index, frame in enumerate(frames):
            write("rpc_frames", f"frames{index}", frame)


if __name__ == "__main__":
    main()
