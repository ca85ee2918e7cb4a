"""One JSON-RPC call to idvault-agent, for shell tests: rpc_call.py SOCKET METHOD < PARAMS_JSON

Params come on stdin (so a PIN never sits in argv). Prints the result (or the error
object) as JSON on stdout; exit 0 for a result, 1 for an error, 2 if nothing answered.
"""
import json
import socket
import sys


def main():
    path, method = sys.argv[1], sys.argv[2]
    text = sys.stdin.read().strip()
    params = json.loads(text) if text else {}
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(60)
            s.connect(path)
            s.sendall((json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}) + "\n").encode())
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(1 << 20)
                if not chunk:
                    break
                data += chunk
    except OSError as error:
        print(f"no answer from {path}: {error}", file=sys.stderr)
        return 2
    answer = json.loads(data)
    if "error" in answer:
        print(json.dumps(answer["error"]))
        return 1
    print(json.dumps(answer["result"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
