"""A real Prefect server and a small REST client, for the integration
suite (tests/integration) and the demo (scripts/demo).

PrefectServer runs `prefect server start` from the pinned venv on a free
127.0.0.1 port with its own PREFECT_HOME (SQLite, or the PostgreSQL
database it is given), and always stops its whole process group. Nothing here fakes the Prefect API.
"""

import ctypes
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
# The Prefect under test (server, CLI, Python client): the venv named by
# PFAGENT_PREFECT_VENV (make compat's venv of each Prefect line), else the
# one running the tests.
VENV_BIN = (Path(os.environ["PFAGENT_PREFECT_VENV"]).absolute() / "bin"
            if os.environ.get("PFAGENT_PREFECT_VENV")
            else Path(sys.executable).parent)
PFAGENT = Path(os.environ.get("PFAGENT", "build/san/pfagent"))
if not PFAGENT.is_absolute():
    PFAGENT = REPO_ROOT / PFAGENT

# PFAGENT_PREFECT_SERVICES=production (make compat): every server keeps
# the scheduler and late-runs services Prefect runs by default, so runs
# waiting past their time turn Late as users see them; else both are off
# (PrefectServer.env()).
PRODUCTION_SERVICES = os.environ.get("PFAGENT_PREFECT_SERVICES") == \
    "production"

SERVER_START_TIMEOUT = 120
TERMINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")
POLL_INTERVAL = 0.2

# Sanitizer reports in an agent's output (its own and its flow children's).
SANITIZER_RE = re.compile(
    r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|"
    r"SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer)")


# --------------------------------------------------------------------------
# process helpers

try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):
    _prctl = None


def without_late(history):
    """A state history (type, name) pairs without the Scheduled/Late the
    late-runs service writes on a run that waited past its time (only
    with PRODUCTION_SERVICES: a Prefect worker's runs show it too)."""
    if not PRODUCTION_SERVICES:
        return history
    return [h for h in history if tuple(h) != ("SCHEDULED", "Late")]


def _die_with_parent():
    """preexec_fn: own session (so its whole group can be killed), and
    SIGKILL when pytest itself dies, even by SIGKILL."""
    os.setsid()
    if _prctl is not None:
        _prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _killpg(pid, sig):
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


_live_groups = set()  # process groups still to be killed on abnormal exit
_started = set()      # pids of the processes started here with Popen


def _kill_orphans():
    """SIGKILL and reap descendants orphaned to us (we are a subreaper):
    e.g. flow-run processes that outlived their agent in a new session."""
    me = str(os.getpid())
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in _started:
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = f.read().rsplit(")", 1)[1].split()[1]
        except (OSError, IndexError):
            continue
        if ppid == me:
            try:
                os.kill(int(entry), signal.SIGKILL)
                os.waitpid(int(entry), 0)
            except (ProcessLookupError, ChildProcessError):
                pass


def _kill_leftovers(*_):
    for pgid in list(_live_groups):
        _killpg(pgid, signal.SIGKILL)
    _kill_orphans()



def _tail(path, lines=80):
    try:
        text = Path(path).read_text(errors="replace")
    except OSError as e:
        return f"<cannot read {path}: {e}>"
    return "\n".join(text.splitlines()[-lines:])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


# --------------------------------------------------------------------------
# waiting

class WaitTimeout(AssertionError):
    pass


def wait_for(observe, timeout=120, what="condition", until=bool, watch=(),
             show=repr):
    """Poll observe() every 0.2 s until until(value) holds; return value.

    Fails after `timeout` seconds with `what` and the last observed value.
    Connection errors and 5xx answers count as observations (the server may
    be restarting); assertion errors raised by observe/until fail at once.
    `watch` is a list of agents that must stay alive while waiting;
    `show` renders the last value for the failure message.
    """
    deadline = time.monotonic() + timeout
    last = None
    observed = False
    while True:
        for a in watch:
            a.assert_alive(f"while waiting for {what}")
        try:
            value = observe()
            if until(value):
                return value
            last, observed = value, True
        except (httpx.TransportError, ServerError) as e:
            last, observed = e, False
        if time.monotonic() >= deadline:
            if observed:
                shown = show(last)
            elif last is not None:
                shown = f"{type(last).__name__}: {last}"
            else:
                shown = "<nothing>"
            if len(shown) > 4000:
                shown = shown[:4000] + "...<cut>"
            raise WaitTimeout(
                f"timed out after {timeout} s waiting for {what}; "
                f"last observed: {shown}")
        time.sleep(POLL_INTERVAL)


# --------------------------------------------------------------------------
# REST client

class ApiError(AssertionError):
    """A 4xx answer: the request itself is wrong or was refused."""


class ServerError(Exception):
    """A 5xx answer: possibly transient."""


class PrefectClient:
    """Small synchronous helper around the Prefect REST API."""

    def __init__(self, api_url, auth=None):
        self.api_url = api_url
        self.http = httpx.Client(
            base_url=api_url, timeout=30, auth=auth,
            limits=httpx.Limits(max_connections=64))

    def close(self):
        self.http.close()

    RETRY_CODES = (408, 429, 502, 503)
    RETRY_FOR = 60  # seconds

    def send(self, method, path, **kw):
        """One API call; the raw response.

        Like Prefect's own client it retries 408, 429, 502 and 503 and
        dropped connections (the server closes a keep-alive connection
        after a 503), but for up to 60 s: a SQLite-backed server answers
        503 often while several agents write to it. A refused connection
        is not retried here: wait_for copes with outages.
        """
        deadline = time.monotonic() + self.RETRY_FOR
        attempt = 0
        while True:
            last = time.monotonic() >= deadline
            try:
                r = self.http.request(method, path, **kw)
            except (httpx.ConnectError, httpx.ConnectTimeout):
                raise
            except httpx.TransportError:
                if last:
                    raise
            else:
                if r.status_code not in self.RETRY_CODES or last:
                    return r
            # back-off between retries, not a wait on state
            time.sleep(min(2.0, 0.1 * 2 ** attempt) * random.uniform(0.5, 1))
            attempt += 1

    def request(self, method, path, ok=(200, 201, 204), **kw):
        """send(), failing unless the status is in `ok`; decoded JSON."""
        r = self.send(method, path, **kw)
        if r.status_code not in ok:
            cls = ServerError if r.status_code >= 500 else ApiError
            raise cls(f"{method} {path} -> {r.status_code}: {r.text[:2000]}")
        if r.status_code == 204 or not r.content:
            return None
        return r.json()

    # health
    def healthy(self):
        try:
            return self.http.get("/health", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    # work pools and workers
    def create_pool(self, name, type="process", base_job_template=None):
        body = {"name": name, "type": type}
        if base_job_template is not None:
            body["base_job_template"] = base_job_template
        return self.request("POST", "/work_pools/", json=body)

    def read_pool(self, name):
        """The pool, or None if it does not exist."""
        r = self.send("GET", f"/work_pools/{name}")
        if r.status_code == 404:
            return None
        if r.status_code != 200:
            cls = ServerError if r.status_code >= 500 else ApiError
            raise cls(f"GET /work_pools/{name} -> {r.status_code}: {r.text}")
        return r.json()

    def read_workers(self, pool):
        return self.request("POST", f"/work_pools/{pool}/workers/filter",
                            json={})

    # flows and deployments
    def create_deployment(self, pool, entrypoint, name=None,
                          parameters=None, job_variables=None):
        """Flow (named after the entrypoint's function) + deployment.

        The pull step sets the working directory to the repository root,
        so entrypoints are resolved relative to it.
        """
        flow_name = entrypoint.rsplit(":", 1)[-1]
        flow = self.request("POST", "/flows/", json={"name": flow_name})
        slug = re.sub(r"[^a-z0-9]+", "-", entrypoint.lower()).strip("-")
        body = {
            "name": name or f"{pool}-{slug}",
            "flow_id": flow["id"],
            "work_pool_name": pool,
            "entrypoint": entrypoint,
            "enforce_parameter_schema": False,
            "parameters": parameters or {},
            "pull_steps": [{
                "prefect.deployments.steps.set_working_directory":
                    {"directory": str(REPO_ROOT)}}],
        }
        if job_variables is not None:
            body["job_variables"] = job_variables
        return self.request("POST", "/deployments/", json=body)

    # flow runs
    def create_flow_run(self, deployment_id, parameters=None, **extra):
        body = {"parameters": parameters or {}}
        body.update(extra)
        return self.request(
            "POST", f"/deployments/{deployment_id}/create_flow_run",
            json=body)

    def read_flow_run(self, run_id):
        return self.request("GET", f"/flow_runs/{run_id}")

    def filter_runs(self, deployment_id, types, limit=200):
        """Runs of a deployment whose state type is one of `types`."""
        return self.request("POST", "/flow_runs/filter", json={
            "deployments": {"id": {"any_": [deployment_id]}},
            "flow_runs": {"state": {"type": {"any_": list(types)}}},
            "limit": limit})

    def count_runs(self, deployment_id, types):
        return self.request("POST", "/flow_runs/count", json={
            "deployments": {"id": {"any_": [deployment_id]}},
            "flow_runs": {"state": {"type": {"any_": list(types)}}}})

    def read_flow_runs(self, ids):
        """Flow runs by id (any number), in no particular order."""
        ids = list(ids)
        out = []
        for i in range(0, len(ids), 200):
            chunk = ids[i:i + 200]
            out += self.request("POST", "/flow_runs/filter", json={
                "flow_runs": {"id": {"any_": chunk}}, "limit": 200})
        return out

    def read_states(self, run_id):
        """The run's state history, oldest first."""
        states = self.request("GET", "/flow_run_states/",
                              params={"flow_run_id": run_id})
        return sorted(states, key=lambda s: s["timestamp"])

    def read_logs(self, run_ids):
        """All logs of the given runs, oldest first."""
        if isinstance(run_ids, str):
            run_ids = [run_ids]
        out, offset = [], 0
        while True:
            page = self.request("POST", "/logs/filter", json={
                "logs": {"flow_run_id": {"any_": list(run_ids)}},
                "sort": "TIMESTAMP_ASC", "limit": 200, "offset": offset})
            out += page
            if len(page) < 200:
                return out
            offset += 200

    # waiting on runs
    def wait_for_run(self, run_id, types=TERMINAL, timeout=120, watch=()):
        """Wait until the run's state type is one of `types`; return run."""
        return wait_for(
            lambda: self.read_flow_run(run_id), timeout=timeout,
            what=f"flow run {run_id} to reach {'/'.join(types)}",
            until=lambda run: run["state_type"] in types, watch=watch,
            show=lambda run: f"state {run['state_type']}/"
                             f"{run['state_name']}: {run['state']}")

    def wait_for_runs(self, ids, types=TERMINAL, timeout=120, watch=()):
        """Wait until every run's state type is one of `types`."""
        ids = list(ids)

        def pending(runs):
            return [(r["id"], r["state_type"], r["state_name"])
                    for r in runs if r["state_type"] not in types]

        def observe():
            runs = self.read_flow_runs(ids)
            missing = set(ids) - {r["id"] for r in runs}
            assert not missing, f"runs vanished from the server: {missing}"
            return runs

        return wait_for(
            observe, timeout=timeout,
            what=f"{len(ids)} flow runs to reach {'/'.join(types)}",
            until=lambda runs: not pending(runs), watch=watch,
            show=lambda runs: f"{len(pending(runs))} runs not there yet, "
                              f"e.g. {pending(runs)[:10]}")


# --------------------------------------------------------------------------
# Prefect server

class PrefectServer:
    """A real `prefect server start` on 127.0.0.1 with its own SQLite DB."""

    def __init__(self, home, port=None, extra_env=None, scheduler=False,
                 database_url=None, late_runs=False, ui=False):
        """scheduler: run the scheduler service; off by default.
        database_url: postgresql+asyncpg://... for a PostgreSQL-backed
        server (tests/peers/postgres.py), else SQLite under `home`.
        late_runs: run the late-runs service (off by default, see env()).
        ui: serve Prefect's UI (the built assets its wheel ships) on /."""
        self.extra_env = dict(extra_env or {})
        if scheduler:
            self.extra_env.update({
                "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "true",
                "PREFECT_API_SERVICES_SCHEDULER_ENABLED": "true"})
        if database_url:
            self.extra_env["PREFECT_API_DATABASE_CONNECTION_URL"] = \
                database_url
        if late_runs:
            self.extra_env["PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED"] = \
                "true"
        self.ui = ui
        if ui:
            self.extra_env["PREFECT_SERVER_UI_ENABLED"] = "true"
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_url = f"{self.url}/api"
        self.log_path = self.home / "server.log"
        self.proc = None
        self.starts = 0

    def env(self):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("PREFECT_")}
        env.update({
            "PREFECT_HOME": str(self.home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_UI_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
        })
        if not PRODUCTION_SERVICES:
            env.update({
                # The late-runs service would rename runs waiting for a
                # free slot to Scheduled/Late; off, so state histories are
                # exactly what the worker wrote (docs/test-peers §7).
                "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false",
                # Off unless asked for: a test sees only the runs it made.
                "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
                # Both again by the names Prefect 3.0 knows (later ones
                # take them as aliases).
                "PREFECT_API_SERVICES_LATE_RUNS_ENABLED": "false",
                "PREFECT_API_SERVICES_SCHEDULER_ENABLED": "false",
            })
        if self.ui:  # else the UI's pages call 127.0.0.1:4200
            env["PREFECT_SERVER_UI_API_URL"] = self.api_url
        env.update(self.extra_env)
        return env

    def start(self):
        """Start (or restart) on the same port and database."""
        assert self.proc is None or self.proc.poll() is not None, \
            "server already running"
        if port_open(self.port):
            raise RuntimeError(
                f"port {self.port} is already taken by another process")
        self.starts += 1
        log = open(self.log_path, "a")
        log.write(f"\n===== start #{self.starts} =====\n")
        log.flush()
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "prefect"), "server", "start",
             "--host", "127.0.0.1", "--port", str(self.port),
             *([] if self.ui else ["--no-ui"]), "--analytics-off"],
            cwd=self.home, env=self.env(), stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        log.close()
        _live_groups.add(self.proc.pid)
        _started.add(self.proc.pid)
        probe = PrefectClient(self.api_url)
        try:
            deadline = time.monotonic() + SERVER_START_TIMEOUT
            while not probe.healthy():
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"prefect server exited with {self.proc.returncode} "
                        f"during start-up:\n{_tail(self.log_path)}")
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f"prefect server not healthy after "
                        f"{SERVER_START_TIMEOUT} s:\n{_tail(self.log_path)}")
                time.sleep(POLL_INTERVAL)
        finally:
            probe.close()

    def stop(self):
        """Stop the whole process group; wait until the port is closed."""
        if self.proc is None:
            return
        pgid = self.proc.pid
        if self.proc.poll() is None:
            _killpg(pgid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                _killpg(pgid, signal.SIGKILL)
                self.proc.wait(30)
        _killpg(pgid, signal.SIGKILL)  # stragglers in the group
        _live_groups.discard(pgid)
        _started.discard(pgid)
        wait_for(lambda: port_open(self.port), timeout=30,
                 what=f"port {self.port} to close", until=lambda o: not o)

    def log_tail(self, lines=60):
        return _tail(self.log_path, lines)


