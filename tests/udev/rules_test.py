"""Checks udev/70-idvault-tokens.rules: every line parses as udev rule syntax, and the
rules tag exactly the intended devices for uaccess.

These machines have no USB and no udevd, and Debian 12's udevadm (systemd 252) has no
`verify` verb, so the rules are evaluated here by a small interpreter of the subset of
udev's language they use (==, !=, =, += on ACTION, SUBSYSTEM, ENV, ATTR, ATTRS, TAG,
GOTO, LABEL; '*', '?' and '|' patterns). Device properties come from real devices'
udevadm info. Run: rules_test.py RULES_FILE
"""
import fnmatch
import re
import sys

PAIR = re.compile(r'\s*([A-Z]+)(?:\{([A-Za-z0-9_]+)\})?\s*(==|!=|\+=|=)\s*"([^"]*)"\s*(,|$)')
MATCH_KEYS = {"ACTION", "SUBSYSTEM", "ENV", "ATTR", "ATTRS", "KERNEL"}
ASSIGN_KEYS = {"ENV", "TAG", "GOTO", "LABEL"}


def parse(path):
    rules, labels = [], set()
    for number, line in enumerate(open(path, encoding="utf-8"), 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        pairs, pos = [], 0
        while pos < len(text):
            m = PAIR.match(text, pos)
            if not m:
                raise SystemExit(f"{path}:{number}: cannot parse at column {pos + 1}: {text[pos:pos + 40]!r}")
            key, attr, op, value, _ = m.groups()
            if op in ("==", "!=") and key not in MATCH_KEYS:
                raise SystemExit(f"{path}:{number}: {key} cannot be matched")
            if op in ("=", "+=") and key not in ASSIGN_KEYS:
                raise SystemExit(f"{path}:{number}: {key} is not assigned by these rules (no MODE/GROUP/OWNER)")
            if (key in ("ENV", "ATTR", "ATTRS")) != (attr is not None):
                raise SystemExit(f"{path}:{number}: {key} needs {{NAME}} exactly when it is ENV/ATTR/ATTRS")
            pairs.append((key, attr, op, value))
            pos = m.end()
        if pairs[0][0] == "LABEL":
            labels.add(pairs[0][3])
        rules.append((number, pairs))
    for number, pairs in rules:
        for key, _, _, value in pairs:
            if key == "GOTO" and value not in labels:
                raise SystemExit(f"{path}:{number}: GOTO to a missing LABEL {value}")
    return rules


def matches(pattern, value):
    return value is not None and any(fnmatch.fnmatchcase(value, p) for p in pattern.split("|"))


def lookup(device, key, attr):
    if key in ("ACTION", "SUBSYSTEM", "KERNEL"):
        return device.get(key)
    if key == "ATTRS":  # the device or any parent
        return device.get("ATTR", {}).get(attr) or device.get("PARENT_ATTR", {}).get(attr)
    return device.get(key, {}).get(attr)


def run(rules, device):
    env = dict(device.get("ENV", {}))
    device = dict(device, ENV=env)
    tags, skip_to = set(), None
    for _, pairs in rules:
        if skip_to is not None:
            if pairs[0][0] == "LABEL" and pairs[0][3] == skip_to:
                skip_to = None
            continue
        ok = True
        for key, attr, op, value in pairs:
            if op == "==" and not matches(value, lookup(device, key, attr)):
                ok = False
            if op == "!=" and matches(value, lookup(device, key, attr)):
                ok = False
        if not ok:
            continue
        for key, attr, op, value in pairs:
            if key == "ENV" and op == "=":
                env[attr] = value
            elif key == "TAG" and op == "+=":
                tags.add(value)
            elif key == "GOTO":
                skip_to = value
    return tags, env


def usb(vendor, product, interfaces, action="add"):
    return {"ACTION": action, "SUBSYSTEM": "usb", "ENV": {"DEVTYPE": "usb_device", "ID_USB_INTERFACES": interfaces},
            "ATTR": {"idVendor": vendor, "idProduct": product}}


CASES = [
    # (name, device, expect uaccess)
    ("YubiKey 5 NFC (CCID+HID)", usb("1050", "0407", ":030101:030000:0b0000:"), True),
    ("YubiKey 5 FIDO-only mode", usb("1050", "0402", ":030000:"), False),
    ("HID Omnikey 3121 CCID reader", usb("076b", "3021", ":0b0000:"), True),
    ("Identiv uTrust 3700 F reader", usb("04e6", "5790", ":0b0000:"), True),
    ("Nitrokey 3", usb("20a0", "42b2", ":030000:0b0000:"), True),
    ("SafeNet eToken 5110", usb("0529", "0620", ":ff0000:"), True),
    ("Feitian ePass2003", usb("096e", "0807", ":030000:"), True),
    ("USB mouse", usb("046d", "c077", ":030102:"), False),
    ("USB stick", usb("0781", "5567", ":080650:"), False),
    ("YubiKey removed", usb("1050", "0407", ":030101:0b0000:", action="remove"), False),
    ("YubiKey hidraw node", {"ACTION": "add", "SUBSYSTEM": "hidraw", "PARENT_ATTR": {"idVendor": "1050"}}, True),
    ("keyboard hidraw node", {"ACTION": "add", "SUBSYSTEM": "hidraw", "PARENT_ATTR": {"idVendor": "046d"}}, False),
    ("a USB interface, not the device", dict(usb("076b", "3021", ":0b0000:"), ENV={"DEVTYPE": "usb_interface",
                                                                                  "ID_USB_INTERFACES": ":0b0000:"}), False),
]


def main():
    path = sys.argv[1]
    rules = parse(path)
    name = path.rsplit("/", 1)[-1]
    # uaccess is turned into an ACL by 73-seat-late.rules: ours must run before it.
    if not name < "73-seat-late.rules":
        print(f"FAIL {name} sorts after 73-seat-late.rules: its uaccess tag would come too late")
        return 1
    failures = 0
    for case, device, want in CASES:
        tags, env = run(rules, device)
        got = "uaccess" in tags
        marked = "ID_SMARTCARD_READER" in env or "ID_SECURITY_TOKEN" in env
        if got != want or (want and not marked):
            print(f"FAIL {case}: uaccess={got}, expected {want}; env={env}")
            failures += 1
        else:
            print(f"ok   {case}: uaccess={got}")
    print(f"{len(CASES) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
