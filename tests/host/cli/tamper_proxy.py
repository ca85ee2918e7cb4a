#!/usr/bin/python3
"""A malicious idvault-cloud for cli_cloud_malicious_server.sh: an HTTP proxy in front of a
real server that passes requests on and rewrites some answers, as a server that wanted to
deceive a device could (issue 17: "a server that adds a slot or device, drops or reorders
log entries, or serves another account's item: every client refuses and says why").

Usage: tamper_proxy.py UPSTREAM_URL MODE_FILE URL_FILE
Listens on a loopback port of its own choosing and writes its URL to URL_FILE once it
answers. Each request reads MODE_FILE (missing or empty: "pass"), so a test switches the
server's behaviour between two commands without restarting anything. Modes:
  pass             every answer as the server gave it
  drop-last        the account log without its last entry (shortened after it was seen)
  reorder          the log's last two entries swapped
  fork             the log's last entry replaced by another, validly shaped and signed by
                   a key the proxy made (at the same seq, with the same prev)
  add-device       a device-add appended to the log, signed by a key the proxy made
  add-device-as-first
                   the same, but naming the genesis device's identity key as its signer
                   (the proxy cannot sign with it)
  add-slot         a recovery slot-add appended, signed by a key the proxy made
  foreign-item     an item answered with the body another account stored under the same
                   item id (recorded as it passed through the proxy)
  swap-slot        a joining device's key slot answered with a vault key of the proxy's
                   own, sealed to the slot key its join request carried
Standard library only; keys and signatures come from the openssl command.
"""
import base64
import hashlib
import http.client
import http.server
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

UPSTREAM = urllib.parse.urlsplit(sys.argv[1])
MODE_FILE = sys.argv[2]
URL_FILE = sys.argv[3]
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host",
              "expect", "proxy-connection", "te", "upgrade"}
LOG_ROUTE = re.compile(r"^/v1/accounts/([0-9a-f]{64})/log(\?.*)?$")
ITEM_ROUTE = re.compile(r"^/v1/accounts/([0-9a-f]{64})/items/([^/?]+)$")
SLOT_ROUTE = re.compile(r"^/v1/accounts/([0-9a-f]{64})/slots/([^/?]+)$")
JOIN_ROUTE = re.compile(r"^/v1/accounts/([0-9a-f]{64})/join-requests$")

# Item bodies as stored through this proxy: (account, item id) -> bytes.
stored_items = {}
stored_lock = threading.Lock()
# Slot keys of join requests that passed through: (account, device id) -> SPKI DER.
joining_slot_keys = {}
KEYS_DIR = tempfile.mkdtemp(prefix="tamper-proxy-")


def mode():
    try:
        with open(MODE_FILE) as file:
            return file.read().strip() or "pass"
    except FileNotFoundError:
        return "pass"


def openssl(*args, data=None):
    return subprocess.run(["openssl", *args], input=data, check=True,
                          capture_output=True).stdout


def b64(data):
    return base64.b64encode(data).decode("ascii")


def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def fresh_ec_key():
    path = os.path.join(KEYS_DIR, "ec-%d.pem" % time.monotonic_ns())
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path)
    return path, openssl("pkey", "-in", path, "-pubout", "-outform", "DER")


def fresh_rsa_public_key(bits):
    path = os.path.join(KEYS_DIR, "rsa-%d.pem" % time.monotonic_ns())
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:%d" % bits, "-out", path)
    return openssl("pkey", "-in", path, "-pubout", "-outform", "DER")


def der_integer(data, at):
    assert data[at] == 0x02
    length = data[at + 1]
    return int.from_bytes(data[at + 2:at + 2 + length], "big"), at + 2 + length


def es256_raw(der):
    """An ECDSA signature in DER (what openssl writes) as r||s (what ES256 carries)."""
    assert der[0] == 0x30
    at = 2 if der[1] < 0x80 else 3
    r, at = der_integer(der, at)
    s, _ = der_integer(der, at)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def signed_entry(statement, key_path, claimed_public_key):
    """A log entry in the form devices write it, its signature made with key_path."""
    signature = es256_raw(openssl("dgst", "-sha256", "-sign", key_path,
                                  data=canonical(statement).encode("ascii")))
    return canonical({"alg": "ES256", "public_key": b64(claimed_public_key),
                      "signature": b64(signature), "signed": statement})


def entry_hash(entry):
    return hashlib.sha256(entry.encode("ascii")).hexdigest()


def statement_of(entry):
    return json.loads(entry)["signed"]


def forged_device_add(seq, prev, genesis, claim_first_device):
    key_path, public_key = fresh_ec_key()
    first = statement_of(genesis)
    statement = {"v": 1, "seq": seq, "prev": prev, "kind": "device-add",
                 "time": int(time.time()), "device_id": "planted-%d" % seq,
                 "identity_key": b64(public_key), "slot_key": b64(fresh_rsa_public_key(2048)),
                 "approved_by": first["device_id"]}
    claimed = base64.b64decode(first["identity_key"]) if claim_first_device else public_key
    return signed_entry(statement, key_path, claimed)


def forged_slot_add(seq, prev):
    key_path, public_key = fresh_ec_key()
    statement = {"v": 1, "seq": seq, "prev": prev, "kind": "slot-add",
                 "time": int(time.time()), "slot_id": "planted-recovery",
                 "slot_key": b64(fresh_rsa_public_key(3072)), "slot_for": "recovery"}
    return signed_entry(statement, key_path, public_key)


def sealed_to(slot_key_der):
    """32 random bytes sealed with RSA-OAEP (SHA-1, MGF1-SHA-1) to slot_key_der, as a
    device seals VK to a slot."""
    path = os.path.join(KEYS_DIR, "slot-%d.der" % time.monotonic_ns())
    with open(path, "wb") as file:
        file.write(slot_key_der)
    return openssl("pkeyutl", "-encrypt", "-pubin", "-keyform", "DER", "-inkey", path,
                   "-pkeyopt", "rsa_padding_mode:oaep", data=os.urandom(32))


def tampered_log(body, how):
    answer = json.loads(body)
    entries = answer["entries"]
    first = answer["from"]
    if how == "drop-last" and entries:
        entries.pop()
    elif how == "reorder" and len(entries) >= 2:
        entries[-1], entries[-2] = entries[-2], entries[-1]
    elif how == "fork" and len(entries) >= 2 and first == 0:
        last = statement_of(entries[-1])
        entries[-1] = forged_device_add(last["seq"], last["prev"], entries[0], False)
    elif how in ("add-device", "add-device-as-first") and entries and first == 0:
        entries.append(forged_device_add(first + len(entries), entry_hash(entries[-1]),
                                         entries[0], how == "add-device-as-first"))
    elif how == "add-slot" and entries:
        entries.append(forged_slot_add(first + len(entries), entry_hash(entries[-1])))
    else:
        return body
    answer["length"] = first + len(entries)
    return json.dumps(answer).encode("utf-8")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the test's output is the devices'
        pass

    def forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {name: value for name, value in self.headers.items()
                   if name.lower() not in HOP_BY_HOP}
        upstream = http.client.HTTPConnection(UPSTREAM.hostname, UPSTREAM.port, timeout=180)
        try:
            upstream.request(self.command, self.path, body=body, headers=headers)
            answer = upstream.getresponse()
            status, reason = answer.status, answer.reason
            answer_headers = [(n, v) for n, v in answer.getheaders()
                              if n.lower() not in HOP_BY_HOP]
            answer_body = answer.read()
        finally:
            upstream.close()
        how = mode()
        item = ITEM_ROUTE.match(self.path)
        if item and self.command == "PUT" and 200 <= status < 300 and body is not None:
            with stored_lock:
                stored_items[(item.group(1), item.group(2))] = body
        join = JOIN_ROUTE.match(self.path)
        if join and self.command == "POST" and 200 <= status < 300 and body is not None:
            request = json.loads(body)
            with stored_lock:
                joining_slot_keys[(join.group(1), request["device_id"])] = \
                    base64.b64decode(request["slot_key"])
        slot = SLOT_ROUTE.match(self.path)
        if how != "pass" and self.command == "GET" and status == 200:
            log = LOG_ROUTE.match(self.path)
            if log and how != "foreign-item":
                answer_body = tampered_log(answer_body, how)
            elif slot and how == "swap-slot":
                with stored_lock:
                    slot_key = joining_slot_keys.get((slot.group(1), slot.group(2)))
                if slot_key is not None:
                    answer_body = sealed_to(slot_key)
            elif item and how == "foreign-item":
                with stored_lock:
                    others = [data for (account, item_id), data in stored_items.items()
                              if item_id == item.group(2) and account != item.group(1)]
                if others:
                    answer_body = others[-1]
        self.send_response(status, reason)
        for name, value in answer_headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer_body)))
        self.end_headers()
        self.wfile.write(answer_body)

    do_GET = do_PUT = do_POST = do_DELETE = forward


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with open(URL_FILE + ".tmp", "w") as file:
        file.write("http://127.0.0.1:%d\n" % server.server_address[1])
    os.rename(URL_FILE + ".tmp", URL_FILE)
    server.serve_forever()


if __name__ == "__main__":
    main()
