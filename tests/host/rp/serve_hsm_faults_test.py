"""idvault-rp serve through the fault-injecting PKCS#11 module (tests/pkcs11/fault_module.cpp)
in front of SoftHSM2: what an HSM does to a long-running service costs no bundle.

  session_faults   one token; C_Decrypt fails CKR_SESSION_HANDLE_INVALID, then
                   CKR_USER_NOT_LOGGED_IN, CKR_DEVICE_REMOVED, CKR_SESSION_COUNT and
                   CKR_CRYPTOKI_NOT_INITIALIZED, a few times each: every bundle is accepted
                   within the retry budget and the fault log shows each fault was hit. With
                   one decryptor held by a slow C_Decrypt past --queue-timeout-ms, a second
                   bundle gets 503 with Retry-After.
  ha_pull_one      two tokens holding one cloned key (made in software, imported to both as
                   a sensitive, non-extractable key); serve --key twice. Keys that differ are
                   refused at start. A stream of bundles, one token pulled mid-stream
                   (removed-token LABEL 1): 0 failed requests, both tokens were used before
                   the pull, /healthz stays 200, and the pulled token is taken back and used
                   again after it returns.

usage: serve_hsm_faults_test.py RP_BIN DEMO_HOLDER_BIN FAULT_MODULE CASE"""
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

SOFTHSM = "/usr/lib/softhsm/libsofthsm2.so"
PIN = "1234"


def fetch(url, data=None):
    """(status, headers, body) of a GET, or a POST when data is given."""
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


class Rig:
    """Tokens, the holder, the fault module's control file and log, and serve processes."""

    def __init__(self, rp_bin, holder_bin, fault_module):
        self.rp_bin, self.fault_module = rp_bin, fault_module
        self.work = tempfile.mkdtemp(prefix="idvault-hsm-faults-")
        self.procs = []
        self.serve_log = None
        os.mkdir(os.path.join(self.work, "tokens"))
        conf = os.path.join(self.work, "softhsm2.conf")
        with open(conf, "w") as f:
            f.write(f"directories.tokendir = {self.work}/tokens\nobjectstore.backend = file\nlog.level = ERROR\n")
        self.control = os.path.join(self.work, "control")
        self.log = os.path.join(self.work, "fault.log")
        self.env = dict(os.environ, SOFTHSM2_CONF=conf, IDVAULT_FAULT_TARGET=SOFTHSM,
                        IDVAULT_FAULT_CONTROL=self.control, IDVAULT_FAULT_LOG=self.log)
        self.pin_file = os.path.join(self.work, "pin")
        with open(os.open(self.pin_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(PIN + "\n")
        self.holder_dir = os.path.join(self.work, "holder")
        os.mkdir(self.holder_dir)
        self.holder = subprocess.Popen([holder_bin, self.holder_dir], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, text=True)
        self.procs.append(self.holder)
        if self.holder.stdout.readline().strip() != "ready":
            raise RuntimeError("demo_holder did not start")

    def token(self, label):
        subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", PIN,
                        "--so-pin", "5678"], env=self.env, check=True, stdout=subprocess.DEVNULL)

    def import_key(self, pem, label):
        """The PKCS#8 key into token label as object "rp": softhsm2-util makes the private
        key sensitive and not extractable, as an HSM group's cloned key is."""
        subprocess.run(["softhsm2-util", "--import", pem, "--token", label, "--label", "rp", "--id", "01",
                        "--pin", PIN], env=self.env, check=True, stdout=subprocess.DEVNULL)

    def import_seal_key(self, raw, label):
        """The raw 32-byte AES key into token label as the seal key (idvault-rp-seal): the
        group's tokens hold clones of it too, so a result sealed on one opens on another."""
        subprocess.run(["softhsm2-util", "--import", raw, "--aes", "--token", label, "--label",
                        "idvault-rp-seal", "--id", "02", "--pin", PIN], env=self.env, check=True,
                       stdout=subprocess.DEVNULL)

    def software_key(self, name):
        pem = os.path.join(self.work, name + ".pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out",
                        pem], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return pem

    def faults(self, text):
        """Replaces the control file (by rename: the module never reads half of one)."""
        tmp = self.control + ".new"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.control)

    def fault_log(self):
        try:
            with open(self.log) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def serve(self, keys, *extra, expect_start=True):
        args = [self.rp_bin, "serve", "--listen", "127.0.0.1:0", "--module", self.fault_module, "--pin-file",
                self.pin_file, "--trust-verifier", os.path.join(self.holder_dir, "verifier.pem")]
        for key in keys:
            args += ["--key", key]
        if not expect_start:
            proc = subprocess.Popen(args + list(extra), env=self.env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
            self.procs.append(proc)
            return proc
        # Its log goes to a file, printed when a check fails: why a token was set aside.
        self.serve_log = os.path.join(self.work, f"serve-{len(self.procs)}.log")
        with open(self.serve_log, "w") as log:
            proc = subprocess.Popen(args + list(extra), env=self.env, stdout=subprocess.PIPE,
                                    stderr=log, text=True)
        self.procs.append(proc)
        line = proc.stdout.readline()
        if not line.startswith("idvault-rp serve: listening on "):
            raise RuntimeError(f"serve did not start: {line!r} {self.serve_logged()}")
        return line.strip().rsplit(" ", 1)[-1]

    def serve_logged(self):
        if not self.serve_log:
            return ""
        with open(self.serve_log) as f:
            return f.read()

    def bundles(self, base, count):
        """count fresh requests answered by the holder: their bundles' bytes."""
        out = []
        for _ in range(count):
            status, _, body = fetch(base + "/request")
            if status != 200:
                raise RuntimeError(f"GET /request: {status}")
            self.holder.stdin.write(json.loads(body)["link"] + "\n")
            self.holder.stdin.flush()
            with open(self.holder.stdout.readline().strip(), "rb") as f:
                out.append(f.read())
        return out

    def close(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        shutil.rmtree(self.work, ignore_errors=True)


def metric(base, name, token):
    """The value of name{token="..."} from GET /metrics (0 when absent)."""
    _, _, body = fetch(base + "/metrics")
    pattern = re.compile(r"^" + re.escape(name) + r"\{token=\"" + re.escape(token) + r"\"\} (\S+)$", re.M)
    found = pattern.search(body.decode())
    return float(found.group(1)) if found else 0.0


def session_faults(rig, check):
    rig.token("service")
    subprocess.run([rig.rp_bin, "keygen", "--module", SOFTHSM, "--token", "pkcs11:token=service", "--label", "rp",
                    "--pin-file", rig.pin_file], env=rig.env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    base = rig.serve(["pkcs11:token=service;object=rp"], "--decryptors", "1", "--queue-timeout-ms", "200")
    faults = [("CKR_SESSION_HANDLE_INVALID", "0xB3", 3), ("CKR_USER_NOT_LOGGED_IN", "0x101", 2),
              ("CKR_DEVICE_REMOVED", "0x32", 2), ("CKR_SESSION_COUNT", "0xB1", 4),
              ("CKR_CRYPTOKI_NOT_INITIALIZED", "0x190", 1)]
    for name, code, count in faults:
        bundles = rig.bundles(base, 2)
        rig.faults(f"fail C_Decrypt {code} {count}\n")
        statuses = [fetch(base + "/callback", bundle)[0] for bundle in bundles]
        hits = rig.fault_log().count(f"C_Decrypt {code}\n")
        check(statuses == [200, 200] and hits == count,
              f"C_Decrypt failing {name} {count} times: every bundle accepted {statuses}, faults hit: {hits}")
        rig.faults("")
        if os.path.exists(rig.log):
            os.remove(rig.log)
    # One decryptor, held 1.5 s by a slow C_Decrypt; the next bundle waits 200 ms at most.
    slow, waiting = rig.bundles(base, 2)
    rig.faults("delay C_Decrypt 1500 1\n")
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        first = pool.submit(fetch, base + "/callback", slow)
        time.sleep(0.4)
        status, headers, _ = fetch(base + "/callback", waiting)
        check(status == 503 and headers.get("Retry-After"),
              f"a bundle waiting past --queue-timeout-ms: 503 with Retry-After: {status}")
        check(first.result()[0] == 200, "the slow one is accepted")
    rig.faults("")
    check(fetch(base + "/callback", waiting)[0] == 200, "the refused bundle is accepted when sent again")


def ha_pull_one(rig, check):
    for label in ("rp-a", "rp-b", "rp-c", "rp-short"):
        rig.token(label)
    pem = rig.software_key("cloned")
    rig.import_key(pem, "rp-a")
    rig.import_key(pem, "rp-b")
    rig.import_key(pem, "rp-short")
    rig.import_key(rig.software_key("other"), "rp-c")
    # softhsm2-util --import --aes stops reading at a 0x00 or newline byte, so the clone
    # is drawn without them (about one random key in five has one).
    seal_bytes = os.urandom(32)
    while b"\0" in seal_bytes or b"\n" in seal_bytes:
        seal_bytes = os.urandom(32)
    seal = os.path.join(rig.work, "seal.key")
    with open(os.open(seal, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
        f.write(seal_bytes)
    for label in ("rp-a", "rp-b", "rp-c"):
        rig.import_seal_key(seal, label)
    # ... and a key cut short that way is refused at start, not found broken by every bundle.
    with open(seal, "wb") as f:
        f.write(seal_bytes[:5] + b"\n" + seal_bytes[6:])
    rig.import_seal_key(seal, "rp-short")
    for name in ("cloned.pem", "other.pem", "seal.key"):
        os.remove(os.path.join(rig.work, name))  # the clones are all there is of the key now
    key_a, key_b = "pkcs11:token=rp-a;object=rp", "pkcs11:token=rp-b;object=rp"

    short = rig.serve(["pkcs11:token=rp-short;object=rp"], expect_start=False)
    _, err = short.communicate(timeout=30)
    check(short.returncode != 0 and re.search(r"is [0-9] bytes long; .* AES-256", err),
          f"a seal key cut short is refused at start: {short.returncode} {err.strip()}")

    refused = rig.serve([key_a, "pkcs11:token=rp-c;object=rp"], expect_start=False)
    _, err = refused.communicate(timeout=30)
    check(refused.returncode != 0 and "not the same key" in err,
          f"two --key naming different keys are refused at start: {refused.returncode} {err.strip()}")

    base = rig.serve([key_a, key_b], "--decryptors", "4")
    bundles = rig.bundles(base, 20)  # GET /request's burst per client
    failed = []

    def post(bundle):
        status, _, body = fetch(base + "/callback", bundle)
        if status != 200:
            failed.append((status, body[:200]))

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(post, bundles[:6]))
        used_a = metric(base, "idvault_rp_hsm_token_operations_total", key_a)
        used_b = metric(base, "idvault_rp_hsm_token_operations_total", key_b)
        check(used_a > 0 and used_b > 0, f"both tokens decrypt before the pull: a {used_a}, b {used_b}")
        # rp-b pulled while bundles are in flight (each C_Decrypt takes 300 ms more, so
        # some are on rp-b when it goes).
        rig.faults("delay C_Decrypt 300 -1\n")
        stream = [pool.submit(post, bundle) for bundle in bundles[6:14]]
        time.sleep(0.15)
        rig.faults("delay C_Decrypt 300 -1\nremoved-token rp-b 1\n")
        for done in stream:
            done.result()
        rig.faults("removed-token rp-b 1\n")
        health = fetch(base + "/healthz")[0]
        check(health == 200, f"/healthz with one token of two: {health}")
        aside = metric(base, "idvault_rp_hsm_token_set_aside_total", key_b)
        check(aside >= 1 and metric(base, "idvault_rp_hsm_token_up", key_b) == 0,
              f"the pulled token is set aside: {aside}")
        refusals = rig.fault_log().count(" removed rp-b")
        print(f"     calls refused on the pulled token: {refusals}")
        before = metric(base, "idvault_rp_hsm_token_operations_total", key_b)
        list(pool.map(post, bundles[14:16]))
        after = metric(base, "idvault_rp_hsm_token_operations_total", key_b)
        check(after == before, f"and gets no work while pulled: {before} -> {after}")

        rig.faults("removed-token rp-b 0\n")
        deadline = time.monotonic() + 10
        while metric(base, "idvault_rp_hsm_token_up", key_b) != 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        check(metric(base, "idvault_rp_hsm_token_up", key_b) == 1, "the token back in its slot is taken back")
        list(pool.map(post, bundles[16:]))
        back = metric(base, "idvault_rp_hsm_token_operations_total", key_b)
        check(back > after, f"and decrypts again: {after} -> {back}")
    check(not failed, f"0 failed requests of {len(bundles)}: {failed}")


def main():
    rp_bin, holder_bin, fault_module, case = sys.argv[1:5]
    failed = []
    passed = 0

    def check(ok, what):
        nonlocal passed
        print(("ok   " if ok else "FAIL ") + what, flush=True)
        if ok:
            passed += 1
        else:
            failed.append(what)

    rig = None
    try:
        rig = Rig(rp_bin, holder_bin, fault_module)
        {"session_faults": session_faults, "ha_pull_one": ha_pull_one}[case](rig, check)
    except Exception as e:  # noqa: BLE001 - any failure is a failed check with its reason
        check(False, f"{type(e).__name__}: {e}")
    finally:
        if rig:
            if failed:
                print("serve's log:\n" + rig.serve_logged())
                print("fault log:\n" + rig.fault_log()[-3000:])
            rig.close()
    print(f"{passed} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
