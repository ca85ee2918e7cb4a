"""Results sealed at rest, black-box: idvault-rp serve accepts a real holder's bundle
(demo_holder: personal details, a passport with front side and selfie scans, an e-mail
address) once on PostgreSQL and once on a SQLite file. Then `pg_dump` of the database and
the SQLite file with its -wal and -shm are searched for every plaintext value the holder
sent and for a run from the middle of each scan, as raw bytes and as the hex a dump
writes bytea in: no hits. The page still reads the result and each file through /result
and /file, the same values and bytes. A sealed row altered or moved is a clear 500, never
other bytes; serve without its seal key is a clear error that
names the command making one.

usage: sealed_at_rest_test.py RP_BIN DEMO_HOLDER_BIN
Exit 0 when every check passed, 1 otherwise, 77 without the PostgreSQL server binaries
(1 under CI, as tests/support/missing_peer.sh says)."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "support"))
import postgres_server  # noqa: E402
from service_token import KEY_URI, MODULE, make_service_token  # noqa: E402
import serve_checks  # noqa: E402

# What demo_holder puts in its vault and shares (tests/host/rp/demo_holder.cpp).
PLAINTEXT_VALUES = ["Lovelace", "10.12.1815", "925076473", "01.01.2034", "ada@example.org", "LOVELACE / ADA"]


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


def file_ids(report):
    """Every file_id in the report's elements."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("file_id"), str):
                found.append(node["file_id"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(report)
    return found


def main():
    rp_bin, holder_bin = sys.argv[1:3]
    skipped = serve_checks.skip_without_postgres()
    if skipped is not None:
        return skipped
    work = tempfile.mkdtemp(prefix="idvault-sealed-")
    procs = []
    check = serve_checks.Checks()

    pg = None
    try:
        pg = postgres_server.PostgresServer()
        uri = pg.create_database("rp")
        env, pin = make_service_token(rp_bin, work)
        holder_dir, holder = serve_checks.start_demo_holder(holder_bin, work, procs)

        def serve_args(db, *extra):
            return [rp_bin, "serve", "--listen", "127.0.0.1:0", "--module", MODULE, "--key", KEY_URI,
                    "--pin-file", pin, "--db", db, "--trust-verifier", os.path.join(holder_dir, "verifier.pem"),
                    *extra]

        def start_serve(db):
            serve = subprocess.Popen(serve_args(db), env=env, stdout=subprocess.PIPE, text=True)
            procs.append(serve)
            line = serve.stdout.readline()
            if not line.startswith("idvault-rp serve: listening on "):
                raise RuntimeError(f"serve did not start: {line!r}")
            return serve, line.strip().rsplit(" ", 1)[-1]

        def accepted_and_read(db):
            """Starts serve on db, has one bundle accepted, reads it back as the page: the
            serve process, the needles (plaintext values and scan runs), the nonce, the
            page's cookie and the file ids."""
            serve, base = start_serve(db)
            _, headers, body = fetch(base + "/request")
            nonce = json.loads(body)["nonce"]
            cookie = headers["Set-Cookie"].split(";", 1)[0]
            holder.stdin.write(json.loads(body)["link"] + "\n")
            holder.stdin.flush()
            with open(holder.stdout.readline().strip(), "rb") as f:
                bundle = f.read()
            status, _, _ = fetch(base + "/callback", bundle)
            check(status == 200, f"{db}: the bundle is accepted: {status}")
            status, _, body = fetch(f"{base}/result?nonce={nonce}", cookie=cookie)
            result = json.loads(body) if status == 200 else {}
            check(result.get("status") == "received", f"{db}: the page reads the result: {status}")
            report_text = json.dumps(result.get("report"), ensure_ascii=False)
            for value in PLAINTEXT_VALUES[:-1]:
                check(value in report_text, f"{db}: the report read back holds {value!r}")
            needles = [value.encode() for value in PLAINTEXT_VALUES]
            ids = file_ids(result.get("report"))
            check(len(ids) >= 2, f"{db}: the report names the scans: {ids}")
            for file_id in ids:
                status, headers, scan = fetch(
                    f"{base}/file?nonce={nonce}&file_id={urllib.parse.quote(file_id)}", cookie=cookie)
                check(status == 200 and scan.startswith(b"<svg") and b"LOVELACE / ADA" in scan,
                      f"{db}: /file {file_id} is the holder's scan: {status} {scan[:16]!r}")
                middle = len(scan) // 2
                needles.append(scan[middle - 24:middle + 24])
            return serve, needles, nonce, cookie, ids

        def no_hits(what, data, needles):
            hits = [needle[:20] for needle in needles
                    if needle in data or needle.hex().encode() in data.lower()]
            check(not hits, f"{what} ({len(data)} bytes) holds none of {len(needles)} plaintexts: {hits}")

        # PostgreSQL: pg_dump of the whole database.
        serve, needles, _, _, _ = accepted_and_read(uri)
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=30)
        rows = pg.sql("rp", "SELECT count(*) FROM results; SELECT count(*) FROM files").split()
        check(rows[0] == "1" and int(rows[1]) >= 2, f"PostgreSQL holds the result and its files: {rows}")
        dump = subprocess.run([os.path.join(postgres_server.binaries(), "pg_dump"), "--dbname", uri],
                              capture_output=True, check=True).stdout
        check(b"COPY public.files" in dump, "pg_dump dumped the files table")
        no_hits("pg_dump", dump, needles)

        # SQLite: the file and whatever -wal and -shm serve leaves, read while serve runs
        # (the WAL not yet checkpointed) and after it stopped.
        db_path = os.path.join(work, "rp.db")
        serve, needles, nonce, cookie, ids = accepted_and_read(db_path)

        def sqlite_bytes():
            data = b""
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(db_path + suffix):
                    with open(db_path + suffix, "rb") as f:
                        data += f.read()
            return data

        no_hits("the SQLite file, -wal and -shm under a running serve", sqlite_bytes(), needles)
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=30)
        no_hits("the SQLite file after serve stopped", sqlite_bytes(), needles)

        # Damaged rows: one byte of the sealed report altered, the two scans' rows swapped.
        # Each is a clear 500 saying so, never other bytes.
        with sqlite3.connect(db_path) as db:
            report = bytearray(db.execute("SELECT report FROM results WHERE nonce = ?", (nonce,)).fetchone()[0])
            report[len(report) // 2] ^= 0x01
            db.execute("UPDATE results SET report = ? WHERE nonce = ?", (bytes(report), nonce))
            first, second = (db.execute("SELECT bytes FROM files WHERE nonce = ? AND file_id = ?",
                                        (nonce, file_id)).fetchone()[0] for file_id in ids[:2])
            for file_id, data in ((ids[0], second), (ids[1], first)):
                db.execute("UPDATE files SET bytes = ? WHERE nonce = ? AND file_id = ?", (data, nonce, file_id))
        serve, base = start_serve(db_path)
        status, _, body = fetch(f"{base}/result?nonce={nonce}", cookie=cookie)
        check(status == 500 and b"damaged" in body, f"an altered sealed report is a clear 500: {status} {body!r}")
        status, _, body = fetch(f"{base}/file?nonce={nonce}&file_id={urllib.parse.quote(ids[0])}", cookie=cookie)
        check(status == 500 and b"damaged" in body, f"a swapped sealed file is a clear 500: {status} {body!r}")
        check(serve.poll() is None, "serve is still running")
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=30)

        # keygen --seal-only: keeps a seal key that is there, makes one under a new label,
        # which serve then takes by --seal-key.
        def keygen(*extra):
            return subprocess.run([rp_bin, "keygen", "--module", MODULE, "--token", "pkcs11:token=service",
                                   "--pin-file", pin, "--seal-only", *extra], env=env, capture_output=True,
                                  text=True, timeout=30)
        kept = keygen()
        check(kept.returncode == 0 and "keeps the token's seal key" in kept.stderr,
              f"keygen --seal-only keeps the seal key there: {kept.stderr.strip()}")
        made = keygen("--seal-label", "seal-2", "--json")
        check(made.returncode == 0 and "object=seal-2" in json.loads(made.stdout or "{}").get("seal_key_uri", ""),
              f"keygen --seal-only --seal-label makes a new one: {made.stdout.strip()} {made.stderr.strip()}")
        other = subprocess.Popen(serve_args(":memory:", "--seal-key", "pkcs11:object=seal-2"), env=env,
                                 stdout=subprocess.PIPE, text=True)
        procs.append(other)
        check(other.stdout.readline().startswith("idvault-rp serve: listening on "),
              "serve starts with --seal-key naming it")
        other.send_signal(signal.SIGTERM)
        other.wait(timeout=30)

        # Without its seal key serve does not start, and says how to make one.
        missing = subprocess.run(serve_args(":memory:", "--seal-key", "pkcs11:object=no-such-seal"), env=env,
                                 capture_output=True, text=True, timeout=30)
        check(missing.returncode != 0 and "no seal key" in missing.stderr and "keygen" in missing.stderr
              and "--seal-only" in missing.stderr,
              f"serve without its seal key names the command that makes it: {missing.stderr.strip()}")
    except Exception as e:  # noqa: BLE001 - any failure is a failed check with its reason
        check(False, f"{type(e).__name__}: {e}")
    finally:
        serve_checks.clean_up(procs, pg, work)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
