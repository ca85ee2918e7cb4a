"""idvault-rp serve --workers 3 on a private PostgreSQL server (tests/support/postgres_server.py):
 - usage errors first: --workers 0, and --workers 3 on the in-memory store; a wrong PIN
   ends serve (exit 1) after one login attempt, not one a worker;
 - the one "listening on" line, and requests served by more than one worker (each
   worker's /metrics names its pid: idvault_rp_worker{pid,slot});
 - kill -9 of a worker while a stream of distinct bundles is posted (a dropped
   connection is posted again): no bundle is accepted twice, every bundle ends accepted
   (one 200, or a 409 for a retry whose first copy was committed; a 409 with
   Retry-After says the killed worker still holds the bundle's lease, so the poster asks
   again after it: serve runs with --bundle-lease-seconds 2) and its result is read
   afterwards by the page's read token; the worker is replaced by a new pid;
 - PostgreSQL stopped under load: 503 with Retry-After, never a 500; started again: the
   same workers answer as before, without a restart;
 - SIGTERM: exit 0, and no worker is left.

usage: serve_workers_test.py RP_BIN DEMO_HOLDER_BIN
Exit 0 when every check passed, 1 otherwise, 77 without the PostgreSQL server binaries
(1 under CI, as tests/support/missing_peer.sh says)."""
import http.client
import json
import os
import queue
import re
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

WORKERS = 3
BUNDLES = 12


def fetch(url, data=None, cookie=None):
    """(status, headers, body) of a GET, or a POST when data is given; a new connection each."""
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    if cookie:
        request.add_header("Cookie", cookie)
    try:
        with urllib.request.urlopen(request, timeout=20) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return {int(p) for p in f.read().split()}
    except FileNotFoundError:
        return set()


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def worker_pid(base):
    body = fetch(base + "/metrics")[2].decode()
    found = re.search(r'^idvault_rp_worker\{pid="(\d+)"', body, re.M)
    return int(found.group(1)) if found else None


def main():
    rp_bin, holder_bin = sys.argv[1:3]
    check = serve_checks.Checks()

    # Usage errors: before any token or database is needed.
    common = [rp_bin, "serve", "--listen", "127.0.0.1:0", "--module", MODULE, "--key", KEY_URI]
    usage = subprocess.run(common + ["--workers", "0"], capture_output=True, text=True)
    check(usage.returncode == 2 and "--workers" in usage.stderr,
          f"--workers 0 is a usage error: {usage.returncode} {usage.stderr.strip()}")
    usage = subprocess.run(common + ["--workers", "3"], capture_output=True, text=True)
    check(usage.returncode == 2 and "in-memory" in usage.stderr,
          f"--workers 3 on the in-memory store is a usage error: {usage.returncode} {usage.stderr.strip()}")

    skipped = serve_checks.skip_without_postgres()
    if skipped is not None:
        return skipped
    work = tempfile.mkdtemp(prefix="idvault-serve-workers-")
    procs = []
    pg = None
    serve = None
    stderr_lines = []
    try:
        pg = postgres_server.PostgresServer()
        uri = pg.create_database("rp")
        env, pin = make_service_token(rp_bin, work)
        holder_dir, holder = serve_checks.start_demo_holder(holder_bin, work, procs)

        # A wrong PIN: the first worker's login fails, no other worker tries, exit 1.
        bad_pin = os.path.join(work, "bad-pin")
        with open(os.open(bad_pin, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write("9999\n")
        wrong = subprocess.run(common + ["--pin-file", bad_pin, "--db", uri, "--workers", str(WORKERS)],
                               env=env, capture_output=True, text=True, timeout=20)
        check(wrong.returncode == 1 and wrong.stderr.count("PIN_INCORRECT") == 1
              and "before it was serving" in wrong.stderr,
              f"a wrong PIN: one login attempt, exit 1: {wrong.returncode} {wrong.stderr.strip()!r}")

        serve = subprocess.Popen(common + ["--pin-file", pin, "--db", uri, "--workers", str(WORKERS), "--bundle-lease-seconds", "2",
                                           "--trust-verifier", os.path.join(holder_dir, "verifier.pem")],
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(serve)
        threading.Thread(target=lambda: stderr_lines.extend(serve.stderr), daemon=True).start()
        line = serve.stdout.readline()
        if not line.startswith("idvault-rp serve: listening on "):
            raise RuntimeError(f"serve did not start: {line!r}")
        base = line.strip().rsplit(" ", 1)[-1]
        workers = children(serve.pid)
        check(len(workers) == WORKERS, f"{WORKERS} workers under one parent: {sorted(workers)}")

        # (a) Requests on new connections, several at once: more than one worker answers.
        seen = set()
        lock = threading.Lock()

        def ask_pids():
            for _ in range(8):
                pid = worker_pid(base)
                with lock:
                    seen.add(pid)

        askers = [threading.Thread(target=ask_pids) for _ in range(6)]
        for asker in askers:
            asker.start()
        for asker in askers:
            asker.join()
        check(len(seen) > 1 and seen <= workers, f"requests are served by several workers: {sorted(seen)}")

        # (b) A stream of distinct bundles; one worker is killed with SIGKILL in the middle.
        bundles = []
        for _ in range(BUNDLES):
            status, headers, body = fetch(base + "/request")
            if status != 200:
                raise RuntimeError(f"GET /request: {status}")
            holder.stdin.write(json.loads(body)["link"] + "\n")
            holder.stdin.flush()
            with open(holder.stdout.readline().strip(), "rb") as f:
                bundles.append((json.loads(body)["nonce"], headers["Set-Cookie"].split(";", 1)[0], f.read()))
        answers = {nonce: [] for nonce, _, _ in bundles}
        todo = queue.Queue()
        for i in range(BUNDLES):
            todo.put(i)
        posted = threading.Semaphore(0)

        def poster():
            while True:
                try:
                    i = todo.get_nowait()
                except queue.Empty:
                    return
                nonce, _, bundle = bundles[i]
                for _ in range(10):
                    retry_after = None
                    try:
                        status, headers, _ = fetch(base + "/callback", bundle)
                        retry_after = headers.get("Retry-After")
                    except (urllib.error.URLError, http.client.HTTPException, ConnectionError) as e:
                        status = type(e).__name__
                    with lock:
                        answers[nonce].append(status)
                    # A 409 with Retry-After: another worker holds the bundle's lease (the
                    # killed one, perhaps); the outcome is known once the lease ran out.
                    if status == 200 or (status == 409 and retry_after is None):
                        break
                    time.sleep(float(retry_after) if retry_after else 0.1)
                posted.release()

        posters = [threading.Thread(target=poster) for _ in range(4)]
        for p in posters:
            p.start()
        for _ in range(3):
            posted.acquire()
        victim = sorted(workers)[0]
        os.kill(victim, signal.SIGKILL)
        for p in posters:
            p.join()
        retried = {n: a for n, a in answers.items() if len(a) > 1}
        print(f"info posts dropped by the kill and posted again: {retried}")
        accepted_twice = {n: a for n, a in answers.items() if a.count(200) > 1}
        check(not accepted_twice, f"no bundle accepted twice: {accepted_twice}")
        unfinished = {n: a for n, a in answers.items() if a[-1] not in (200, 409) or
                      (a[-1] == 409 and len(a) == 1)}
        check(not unfinished, f"every bundle ends accepted (200, or 409 after a dropped post): {unfinished}")
        stored = [fetch(f"{base}/result?nonce={nonce}", cookie=cookie) for nonce, cookie, _ in bundles]
        lost = [n for (n, _, _), (s, _, b) in zip(bundles, stored)
                if s != 200 or json.loads(b)["status"] != "received"]
        check(not lost, f"every accepted bundle's result is read afterwards: lost {lost}")
        rows = pg.sql("rp", "SELECT count(*) FROM results").split()
        check(rows == [str(BUNDLES)], f"PostgreSQL holds one result a bundle: {rows}")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (len(children(serve.pid)) != WORKERS or victim in children(serve.pid)):
            time.sleep(0.1)
        replaced = children(serve.pid)
        check(len(replaced) == WORKERS and victim not in replaced,
              f"the killed worker {victim} is replaced: {sorted(replaced)}")
        check(any(f"(pid {victim}) killed by signal 9" in line for line in stderr_lines),
              "the parent logged the death")
        status = fetch(base + "/request")[0]
        check(status in (200, 429), f"service continues: GET /request {status}")

        # (c) PostgreSQL stopped and started under load: 503 + Retry-After while it is down.
        nonce, cookie, _ = bundles[0]
        healthy = fetch(f"{base}/result?nonce={nonce}", cookie=cookie)[0]
        phase = ["up"]
        load = []
        stop_load = threading.Event()

        def loader():
            while not stop_load.is_set():
                current = phase[0]
                try:
                    status, headers, _ = fetch(f"{base}/result?nonce={nonce}", cookie=cookie)
                    retry = headers.get("Retry-After")
                except (urllib.error.URLError, http.client.HTTPException, ConnectionError) as e:
                    status, retry = type(e).__name__, None
                if phase[0] == current:
                    with lock:
                        load.append((current, status, retry))
                time.sleep(0.02)

        loaders = [threading.Thread(target=loader) for _ in range(4)]
        for t in loaders:
            t.start()
        time.sleep(0.3)
        pg.stop()
        phase[0] = "down"
        time.sleep(1.0)
        phase[0] = "starting"
        pg.start()
        phase[0] = "back"
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with lock:
                tail = [s for p, s, _ in load if p == "back"][-30:]
            if len(tail) == 30 and all(s == healthy for s in tail):
                break
            time.sleep(0.2)
        stop_load.set()
        for t in loaders:
            t.join()
        down = [(s, r) for p, s, r in load if p == "down"]
        check(down and all(s == 503 and r for s, r in down),
              f"PostgreSQL down: every answer is 503 with Retry-After ({len(down)}): "
              f"{sorted({str(s) for s, _ in down})}")
        check(not [s for _, s, _ in load if s not in (503, healthy)],
              f"no other answer under load: {sorted({str(s) for _, s, _ in load})}")
        back = [s for p, s, _ in load if p == "back"]
        check(len(back) >= 30 and all(s == healthy for s in back[-30:]),
              f"PostgreSQL back: every worker answers {healthy} again, without a restart")
        check(children(serve.pid) == replaced, "no worker was restarted meanwhile")

        # (d) SIGTERM: every process goes, exit 0.
        everyone = children(serve.pid)
        serve.send_signal(signal.SIGTERM)
        code = serve.wait(timeout=20)
        check(code == 0, f"serve exits 0 on SIGTERM: {code}")
        left = [pid for pid in everyone if alive(pid)]
        check(not left, f"no worker is left: {left}")
    except Exception as e:  # noqa: BLE001 - any failure is a failed check with its reason
        check(False, f"{type(e).__name__}: {e}")
    finally:
        if serve is not None and serve.poll() is None:
            for pid in children(serve.pid):
                os.kill(pid, signal.SIGKILL)
        serve_checks.clean_up(procs, pg, work)
    if check.failed and serve is not None:
        print("serve's stderr:\n" + "".join(stderr_lines))
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
