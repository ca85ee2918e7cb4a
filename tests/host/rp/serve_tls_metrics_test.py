"""idvault-rp serve over TLS, and its GET /metrics and GET /healthz, black-box: real
`serve` processes on a throwaway SoftHSM2 token, a real holder (demo_holder) answering
their links, Python's own http and ssl code as the client.

usage: serve_tls_metrics_test.py RP_BIN HOLDER_BIN CASE
  same_answers_over_tls  one `serve` plain and one with --tls-cert/--tls-key (a throwaway
                         certificate `openssl req` makes in the temp folder): the same
                         script of requests (pages, a request, junk, a share, its replay,
                         the result, malformed and oversized heads, keep-alive) gets the
                         same statuses and answers from both
  metrics_and_healthz    /healthz is 200 "ok"; /metrics is Prometheus text whose counters
                         move with a share, a replay and a junk bundle
Exit 0 when every check passed, 1 otherwise (one line per failure).
"""
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile

from raw_http import parse, read_all
from service_token import KEY_URI, MODULE, make_service_token

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL", what, flush=True)


class Serve:
    def __init__(self, rp_bin, env, pin, *extra):
        self.proc = subprocess.Popen([rp_bin, "serve", "--listen", "127.0.0.1:0", "--module", MODULE, "--key",
                                      KEY_URI, "--pin-file", pin, *extra],
                                     env=env, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        match = re.search(r"listening on (https?)://127\.0\.0\.1:(\d+)", line)
        if not match:
            raise RuntimeError(f"serve did not start: {line!r}")
        self.tls = match.group(1) == "https"
        self.port = int(match.group(2))
        self.context = None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=20)
        if self.tls:
            s = self.context.wrap_socket(s, server_hostname="127.0.0.1")
        return s






def raw(serve, data):
    with serve.connect() as s:
        s.sendall(data)
        return parse(read_all(s))


def request(serve, method, target, body=b"", cookie=None):
    head = f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    if cookie:
        head += f"Cookie: {cookie}\r\n"
    if method == "POST":
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return raw(serve, head.encode() + b"\r\n" + body)


def keep_alive(serve):
    """Two GETs on one connection: the statuses, and whether the first left it open."""
    with serve.connect() as s:
        s.sendall(b"GET /demo.js HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            data += s.recv(65536)
        status, headers, body = parse(data)
        while len(body) < int(headers.get("content-length", "0")):
            body += s.recv(65536)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        second, _, second_body = parse(read_all(s))
        return status, headers.get("connection", "keep-alive"), second, second_body


class Holder:
    def __init__(self, holder_bin, folder):
        os.mkdir(folder)
        self.proc = subprocess.Popen([holder_bin, folder], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("demo_holder did not start")

    def share(self, link):
        self.proc.stdin.write(link + "\n")
        self.proc.stdin.flush()
        with open(self.proc.stdout.readline().strip(), "rb") as f:
            return f.read()

    def stop(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=20)


def script(serve, holder):
    """The same requests against one server; a list of (what, status, answer) where answer
    is what must match between servers (bodies that carry a fresh nonce are reduced)."""
    out = []

    def note(what, status, answer=None):
        out.append((what, status, answer))

    status, _, body = request(serve, "GET", "/")
    note("GET /", status, b"Share with idvault" in body)
    status, _, body = request(serve, "GET", "/demo.js")
    note("GET /demo.js", status, body)
    status, headers, body = request(serve, "GET", "/request")
    asked = json.loads(body)
    cookie = headers.get("set-cookie", "").split(";", 1)[0]
    note("GET /request", status, (sorted(asked), cookie.startswith(f"idvault_read_{asked['nonce']}=")))
    status, _, body = request(serve, "GET", f"/result?nonce={asked['nonce']}", cookie=cookie)
    note("result before the share", status, body)
    status, _, body = request(serve, "POST", "/callback", b"junk")
    note("junk bundle", status, json.loads(body).keys() == {"error"})
    bundle = holder.share(asked["link"])
    status, _, body = request(serve, "POST", "/callback", bundle)
    accepted = json.loads(body)
    note("the share", status, (accepted.get("status"), accepted.get("elements"), accepted.get("nonce") == asked["nonce"]))
    status, _, body = request(serve, "POST", "/callback", bundle)
    note("its replay", status, body)
    status, _, body = request(serve, "GET", f"/result?nonce={asked['nonce']}", cookie=cookie)
    result = json.loads(body)
    note("the result", status, (result["status"], result["report"]["nonce"] == asked["nonce"],
                                 len(result["report"]["elements"])))
    status, _, _ = request(serve, "GET", f"/result?nonce={asked['nonce']}")
    note("the result without the read token", status)
    status, _, body = request(serve, "GET", "/nowhere")
    note("GET /nowhere", status, body)
    status, _, body = request(serve, "GET", "/healthz")
    note("GET /healthz", status, body)
    note("malformed head", raw(serve, b"NONSENSE\r\n\r\n")[0])
    note("bare LF in a header",
         raw(serve, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: a\nContent-Length: 5\r\n\r\n")[0])
    note("two Content-Lengths",
         raw(serve, b"POST /callback HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello")[0])
    note("chunked body",
         raw(serve, b"POST /callback HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")[0])
    note("a 10 GB Content-Length", raw(serve, b"POST /callback HTTP/1.1\r\nContent-Length: 9999999999\r\n\r\n")[0])
    note("a 20 kB head", raw(serve, b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\n\r\n")[0])
    note("HTTP/2.0", raw(serve, b"GET / HTTP/2.0\r\n\r\n")[0])
    note("keep-alive", 200, keep_alive(serve))
    return out, headers.get("set-cookie", "")


def same_answers_over_tls(rp_bin, holder, env, pin, work):
    cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    plain = Serve(rp_bin, env, pin)
    tls = Serve(rp_bin, env, pin, "--tls-cert", cert, "--tls-key", key)
    try:
        check(not plain.tls and tls.tls, "the TLS server says it listens on https://")
        tls.context = ssl.create_default_context(cafile=cert)  # verifies the certificate and its name
        plain_answers, plain_cookie = script(plain, holder)
        tls_answers, tls_cookie = script(tls, holder)
        for (what, status, answer), (_, tls_status, tls_answer) in zip(plain_answers, tls_answers):
            print(f"{what}: {status} / {tls_status}", flush=True)
            check(status == tls_status and answer == tls_answer,
                  f"{what}: plain {status} {answer!r:.120}, TLS {tls_status} {tls_answer!r:.120}")
        expected = {"GET /": 200, "the share": 200, "its replay": 409, "junk bundle": 400,
                    "the result without the read token": 403, "malformed head": 400, "chunked body": 411,
                    "a 10 GB Content-Length": 413, "a 20 kB head": 431, "HTTP/2.0": 505}
        for what, status, _ in plain_answers:
            if what in expected:
                check(status == expected[what], f"{what} is {expected[what]} (got {status})")
        keep = dict((w, a) for w, _, a in plain_answers)["keep-alive"]
        check(keep[:3] == (200, "keep-alive", 200), f"a connection is kept alive between two GETs ({keep})")
        # The one intended difference: over https the read cookie is Secure.
        check("Secure" not in plain_cookie and "; Secure" in tls_cookie,
              f"the read cookie is Secure over https only ({plain_cookie!r}, {tls_cookie!r})")
        # A client that does not speak TLS to the TLS port gets no HTTP answer.
        with socket.create_connection(("127.0.0.1", tls.port), timeout=20) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            check(not read_all(s).startswith(b"HTTP/1.1 200"), "plain HTTP to the TLS port is not served")
        for serve in (plain, tls):
            check(serve.proc.poll() is None, f"serve is still running (exit {serve.proc.poll()})")
    finally:
        plain.stop()
        tls.stop()


def samples(text):
    """{'name{labels}': value} of a Prometheus text exposition, checking its form."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("# HELP ") or line.startswith("# TYPE "):
            continue
        match = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)', line)
        check(match is not None, f"a sample line in the exposition format: {line!r}")
        if match:
            out[match.group(1)] = float(match.group(2))
    return out


def metrics_and_healthz(rp_bin, holder, env, pin, work):
    serve = Serve(rp_bin, env, pin)
    try:
        status, headers, body = request(serve, "GET", "/healthz")
        check((status, body) == (200, b"ok\n"), f"/healthz is 200 ok ({status} {body!r})")
        status, headers, body = request(serve, "GET", "/metrics")
        check(status == 200 and headers.get("content-type", "").startswith("text/plain; version=0.0.4"),
              f"/metrics is Prometheus text ({status}, {headers.get('content-type')})")
        before = samples(body.decode())

        _, h, body = request(serve, "GET", "/request")
        asked = json.loads(body)
        bundle = holder.share(asked["link"])
        check(request(serve, "POST", "/callback", bundle)[0] == 200, "the share is accepted")
        check(request(serve, "POST", "/callback", bundle)[0] == 409, "its replay is refused")
        check(request(serve, "POST", "/callback", b"junk")[0] == 400, "junk is refused")
        request(serve, "GET", "/nowhere/" + "x" * 10)

        status, _, body = request(serve, "GET", "/metrics")
        text = body.decode()
        after = samples(text)

        def moved(name):
            return after.get(name, 0) - before.get(name, 0)

        for name, by in (('http_requests_total{route="/callback",status="200"}', 1),
                         ('http_requests_total{route="/callback",status="409"}', 1),
                         ('http_requests_total{route="/callback",status="400"}', 1),
                         ('http_requests_total{route="/request",status="200"}', 1),
                         ('http_requests_total{route="other",status="404"}', 1),
                         ('idvault_rp_bundles_accepted_total', 1),
                         ('idvault_rp_bundles_refused_total{reason="replay"}', 1),
                         ('idvault_rp_bundles_refused_total{reason="malformed"}', 1),
                         ('idvault_rp_replays_refused_total', 1),
                         ('idvault_rp_hsm_operations_total{operation="decrypt"}', 1),
                         # the wait for a turn at the HSM: only the accepted share got there
                         ('idvault_rp_stage_seconds_count{stage="wait"}', 1),
                         ('idvault_rp_stage_seconds_count{stage="hsm"}', 1),
                         ('idvault_rp_stage_seconds_count{stage="decrypt"}', 1),
                         ('idvault_rp_stage_seconds_count{stage="commit"}', 1)):
            check(moved(name) == by, f"{name} moved by {by} (by {moved(name)})")
        check(after.get('idvault_rp_decryptors_busy', -1) == 0, "no decryptor busy once all is answered")
        check('idvault_rp_stage_seconds_bucket{stage="decrypt",le="+Inf"}' in after,
              "the stage times are histograms")
        check(not any(k.startswith("idvault_rp_hsm_errors_total") for k in after), "no HSM error counted")
        check(asked["nonce"] not in text, "no nonce in the metrics")
        check("# TYPE idvault_rp_stage_seconds histogram" in text, "stage times typed histogram")
        check(serve.proc.poll() is None, f"serve is still running (exit {serve.proc.poll()})")
    finally:
        serve.stop()


CASES = {f.__name__: f for f in (same_answers_over_tls, metrics_and_healthz)}


def main():
    rp_bin, holder_bin, case = sys.argv[1:4]
    work = tempfile.mkdtemp(prefix="idvault-serve-tls-")
    holder = None
    try:
        env, pin = make_service_token(rp_bin, work)
        holder = Holder(holder_bin, os.path.join(work, "holder"))
        CASES[case](rp_bin, holder, env, pin, work)
    except Exception as e:  # noqa: BLE001 - any failure is a failed check with its reason
        check(False, f"{type(e).__name__}: {e}")
    finally:
        if holder:
            holder.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"{case}: {'ok' if not failures else f'{len(failures)} failed'}")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
