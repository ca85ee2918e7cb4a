"""Lay out a bundle from `idvault authorize --out` the way tests/interop/ptb_decrypt.py
reads one: key.pem, passport_data.json, files/<file_id> (the ciphertext), expected.json,
plain/ (the scans as given).

usage: bundle_to_ptb.py BUNDLE_JSON KEY_PEM EXPECTED_JSON PLAIN_DIR OUT_DIR
"""
import base64
import json
import os
import shutil
import sys


def main():
    bundle_path, key_path, expected_path, plain_dir, out = sys.argv[1:6]
    with open(bundle_path, encoding="utf-8") as f:
        bundle = json.load(f)
    os.makedirs(os.path.join(out, "files"))
    shutil.copy(key_path, os.path.join(out, "key.pem"))
    shutil.copy(expected_path, os.path.join(out, "expected.json"))
    shutil.copytree(plain_dir, os.path.join(out, "plain"))
    with open(os.path.join(out, "passport_data.json"), "w", encoding="utf-8") as f:
        json.dump(bundle["passport_data"], f)
    for file_id, data in bundle["files"].items():
        with open(os.path.join(out, "files", file_id), "wb") as f:
            f.write(base64.b64decode(data))


if __name__ == "__main__":
    main()
