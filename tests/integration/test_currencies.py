"""The currencies pipeline (flows/currencies.c) deployed on a real Prefect
server and run by pfagent into a real DuckDB, against the Open Exchange
Rates fixture server (tests/peers/oxr.py: the real API cannot be used in
tests).

A temporary project holds flows/currencies.c and this repository's .dlt/
(the tests profile loads DuckDB, .dlt/data/tests/warehouse.duckdb); the
deployment's environment points sources.open_exchange_rates at the
fixture and gives the App ID as the secret api_key. A run ends Completed
with its task runs extract, normalize and load and a table artifact of
the rows loaded; the table holds the fixture's currencies, and the
tables, columns, types, rows and system tables are those dlt's own
pipeline makes from the same API (load ids and _dlt_id excepted).
Errors of the API (401, 429 beyond the retries, 502 beyond the retries,
a body that is not JSON) end the run Failed with a message naming the endpoint and the
status, and load nothing. The App ID shows nowhere: logs, states,
artifacts, the agent's output, the project's files.
"""

import json
import os
import re

import duckdb
import pytest

import load_compare as lc
from peers.git_http import git
from peers.oxr import CURRENCIES, OxrServer
from peers.prefect import REPO_ROOT

APP_ID = "5f0c1d2e3a4b5c6d7e8f90a1b2c3d4e5"
AGENT_ENV = {"PFAGENT_INCLUDE_DIR": str(REPO_ROOT / "include"),
             "PFAGENT_LIBDUCKDB": str(REPO_ROOT / "third_party" / "duckdb" /
                                      "libduckdb.so")}


# Seed 000's pipeline in dlt itself: the oracle for the tables.
DLT_SCRIPT = r"""
import json, sys, urllib.request
import dlt
cfg = json.loads(sys.argv[1])
with urllib.request.urlopen(cfg["base_url"] + "/currencies.json") as r:
    data = json.load(r)

# max_table_nesting as .dlt/config.toml's normalize.max_table_nesting
# gives pfagent's resources (dlt reads no such key).
@dlt.resource(write_disposition="merge", primary_key="code",
              max_table_nesting=1)
def currencies():
    for code, name in data.items():
        yield {"code": code, "name": name}

p = dlt.pipeline(pipeline_name="currencies",
                 destination=dlt.destinations.duckdb(cfg["db"]),
                 dataset_name="open_exchange_rates",
                 pipelines_dir=cfg["pipelines_dir"])
p.run(currencies())
"""


def run_dlt(tmp, base_url):
    """dlt's pipeline on the same API, into a DuckDB file of its own."""
    work = tmp / "dlt"
    p = lc.dlt_process(DLT_SCRIPT, {
        "base_url": base_url, "db": str(work / "dlt.duckdb"),
        "pipelines_dir": str(work / "pipelines")}, work)
    assert p.returncode == 0, p.stderr
    return work / "dlt.duckdb"


def same_as_dlt(ours, theirs):
    """Tables, columns, types, rows (ids excepted) and system tables."""
    ds = "open_exchange_rates"
    assert lc.tables(ours, ds) == lc.tables(theirs, ds)
    assert lc.data_rows(ours, ds) == lc.data_rows(theirs, ds)
    assert lc.system_rows(ours, ds) == lc.system_rows(theirs, ds)


@pytest.fixture(scope="module")
def oxr():
    srv = OxrServer(app_ids={APP_ID}).start()
    yield srv
    srv.stop()


@pytest.fixture
def project(tmp_path):
    return lc.flow_project(tmp_path, "currencies")


def deploy(client, pool, project, base_url, name, app_id=APP_ID,
           extra=None):
    env = {"SOURCES__OPEN_EXCHANGE_RATES__BASE_URL": base_url,
           # dlt's [runtime] request settings: quick retries.
           "RUNTIME__REQUEST_MAX_ATTEMPTS": "3",
           "RUNTIME__REQUEST_BACKOFF_FACTOR": "0.05", **(extra or {})}
    if app_id is not None:
        env["SOURCES__OPEN_EXCHANGE_RATES__API_KEY"] = app_id
    return lc.deploy_flow(client, pool, project, "currencies", name, env)


def run(client, deployment):
    fr = client.create_flow_run(deployment["id"])
    return client.wait_for_run(fr["id"], timeout=180)


def warehouse(project):
    return project / ".dlt" / "data" / "tests" / "warehouse.duckdb"


def table(project, sql):
    """Rows of a query on the warehouse, or None when it has no file or
    no such table."""
    path = warehouse(project)
    if not path.exists():
        return None
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.sql(sql).fetchall()
    except duckdb.CatalogException:
        return None
    finally:
        con.close()


def task_runs(client, run_id):
    return client.request("POST", "/task_runs/filter", json={
        "flow_runs": {"id": {"any_": [run_id]}}})


def seen(client, agent, run_id):
    """What the server keeps of a run, and the agent's output, as text."""
    parts = [m["message"] or "" for m in client.read_logs(run_id)]
    parts += [s["message"] or "" for s in client.read_states(run_id)]
    for t in task_runs(client, run_id):
        parts += [s["message"] or "" for s in client.request(
            "GET", "/task_run_states/", params={"task_run_id": t["id"]})]
    for a in client.request("POST", "/artifacts/filter", json={
            "artifacts": {"flow_run_id": {"any_": [run_id]}}}):
        parts += [json.dumps(a["data"]), a["description"] or ""]
    return "\n".join(parts) + "\n" + agent.log_text()


def files_with(project, needle):
    out = []
    for root, _, names in os.walk(project):
        for n in names:
            with open(os.path.join(root, n), "rb") as f:
                if needle.encode() in f.read():
                    out.append(os.path.join(root, n))
    return out


def test_currencies_loads_duckdb(client, agent, pool_name, tmp_path,
                                 process_job_template, project, oxr):
    """Deployed and run twice by the worker: Completed, task runs
    extract, normalize and load, the artifact, the fixture's currencies in
    open_exchange_rates.currencies, merged (no duplicates the second
    time), and after each run the same tables, columns, types, rows and
    system tables as dlt's own pipeline run as often on the same API;
    the first request answered 429 is retried."""
    client.create_pool(pool_name, base_job_template=process_job_template)
    base = oxr.scenario(429, "ok")
    dep = deploy(client, pool_name, project, base, pool_name)
    worker = agent(pool_name, "--query-seconds", "1", env=AGENT_ENV)

    first = run(client, dep)
    assert first["state_type"] == "COMPLETED", first["state"]
    tasks = {t["name"]: t for t in task_runs(client, first["id"])}
    assert sorted(tasks) == ["extract-0", "load-0", "normalize-0"]
    assert {t["state_type"] for t in tasks.values()} == {"COMPLETED"}
    logs = [m["message"] for m in client.read_logs(first["id"])]
    endpoint = f"GET {base}/currencies.json?app_id=****"
    assert any(m.startswith(f"{endpoint}: HTTP 429: access_restricted: ")
               and "; retrying in " in m and m.endswith("(attempt 2 of 3)")
               for m in logs), logs
    assert f"Extracted {len(CURRENCIES)} currencies from " \
           f"{base}/currencies.json" in logs

    arts = client.request("POST", "/artifacts/filter", json={
        "artifacts": {"flow_run_id": {"any_": [first["id"]]}}})
    assert [(a["key"], a["type"]) for a in arts] == \
        [("currencies-load", "table")]
    rows = arts[0]["data"]
    rows = json.loads(rows) if isinstance(rows, str) else rows
    assert {(r["table_name"], r["row_count"]) for r in rows} >= \
        {("currencies", len(CURRENCIES))}

    got = table(project, "select code, name from open_exchange_rates."
                         "currencies order by code")
    assert got == sorted(CURRENCIES.items())
    cols = table(project, "select column_name, data_type from "
                          "information_schema.columns where table_schema = "
                          "'open_exchange_rates' and table_name = "
                          "'currencies' order by ordinal_position")
    assert cols == [("code", "VARCHAR"), ("name", "VARCHAR"),
                    ("_dlt_load_id", "VARCHAR"), ("_dlt_id", "VARCHAR")]
    reqs = oxr.requests_of(base)
    assert [(r["path"], r["app_id"]) for r in reqs] == \
        [("/api/currencies.json", APP_ID)] * 2
    same_as_dlt(warehouse(project), run_dlt(tmp_path, oxr.base_url))

    second = run(client, dep)
    assert second["state_type"] == "COMPLETED", second["state"]
    assert table(project, "select count(*), count(distinct code) from "
                          "open_exchange_rates.currencies") == \
        [(len(CURRENCIES), len(CURRENCIES))]
    assert table(project, "select count(*) from open_exchange_rates."
                          "_dlt_loads where status = 0") == [(2,)]
    same_as_dlt(warehouse(project), run_dlt(tmp_path, oxr.base_url))

    for r in (first, second):
        assert APP_ID not in seen(client, worker, r["id"])
    assert files_with(project, APP_ID) == []


GATEWAY = ("<html><head><title>502 Bad Gateway</title></head><body>"
           "<center><h1>502 Bad Gateway</h1></center></body></html>")
ERRORS = [
    # answer, what the message says after the endpoint, requests made
    (401, "HTTP 401: invalid_app_id: Invalid App ID provided - please "
          "sign up at https://openexchangerates.org/signup, or contact "
          "support@openexchangerates.org.", 1),
    (429, "HTTP 429: access_restricted: Access restricted for repeated "
          "over-use (status: 429). Please contact "
          "support@openexchangerates.org. (gave up after 3 attempts)", 3),
    (502, f"HTTP 502: {GATEWAY} (gave up after 3 attempts)", 3),
    ("not-json", "HTTP 200: the response is not a JSON object or array: "
                 "it starts with '<' (Content-Type: text/html)", 1),
]


def test_currencies_api_errors_fail_and_load_nothing(
        client, agent, pool_name, process_job_template, project, oxr):
    """After a good load, each API error ends a run Failed from its
    extract task, with the endpoint (App ID masked), the status and the
    API's words; normalize and load never run and the warehouse is as
    it was. The App ID shows nowhere."""
    client.create_pool(pool_name, base_job_template=process_job_template)
    worker = agent(pool_name, "--query-seconds", "1", env=AGENT_ENV)
    good = run(client, deploy(client, pool_name, project, oxr.base_url,
                              f"{pool_name}-ok"))
    assert good["state_type"] == "COMPLETED", good["state"]
    before = (table(project, "select * from open_exchange_rates.currencies "
                             "order by code"),
              table(project, "select * from open_exchange_rates._dlt_loads"))
    assert len(before[0]) == len(CURRENCIES)

    for answer, words, requests in ERRORS:
        base = oxr.scenario(answer)
        fr = run(client, deploy(client, pool_name, project, base,
                                f"{pool_name}-{answer}"))
        message = f"GET {base}/currencies.json?app_id=****: {words}"
        assert fr["state_type"] == "FAILED", (answer, fr["state"])
        assert fr["state"]["message"] == \
            f"Flow run encountered an exception: FlowError: {message}"
        tasks = task_runs(client, fr["id"])
        assert [(t["name"], t["state_type"]) for t in tasks] == \
            [("extract-0", "FAILED")], answer
        assert tasks[0]["state"]["message"] == \
            f"Task run encountered an exception: TaskError: {message}"
        assert len(oxr.requests_of(base)) == requests, answer
        after = (table(project, "select * from open_exchange_rates."
                                "currencies order by code"),
                 table(project, "select * from open_exchange_rates."
                                "_dlt_loads"))
        assert after == before, answer
        assert APP_ID not in seen(client, worker, fr["id"])
    assert files_with(project, APP_ID) == []


def test_currencies_without_app_id_and_bad_base_url(
        client, agent, pool_name, process_job_template, project, oxr):
    """currencies.json needs no App ID: without the secret the run loads
    (no app_id sent). An unreachable base URL is retried, then fails
    naming it; with nothing loaded, the table is absent."""
    client.create_pool(pool_name, base_job_template=process_job_template)
    agent(pool_name, "--query-seconds", "1", env=AGENT_ENV)
    bad = "http://127.0.0.1:9/api"
    fr = run(client, deploy(client, pool_name, project, bad,
                            f"{pool_name}-down"))
    assert fr["state_type"] == "FAILED", fr["state"]
    assert re.fullmatch(
        r"Flow run encountered an exception: FlowError: GET "
        + re.escape(f"{bad}/currencies.json?app_id=****: ") +
        r"Failed to connect to 127\.0\.0\.1 port 9 .*"
        r"\(gave up after 3 attempts\)", fr["state"]["message"])
    assert table(project, "select 1 from open_exchange_rates.currencies") \
        is None

    base = oxr.scenario("ok")
    fr = run(client, deploy(client, pool_name, project, base,
                            f"{pool_name}-anon", app_id=None))
    assert fr["state_type"] == "COMPLETED", fr["state"]
    assert [r["app_id"] for r in oxr.requests_of(base)] == [None]
    assert table(project, "select count(*) from open_exchange_rates."
                          "currencies") == [(len(CURRENCIES),)]


def packages(project, stage):
    """Load packages of the currencies pipeline in a stage directory."""
    d = project / ".dlt" / "state" / "tests" / "pipelines" / "currencies" \
        / stage
    return sorted(p.name for p in d.iterdir()) if d.is_dir() else []


def test_bad_request_setting_fails_before_any_request(
        client, agent, pool_name, process_job_template, project, oxr):
    """A [runtime] request setting of the wrong type fails the run from
    extract, naming the field, the key and the provider that gave it,
    before any request and with no load package left; the next run with
    a good value loads the currencies exactly once."""
    client.create_pool(pool_name, base_job_template=process_job_template)
    agent(pool_name, "--query-seconds", "1", env=AGENT_ENV)
    base = oxr.scenario("ok")
    fr = run(client, deploy(client, pool_name, project, base,
                            f"{pool_name}-bad",
                            extra={"RUNTIME__REQUEST_TIMEOUT": "[1,2]"}))
    assert fr["state_type"] == "FAILED", fr["state"]
    message = fr["state"]["message"]
    assert "Configured value for field `request_timeout` cannot be " \
           "coerced into type `<class 'float'>` (provider: Environment " \
           "Variables, key: RUNTIME__REQUEST_TIMEOUT)" in message, message
    assert [(t["name"], t["state_type"]) for t in
            task_runs(client, fr["id"])] == [("extract-0", "FAILED")]
    assert oxr.requests_of(base) == []
    assert packages(project, "normalize/extracted") == []
    assert packages(project, "load/normalized") == []

    fr = run(client, deploy(client, pool_name, project, base,
                            f"{pool_name}-good",
                            extra={"RUNTIME__REQUEST_TIMEOUT": "30"}))
    assert fr["state_type"] == "COMPLETED", fr["state"]
    assert len(oxr.requests_of(base)) == 1
    assert table(project, "select count(*) from open_exchange_rates."
                          "_dlt_loads") == [(1,)]
    assert table(project, "select count(*), count(distinct code) from "
                          "open_exchange_rates.currencies") == \
        [(len(CURRENCIES), len(CURRENCIES))]
    assert len(packages(project, "load/loaded")) == 1


def test_data_outlives_commits_and_cache_eviction(
        client, agent, pool_name, process_job_template, tmp_path, project,
        oxr):
    """Deployed from git, the tests profile's warehouse and pipeline
    state live outside the checked-out tree, in one place per repository
    under the state dir: a new commit's run finds the first run's rows
    and the pipeline's state (nothing restored from the warehouse), and
    when the git cache evicts the first commit's tree (a 1 MB bound and a
    700 KB file in the repository) the data is still there."""
    (project / "blob.bin").write_bytes(os.urandom(700 * 1024))
    git(project, "init", "-q")
    git(project, "add", ".")
    git(project, "commit", "-qm", "one")
    first = git(project, "rev-parse", "HEAD")
    bare = tmp_path / "currencies.git"
    git(tmp_path, "clone", "-q", "--bare", str(project), str(bare))
    state = tmp_path / "state"

    client.create_pool(pool_name, base_job_template=process_job_template)
    agent(pool_name, "--query-seconds", "1", "--state-dir", state,
          "--git-cache-mb", "1", env=AGENT_ENV)
    fl = client.request("POST", "/flows/", json={"name": "currencies"})
    dep = client.request("POST", "/deployments/", json={
        "name": pool_name, "flow_id": fl["id"], "work_pool_name": pool_name,
        "entrypoint": "flows/currencies.c:currencies",
        "enforce_parameter_schema": False,
        "job_variables": {"env": {
            "WORKSPACE__PROFILE": "tests",
            "SOURCES__OPEN_EXCHANGE_RATES__BASE_URL": oxr.base_url,
            "SOURCES__OPEN_EXCHANGE_RATES__API_KEY": APP_ID}},
        "pull_steps": [{"prefect.deployments.steps.git_clone": {
            "repository": bare.as_uri(), "branch": "main"}}]})

    def warehouse_rows():
        found = list(state.glob("workspaces/*/data/tests/warehouse.duckdb"))
        assert len(found) == 1, found
        con = duckdb.connect(str(found[0]), read_only=True)
        try:
            return con.sql(
                "select (select count(*) from open_exchange_rates._dlt_loads"
                " where status = 0), (select count(*) from "
                "open_exchange_rates.currencies)").fetchall()[0]
        finally:
            con.close()

    one = run(client, dep)
    assert one["state_type"] == "COMPLETED", one["state"]
    assert warehouse_rows() == (1, len(CURRENCIES))
    assert len(list(state.glob(
        "workspaces/*/state/tests/pipelines/currencies/state.json"))) == 1
    # Nothing of the profile's data inside the checked-out tree.
    tree = state / "git" / "trees" / first
    assert tree.is_dir()
    assert not (tree / ".dlt" / "data").exists()
    assert not (tree / ".dlt" / "state").exists()

    (project / "NEWS").write_text("a second commit\n")
    git(project, "add", ".")
    git(project, "commit", "-qm", "two")
    git(project, "push", "-q", str(bare), "main")
    two = run(client, dep)
    assert two["state_type"] == "COMPLETED", two["state"]
    logs = [m["message"] for m in client.read_logs(two["id"])]
    assert not any(m.startswith("Restored the state of pipeline")
                   for m in logs), logs
    assert warehouse_rows() == (2, len(CURRENCIES))
    assert not tree.exists()        # evicted: the cache is over 1 MB
