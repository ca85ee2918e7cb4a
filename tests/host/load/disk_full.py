"""disk_full: the agent's store on a tiny tmpfs. A put that cannot fit, and then any put
on a full disk, must fail with a clear error (JSON-RPC -32603 "the disk is full: nothing
was changed"), while everything stored before reads back exactly, SQLite's integrity
check passes and the agent keeps serving; once space is freed, puts succeed again.

Needs to mount a tmpfs (root with CAP_SYS_ADMIN, as in CI); skipped (77) otherwise.

usage: disk_full.py AGENT_BINARY
"""
import errno
import os
import sqlite3
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from load_lib import SKIP, AgentFixture, b64, fail, load_average, self_checking_file  # noqa: E402

TMPFS_BYTES = 8 << 20


def free_bytes(path):
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


def integrity_ok(db_path):
    connection = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        connection.close()


def fill(path, leave):
    """Grows a filler file until only `leave` bytes are free (0: until ENOSPC)."""
    chunk = b"\0" * (64 << 10)
    with open(path, "ab", buffering=0) as filler:
        while free_bytes(os.path.dirname(path)) > leave + len(chunk):
            try:
                filler.write(chunk)
            except OSError as error:
                if error.errno == errno.ENOSPC:
                    return
                raise
        if leave == 0:
            try:
                while True:
                    filler.write(b"\0" * 4096)
            except OSError as error:
                if error.errno != errno.ENOSPC:
                    raise


def expect_disk_full(agent, params, what):
    answer = agent.call("element.put", params)
    error = answer.get("error")
    if not error:
        fail(f"{what}: the put succeeded on a full disk")
    print(f"  {what}: code {error.get('code')}, message {error.get('message')!r}")
    if error.get("code") != -32603 or "disk is full" not in error.get("message", ""):
        fail(f"{what}: an unclear error: {error}")


def main():
    agent = AgentFixture(sys.argv[1])
    mount_point = os.path.join(agent.work, "small")
    os.makedirs(mount_point)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_BYTES},mode=0700", "tmpfs", mount_point],
                             stderr=subprocess.PIPE, text=True)
    if mounted.returncode != 0:
        print(f"SKIP: cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN): {mounted.stderr.strip()}")
        agent.close()
        sys.exit(SKIP)
    ok = False
    print(f"disk_full: store on a {TMPFS_BYTES >> 20} MiB tmpfs, load average {load_average()}")
    try:
        agent.store = os.path.join(mount_point, "vault", "vault.db")
        agent.start()
        agent.init()
        before = {
            "email": {"type": "email", "value": "ada@example.org"},
            "utility_bill": {"type": "utility_bill", "files": [b64(self_checking_file("bill", 64 << 10))]},
            "bank_statement": {"type": "bank_statement", "files": [b64(self_checking_file("bank", 200 << 10))]},
        }
        for params in before.values():
            agent.result("element.put", params)

        def check_earlier(when):
            for kind, params in before.items():
                got = agent.result("element.get", {"type": kind})
                if got.get("value", "") != params.get("value", "") or got.get("files", []) != params.get("files", []):
                    fail(f"{when}: {kind} does not read back as stored")
            if len(agent.result("element.list")) != len(before):
                fail(f"{when}: list changed")
            if not integrity_ok(agent.store):
                fail(f"{when}: integrity_check failed")
            if "result" not in agent.call("status"):
                fail(f"{when}: status failed")

        filler = os.path.join(mount_point, "filler")
        fill(filler, 1 << 20)
        print(f"  free before the big put: {free_bytes(mount_point) >> 10} KiB")
        big = {"type": "rental_agreement", "files": [b64(self_checking_file("big", 3 << 20))]}
        expect_disk_full(agent, big, "a 3 MiB put with 1 MiB free")
        check_earlier("after the big put")
        if "error" not in agent.call("element.get", {"type": "rental_agreement"}):
            fail("the failed put left a rental_agreement behind")

        fill(filler, 0)
        print(f"  free when full: {free_bytes(mount_point) >> 10} KiB")
        # SQLite may still find room inside files it already has (its WAL), so puts on a
        # full disk can succeed for a while: each that does must read back, and the first
        # that does not fit must fail clearly and leave the last one in place.
        accepted = 0
        for i in range(200):
            params = {"type": "passport_registration", "files": [b64(self_checking_file(f"full{i}", 64 << 10))]}
            answer = agent.call("element.put", params)
            if "result" in answer:
                before["passport_registration"] = params
                accepted += 1
                continue
            print(f"  64 KiB puts on a full disk: {accepted} fitted in space the store already had, then")
            expect_disk_full(agent, params, f"put {i + 1} on a full disk")
            break
        else:
            fail("200 puts of 64 KiB all fitted on a full 8 MiB tmpfs")
        expect_disk_full(agent, {"type": "rental_agreement", "files": big["files"]}, "the 3 MiB put again")
        check_earlier("on a full disk")

        os.unlink(filler)
        agent.result("element.put", big)
        got = agent.result("element.get", {"type": "rental_agreement"})
        if got.get("files") != big["files"]:
            fail("after freeing space: the big put does not read back")
        before["rental_agreement"] = big
        check_earlier("after freeing space")
        if not agent.alive():
            fail("the agent died")
        print(f"  after freeing space: the 3 MiB put succeeded and reads back; {len(before)} elements intact")
        print("PASS")
        ok = True
    finally:
        agent.stop()
        subprocess.run(["umount", mount_point], check=False)
        agent.close(keep_logs=not ok)


if __name__ == "__main__":
    main()
