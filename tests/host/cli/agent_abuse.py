"""Hostile and heavy clients against a running idvault-agent, at the process level:
garbage lines, a 64 MB line, a client that connects and stalls mid-line, 100 clients at
once. After each, an honest client must still get its answer promptly.

usage: agent_abuse.py SOCKET_PATH
Exit 0 when the agent answered everyone it should; one line per failure otherwise.
"""
import json
import socket
import sys
import threading
import time

from agent_lines import call, read_line

path = sys.argv[1]
failures = []


def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(path)
    return s


def honest(what):
    start = time.monotonic()
    try:
        with connect() as s:
            answer = call(s, "status")
        if not answer or "result" not in answer:
            failures.append(f"after {what}: status got {answer!r}")
        elif time.monotonic() - start > 10:
            failures.append(f"after {what}: status took {time.monotonic() - start:.1f} s")
    except OSError as e:
        failures.append(f"after {what}: {e}")


# Garbage: each bad line gets a JSON-RPC error, and the connection stays usable.
with connect() as s:
    for junk, code in [(b"this is not json", -32700), (b"{\"jsonrpc\":\"2.0\"}", -32600),
                       (b"[1,2,3]", -32600), (b"\xff\xfe\x00garbage", -32700),
                       (b"{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"no.such\"}", -32601)]:
        s.sendall(junk + b"\n")
        line = read_line(s)
        answer = json.loads(line) if line else None
        if not answer or answer.get("error", {}).get("code") != code:
            failures.append(f"garbage {junk[:20]!r}: got {answer!r}, expected code {code}")
    if not (call(s, "status") or {}).get("result"):
        failures.append("the connection did not stay usable after garbage")
honest("garbage")

# The stalled client holds a half-sent line the whole time the others run.
stalled = connect()
stalled.sendall(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"sta")
honest("a stalled client")

# A 64 MB line: refused (an error or a closed connection), never buffered whole.
with connect() as s:
    chunk = b"A" * (1 << 20)
    refused = False
    try:
        for _ in range(64):
            s.sendall(chunk)
        s.sendall(b"\n")
    except (BrokenPipeError, ConnectionResetError):
        refused = True
    if not refused:
        try:
            line = read_line(s)
            if line:
                answer = json.loads(line)
                if answer.get("error", {}).get("code") != -32001:
                    failures.append(f"64 MB line: got {answer!r}, expected -32001 frame_too_large")
        except ConnectionResetError:
            pass  # closed on us: as refused as an error line
        except socket.timeout:
            failures.append("64 MB line: neither an error nor a close within 20 s")
honest("a 64 MB line")

# 100 clients at once, each asking twice.
results = []


def client(i):
    try:
        with connect() as s:
            a = call(s, "status", id_=i)
            b = call(s, "element.list", id_=i + 1000)
            results.append(bool(a and "result" in a and a["id"] == i and b and b["id"] == i + 1000))
    except OSError as e:
        results.append(False)
        failures.append(f"client {i}: {e}")


threads = [threading.Thread(target=client, args=(i,)) for i in range(100)]
for t in threads:
    t.start()
for t in threads:
    t.join()
if results.count(True) != 100:
    failures.append(f"100 clients: {results.count(True)} answered correctly")
honest("100 clients")

stalled.close()
honest("the stalled client left")
for f in failures:
    print("FAIL", f)
sys.exit(1 if failures else 0)
