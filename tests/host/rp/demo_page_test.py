"""The relying party's demo page clicked through in headless Chromium (Debian's), driven
over the DevTools protocol on a pipe (--remote-debugging-pipe: no extra packages):

  idvault-rp serve on a throwaway SoftHSM2 token -> load the page -> click "Share with
  idvault" (a real mouse event) -> the page shows the link and QR code -> the holder
  (demo_holder) answers the link and the bundle is POSTed to the link's callback URL ->
  the page shows the verified data, the thumbnails and the attestations. Someone who
  knows only the nonce (it is in the link) reads nothing: the result and the files go to
  the page's own read cookie alone. The page says what it asks for in the consent
  prompt's words, for whatever --scope the server was started with (two are tried). The
  store, its WAL and shared memory are 0600 though serve was started with umask 022.

usage: demo_page_test.py RP_BIN DEMO_HOLDER_BIN ARTEFACT_DIR
Exit 0 when every check passed (prints "N passed, 0 failed"), 1 otherwise, 77 when
chromium is not installed (1 under CI, as tests/support/missing_peer.sh says). Leaves ARTEFACT_DIR/demo_page.png (the final screenshot).
"""
import base64
import json
import os
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

from service_token import KEY_URI, MODULE, make_service_token

CHROMIUM = "/usr/bin/chromium"

# What the page must say it asks for, per --scope: the words the holder's consent uses
# (vault::describe_element / describe_scope).
DEFAULT_SCOPE_WORDS = "personal_details (data); passport (data, front_side, selfie); email (email)"
SECOND_SCOPE = "personal_details,identity_card"
SECOND_SCOPE_WORDS = "personal_details (data); identity_card (data, front_side, reverse_side)"


def status_of(url):
    """The HTTP status of a GET without any cookie."""
    try:
        with urllib.request.urlopen(url) as answer:
            return answer.status
    except urllib.error.HTTPError as e:
        return e.code


class Browser:
    """Chromium with the DevTools protocol on fds 3 (commands in) and 4 (events out)."""

    def __init__(self, profile):
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()

        def wire():
            os.dup2(to_chrome_r, 3)
            os.dup2(from_chrome_w, 4)

        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage", "--user-data-dir=" + profile, "--remote-debugging-pipe", "about:blank"],
            preexec_fn=wire, close_fds=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buffer = b""
        self.next_id = 0
        self.events = []

    # Limits far above what an answer takes, only there to end a hung run: on a loaded
    # 2-core machine (clang-tidy on both cores beside it) an answer once took longer than
    # the 30 s these used to be, and a fresh machine's first Chromium start builds caches.
    def send(self, method, params=None, session=None, timeout=90):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            for item in self._read(deadline):
                if item.get("id") == self.next_id:
                    if "error" in item:
                        raise RuntimeError(f"{method}: {item['error']}")
                    return item.get("result", {})
                self.events.append(item)

    def wait_event(self, name, timeout=90):
        deadline = time.time() + timeout
        while True:
            for i, event in enumerate(self.events):
                if event.get("method") == name:
                    return self.events.pop(i)
            self.events.extend(self._read(deadline))

    def _read(self, deadline):
        while b"\0" not in self.buffer:
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError("no answer from chromium")
            ready, _, _ = select.select([self.from_chrome], [], [], left)
            if ready:
                chunk = os.read(self.from_chrome, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed the DevTools pipe")
                self.buffer += chunk
        *messages, self.buffer = self.buffer.split(b"\0")
        return [json.loads(m) for m in messages if m]

    def close(self):
        try:
            os.write(self.to_chrome, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
            self.proc.wait()


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = []

    def check(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failed.append(what)
            print("FAIL", what)


def main():
    rp_bin, holder_bin, artefacts = sys.argv[1:4]
    if not os.path.exists(CHROMIUM):
        print("chromium is not installed (scripts/setup installs it)")
        # Under CI a missing peer fails: the page would otherwise go untested unnoticed.
        return 77 if os.environ.get("CI", "") in ("", "false", "0") else 1
    os.makedirs(artefacts, exist_ok=True)
    work = tempfile.mkdtemp(prefix="idvault-demo-page-")
    procs = []
    browser = None
    checks = Checks()
    try:
        env, pin = make_service_token(rp_bin, work)

        holder_dir = os.path.join(work, "holder")
        os.mkdir(holder_dir)
        holder = subprocess.Popen([holder_bin, holder_dir], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        procs.append(holder)
        if holder.stdout.readline().strip() != "ready":
            raise RuntimeError("demo_holder did not start")

        def start_serve(*extra):
            serve = subprocess.Popen([rp_bin, "serve", "--listen", "127.0.0.1:0", "--module", MODULE, "--key",
                                      KEY_URI, "--pin-file", pin, "--trust-verifier",
                                      os.path.join(holder_dir, "verifier.pem"), *extra],
                                     env=env, stdout=subprocess.PIPE, text=True)
            procs.append(serve)
            line = serve.stdout.readline()
            checks.check(line.startswith("idvault-rp serve: listening on http://127.0.0.1:"),
                         f"serve prints where it listens: {line!r}")
            return line.strip().rsplit(" ", 1)[-1]

        # Started with a permissive umask, as from a service's shell: the store is private anyway.
        os.umask(0o022)
        base = start_serve("--db", os.path.join(work, "rp.db"))
        second_base = start_serve("--scope", SECOND_SCOPE)

        browser = Browser(os.path.join(work, "profile"))
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        browser.send("Page.enable", session=session)
        browser.send("Runtime.enable", session=session)
        browser.send("Emulation.setDeviceMetricsOverride",
                     {"width": 1100, "height": 1500, "deviceScaleFactor": 1, "mobile": False}, session=session)

        def js(expression):
            result = browser.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                       "awaitPromise": True}, session=session)
            return result.get("result", {}).get("value")

        def wait_for(expression, what, timeout=60):
            deadline = time.time() + timeout
            while time.time() < deadline:
                value = js(expression)
                if value:
                    return value
                time.sleep(0.2)
            checks.check(False, f"timed out waiting for {what}")
            return None

        browser.send("Page.navigate", {"url": base + "/"}, session=session)
        browser.wait_event("Page.loadEventFired")
        checks.check(js("document.getElementById('share').textContent") == "Share with idvault", "the button is there")
        asks_for = js("document.getElementById('asks-for').textContent")
        checks.check(asks_for == DEFAULT_SCOPE_WORDS, f"the page says what the default scope asks: {asks_for!r}")

        # A real click, where the button is on the screen.
        rect = json.loads(js("JSON.stringify(document.getElementById('share').getBoundingClientRect())"))
        x, y = rect["x"] + rect["width"] / 2, rect["y"] + rect["height"] / 2
        for kind in ("mousePressed", "mouseReleased"):
            browser.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left",
                                                      "clickCount": 1}, session=session)
        link = wait_for("document.getElementById('link').href.startsWith('idvault://') && "
                        "document.getElementById('link').href", "the request link")
        checks.check(bool(link), "clicking shows the request link")
        checks.check(js("!!document.querySelector('#qr svg path')") is True, "and its QR code")
        checks.check(js("document.getElementById('status').textContent").startswith("Waiting"), "and waits")

        # The holder answers; the wallet delivers to the callback URL in the link.
        holder.stdin.write(link + "\n")
        holder.stdin.flush()
        bundle_path = holder.stdout.readline().strip()
        callback = urllib.parse.parse_qs(urllib.parse.urlsplit(link.replace("idvault://", "http://", 1)).query)[
            "callback_url"][0]
        checks.check(callback == base + "/callback", f"the link names our callback: {callback}")
        with open(bundle_path, "rb") as f:
            answer = urllib.request.urlopen(urllib.request.Request(callback, data=f.read(), method="POST",
                                                                   headers={"Content-Type": "application/json"}))
        checks.check(json.load(answer)["status"] == "accepted", "the server accepts the bundle")

        wait_for("document.querySelectorAll('.element').length === 3", "the verified elements")
        wait_for("Array.from(document.images).length === 2 && "
                 "Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)", "the thumbnails")
        text = js("document.getElementById('result').innerText") or ""
        for needle in ("Ada", "Lovelace", "10.12.1815", "925076473", "ada@example.org", "Receipt signed by holder key"):
            checks.check(needle in text, f"the page shows {needle!r}")
        checks.check(js("document.querySelectorAll('.attestation.ok').length") == 3,
                     "three valid attestations are shown")
        checks.check(js("document.getElementById('status').textContent") == "Received and verified.", "status")

        for name in ("rp.db", "rp.db-wal", "rp.db-shm"):
            mode = stat.S_IMODE(os.stat(os.path.join(work, name)).st_mode)
            checks.check(mode == 0o600, f"{name} holding decrypted data is 0600 (is {mode:o})")

        # The nonce is public (link, QR code, bundle): it alone opens neither the result nor a file.
        nonce = js("document.body.dataset.nonce")
        with open(bundle_path) as f:
            file_id = next(iter(json.load(f)["files"]))
        checks.check(status_of(f"{base}/result?nonce={nonce}") == 403, "the nonce alone does not read the result")
        checks.check(status_of(f"{base}/file?nonce={nonce}&file_id={urllib.parse.quote(file_id)}") == 403,
                     "the nonce alone does not read a file")

        shot = browser.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True},
                            session=session)
        png = base64.b64decode(shot["data"])
        with open(os.path.join(artefacts, "demo_page.png"), "wb") as f:
            f.write(png)
        checks.check(png.startswith(b"\x89PNG") and len(png) > 20000, "a screenshot was taken")

        # A server started with another scope says so, in the same words.
        browser.send("Page.navigate", {"url": second_base + "/"}, session=session)
        browser.wait_event("Page.loadEventFired")
        asks_for = js("document.getElementById('asks-for').textContent")
        checks.check(asks_for == SECOND_SCOPE_WORDS, f"the page says what --scope {SECOND_SCOPE} asks: {asks_for!r}")
    except Exception as e:  # noqa: BLE001 - any failure is a failed check with its reason
        checks.check(False, f"{type(e).__name__}: {e}")
    finally:
        if browser:
            browser.close()
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
        shutil.rmtree(work, ignore_errors=True)
    print(f"{checks.passed} passed, {len(checks.failed)} failed")
    return 0 if not checks.failed else 1


if __name__ == "__main__":
    sys.exit(main())
