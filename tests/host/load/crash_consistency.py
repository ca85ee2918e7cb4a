"""crash_consistency: kill -9 of the agent at a random point during a stream of writes,
several runs on the same store. After each kill the store (the --store file and whatever
the store keeps beside it) is copied and SQLite's integrity check run on the copy; then
the agent is restarted on the original and, through its socket, every acknowledged write
is there: for each element type, element.get returns exactly the last acknowledged put
of it, or the one in flight at the kill (committed, but the answer never arrived).

  IDVAULT_CRASH_RUNS (default 5) runs of up to IDVAULT_CRASH_WRITES (default 1000)
  writes each, killed after a random number of them plus a random few milliseconds.

usage: crash_consistency.py AGENT_BINARY
"""
import os
import random
import shutil
import sqlite3
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from load_lib import AgentFixture, RpcClient, b64, env_int, fail, load_average, self_checking_file  # noqa: E402

RUNS = env_int("IDVAULT_CRASH_RUNS", 5)
WRITES = env_int("IDVAULT_CRASH_WRITES", 1000)
SEED = env_int("IDVAULT_CRASH_SEED", int(time.time()))

FILE_TYPES = ["utility_bill", "bank_statement", "rental_agreement"]
VALUE_TYPES = ["email", "phone_number"]


def write_for(run, i):
    """The i-th write of a run: its type and params, all derived from (run, i)."""
    kinds = FILE_TYPES + VALUE_TYPES
    kind = kinds[i % len(kinds)]
    if kind == "email":
        return kind, {"type": kind, "value": f"r{run}w{i}@example.org"}
    if kind == "phone_number":
        return kind, {"type": kind, "value": str(10_000_000 + run * 100_000 + i)}
    size = 300 << 10 if i % 7 == 0 else 3 << 10  # some large enough to live beside the db
    return kind, {"type": kind, "files": [b64(self_checking_file(f"{run}.{i}", size))]}


def integrity_ok(db_path):
    connection = sqlite3.connect(db_path)
    try:
        return connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        connection.close()


def copy_store(store, into):
    """The store is the --store file plus what sits beside it: copy its whole directory."""
    shutil.copytree(os.path.dirname(store), into)
    return os.path.join(into, os.path.basename(store))


def main():
    rng = random.Random(SEED)
    agent = AgentFixture(sys.argv[1])
    ok = False
    print(f"crash_consistency: {RUNS} runs of up to {WRITES} writes, seed {SEED} "
          f"(IDVAULT_CRASH_SEED to repeat), load average {load_average()}")
    try:
        agent.start()
        agent.init()
        # expected[kind]: the params of acknowledged writes and the one in flight, per type
        last_acked = {}
        total_acked = 0
        for run in range(RUNS):
            if run > 0:
                agent.start()
                agent.unlock()
            kill_after = rng.randint(1, WRITES)
            extra_ms = rng.uniform(0, 15)
            acked_here = 0
            in_flight = {}  # kind -> params sent but not answered
            refused = []
            reached = threading.Event()

            def writer():
                nonlocal acked_here
                try:
                    with RpcClient(agent.socket_path, timeout=60) as client:
                        for i in range(WRITES):
                            kind, params = write_for(run, i)
                            in_flight[kind] = params
                            answer = client.call("element.put", params)
                            if "result" not in answer:
                                refused.append(f"run {run + 1} write {i}: {answer.get('error')}")
                                break
                            last_acked[kind] = params
                            del in_flight[kind]
                            acked_here += 1
                            if acked_here >= kill_after:
                                reached.set()
                except (OSError, ValueError):
                    pass  # the agent was killed under us: what was acknowledged is what counts
                reached.set()

            thread = threading.Thread(target=writer)
            start = time.monotonic()
            thread.start()
            reached.wait()
            time.sleep(extra_ms / 1000)
            agent.kill9()
            thread.join()
            elapsed = time.monotonic() - start
            total_acked += acked_here
            if refused:
                fail(refused[0])

            copy = copy_store(agent.store, os.path.join(agent.work, f"copy-{run}"))
            copy_ok = integrity_ok(copy)
            agent.start()
            agent.unlock()
            missing = []
            for kind in FILE_TYPES + VALUE_TYPES:
                if kind not in last_acked:
                    continue
                got = agent.call("element.get", {"type": kind})
                if "result" not in got:
                    missing.append(f"{kind}: {got.get('error')}")
                    continue
                result = got["result"]
                candidates = [last_acked[kind]] + ([in_flight[kind]] if kind in in_flight else [])
                matching = [c for c in candidates
                            if result.get("value", "") == c.get("value", "") and
                            result.get("files", []) == c.get("files", [])]
                if matching:
                    last_acked[kind] = matching[-1]  # the in-flight one may have won
                else:
                    shown = result.get("value") or f"{len(result.get('files', []))} file(s), not the acknowledged ones"
                    missing.append(f"{kind}: got {shown}, expected {last_acked[kind].get('value', 'the acked file')}")
            agent.stop()
            live_ok = integrity_ok(agent.store)
            files_beside = sum(len(f) for _, _, f in os.walk(os.path.dirname(agent.store)))
            print(f"  run {run + 1}: {acked_here} writes acknowledged in {elapsed:.1f} s, kill -9 after "
                  f"{kill_after} + {extra_ms:.1f} ms; in flight: {sorted(in_flight) or 'none'}; "
                  f"integrity_check copy={'ok' if copy_ok else 'BAD'} after-restart={'ok' if live_ok else 'BAD'}; "
                  f"{len(last_acked)} types checked, {len(missing)} wrong; {files_beside} files in the store dir")
            if missing or not copy_ok or not live_ok:
                fail(f"run {run + 1}: {'; '.join(missing) or 'integrity_check failed'}")
            shutil.rmtree(os.path.dirname(copy), ignore_errors=True)
        print(f"  total: {total_acked} acknowledged writes over {RUNS} kills, all present")
        print("PASS")
        ok = True
    finally:
        agent.close(keep_logs=not ok)


if __name__ == "__main__":
    main()
