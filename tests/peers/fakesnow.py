"""fakesnow 0.12.1's server (from its own venv .venv/fakesnow, pinned in
tests/requirements-fakesnow.txt: it needs duckdb 2.0) as the Snowflake
peer: it speaks the connector's REST protocol over plain HTTP on a free
127.0.0.1 port, runs the SQL in DuckDB and answers SELECTs in Arrow. It
accepts any credentials (tests/peers/snowflake_front.py checks them).

`fakesnow -s` keeps its databases in memory (its -d is for scripts,
not the server), so a restarted server would have lost them. Given a
directory, this runs fakesnow's own server app with its shared instance
on database files there, so a test can kill the server between two
statements and start it again on what was committed.

    fs = FakesnowServer(log_path).start()       # or (log_path, db_dir)
    fs.host                                     # "127.0.0.1:PORT"
    fs.connect("DB", "S")                       # the Python connector
    fs.kill(); fs.start()                       # a crash, the same port
    fs.stop()                                   # always: kills its group
"""

import os
import signal
import subprocess
import time
from pathlib import Path

from peers.prefect import (REPO_ROOT, _killpg, _live_groups, _started,
                           free_port, port_open)

FAKESNOW_PYTHON = REPO_ROOT / ".venv" / "fakesnow" / "bin" / "python"
START_TIMEOUT = 60

# What `fakesnow -s -p PORT` runs, with the shared instance on files
# when a directory is given.
LAUNCH = r"""
import sys, uvicorn
import fakesnow.server
from fakesnow.instance import FakeSnow
port, db_dir = int(sys.argv[1]), sys.argv[2]
if db_dir:
    fakesnow.server.shared_fs = FakeSnow(db_path=db_dir)
uvicorn.run(fakesnow.server.app, host="127.0.0.1", port=port)
"""


class FakesnowServer:
    def __init__(self, log_path, db_dir=None):
        self.log_path = Path(log_path)
        self.db_dir = db_dir
        self.port = None
        self.proc = None

    @property
    def host(self):
        return f"127.0.0.1:{self.port}"

    def start(self, attempts=3):
        """Starts the server; again on its port after kill()."""
        if self.port is not None:
            if self._run():
                return self
            raise RuntimeError(f"fakesnow did not restart on {self.port}; "
                               f"see {self.log_path}")
        for _ in range(attempts):
            self.port = free_port()
            if self._run():
                return self
            self.kill()     # port taken under us: another one
            self.port = None
        raise RuntimeError(f"fakesnow did not start; see {self.log_path}")

    def _run(self):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [str(FAKESNOW_PYTHON), "-c", LAUNCH, str(self.port),
             str(self.db_dir or "")],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
            env={k: v for k, v in os.environ.items()
                 if not k.startswith("SNOWFLAKE_")})
        log.close()
        _started.add(self.proc.pid)
        _live_groups.add(self.proc.pid)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and self.proc.poll() is None:
            if port_open(self.port):
                return True
            time.sleep(0.1)
        return False

    def kill(self):
        """SIGKILL: a crash; its sessions are gone (and its tables, but
        those on files in db_dir)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            _killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)
        _started.discard(self.proc.pid)
        _live_groups.discard(self.proc.pid)
        self.proc = None

    def connect(self, database, schema=None):
        """A snowflake-connector-python connection to the server."""
        import snowflake.connector

        return snowflake.connector.connect(
            host="127.0.0.1", port=self.port, protocol="http",
            account="fakesnow", user="reader", password="unchecked",
            database=database, schema=schema, login_timeout=30,
            network_timeout=60)

    def stop(self):
        self.kill()
