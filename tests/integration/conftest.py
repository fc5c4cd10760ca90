"""Fixtures for the pfagent integration suite.

Every test talks to a real Prefect server (prefect==3.9.1 from PyPI, pinned
in tests/requirements.txt, or the one in the venv PFAGENT_PREFECT_VENV
names: make compat) started here as a subprocess with its own SQLite
database, and to the pfagent binary under test (the ASan+UBSan build by
default). Nothing here fakes the Prefect API.

Fixtures:
  prefect_server  session-wide server shared by the tests
  own_server      a private server for a test that stops and restarts it
  scheduler_server  a server whose scheduler service runs (schedule tests)
  client          REST helper bound to prefect_server
  pool_name       a fresh work-pool name for the test
  agent           factory starting `pfagent start --pool P ...`
  process_job_template  the process worker's default base job template
  postgres_server  session-wide real PostgreSQL (tests/peers/postgres.py)
  postgres_url    its connection string postgresql://user:pw@host:port/db
  pg_prefect_server  a Prefect server on a database of postgres_server,
                  orchestrating as in production (scheduler and late-runs
                  services on): the exactly-once and scale tests
  pg_client       REST helper bound to pg_prefect_server
Markers:
  scale           full-size runs of test_scale.py: only with `-m scale`
                  (make scale); the small size runs in make test
Helpers:
  wait_for        poll until a condition holds (never a fixed sleep)
  PrefectClient   REST helper, also usable with own_server
"""

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from peers.prefect import (  # noqa: E402
    _prctl,
    PFAGENT,
    PrefectClient,
    PrefectServer,
    REPO_ROOT,
    SANITIZER_RE,
    VENV_BIN,
    _die_with_parent,
    _kill_leftovers,
    _kill_orphans,
    _killpg,
    _live_groups,
    _started,
    _tail,
)


def _on_sigterm(signum, frame):
    # Turn SIGTERM into the same path as Ctrl-C so fixture finalizers run.
    raise KeyboardInterrupt("SIGTERM")


def pytest_configure(config):
    import atexit
    config.addinivalue_line(
        "markers", "scale: full size, run only by `make scale` (-m scale)")
    atexit.register(_kill_leftovers)
    if _prctl is not None:
        # Orphaned descendants (flow runs an agent put in their own
        # session) are re-parented to us, so teardown can find them.
        _prctl(36, 1)  # PR_SET_CHILD_SUBREAPER
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)



def pytest_collection_modifyitems(config, items):
    if "scale" in (config.option.markexpr or ""):
        return
    skip = pytest.mark.skip(reason="full size: make scale (-m scale)")
    for item in items:
        if item.get_closest_marker("scale"):
            item.add_marker(skip)


def _running(server):
    """Yields the started server; always stops it."""
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory):
    """The Prefect server shared by all tests (its own port and SQLite)."""
    yield from _running(PrefectServer(tmp_path_factory.mktemp("prefect-home")))


@pytest.fixture(scope="session")
def scheduler_server(tmp_path_factory):
    """A server running the scheduler service, for schedule tests only."""
    yield from _running(PrefectServer(
        tmp_path_factory.mktemp("scheduler-home"), scheduler=True))


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL on a free loopback port, stopped at the end."""
    from peers.postgres import PostgresServer
    server = PostgresServer()
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_server):
    return postgres_server.url


@pytest.fixture(scope="session")
def pg_prefect_server(tmp_path_factory, postgres_server):
    """A Prefect server on PostgreSQL (a database of postgres_server) with
    the scheduler and late-runs services on, as production runs them:
    runs left waiting turn Late, and workers must still take them."""
    url = postgres_server.create_database("prefect")
    yield from _running(PrefectServer(
        tmp_path_factory.mktemp("pg-prefect-home"), database_url=url,
        scheduler=True, late_runs=True))


@pytest.fixture
def pg_client(pg_prefect_server, request):
    """REST helper bound to the PostgreSQL-backed server."""
    request.node._pf_servers = getattr(request.node, "_pf_servers", []) + \
        [pg_prefect_server]
    c = PrefectClient(pg_prefect_server.api_url)
    yield c
    c.close()


@pytest.fixture
def own_server(tmp_path, request):
    """A private Prefect server for a test that stops and restarts it."""
    server = PrefectServer(tmp_path / "own-prefect-home")
    request.node._pf_servers = [server]
    yield from _running(server)


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
    """Factory: agent(pool, *args, name=..., api_url=..., env=...,
    binary=...) -> Agent.

    Runs `pfagent start --pool POOL --name NAME ARGS...` (binary from
    $PFAGENT, default build/san/pfagent, unless given) against the shared
    server unless api_url is given. Teardown stops every agent (SIGTERM, 30 s, SIGKILL)
    and fails the test if an agent needed SIGKILL or its output holds a
    sanitizer report.
    """
    if not PFAGENT.exists():
        pytest.fail(f"pfagent binary {PFAGENT} not found: run `make` first "
                    f"(or set PFAGENT)")
    agents = []
    request.node._pf_agents = agents

    def start(pool, *args, name=None, api_url=None, env=None, binary=None):
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
            # Teardown's SIGTERM drains: a short drain keeps it quick
            # (test_drain.py sets --drain-seconds itself).
            "PFAGENT_DRAIN_SECONDS": "5",
        })
        full_env.update(env or {})
        argv = [str(binary or PFAGENT), "start", "--pool", pool,
                "--name", name,
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
    prefect.workers.process.ProcessWorker of the Prefect under test."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(tmp_path_factory.mktemp("template-home"))
    out = subprocess.run(
        [str(VENV_BIN / "python"), "-c",
         "import json\n"
         "from prefect.workers.process import ProcessWorker\n"
         "print(json.dumps(ProcessWorker.get_default_base_job_template()))"],
        env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)
