"""Fixtures for the pfagent integration suite.

Every test talks to a real Prefect server (prefect==3.8.8 from PyPI, pinned
in tests/requirements.txt) started here as a subprocess with its own SQLite
database, and to the pfagent binary under test (the ASan+UBSan build by
default). Nothing here fakes the Prefect API.

Fixtures:
  prefect_server  session-wide server shared by the tests
  own_server      a private server for a test that stops and restarts it
  client          REST helper bound to prefect_server
  pool_name       a fresh work-pool name for the test
  agent           factory starting `pfagent start --pool P ...`
  process_job_template  the process worker's default base job template
Helpers:
  wait_for        poll until a condition holds (never a fixed sleep)
  PrefectClient   REST helper, also usable with own_server
"""

import ctypes
import json
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
PFAGENT = Path(os.environ.get("PFAGENT", "build/san/pfagent"))
if not PFAGENT.is_absolute():
    PFAGENT = REPO_ROOT / PFAGENT

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


def _on_sigterm(signum, frame):
    # Turn SIGTERM into the same path as Ctrl-C so fixture finalizers run.
    raise KeyboardInterrupt("SIGTERM")


def pytest_configure(config):
    import atexit
    atexit.register(_kill_leftovers)
    if _prctl is not None:
        # Orphaned descendants (flow runs an agent put in their own
        # session) are re-parented to us, so teardown can find them.
        _prctl(36, 1)  # PR_SET_CHILD_SUBREAPER
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)


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

    def __init__(self, api_url):
        self.api_url = api_url
        self.http = httpx.Client(
            base_url=api_url, timeout=30,
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

    def __init__(self, home, port=None):
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
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
            # The late-runs service would rename runs waiting for a free
            # slot to Scheduled/Late; off, so state histories are exactly
            # what the worker wrote (docs/test-peers §7).
            "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false",
        })
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
             "--no-ui", "--analytics-off"],
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


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory):
    """The Prefect server shared by all tests (its own port and SQLite)."""
    server = PrefectServer(tmp_path_factory.mktemp("prefect-home"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_server(tmp_path, request):
    """A private Prefect server for a test that stops and restarts it."""
    server = PrefectServer(tmp_path / "own-prefect-home")
    request.node._pf_servers = [server]
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def client(prefect_server, request):
    """REST helper bound to the shared server."""
    request.node._pf_servers = getattr(request.node, "_pf_servers", []) + \
        [prefect_server]
    c = PrefectClient(prefect_server.api_url)
    yield c
    c.close()


@pytest.fixture
def pool_name(request):
    """A work-pool name unique to this test: t-<testname>-<random>."""
    base = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())
    base = base.removeprefix("test-").strip("-")[:40]
    return f"t-{base}-{secrets.token_hex(3)}"


# --------------------------------------------------------------------------
# pfagent

class Agent:
    """One `pfagent start` subprocess with its output in a log file."""

    def __init__(self, args, env, log_path, name):
        self.args = args
        self.name = name
        self.log_path = log_path
        self.killed = False
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(
                args, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent)
        _live_groups.add(self.proc.pid)
        _started.add(self.proc.pid)

    def log_text(self):
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines=80):
        return _tail(self.log_path, lines)

    def wait(self, timeout):
        """Wait for the agent to exit by itself; return its exit code."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"pfagent {self.name!r} still running after {timeout} s; "
                f"log tail:\n{self.log_tail()}") from None

    def assert_alive(self, when=""):
        rc = self.proc.poll()
        if rc is not None:
            raise AssertionError(
                f"pfagent {self.name!r} exited with {rc} {when}; "
                f"log tail:\n{self.log_tail()}")

    def terminate(self):
        """SIGTERM, 30 s grace, then SIGKILL; then clear its group."""
        pgid = self.proc.pid
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.killed = True
                _killpg(pgid, signal.SIGKILL)
                self.proc.wait(30)
        _killpg(pgid, signal.SIGKILL)  # flow-run children left behind
        _live_groups.discard(pgid)
        _started.discard(pgid)
        _kill_orphans()  # ... also those in sessions of their own

    def sanitizer_report(self):
        text = self.log_text()
        m = SANITIZER_RE.search(text)
        if not m:
            return None
        start = text.rfind("\n", 0, max(0, m.start() - 2000)) + 1
        return text[start:m.start() + 6000]


@pytest.fixture
def agent(prefect_server, tmp_path, request):
    """Factory: agent(pool, *args, name=..., api_url=..., env=...) -> Agent.

    Runs `pfagent start --pool POOL --name NAME ARGS...` (binary from
    $PFAGENT, default build/san/pfagent) against the shared server unless
    api_url is given. Teardown stops every agent (SIGTERM, 30 s, SIGKILL)
    and fails the test if an agent needed SIGKILL or its output holds a
    sanitizer report.
    """
    if not PFAGENT.exists():
        pytest.fail(f"pfagent binary {PFAGENT} not found: run `make` first "
                    f"(or set PFAGENT)")
    agents = []
    request.node._pf_agents = agents

    def start(pool, *args, name=None, api_url=None, env=None):
        n = len(agents) + 1
        name = name or f"pfagent-{pool}-{n}"
        home = tmp_path / f"agent-{n}-home"
        home.mkdir()
        full_env = {k: v for k, v in os.environ.items()
                    if not k.startswith("PREFECT_")}
        full_env.update({
            "PREFECT_API_URL": api_url or prefect_server.api_url,
            "PREFECT_HOME": str(home),
            "ASAN_OPTIONS": "handle_segv=0:detect_leaks=1:abort_on_error=0",
            "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
        })
        full_env.update(env or {})
        argv = [str(PFAGENT), "start", "--pool", pool, "--name", name,
                *[str(a) for a in args]]
        a = Agent(argv, full_env, tmp_path / f"agent-{n}.log", name)
        agents.append(a)
        return a

    yield start

    problems = []
    for a in agents:
        a.terminate()
        if a.killed:
            problems.append(f"pfagent {a.name!r} ignored SIGTERM for 30 s "
                            f"and was killed; log tail:\n{a.log_tail()}")
        report = a.sanitizer_report()
        if report:
            problems.append(f"sanitizer report in the output of pfagent "
                            f"{a.name!r} ({a.log_path}):\n{report}")
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


# --------------------------------------------------------------------------
# failure reports: agent and server log tails

@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    rep = yield
    if rep.when == "call" and rep.failed:
        for a in getattr(item, "_pf_agents", []):
            rep.sections.append(
                (f"pfagent {a.name} ({a.log_path}) last lines",
                 a.log_tail()))
        for s in getattr(item, "_pf_servers", []):
            rep.sections.append(
                (f"prefect server :{s.port} ({s.log_path}) last lines",
                 s.log_tail()))
    return rep


@pytest.fixture(scope="session")
def process_job_template(tmp_path_factory):
    """The process worker's default base job template, computed by
    prefect.workers.process.ProcessWorker in this venv."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(tmp_path_factory.mktemp("template-home"))
    out = subprocess.run(
        [sys.executable, "-c",
         "import json\n"
         "from prefect.workers.process import ProcessWorker\n"
         "print(json.dumps(ProcessWorker.get_default_base_job_template()))"],
        env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)
