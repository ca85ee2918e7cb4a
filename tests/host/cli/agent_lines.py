"""JSON-RPC over the agent's socket one line at a time, for the scripts that talk to a
running idvault-agent (agent_abuse.py, agent_out_of_descriptors.py)."""
import json


def read_line(s):
    """The next line from socket s, its newline included; None if the peer closed first."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            return None
        data += chunk
    return data


def call(s, method, params=None, id_=1):
    """Sends one request line and returns the answer line parsed; None if the peer closed."""
    s.sendall(json.dumps({"jsonrpc": "2.0", "id": id_, "method": method, "params": params or {}}).encode() + b"\n")
    line = read_line(s)
    return json.loads(line) if line else None
