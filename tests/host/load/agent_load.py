"""agent_load: many clients at once against the real idvault-agent, with hostile clients
alongside, and the figures to show for it.

  200 clients (IDVAULT_LOAD_CLIENTS) for 30 s (IDVAULT_LOAD_SECONDS), each on its own
  connection, mixing element.get / element.list / element.put (small puts with a file,
  some larger ones; half of the puts pass the file as an open descriptor). Every answer is checked: a result, of the right shape, files intact.
  Meanwhile: clients that connect and send nothing, clients that send half a frame and
  stop, one client streaming a "1 GiB" line (the agent must hang up once its 32 MiB limit
  is passed, and the sender must notice), and 10,000 connect/disconnect cycles
  (IDVAULT_LOAD_CYCLES).

Passes when no request failed, the stream was cut off well short of 1 GiB, the agent's
open fds with every client gone are back where they were after the warm-up (within
FD_SLACK), and its resident memory under load does not creep: the peak in the run's last
third is within RSS_SLACK_KIB of the peak in its first (a connection that kept the
buffers of its largest answer grew it by 540 MiB in 60 s).

usage: agent_load.py AGENT_BINARY
"""
import base64
import os
import random
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from load_lib import (AgentFixture, RpcClient, b64, connect, env_int, fail, file_intact, load_average, percentile,  # noqa: E402
                      proc_fds, proc_rss_kib, self_checking_file)

SECONDS = env_int("IDVAULT_LOAD_SECONDS", 30)
CLIENTS = env_int("IDVAULT_LOAD_CLIENTS", 200)
CYCLES = env_int("IDVAULT_LOAD_CYCLES", 10000)
STALLED = env_int("IDVAULT_LOAD_STALLED", 20)
WARMUP = env_int("IDVAULT_LOAD_WARMUP_SECONDS", max(3, SECONDS // 5))
REQUEST_TIMEOUT = env_int("IDVAULT_LOAD_REQUEST_TIMEOUT", 60)
FD_SLACK = 2  # at the end, with every client gone: at most this many more fds than at the start
# Under load, the last third may peak at most this much above the first (a sanitizer's
# shadow memory grows on its own: raise it there).
RSS_SLACK_KIB = env_int("IDVAULT_LOAD_RSS_SLACK_MIB", 32) * 1024
FRAME_LIMIT = 32 << 20
BIG_FRAME = 1 << 30

FILE_TYPES = ["utility_bill", "bank_statement", "rental_agreement", "passport_registration", "temporary_registration"]
SMALL_FILE = 4 << 10
LARGE_FILE = 1 << 20


def put_params(kind, seed, size):
    return {"type": kind, "files": [b64(self_checking_file(seed, size))]}


def passed_file(directory, seed, size):
    """A self-checking scan written to a file and opened for the agent to read (the file
    is unlinked at once: the descriptor keeps it, as a scan saved and deleted would)."""
    path = os.path.join(directory, f"scan-{seed}")
    with open(path, "wb") as out:
        out.write(self_checking_file(seed, size))
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    os.unlink(path)
    return fd


def check_get(kind, result):
    files = result.get("files")
    if not isinstance(files, list) or len(files) != 1:
        return f"get {kind}: files {type(files).__name__} of {len(files) if isinstance(files, list) else '?'}"
    if not file_intact(base64.b64decode(files[0])):
        return f"get {kind}: a file that does not match its own checksum"
    return None


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies = {"element.get": [], "element.list": [], "element.put": []}
        self.failures = []
        self.puts_large = 0
        self.puts_passed = 0

    def record(self, method, seconds):
        with self.lock:
            self.latencies[method].append(seconds)

    def failed(self, what):
        with self.lock:
            self.failures.append(what)


def client_loop(agent, index, deadline, stats):
    rng = random.Random(index)
    try:
        client = RpcClient(agent.socket_path, timeout=REQUEST_TIMEOUT)
    except OSError as error:
        stats.failed(f"client {index}: connect: {error}")
        return
    n = 0
    with client:
        while time.monotonic() < deadline:
            n += 1
            roll = rng.random()
            kind = rng.choice(FILE_TYPES)
            descriptors = []
            if roll < 0.5:
                method, params = "element.get", {"type": kind}
            elif roll < 0.8:
                method, params = "element.list", {}
            else:
                large = rng.random() < 0.1
                size = LARGE_FILE if large else SMALL_FILE
                method, params = "element.put", put_params(kind, f"{index}.{n}", size)
                if rng.random() < 0.5:  # half the puts pass the scan as an open file
                    descriptors = [passed_file(agent.work, f"{index}.{n}", size)]
                    params["files"] = [{"attachment": 0}]
                    with stats.lock:
                        stats.puts_passed += 1
                if large:
                    with stats.lock:
                        stats.puts_large += 1
            start = time.monotonic()
            try:
                answer = client.call(method, params, descriptors)
            except (OSError, ValueError) as error:
                stats.failed(f"client {index}: {method}: {type(error).__name__}: {error}")
                if isinstance(error, TimeoutError):
                    agent.print_stacks(f"client {index}'s {method} timed out")
                return
            for fd in descriptors:
                os.close(fd)  # the agent had its own copy; ours was needed only to send it
            stats.record(method, time.monotonic() - start)
            if "result" not in answer:
                stats.failed(f"client {index}: {method}: {answer.get('error')}")
                continue
            result = answer["result"]
            problem = None
            if method == "element.get":
                problem = check_get(kind, result)
            elif method == "element.list":
                if not isinstance(result, list) or len(result) < len(FILE_TYPES):
                    problem = f"list: {len(result) if isinstance(result, list) else result!r} entries"
            elif result.get("stored") != kind:
                problem = f"put {kind}: {result!r}"
            if problem:
                stats.failed(f"client {index}: {problem}")


def stalled_clients(path, count):
    """Half connect and say nothing; half send the start of a frame and stop."""
    sockets = []
    for i in range(count):
        s = connect(path)
        if i % 2:
            s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"element.ge')
        sockets.append(s)
    return sockets


def big_frame(path, report):
    """Streams up to 1 GiB without a newline from one reused 1 MiB buffer."""
    chunk = b"A" * (1 << 20)
    sent = 0
    s = connect(path)
    s.settimeout(REQUEST_TIMEOUT)
    start = time.monotonic()
    noticed = None
    try:
        while sent < BIG_FRAME:
            s.sendall(chunk)
            sent += len(chunk)
    except (BrokenPipeError, ConnectionResetError) as error:
        noticed = type(error).__name__
    except socket.timeout:
        noticed = None
    answer = b""
    try:
        answer = s.recv(4096)
    except OSError:
        pass
    s.close()
    report.update(sent=sent, noticed=noticed, seconds=time.monotonic() - start, answer=answer[:200])


def connect_cycles(path, count, report):
    done = 0
    errors = {}
    start = time.monotonic()
    for i in range(count):
        try:
            s = connect(path)
            if i % 10 == 0:
                s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"sta')  # gone mid-frame
            s.close()
            done += 1
        except OSError as error:
            errors[type(error).__name__] = errors.get(type(error).__name__, 0) + 1
    report.update(done=done, errors=errors, seconds=time.monotonic() - start)


def main():
    agent = AgentFixture(sys.argv[1])
    ok = False
    try:
        agent.start()
        agent.init()
        for kind in FILE_TYPES:
            agent.result("element.put", put_params(kind, "first", SMALL_FILE))
        # Warm-up: every path once (a large put, a too-large frame, a few clients), so the
        # allocator's high-water mark is set before the first sample.
        agent.result("element.put", put_params(FILE_TYPES[0], "warm", LARGE_FILE))
        warm_report = {}
        big_frame(agent.socket_path, warm_report)
        # As many clients as the run, for long enough that each has had a large put in
        # flight: the agent's buffers reach the size the run needs before the first sample.
        warm_stats = Stats()
        warm_until = time.monotonic() + WARMUP
        threads = [threading.Thread(target=client_loop, args=(agent, 10000 + i, warm_until, warm_stats))
                   for i in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if warm_stats.failures:
            fail(f"warm-up: {warm_stats.failures[:3]}")
        time.sleep(0.5)
        fds_before, rss_before = proc_fds(agent.pid), proc_rss_kib(agent.pid)

        stats = Stats()
        stalled = stalled_clients(agent.socket_path, STALLED)
        frame_report, cycle_report = {}, {}
        start = time.monotonic()
        deadline = start + SECONDS
        hostile = [threading.Thread(target=big_frame, args=(agent.socket_path, frame_report)),
                   threading.Thread(target=connect_cycles, args=(agent.socket_path, CYCLES, cycle_report))]
        clients = [threading.Thread(target=client_loop, args=(agent, i, deadline, stats)) for i in range(CLIENTS)]
        for t in clients + hostile:
            t.start()
        fds_peak = proc_fds(agent.pid)
        rss_series = []  # (seconds into the run, KiB), sampled while the clients run
        while any(t.is_alive() for t in clients):
            time.sleep(0.5)
            if agent.alive():
                fds_peak = max(fds_peak, proc_fds(agent.pid))
                rss_series.append((time.monotonic() - start, proc_rss_kib(agent.pid)))
        elapsed = time.monotonic() - start
        for t in hostile:
            t.join()
        # The stalled clients were there all along; the agent must still answer them now.
        with RpcClient(agent.socket_path, timeout=REQUEST_TIMEOUT) as late:
            if "result" not in late.call("status"):
                stats.failed("status after the run")
        for s in stalled:
            s.close()
        time.sleep(1.0)
        if not agent.alive():
            fail(f"the agent died: {agent.stderr_tail()}")
        fds_after, rss_after = proc_fds(agent.pid), proc_rss_kib(agent.pid)

        all_latencies = sorted(x for values in stats.latencies.values() for x in values)
        total = len(all_latencies)
        print(f"agent_load: {CLIENTS} clients for {elapsed:.1f} s after {WARMUP} s of warm-up "
              f"(load average {load_average()})")
        print(f"  requests: {total} answered, {len(stats.failures)} failed, {total / elapsed:.0f} requests/s")
        for method, values in stats.latencies.items():
            values.sort()
            print(f"  {method:<13} n={len(values):<6} p50={percentile(values, 0.5) * 1000:.1f} ms "
                  f"p99={percentile(values, 0.99) * 1000:.1f} ms max={values[-1] * 1000 if values else 0:.1f} ms")
        print(f"  all           p50={percentile(all_latencies, 0.5) * 1000:.1f} ms "
              f"p99={percentile(all_latencies, 0.99) * 1000:.1f} ms; large (1 MiB) puts: {stats.puts_large}; "
              f"puts passing the scan as an open file: {stats.puts_passed}")
        print(f"  stalled clients: {STALLED} (half silent, half mid-frame), held for the whole run")
        print(f"  1 GiB frame: cut off after {frame_report.get('sent', 0) >> 20} MiB sent, the sender saw "
              f"{frame_report.get('noticed')} after {frame_report.get('seconds', 0):.1f} s; "
              f"answer {frame_report.get('answer', b'')[:80]!r}")
        print(f"  connect/disconnect: {cycle_report.get('done')} cycles in {cycle_report.get('seconds', 0):.1f} s, "
              f"{cycle_report.get('errors')} errors")
        print(f"  agent fds: {fds_before} before, {fds_peak} at peak, {fds_after} after (bound +{FD_SLACK})")
        # Under load, memory that the allocator keeps for the next burst is not a leak: the
        # run's last third must not add more than the bound to its first third's peak.
        third = SECONDS / 3
        early = max((kib for t, kib in rss_series if t <= third), default=rss_before)
        late = max((kib for t, kib in rss_series if t >= SECONDS - third), default=rss_after)
        print(f"  agent RSS: {rss_before / 1024:.1f} MiB before; under load, peak of the first third "
              f"{early / 1024:.1f} MiB, of the last third {late / 1024:.1f} MiB (bound +{RSS_SLACK_KIB // 1024} MiB); "
              f"{rss_after / 1024:.1f} MiB after")
        print("  RSS series (s: MiB): " + " ".join(f"{t:.0f}:{kib / 1024:.0f}" for t, kib in rss_series[::4]))
        for failure in stats.failures[:10]:
            print("  failure:", failure)

        problems = []
        if stats.failures:
            problems.append(f"{len(stats.failures)} failed requests")
        if total == 0:
            problems.append("no requests answered")
        if stats.puts_passed == 0:
            problems.append("no put passed its scan as an open file")
        for name, report in (("warm-up", warm_report), ("run", frame_report)):
            if report.get("noticed") is None or report.get("sent", BIG_FRAME) >= FRAME_LIMIT + (64 << 20):
                problems.append(f"{name}: the 1 GiB frame was not cut off near the 32 MiB limit: {report}")
        if cycle_report.get("errors") or cycle_report.get("done") != CYCLES:
            problems.append(f"connect/disconnect cycles: {cycle_report}")
        if fds_after > fds_before + FD_SLACK:
            problems.append(f"fds grew from {fds_before} to {fds_after}")
        if late > early + RSS_SLACK_KIB:
            problems.append(f"RSS under load grew from {early} KiB (first third) to {late} KiB (last third)")
        if problems:
            fail("; ".join(problems))
        print("PASS")
        ok = True
    finally:
        agent.close(keep_logs=not ok)


if __name__ == "__main__":
    main()
