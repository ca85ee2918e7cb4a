#!/usr/bin/python3
# Runs COMMAND on a fresh pseudo-terminal as its controlling terminal (its own session, so
# keys typed there reach it as they would from a person), waits until its terminal output
# matches PATTERN, then types or signals, and reports what the terminal was left like.
#
# Usage: pty_session.py PATTERN ACTION -- COMMAND...
#   ACTION: "type:TEXT" types TEXT and a carriage return; "key:HEX" types those bytes
#   (03 is Ctrl-C); "signal:NAME" sends the signal (TERM, HUP...) to the command.
# Prints "exit: N" (or "signal: NAME"), "echo: on|off" for the terminal after the command
# is gone, and "output:" followed by everything the command wrote to the terminal.
# Exits 2 when PATTERN never shows (within 20 s) or the command does not end.
import fcntl
import os
import re
import select
import signal
import subprocess
import sys
import termios
import time

pattern, action = sys.argv[1], sys.argv[2]
command = sys.argv[sys.argv.index("--") + 1:]
master, slave = os.openpty()
attributes = termios.tcgetattr(slave)
attributes[3] |= termios.ECHO | termios.ICANON | termios.ISIG
termios.tcsetattr(slave, termios.TCSANOW, attributes)


def take_terminal():
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


child = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                         preexec_fn=take_terminal, close_fds=True)
output = b""


def read_for(seconds, until=None):
    global output
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if until is not None and re.search(until.encode(), output):
            return True
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            try:
                output += os.read(master, 4096)
            except OSError:
                pass
        elif until is None and child.poll() is not None:
            return True
    return until is None and child.poll() is not None


if not read_for(20, pattern):
    child.kill()
    print("prompt never shown; output:", output.decode(errors="replace"))
    sys.exit(2)
time.sleep(0.2)  # the prompt is written just before the read starts
kind, _, value = action.partition(":")
if kind == "type":
    os.write(master, value.encode() + b"\r")
elif kind == "key":
    os.write(master, bytes.fromhex(value))
elif kind == "signal":
    child.send_signal(getattr(signal, "SIG" + value))
else:
    sys.exit("unknown action " + action)
try:
    child.wait(timeout=20)
except subprocess.TimeoutExpired:
    child.kill()
    print("the command did not end; output:", output.decode(errors="replace"))
    sys.exit(2)
read_for(0.3)
if child.returncode < 0:
    print("signal:", signal.Signals(-child.returncode).name[3:])
else:
    print("exit:", child.returncode)
print("echo:", "on" if termios.tcgetattr(slave)[3] & termios.ECHO else "off")
print("output:")
print(output.decode(errors="replace"))
