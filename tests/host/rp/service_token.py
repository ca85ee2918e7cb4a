"""The service's throwaway SoftHSM2 token for the tests that run idvault-rp serve as a
process (http_limits_test.py, demo_page_test.py): a token labelled "service" in WORK,
its PIN in a 0600 file, and an RSA key "rp" made by idvault-rp keygen."""
import os
import subprocess

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
KEY_URI = "pkcs11:token=service;object=rp"


def make_service_token(rp_bin, work):
    """Returns (env, pin_file): the environment that points SoftHSM2 at the token, and
    the PIN file to pass as --pin-file."""
    os.mkdir(os.path.join(work, "tokens"))
    conf = os.path.join(work, "softhsm2.conf")
    with open(conf, "w") as f:
        f.write(f"directories.tokendir = {work}/tokens\nobjectstore.backend = file\nlog.level = ERROR\n")
    env = dict(os.environ, SOFTHSM2_CONF=conf)
    pin = os.path.join(work, "pin")
    with open(os.open(pin, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
        f.write("1234\n")
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "service", "--pin", "1234",
                    "--so-pin", "5678"], env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([rp_bin, "keygen", "--module", MODULE, "--token", "pkcs11:token=service", "--label", "rp",
                    "--pin-file", pin], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return env, pin
