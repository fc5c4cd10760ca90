"""fakesnow 0.12.1's server (`fakesnow -s`, from its own venv
.venv/fakesnow, pinned in tests/requirements-fakesnow.txt) as the
Snowflake peer: it speaks the connector's REST protocol over plain HTTP
on 127.0.0.1, runs the SQL in DuckDB and answers SELECTs in Arrow.

It accepts any credentials (tests/peers/snowflake_front.py checks them)
and keeps its databases in memory, shared by all sessions; a login whose
SESSION_PARAMETERS name a FAKESNOW_DB_PATH directory gets its own
instance with the databases in files there (one session at a time: the
file is locked), which outlive a restart. `-d` does not do that in
server mode.

    fs = FakesnowServer(log_path).start()
    fs.host                                     # "127.0.0.1:PORT"
    fs.connect(database="DB", schema="S")       # the Python connector
    fs.restart()                                # same port, new process
    fs.stop()                                   # always: kills its group
"""

import os
import signal
import subprocess
import time
from pathlib import Path

from peers.prefect import (REPO_ROOT, _killpg, _live_groups, _started,
                           free_port, port_open)

FAKESNOW = REPO_ROOT / ".venv" / "fakesnow" / "bin" / "fakesnow"
START_TIMEOUT = 60


class FakesnowServer:
    def __init__(self, log_path):
        self.log_path = Path(log_path)
        self.port = None
        self.proc = None

    @property
    def host(self):
        return f"127.0.0.1:{self.port}"

    def start(self, attempts=3):
        for _ in range(attempts):
            self.port = free_port()
            if self._run():
                return self
            self._kill()    # port taken under us: another one
        raise RuntimeError(f"fakesnow did not start; see {self.log_path}")

    def _run(self):
        argv = [str(FAKESNOW), "-s", "-p", str(self.port)]
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
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

    def _kill(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            _killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                _killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(30)
        _started.discard(self.proc.pid)
        _live_groups.discard(self.proc.pid)
        self.proc = None

    def restart(self):
        """Kills the server and starts it again on the same port: its
        sessions are gone, and its tables but those in FAKESNOW_DB_PATH
        files."""
        self._kill()
        if not self._run():
            raise RuntimeError(f"fakesnow did not restart on {self.port}; "
                               f"see {self.log_path}")
        return self

    def connect(self, database=None, schema=None, session_parameters=None):
        """A snowflake-connector-python connection to the server."""
        import snowflake.connector

        return snowflake.connector.connect(
            host="127.0.0.1", port=self.port, protocol="http",
            account="fakesnow", user="reader", password="unchecked",
            database=database, schema=schema, login_timeout=30,
            network_timeout=60, session_parameters=session_parameters)

    def stop(self):
        self._kill()
