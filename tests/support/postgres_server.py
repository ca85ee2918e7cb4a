"""A private PostgreSQL server for one test, as tests/support/postgres_server.h makes it:
initdb into a fresh folder under /tmp owned by an unprivileged user (as root: nobody),
the Unix socket in that folder, no TCP (listen_addresses=''), trust authentication
(only the folder's owner and root reach the socket); stopped and removed on close.

    with PostgresServer() as pg:
        uri = pg.create_database("rp")   # postgresql://idvault@/rp?host=...&port=5432

available() is False without the binaries ($IDVAULT_PG_BIN, else Debian's
/usr/lib/postgresql/15/bin); the caller skips (77) or, under CI, fails."""
import os
import pwd
import shutil
import subprocess
import tempfile

USER = "idvault"
PORT = "5432"  # names the socket file only


def binaries():
    return os.environ.get("IDVAULT_PG_BIN") or "/usr/lib/postgresql/15/bin"


def available():
    return all(os.access(os.path.join(binaries(), tool), os.X_OK)
               for tool in ("initdb", "pg_ctl", "postgres", "createdb", "psql"))


class PostgresServer:
    def __init__(self):
        self.folder = tempfile.mkdtemp(prefix="idvault-pg-")
        self.owner = {}
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(self.folder, nobody.pw_uid, nobody.pw_gid)
            self.owner = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}
        os.chmod(self.folder, 0o700)
        self.data = os.path.join(self.folder, "data")
        self.running = False
        try:
            self._run("initdb", "-D", self.data, "-U", USER, "-A", "trust", "-E", "UTF8", "--locale=C",
                      "--no-sync", "--no-instructions")
            self.start()
        except BaseException:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise

    def _run(self, tool, *args):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        result = subprocess.run([os.path.join(binaries(), tool), *args], cwd=self.folder, env=env,
                                stdin=subprocess.DEVNULL, capture_output=True, text=True, **self.owner)
        if result.returncode != 0:
            raise RuntimeError(f"{tool} failed ({result.returncode}): {result.stdout}{result.stderr}")
        return result.stdout

    def start(self):
        self._run("pg_ctl", "-D", self.data, "-l", os.path.join(self.folder, "server.log"), "-w", "-t", "60",
                  "-o", f"-c listen_addresses='' -k {self.folder} -p {PORT} -c fsync=off "
                        "-c synchronous_commit=off -c full_page_writes=off", "start")
        self.running = True

    def stop(self):
        self._run("pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")
        self.running = False

    def uri(self, database):
        return f"postgresql://{USER}@/{database}?host={self.folder}&port={PORT}"

    def create_database(self, name):
        self._run("createdb", "-h", self.folder, "-p", PORT, "-U", USER, name)
        return self.uri(name)

    def sql(self, database, query):
        """psql -At: the rows, one a line, columns separated by |."""
        return self._run("psql", "-h", self.folder, "-p", PORT, "-U", USER, "-d", database, "-At", "-c", query)

    def close(self):
        try:
            if self.running:
                self._run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
