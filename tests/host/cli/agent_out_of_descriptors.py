"""The agent at its descriptor limit: given more connections than it has descriptors
(it runs under `prlimit --nofile=64:64`), its accept loop must not spin while they wait,
and once they go it must serve again.

usage: agent_out_of_descriptors.py SOCKET_PATH AGENT_PID
Exit 0 when it held up; one line per failure otherwise. On a loaded machine a spinning
loop gets only its share of a core, so the agent's CPU time is compared with that of a
busy loop run beside it: a spinning agent gets about as much, a waiting one nearly none.
"""
import os
import socket
import subprocess
import sys
import time

from agent_lines import call

path, pid = sys.argv[1], int(sys.argv[2])
failures = []


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def status_answer(timeout):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        return call(s, "status")
    except OSError:
        return None
    finally:
        s.close()


held = []
try:
    for _ in range(120):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(2)
        try:
            s.connect(path)
        except OSError:  # the backlog is full too
            s.close()
            break
        held.append(s)
    if len(held) < 70:
        failures.append(f"only {len(held)} connections could be opened; the test needs more than 64")
    time.sleep(0.5)
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.2)
        start, spinner_start = cpu_seconds(pid), cpu_seconds(spinner.pid)
        time.sleep(3)
        used, spun = cpu_seconds(pid) - start, cpu_seconds(spinner.pid) - spinner_start
    finally:
        spinner.kill()
        spinner.wait()
    if used >= 0.05 + spun / 4:
        failures.append(f"out of descriptors, the agent used {used:.2f} s of CPU in 3 s, a busy loop beside it "
                        f"{spun:.2f} s (its accept loop spins)")
finally:
    for s in held:
        s.close()

deadline = time.monotonic() + 20
answer = None
while answer is None and time.monotonic() < deadline:
    answer = status_answer(2)
    if answer is None:
        time.sleep(0.2)
if not answer or "result" not in answer:
    failures.append(f"once the connections closed, status got {answer!r}")

for failure in failures:
    print("FAIL", failure)
sys.exit(1 if failures else 0)
