"""idvault-rp serve with --db postgresql://... on a private PostgreSQL server
(tests/support/postgres_server.py): a request is issued, the holder's bundle accepted
once and refused as a replay, the result read by the page's read token; the rows are in
PostgreSQL (psql sees them), and a second serve started on the same database still
refuses the replay and still serves the result: the state is the database's, not the
process's. idvault-rp forget then removes the result and files at once. Two serve
processes on the one database accept exactly one of 16 racing copies of a bundle.

usage: serve_postgres_test.py RP_BIN DEMO_HOLDER_BIN
Exit 0 when every check passed, 1 otherwise, 77 without the PostgreSQL server binaries
(1 under CI, as tests/support/missing_peer.sh says)."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "support"))
import postgres_server  # noqa: E402
from service_token import KEY_URI, MODULE, make_service_token  # noqa: E402
import serve_checks  # noqa: E402


def fetch(url, data=None, cookie=None):
    """(status, headers, body) of a GET, or a POST when data is given."""
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    if cookie:
        request.add_header("Cookie", cookie)
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def main():
    rp_bin, holder_bin = sys.argv[1:3]
    skipped = serve_checks.skip_without_postgres()
    if skipped is not None:
        return skipped
    work = tempfile.mkdtemp(prefix="idvault-serve-pg-")
    procs = []
    check = serve_checks.Checks()

    pg = None
    try:
        pg = postgres_server.PostgresServer()
        uri = pg.create_database("rp")
        env, pin = make_service_token(rp_bin, work)
        holder_dir, holder = serve_checks.start_demo_holder(holder_bin, work, procs)

        def start_serve():
            serve = subprocess.Popen([rp_bin, "serve", "--listen", "127.0.0.1:0", "--module", MODULE, "--key",
                                      KEY_URI, "--pin-file", pin, "--db", uri, "--trust-verifier",
                                      os.path.join(holder_dir, "verifier.pem")],
                                     env=env, stdout=subprocess.PIPE, text=True)
            procs.append(serve)
            line = serve.stdout.readline()
            if not line.startswith("idvault-rp serve: listening on "):
                raise RuntimeError(f"serve did not start: {line!r}")
            return serve, line.strip().rsplit(" ", 1)[-1]

        serve, base = start_serve()
        status, headers, body = fetch(base + "/request")
        check(status == 200, f"GET /request: {status}")
        nonce = json.loads(body)["nonce"]
        cookie = headers["Set-Cookie"].split(";", 1)[0]
        link = json.loads(body)["link"]

        holder.stdin.write(link + "\n")
        holder.stdin.flush()
        with open(holder.stdout.readline().strip(), "rb") as f:
            bundle = f.read()
        status, _, body = fetch(base + "/callback", bundle)
        check(status == 200 and json.loads(body)["status"] == "accepted", f"the bundle is accepted: {status}")
        status, _, _ = fetch(base + "/callback", bundle)
        check(status == 409, f"the same bundle again is a replay: {status}")

        rows = pg.sql("rp", f"SELECT count(*) FROM requests WHERE nonce = '{nonce}' AND used_at IS NOT NULL; "
                            f"SELECT count(*) FROM results WHERE nonce = '{nonce}'; "
                            f"SELECT count(*) > 0 FROM files WHERE nonce = '{nonce}'").split()
        check(rows == ["1", "1", "t"], f"PostgreSQL holds the spent nonce, its result and files: {rows}")

        serve.send_signal(signal.SIGTERM)
        check(serve.wait(timeout=30) == 0, "serve stops on SIGTERM")
        serve, base = start_serve()
        status, _, _ = fetch(base + "/callback", bundle)
        check(status == 409, f"a new serve on the same database refuses the replay: {status}")
        status, _, body = fetch(f"{base}/result?nonce={nonce}", cookie=cookie)
        check(status == 200 and json.loads(body)["status"] == "received",
              f"and serves the result to the page's read token: {status}")
        status, _, _ = fetch(f"{base}/result?nonce={nonce}")
        check(status == 403, f"not to the nonce alone: {status}")

        # idvault-rp forget, beside the running serve: the result and files go at once.
        forget = subprocess.run([rp_bin, "forget", "--db", uri, nonce], capture_output=True, text=True)
        check(forget.returncode == 0 and "removed the result" in forget.stdout,
              f"forget removes the result: {forget.stdout.strip()} {forget.stderr.strip()}")
        rows = pg.sql("rp", f"SELECT count(*) FROM results WHERE nonce = '{nonce}'; "
                            f"SELECT count(*) FROM files WHERE nonce = '{nonce}'").split()
        check(rows == ["0", "0"], f"no result or file row is left: {rows}")
        status, _, _ = fetch(f"{base}/result?nonce={nonce}", cookie=cookie)
        check(status == 410, f"the page reads nothing any more: {status}")
        status, _, _ = fetch(base + "/callback", bundle)
        check(status == 409, f"and the bundle cannot land again: {status}")
        forget = subprocess.run([rp_bin, "forget", "--db", uri, nonce], capture_output=True, text=True)
        check(forget.returncode == 0 and "no result was held" in forget.stdout,
              f"forgetting twice says nothing was held: {forget.stdout.strip()}")

        # Two serve processes on one database, 16 copies of one bundle posted at once over
        # both: exactly one is accepted, the rest are replays, one result is stored.
        _, other_base = start_serve()
        status, _, body = fetch(base + "/request")
        race_nonce = json.loads(body)["nonce"]
        holder.stdin.write(json.loads(body)["link"] + "\n")
        holder.stdin.flush()
        with open(holder.stdout.readline().strip(), "rb") as f:
            race_bundle = f.read()
        statuses = []
        lock = threading.Lock()
        start = threading.Barrier(16)

        def post(i):
            start.wait()
            answer = fetch((base if i % 2 else other_base) + "/callback", race_bundle)[0]
            with lock:
                statuses.append(answer)

        posters = [threading.Thread(target=post, args=(i,)) for i in range(16)]
        for poster in posters:
            poster.start()
        for poster in posters:
            poster.join()
        check(sorted(statuses) == [200] + [409] * 15,
              f"16 racing copies over two servers: one accepted, 15 replays: {sorted(statuses)}")
        rows = pg.sql("rp", f"SELECT count(*) FROM results WHERE nonce = '{race_nonce}'").split()
        check(rows == ["1"], f"one result stored: {rows}")

        # PostgreSQL goes away under a running serve: a clear 503 with Retry-After, not a
        # 500; once it is back, the same serve answers again without a restart.
        pg.stop()
        status, headers, _ = fetch(base + "/request")
        check(status == 503 and headers.get("Retry-After"),
              f"with PostgreSQL down, GET /request is 503 with Retry-After: {status} {dict(headers or {})}")
        pg.start()
        deadline = time.monotonic() + 20
        status = 0
        while status != 200 and time.monotonic() < deadline:
            status = fetch(base + "/request")[0]
            if status != 200:
                time.sleep(0.2)
        check(status == 200, f"PostgreSQL back: the same serve issues requests again: {status}")
    except Exception as e:  # noqa: BLE001 - any failure is a failed check with its reason
        check(False, f"{type(e).__name__}: {e}")
    finally:
        serve_checks.clean_up(procs, pg, work)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
