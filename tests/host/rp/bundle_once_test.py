"""A bundle is recognised before the HSM is asked (issue #16): two idvault-rp serve
processes on one database, as two hosts would run them, the first with --workers 2 (three
workers in all), their token behind the fault-injecting PKCS#11 module
(tests/pkcs11/fault_module.cpp) with a `count C_Decrypt` rule, so the HSM's decryptions
are counted outside the service. 64 copies of one bundle posted at once over both
servers and their workers: exactly one accepted, 63 refused with 409, one C_Decrypt. A tampered bundle
posted twice: 400 both times, one C_Decrypt (the second gets the stored refusal).

usage: bundle_once_test.py RP_BIN DEMO_HOLDER_BIN FAULT_MODULE sqlite|postgresql
Exit 0 when every check passed, 1 otherwise, 77 without the PostgreSQL server binaries
(1 under CI, as tests/support/missing_peer.sh says)."""
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "support"))
import postgres_server  # noqa: E402
from service_token import KEY_URI, make_service_token  # noqa: E402
import serve_checks  # noqa: E402

COPIES = 64


def call(base, path, body=None, source="127.0.0.1"):
    """(status, body) of a GET, or a POST when body is given, from the source address."""
    url = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30, source_address=(source, 0))
    try:
        connection.request("POST" if body is not None else "GET", path, body=body)
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def main():
    rp_bin, holder_bin, fault_module, backend = sys.argv[1:5]
    if backend == "postgresql":
        skipped = serve_checks.skip_without_postgres()
        if skipped is not None:
            return skipped
    work = tempfile.mkdtemp(prefix="idvault-bundle-once-")
    procs = []
    check = serve_checks.Checks()

    pg = None
    try:
        if backend == "postgresql":
            pg = postgres_server.PostgresServer()
            db = pg.create_database("rp")
        else:
            db = os.path.join(work, "rp.db")
        env, pin = make_service_token(rp_bin, work)
        control = os.path.join(work, "faults")
        log = os.path.join(work, "faults.log")
        with open(control, "w") as f:
            f.write("count C_Decrypt\n")
        env = dict(env, IDVAULT_FAULT_CONTROL=control, IDVAULT_FAULT_LOG=log)

        def decryptions():
            if not os.path.exists(log):
                return 0
            with open(log) as f:
                return sum(1 for line in f if line.split() == ["C_Decrypt", "count"])

        holder_dir, holder = serve_checks.start_demo_holder(holder_bin, work, procs)

        def start_serve(workers):
            serve = subprocess.Popen([rp_bin, "serve", "--listen", "127.0.0.1:0", "--module", fault_module,
                                      "--key", KEY_URI, "--pin-file", pin, "--db", db, "--trust-verifier",
                                      os.path.join(holder_dir, "verifier.pem"), "--workers", str(workers)],
                                     env=env, stdout=subprocess.PIPE, text=True)
            procs.append(serve)
            line = serve.stdout.readline()
            if not line.startswith("idvault-rp serve: listening on "):
                raise RuntimeError(f"serve did not start: {line!r}")
            return line.strip().rsplit(" ", 1)[-1]

        bases = [start_serve(2), start_serve(1)]

        def new_bundle():
            status, body = call(bases[0], "/request")
            if status != 200:
                raise RuntimeError(f"GET /request: {status}")
            holder.stdin.write(json.loads(body)["link"] + "\n")
            holder.stdin.flush()
            with open(holder.stdout.readline().strip(), "rb") as f:
                return f.read()

        # 64 copies at once over both servers, from four loopback addresses so no client
        # reaches the per-client connection cap.
        bundle = new_bundle()
        before = decryptions()
        statuses = []
        lock = threading.Lock()
        start = threading.Barrier(COPIES)

        def post(i):
            start.wait()
            try:
                answer = call(bases[i % 2], "/callback", bundle, source=f"127.0.0.{2 + i % 4}")[0]
            except OSError as e:
                answer = str(e)
            with lock:
                statuses.append(answer)

        posters = [threading.Thread(target=post, args=(i,)) for i in range(COPIES)]
        for poster in posters:
            poster.start()
        for poster in posters:
            poster.join()
        check(sorted(statuses, key=str) == [200] + [409] * (COPIES - 1),
              f"{COPIES} racing copies over two servers: one accepted, {COPIES - 1} refused with 409: "
              f"{sorted(statuses, key=str)}")
        check(decryptions() - before == 1, f"one C_Decrypt on the token for them all: {decryptions() - before}")
        status, _ = call(bases[1], "/callback", bundle)
        check(status == 409, f"a later copy is a replay: {status}")

        # A tampered bundle: one character of the encrypted credentials changed (still base64),
        # so the RSA step works and the credentials' hash does not match.
        share = json.loads(new_bundle())
        credentials = share["passport_data"]["credentials"]
        middle = len(credentials["data"]) // 2
        credentials["data"] = (credentials["data"][:middle] + ("B" if credentials["data"][middle] == "A" else "A")
                               + credentials["data"][middle + 1:])
        tampered = json.dumps(share).encode()
        before = decryptions()
        first, first_body = call(bases[0], "/callback", tampered)
        second, second_body = call(bases[1], "/callback", tampered)
        check(first == 400 and second == 400, f"the tampered bundle is refused twice: {first} {second}")
        check(first_body == second_body, f"with the same answer: {second_body!r}")
        check(decryptions() - before == 1, f"for one C_Decrypt: {decryptions() - before}")
    except Exception as e:  # noqa: BLE001 - any failure is a failed check with its reason
        check(False, f"{type(e).__name__}: {e}")
    finally:
        serve_checks.clean_up(procs, pg, work)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
