"""Start a program the way systemd's socket activation does: make the listening Unix
socket, then fork, move it to fd 3, set LISTEN_FDS=1 and LISTEN_PID=<the child's pid>,
and exec the program. Prints the child's pid and exits, leaving the child running.

usage: socket_activate.py SOCKET_PATH LOG_FILE [--wrong-pid | --no-socket] -- PROGRAM ARGS...
The program's stdout and stderr are appended to LOG_FILE. --wrong-pid sets LISTEN_PID
to another pid, which the program must ignore; --no-socket claims a socket (LISTEN_FDS=1)
but leaves fd 3 closed, which the program must refuse.
"""
import os
import socket
import sys

path, log_file = sys.argv[1], sys.argv[2]
wrong_pid = "--wrong-pid" in sys.argv
no_socket = "--no-socket" in sys.argv
argv = sys.argv[sys.argv.index("--") + 1:]

os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
if os.path.exists(path):
    os.unlink(path)
listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
old = os.umask(0o177)
listener.bind(path)
os.umask(old)
listener.listen(128)

pid = os.fork()
if pid == 0:
    log = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    if no_socket:
        os.closerange(3, 256)
    else:
        os.dup2(listener.fileno(), 3)  # SD_LISTEN_FDS_START
        os.set_inheritable(3, True)  # dup2 onto itself (fileno() may be 3) keeps close-on-exec
    os.environ["LISTEN_FDS"] = "1"
    os.environ["LISTEN_PID"] = str(os.getppid() if wrong_pid else os.getpid())
    os.execv(argv[0], argv)
listener.close()
print(pid)
