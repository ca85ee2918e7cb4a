"""What the black-box idvault-rp serve tests share: the skip without PostgreSQL's server
binaries, the check counter that prints each result, and demo_holder started and ready."""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "support"))
import postgres_server  # noqa: E402


def skip_without_postgres():
    """None when the PostgreSQL server binaries are there; else the exit status: 77 (skip),
    or 1 under CI, as tests/support/missing_peer.sh says."""
    if postgres_server.available():
        return None
    print(f"SKIP: the PostgreSQL server binaries are not in {postgres_server.binaries()}")
    return 77 if os.environ.get("CI", "") in ("", "false", "0") else 1


class Checks:
    """check(ok, what) prints "ok" or "FAIL" with what; summary() prints the counts and
    returns the exit status."""

    def __init__(self):
        self.passed = 0
        self.failed = []

    def __call__(self, ok, what):
        print(("ok   " if ok else "FAIL ") + what)
        if ok:
            self.passed += 1
        else:
            self.failed.append(what)

    def summary(self):
        print(f"{self.passed} passed, {len(self.failed)} failed")
        return 1 if self.failed else 0


def start_demo_holder(holder_bin, work, procs):
    """demo_holder on a fresh folder under work, once it says ready: (folder, process)."""
    holder_dir = os.path.join(work, "holder")
    os.mkdir(holder_dir)
    holder = subprocess.Popen([holder_bin, holder_dir], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    procs.append(holder)
    if holder.stdout.readline().strip() != "ready":
        raise RuntimeError("demo_holder did not start")
    return holder_dir, holder


def clean_up(procs, pg, work):
    """Kills what still runs of procs, stops the PostgreSQL server (if one started) and
    removes the work folder: a test's `finally`."""
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if pg:
        pg.close()
    shutil.rmtree(work, ignore_errors=True)
