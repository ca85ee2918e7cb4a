"""token_faults: the real agent on a token that misbehaves. The agent runs with --module
set to the fault shim (tests/pkcs11/fault_module.cpp, which wraps SoftHSM2), driven
through its control file. At unlock, put, get and authorize the token returns
CKR_DEVICE_REMOVED, CKR_SESSION_HANDLE_INVALID, CKR_SESSION_COUNT or CKR_PIN_INCORRECT,
or takes 2 s over a call. Each time the agent must answer within a bound, with a result
(a session fault at put's, get's or authorize's real work must be retried on a fresh
session and succeed) or a clear error (wrong_pin, token_not_present, or token_error naming the CKR_ code;
never the catch-all internal_error); it must still serve status; and once the token
behaves, the same operation must work again (after an unlock where the fault locked the
vault). While a slow call is in flight, status from another client answers at once.

usage: token_faults.py AGENT_BINARY FAULT_MODULE
"""
import os
import subprocess
import sys
import threading
import time
from urllib.parse import quote

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from load_lib import PIN, AgentFixture, RpcClient, b64, env_int, fail, load_average, self_checking_file  # noqa: E402

SLOW_MS = env_int("IDVAULT_FAULT_SLOW_MS", 2000)
ANSWER_BOUND = 20.0 + SLOW_MS / 1000  # every call answers within this many seconds
STATUS_BOUND = env_int("IDVAULT_FAULT_STATUS_BOUND_MS", 1000) / 1000  # status while a slow token call is in flight
CLEAR_CODES = {-32004: "wrong_pin", -32006: "token_not_present", -32010: "token_error", -32003: "locked"}


class Faults:
    def __init__(self, work):
        self.path = os.path.join(work, "faults")
        self.log = os.path.join(work, "faults.log")
        self.set([])

    def set(self, rules):
        temp = self.path + ".new"
        with open(temp, "w") as control:
            control.write("\n".join(rules) + "\n")
        os.replace(temp, self.path)  # the module sees a whole file or the old one

    def hits(self):
        try:
            with open(self.log) as log:
                return log.read().splitlines()
        except FileNotFoundError:
            return []


def timed(agent, method, params=None, bound=ANSWER_BOUND):
    start = time.monotonic()
    try:
        with RpcClient(agent.socket_path, timeout=bound) as client:
            answer = client.call(method, params)
    except OSError as error:
        fail(f"{method}: no answer within {bound:.0f} s ({type(error).__name__}: {error}): the agent hung")
    return answer, time.monotonic() - start


def make_link(work):
    key = os.path.join(work, "service.pem")
    pub = os.path.join(work, "service.pub")
    subprocess.run(["openssl", "genrsa", "-out", key, "2048"], check=True, stderr=subprocess.DEVNULL)
    subprocess.run(["openssl", "rsa", "-in", key, "-pubout", "-out", pub], check=True, stderr=subprocess.DEVNULL)
    counter = [0]

    def link():
        counter[0] += 1
        enc = lambda s: quote(s, safe="-_.!~*'()")  # noqa: E731 (as the service's JS SDK encodes)
        return ("idvault://authorize?bot_id=77&scope=" + enc("email") + "&public_key=" +
                enc(open(pub).read()) + "&nonce=" + enc(f"n{counter[0]}"))
    return link


def main():
    agent_binary, fault_module = sys.argv[1], sys.argv[2]
    probe = AgentFixture(agent_binary)  # just for a work dir to hold the control file
    work = probe.work
    faults = Faults(work)
    agent = AgentFixture(agent_binary, module=fault_module,
                         extra_env={"IDVAULT_FAULT_CONTROL": faults.path, "IDVAULT_FAULT_LOG": faults.log})
    ok = False
    rows = []
    print(f"token_faults: slow calls take {SLOW_MS} ms, load average {load_average()}")
    try:
        agent.start("--token-poll-ms", "200")
        agent.init()
        agent.result("element.put", {"type": "email", "value": "ada@example.org"})
        bill = {"type": "utility_bill", "files": [b64(self_checking_file("bill", 8 << 10))]}
        agent.result("element.put", bill)
        link = make_link(work)

        def ensure_unlocked():
            answer, _ = timed(agent, "unlock", {"pin": PIN})
            if "result" not in answer:
                fail(f"unlock once the token behaves: {answer.get('error')}")

        def ensure_locked():
            agent.result("lock")

        operations = {
            "unlock": (ensure_locked, lambda: timed(agent, "unlock", {"pin": PIN})),
            "put": (ensure_unlocked, lambda: timed(agent, "element.put", bill)),
            "get": (ensure_unlocked, lambda: timed(agent, "element.get", {"type": "utility_bill"})),
            "authorize": (ensure_unlocked, lambda: timed(agent, "authorize", {"link": link()})),
        }

        def check_result(op, answer):
            if op == "get" and answer["result"].get("files") != bill["files"]:
                fail("get: the element does not read back as stored")
            if op == "authorize" and "bundle" not in answer["result"]:
                fail(f"authorize: no bundle in {answer['result']}")

        def trace(op):
            """The session-bound Cryptoki calls op makes, in order (a 0 ms delay logs each)."""
            prepare, run = operations[op]
            faults.set([])
            prepare()
            hits_before = len(faults.hits())
            faults.set(["delay * 0 -1"])
            answer, _ = run()
            faults.set([])
            if "result" not in answer:
                fail(f"{op} while tracing: {answer.get('error')}")
            return [line.split()[0] for line in faults.hits()[hits_before:]]

        def scenario(op, rules, ckr):
            prepare, run = operations[op]
            faults.set([])
            prepare()
            hits_before = len(faults.hits())
            faults.set(rules)
            answer, seconds = run()
            faults.set([])
            hit = faults.hits()[hits_before:]
            if not hit:
                fail(f"{op} with {rules}: the fault was never reached (no token call matched)")
            if "error" in answer:
                error = answer["error"]
                code = error.get("code")
                if code not in CLEAR_CODES or not error.get("message"):
                    fail(f"{op} with {ckr}: an unclear error {error}")
                named = error.get("data", {}).get("ckr")
                if code == -32010 and named != ckr:
                    fail(f"{op} with {ckr}: token_error names {named}")
                outcome = f"error {CLEAR_CODES[code]}: {error['message']}" + (f" ({named})" if named else "")
            else:
                check_result(op, answer)
                if not ckr:
                    outcome = "succeeded"
                elif hit[0].split()[0] in work_calls:
                    outcome = "succeeded: retried on a fresh session"
                else:
                    outcome = "succeeded: absorbed (pool check or clean-up)"
            if not agent.alive():
                fail(f"{op} with {ckr}: the agent crashed: {agent.stderr_tail()}")
            status, status_seconds = timed(agent, "status", bound=10)
            if "result" not in status:
                fail(f"{op} with {ckr}: status after it: {status}")
            # Recovery: the token behaves again; the same operation must work (after an
            # unlock if the fault locked the vault).
            recovered = None
            if op != "unlock":
                ensure_unlocked()
            else:
                ensure_locked()
            again, _ = run()
            if "result" in again:
                check_result(op, again)
                recovered = "yes"
            else:
                recovered = f"no: {again['error'].get('message')}"
            # Signing, wrapping and unwrapping change nothing on the token: a dropped session
            # or a session limit there is retried on a fresh session within the request.
            if (op != "unlock" and ckr in ("CKR_SESSION_HANDLE_INVALID", "CKR_SESSION_COUNT") and
                    "error" in answer and hit[0].split()[0] in work_calls):
                fail(f"{op} with {ckr} at {hit[0].split()[0]}: not retried on a fresh session: {answer['error']}")
            rows.append((op, ckr or rules[0], hit[0].split()[0], f"{seconds:.2f}", outcome, recovered))
            return again

        # Each fault at the operation's first token call, at the call doing its real work
        # (C_Login, C_WrapKey, C_UnwrapKey, C_Sign) and at its last (often a clean-up).
        traces = {}
        work_calls = {"C_Login", "C_WrapKey", "C_UnwrapKey", "C_Sign", "C_Decrypt", "C_Encrypt"}
        for op in ("unlock", "put", "get", "authorize"):
            traces[op] = trace(op)
            work = [i for i, call in enumerate(traces[op]) if call in work_calls]
            points = sorted({0, len(traces[op]) - 1, *work[-1:]})
            for ckr in ("CKR_DEVICE_REMOVED", "CKR_SESSION_HANDLE_INVALID", "CKR_SESSION_COUNT"):
                for point in points:
                    again = scenario(op, [f"fail * {ckr} 1 {point}"], ckr)
                    if "result" not in again:
                        fail(f"{op} after {ckr}: did not recover: {again['error']}")

        # Slow calls: every one is answered, and status does not wait for the token.
        for op in ("unlock", "put", "get", "authorize"):
            prepare, run = operations[op]
            faults.set([])
            prepare()
            faults.set([f"delay * {SLOW_MS} 1"])
            box = {}
            slow = threading.Thread(target=lambda: box.update(answer=run()))
            slow.start()
            time.sleep(min(0.3, SLOW_MS / 4000))
            status, status_seconds = timed(agent, "status", bound=10)
            in_flight = slow.is_alive()
            slow.join()
            faults.set([])
            answer, seconds = box["answer"]
            if "result" not in answer:
                fail(f"slow {op}: {answer.get('error')}")
            check_result(op, answer)
            if "result" not in status:
                fail(f"slow {op}: status during it: {status}")
            if in_flight and status_seconds > STATUS_BOUND:
                fail(f"slow {op}: status took {status_seconds:.2f} s while the token call was in flight")
            rows.append((op, f"delay {SLOW_MS} ms", "first call", f"{seconds:.2f}", "succeeded",
                         f"status meanwhile in {status_seconds * 1000:.0f} ms" + ("" if in_flight else " (after)")))

        # A PIN the token calls wrong is reported and never sent again (the token's retry
        # counter is the holder's to spend); a restart of the agent forgets that memory.
        agent.result("lock")
        faults.set(["fail C_Login CKR_PIN_INCORRECT 1"])
        answer, seconds = timed(agent, "unlock", {"pin": PIN})
        faults.set([])
        error = answer.get("error", {})
        if error.get("code") != -32004:
            fail(f"unlock with CKR_PIN_INCORRECT: {answer}")
        again, _ = timed(agent, "unlock", {"pin": PIN})
        again_error = again.get("error", {})
        if again_error.get("code") != -32004 or not again_error.get("data", {}).get("resend_refused"):
            fail(f"unlock again with the PIN the token rejected: {again}")
        agent.stop()
        agent.start("--token-poll-ms", "200")
        ensure_unlocked()
        got, _ = timed(agent, "element.get", {"type": "utility_bill"})
        check_result("get", got)
        rows.append(("unlock", "CKR_PIN_INCORRECT", "C_Login", f"{seconds:.2f}", f"error wrong_pin: {error.get('message')}",
                     f"same PIN refused without reaching the token ({again_error.get('message')}); after restart yes"))

        width = max(len(r[4]) for r in rows)
        for op, calls in traces.items():
            print(f"  {op} makes {len(calls)} session-bound calls: {' '.join(calls)}")
        print(f"  {'operation':<10} {'fault':<27} {'at call':<20} {'seconds':>7}  {'answer':<{width}}  recovered")
        for op, fault, call, seconds, outcome, recovered in rows:
            print(f"  {op:<10} {fault:<27} {call:<20} {seconds:>7}  {outcome:<{width}}  {recovered}")
        print("PASS")
        ok = True
    finally:
        agent.close(keep_logs=not ok)
        probe.close()


if __name__ == "__main__":
    main()
