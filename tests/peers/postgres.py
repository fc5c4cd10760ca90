"""A real Debian PostgreSQL (postgresql-15 from scripts/setup) as a test
peer for the postgres destination; nothing here fakes it.

PostgresServer makes a cluster in a fresh directory under /tmp (initdb,
~1 s), runs `postgres` on a free 127.0.0.1 port and creates a login role
with a random password and a database owned by it. TCP connections need
that password (scram-sha-256), so wrong credentials are really refused;
the cluster's own socket in the directory is trusted, for set-up and
inspection with psql. As root, initdb and postgres refuse to run, so both
run as the `postgres` user through setpriv, which execs without forking:
the server stays our direct child and its pid is known.

    pg = PostgresServer().start()
    pg.url        postgresql://loader:<pw>@127.0.0.1:<port>/dlt_data
    pg.psql("select 1")  -> "1"
    pg.create_database("prefect")  -> postgresql+asyncpg://... (a Prefect
                  server's PREFECT_API_DATABASE_CONNECTION_URL)
    pg.stop()     (fast shutdown, then the directory is deleted)
"""

import atexit
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from peers.prefect import _live_groups, _started, free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
START_TIMEOUT = 60


class PostgresServer:
    def __init__(self, user="loader", database="dlt_data"):
        self.user = user
        self.database = database
        self.password = "pw-" + secrets.token_hex(12)
        self.port = None
        self.dir = None
        self.proc = None

    @property
    def url(self):
        return (f"postgresql://{self.user}:{self.password}@127.0.0.1:"
                f"{self.port}/{self.database}")

    def create_database(self, name):
        """A further database owned by the login role; its URL for
        SQLAlchemy's asyncpg driver (a Prefect server's database)."""
        self.psql(f"create database {name} owner {self.user}")
        return (f"postgresql+asyncpg://{self.user}:{self.password}@"
                f"127.0.0.1:{self.port}/{name}")

    @property
    def log_path(self):
        return self.dir / "log"

    def _as_postgres(self):
        """argv prefix that runs a command as `postgres` when we are root."""
        if os.geteuid() != 0:
            return []
        pw = pwd.getpwnam("postgres")
        return ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}",
                "--init-groups", "--"]

    def start(self, attempts=3):
        # Not under pytest's tmp dirs: postgres cannot traverse /root or a
        # root-owned 0700 parent.
        self.dir = Path(tempfile.mkdtemp(prefix="pfagent-pg-", dir="/tmp"))
        atexit.register(self.stop)
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        superpw = self.dir / "superpw"
        superpw.write_text(secrets.token_hex(16) + "\n")
        if os.geteuid() == 0:
            os.chown(superpw, pwd.getpwnam("postgres").pw_uid, -1)
        subprocess.run(
            self._as_postgres() + [
                str(PG_BIN / "initdb"), "-D", str(self.dir / "data"),
                "-U", "postgres", f"--pwfile={superpw}",
                "--auth-local=trust", "--auth-host=scram-sha-256",
                "-E", "UTF8", "--locale=C.UTF-8"],
            check=True, capture_output=True, timeout=120)
        for _ in range(attempts):
            self.port = free_port()
            if self._run_server():
                break
            self._stop_server()   # port taken under us: another one
        else:
            raise RuntimeError(f"postgres did not start; see {self.log_path}")
        self.psql(f"create role {self.user} login password "
                  f"'{self.password}'")
        self.psql(f"create database {self.database} owner {self.user}")
        return self

    def _run_server(self):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self._as_postgres() + [
                str(PG_BIN / "postgres"), "-D", str(self.dir / "data"),
                "-k", str(self.dir), "-h", "127.0.0.1", "-p", str(self.port),
                "-c", "fsync=off", "-c", "full_page_writes=off",
                "-c", "synchronous_commit=off"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        log.close()
        _started.add(self.proc.pid)
        _live_groups.add(self.proc.pid)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and self.proc.poll() is None:
            ready = subprocess.run(
                [str(PG_BIN / "pg_isready"), "-q", "-h", str(self.dir),
                 "-p", str(self.port)], timeout=30)
            if ready.returncode == 0:
                return True
            time.sleep(0.1)
        return False

    def psql(self, sql, database=None):
        """Runs SQL as the superuser over the trusted socket; returns the
        rows as text (tab-separated columns, one line per row)."""
        out = subprocess.run(
            [str(PG_BIN / "psql"), "-X", "-q", "-At", "-F", "\t",
             "-v", "ON_ERROR_STOP=1", "-h", str(self.dir),
             "-p", str(self.port), "-U", "postgres",
             "-d", database or "postgres", "-c", sql],
            capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError(f"psql {sql!r}: {out.stderr.strip()}")
        return out.stdout.rstrip("\n")

    def _stop_server(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)     # fast shutdown
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(30)
        _started.discard(self.proc.pid)
        _live_groups.discard(self.proc.pid)
        self.proc = None

    def stop(self):
        self._stop_server()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
