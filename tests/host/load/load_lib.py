"""Shared set-up for the agent's load and fault tests (tests/host/load): a throwaway
SoftHSM2 token and temp dir per run, the real idvault-agent started on its own socket, a
small JSON-RPC client over the Unix socket, and the figures the tests print (latency
percentiles, the agent's open fds and resident memory from /proc).

Each test is a script run by ctest as: SCRIPT AGENT_BINARY [more binaries...]
"""
import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SOFTHSM = "/usr/lib/softhsm/libsofthsm2.so"
PIN = "1234"
SKIP = 77  # ctest's SKIP_RETURN_CODE for these tests


def env_int(name, default):
    """A figure a slower build (ThreadSanitizer) may turn down: IDVAULT_LOAD_SECONDS=5."""
    value = os.environ.get(name)
    return int(value) if value else default


def fail(message):
    print("FAIL:", message, flush=True)
    sys.exit(1)


def connect(path):
    """A blocking connect, as the idvault CLI makes: it waits while the agent's listen
    backlog is full rather than failing (Python's socket timeouts would make it EAGAIN)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        raise
    return sock


class RpcClient:
    """One connection; call() sends a request and waits for its answer (or raises)."""

    def __init__(self, path, timeout=30.0):
        self.sock = connect(path)
        self.sock.settimeout(timeout)
        self.buffer = b""
        self.next_id = 1

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def read_line(self):
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("the agent closed the connection")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line

    def call(self, method, params=None, descriptors=()):
        """The whole answer object: {"result": ...} or {"error": {...}}. With descriptors,
        the request announces that many "fd" attachments and passes them (SCM_RIGHTS)
        with its line (docs/AGENT.md, "Passed files")."""
        request_id = self.next_id
        self.next_id += 1
        request = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or {}}
        if descriptors:
            request["attachments"] = ["fd"] * len(descriptors)
        line = json.dumps(request, separators=(",", ":")).encode() + b"\n"
        if descriptors:
            sent = socket.send_fds(self.sock, [line], list(descriptors))
            self.sock.sendall(line[sent:])
        else:
            self.sock.sendall(line)
        while True:
            answer = json.loads(self.read_line())
            if answer.get("id") == request_id:
                return answer
            # anything else is an event notification; not what we wait for


def b64(data):
    return base64.b64encode(data).decode()


def self_checking_file(seed, size):
    """Bytes whose first 32 are the SHA-256 of the rest: any copy read back can be checked
    without knowing which put it came from."""
    body = hashlib.shake_256(seed.encode()).digest(max(size - 32, 1))
    return hashlib.sha256(body).digest() + body


def file_intact(data):
    return len(data) > 32 and hashlib.sha256(data[32:]).digest() == data[:32]


def percentile(sorted_values, fraction):
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, int(round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


def proc_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def proc_rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def load_average():
    with open("/proc/loadavg") as loadavg:
        return " ".join(loadavg.read().split()[:3])


class AgentFixture:
    """A token, a store and a running agent in a fresh 0700 temp dir; removed on close()."""

    def __init__(self, agent_binary, module=SOFTHSM, store=None, extra_env=None, label="holder"):
        self.agent_binary = agent_binary
        self.module = module
        self.work = tempfile.mkdtemp(prefix="idvault-load.")
        os.chmod(self.work, 0o700)
        self.env = dict(os.environ)
        self.env["SOFTHSM2_CONF"] = os.path.join(self.work, "softhsm2.conf")
        self.env.update(extra_env or {})
        os.makedirs(os.path.join(self.work, "tokens"))
        os.makedirs(os.path.join(self.work, "run"), mode=0o700)
        os.makedirs(os.path.join(self.work, "data"))
        with open(self.env["SOFTHSM2_CONF"], "w") as conf:
            conf.write(f"directories.tokendir = {self.work}/tokens\nobjectstore.backend = file\nlog.level = ERROR\n")
        subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", PIN, "--so-pin", "5678"],
                       env=self.env, check=True, stdout=subprocess.DEVNULL)
        self.consent = os.path.join(self.work, "consent-yes")
        with open(self.consent, "w") as script:
            script.write("#!/bin/sh\ncat >/dev/null\nexit 0\n")
        os.chmod(self.consent, 0o700)
        self.socket_path = os.path.join(self.work, "run", "agent.sock")
        self.store = store or os.path.join(self.work, "data", "vault.db")
        self.process = None
        self.bad_exits = []
        self.err_path = os.path.join(self.work, "agent.err")

    def start(self, *extra_args):
        if os.path.exists(self.socket_path):
            os.unlink(self.socket_path)  # left by a killed agent
        args = [self.agent_binary, "--socket", self.socket_path, "--store", self.store, "--module", self.module,
                "--token", "pkcs11:token=holder", "--confirm-program", self.consent, "--log-level", "warning",
                *extra_args]
        self.process = subprocess.Popen(args, env=self.env, stdout=subprocess.DEVNULL,
                                        stderr=open(self.err_path, "ab"))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                fail(f"the agent exited with {self.process.returncode}: {self.stderr_tail()}")
            try:
                with RpcClient(self.socket_path, timeout=5) as client:
                    if "result" in client.call("status"):
                        return
            except OSError:
                time.sleep(0.05)
        fail("the agent did not answer within 30 s")

    def stderr_tail(self, lines=10):
        try:
            with open(self.err_path, errors="replace") as err:
                return "".join(err.readlines()[-lines:])
        except OSError:
            return ""

    @property
    def pid(self):
        return self.process.pid

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def call(self, method, params=None, timeout=60):
        with RpcClient(self.socket_path, timeout=timeout) as client:
            return client.call(method, params)

    def result(self, method, params=None, timeout=60):
        answer = self.call(method, params, timeout)
        if "result" not in answer:
            fail(f"{method}: {answer.get('error')}")
        return answer["result"]

    def init(self):
        return self.result("init", {"pin": PIN})

    def unlock(self):
        return self.result("unlock", {"pin": PIN})

    def kill9(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def print_stacks(self, why):
        """Every thread's stack, from gdb, so a hang in CI can be read from its log."""
        if not self.alive() or shutil.which("gdb") is None:
            print(f"--- {why}: no stacks (agent gone or no gdb)", flush=True)
            return
        try:
            out = subprocess.run(["gdb", "-p", str(self.pid), "-batch", "-ex", "thread apply all bt 25"],
                                 capture_output=True, text=True, timeout=120).stdout
        except subprocess.TimeoutExpired:
            out = "(gdb timed out)"
        frames = [line for line in out.splitlines() if line.startswith(("Thread ", "#"))]
        print(f"--- {why}: the agent's threads\n" + "\n".join(frames), flush=True)

    def stop(self):
        """SIGTERM, as a user would; the agent must exit 0 (a sanitizer's report makes it
        exit otherwise, so close() fails the test then)."""
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.print_stacks("did not stop within 20 s of SIGTERM")
                self.process.kill()
                self.process.wait()
                self.bad_exits.append("did not stop within 20 s of SIGTERM")
                return
            if self.process.returncode != 0:
                self.bad_exits.append(f"exited {self.process.returncode} on SIGTERM")

    def close(self, keep_logs=False):
        self.stop()
        if keep_logs or self.bad_exits:
            print("--- agent stderr:\n" + self.stderr_tail(), flush=True)
        shutil.rmtree(self.work, ignore_errors=True)
        if self.bad_exits:
            fail("the agent " + "; ".join(self.bad_exits))
