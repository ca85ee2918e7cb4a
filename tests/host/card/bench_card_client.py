"""The holder's waits, timed from one client process: bench_card_client.py SOCKET ROUNDS PUBKEY_PEM [APDU_LOG]

Assumes an initialised vault holding personal_details and a passport with a front side.
Each round: lock (untimed), unlock, get personal_details, get passport (with its scan),
authorize a share of both. The PIN comes on stdin. With APDU_LOG (idvault-cardsim's
debug log) it also counts the APDUs each step sent the card, and how many of them were
GENERAL AUTHENTICATE (the card's private-key operations), and which commands they were
in the last round. Prints one JSON object:
{"unlock": {"ms": [...], "apdus": [...], "private_ops": [...], "commands": {"a4": 2, ...}}, ...}.
"""
import json
import socket
import sys
import time
import urllib.parse


class Agent:
    """One connection, reused: the timing is the agent's, not a Python start-up's."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(120)
        self.sock.connect(path)
        self.buffer = b""
        self.next_id = 0

    def call(self, method, params):
        self.next_id += 1
        request = {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}
        self.sock.sendall((json.dumps(request) + "\n").encode())
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise RuntimeError(f"agent closed the connection during {method}")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]


class ApduCounter:
    """Counts the commands idvault-cardsim logged ("C: CLA INS P1 P2 ...") since the last call."""

    def __init__(self, path):
        self.file = open(path, "r", errors="replace") if path else None
        if self.file:
            self.file.seek(0, 2)

    def take(self):
        """(APDUs, private-key operations, {INS hex: count}) since the last call."""
        if not self.file:
            return None, None, {}
        apdus = private_ops = 0
        commands = {}
        for line in self.file.readlines():
            marker = line.find(" C: ")
            if marker < 0:
                continue
            header = line[marker + 4:marker + 12]
            apdus += 1
            commands[header[2:4].lower()] = commands.get(header[2:4].lower(), 0) + 1
            # The last block of a (possibly chained) GENERAL AUTHENTICATE: CLA 00, INS 87.
            if header[:4].lower() == "0087":
                private_ops += 1
        return apdus, private_ops, commands


def link(pubkey_pem, nonce):
    query = {"bot_id": "31337", "scope": json.dumps({"data": ["personal_details", "passport"], "v": 1}),
             "public_key": pubkey_pem, "nonce": nonce}
    return "idvault://authorize?" + "&".join(k + "=" + urllib.parse.quote(v, safe="") for k, v in query.items())


def main():
    path, rounds, pubkey_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    apdu_log = sys.argv[4] if len(sys.argv) > 4 else None
    pin = sys.stdin.readline().strip()
    pubkey = open(pubkey_path).read()
    agent = Agent(path)
    counter = ApduCounter(apdu_log)
    steps = {
        "unlock": lambda r: agent.call("unlock", {"pin": pin}),
        "get_details": lambda r: agent.call("element.get", {"type": "personal_details"}),
        "get_passport": lambda r: agent.call("element.get", {"type": "passport"}),
        "authorize": lambda r: agent.call("authorize", {"link": link(pubkey, f"bench-{time.time_ns()}-{r}")}),
    }
    results = {name: {"ms": [], "apdus": [], "private_ops": [], "commands": {}} for name in steps}
    for r in range(rounds + 1):  # round 0 warms caches and is not kept
        agent.call("lock", {})
        counter.take()
        for name, step in steps.items():
            start = time.perf_counter()
            answer = step(r)
            elapsed = (time.perf_counter() - start) * 1000.0
            apdus, private_ops, commands = counter.take()
            if name == "get_passport" and not answer.get("front_side"):
                raise RuntimeError("the passport came back without its scan")
            if name == "authorize" and "bundle" not in answer:
                raise RuntimeError("authorize gave no bundle")
            if r == 0:
                continue
            results[name]["ms"].append(elapsed)
            results[name]["apdus"].append(apdus)
            results[name]["private_ops"].append(private_ops)
            results[name]["commands"] = commands
    print(json.dumps(results))


if __name__ == "__main__":
    main()
