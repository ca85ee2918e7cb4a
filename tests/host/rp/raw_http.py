"""Reading raw HTTP answers, for the tests that talk to idvault-rp serve byte by byte
(http_limits_test.py, serve_tls_metrics_test.py)."""
import socket
import ssl


def read_all(s):
    """Everything the server sends until it closes, resets or the socket times out."""
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, socket.timeout, ssl.SSLError):
        pass
    return data


def parse(answer):
    """(status, lowercased header dict, body) of a raw answer; status 0 for none."""
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not lines[0].startswith("HTTP/1.1 "):
        return 0, {}, body
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0][9:12]), headers, body
