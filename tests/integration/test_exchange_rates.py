"""The exchange-rates pipeline (flows/exchange_rates.c) deployed on a real
Prefect server and run by pfagent into a real DuckDB, against the Open
Exchange Rates fixture server (tests/peers/oxr.py) with its clock held
at one hour, so latest.json's timestamp moves only when a test moves it.

As test_currencies.py: a temporary project holds the flow and this
repository's .dlt/ (tests profile: DuckDB), the deployment's environment
points sources.open_exchange_rates at the fixture with the App ID as the
secret api_key. The oracle is dlt's own pipeline written the same way
(DLT_SCRIPT: dlt.sources.incremental on timestamp, merge on timestamp and
currency), run as often, with the same parameters, on the same fixture.
"""

import datetime
import json
import os
import re
import shutil
import subprocess

import pytest

import load_compare as lc
import test_currencies as tc
from peers.oxr import CURRENCIES, OxrServer
from peers.prefect import PFAGENT, REPO_ROOT

ENTRY = "flows/exchange_rates.c:exchange_rates"
APP_ID = "9a8b7c6d5e4f30211f2e3d4c5b6a7980"
BAD_APP_ID = "00000000111111112222222233333333"
DS = "open_exchange_rates"

DLT_SCRIPT = r"""
import datetime, json, sys, urllib.request
import dlt
cfg = json.loads(sys.argv[1])
UTC = datetime.timezone.utc

def get(endpoint):
    url = f"{cfg['base_url']}/{endpoint}?app_id={cfg['app_id']}"
    with urllib.request.urlopen(url) as r:
        return json.load(r)

def rows(body):
    for currency, rate in body["rates"].items():
        yield {"base": body["base"], "currency": currency, "rate": rate,
               "timestamp": body["timestamp"]}

# max_table_nesting as .dlt/config.toml's normalize.max_table_nesting
# gives pfagent's resources (dlt reads no such key).
@dlt.resource(write_disposition="merge", max_table_nesting=1,
              primary_key=("timestamp", "currency"),
              columns={"rate": {"data_type": "double"},
                       "timestamp": {"data_type": "timestamp"}})
def exchange_rates(start_date=None,
                   updated=dlt.sources.incremental("timestamp")):
    latest = get("latest.json")
    if start_date:
        day = datetime.date.fromisoformat(start_date)
        today = datetime.datetime.fromtimestamp(latest["timestamp"], UTC).date()
        while day < today:
            end = datetime.datetime.combine(day, datetime.time(23, 59, 59), UTC)
            if updated.start_value is None or \
                    end.timestamp() > updated.start_value:
                yield from rows(get(f"historical/{day}.json"))
            day += datetime.timedelta(days=1)
    yield from rows(latest)

p = dlt.pipeline(pipeline_name="exchange_rates",
                 destination=dlt.destinations.duckdb(cfg["db"]),
                 dataset_name="open_exchange_rates",
                 pipelines_dir=cfg["pipelines_dir"])
p.run(exchange_rates(cfg["start_date"]))
"""


def run_dlt(tmp, base_url, start_date=None):
    """dlt's pipeline on the same API, its state kept between calls in
    tmp/dlt, into a DuckDB file of its own."""
    work = tmp / "dlt"
    p = lc.dlt_process(DLT_SCRIPT, {
        "base_url": base_url, "app_id": APP_ID, "start_date": start_date,
        "db": str(work / "dlt.duckdb"),
        "pipelines_dir": str(work / "pipelines")}, work)
    assert p.returncode == 0, p.stderr
    return work / "dlt.duckdb"


def hour_of(dt):
    return dt.replace(minute=0, second=0, microsecond=0)


@pytest.fixture(scope="module")
def oxr():
    now = datetime.datetime.now(datetime.timezone.utc)
    srv = OxrServer(app_ids={APP_ID}, now=hour_of(now)).start()
    yield srv
    srv.stop()


@pytest.fixture
def project(tmp_path):
    return lc.flow_project(tmp_path, "exchange_rates")


def deploy(client, pool, project, base_url, name, app_id=APP_ID):
    env = {"SOURCES__OPEN_EXCHANGE_RATES__BASE_URL": base_url,
           "RUNTIME__REQUEST_MAX_ATTEMPTS": "3",
           "RUNTIME__REQUEST_BACKOFF_FACTOR": "0.05"}
    if app_id is not None:
        env["SOURCES__OPEN_EXCHANGE_RATES__API_KEY"] = app_id
    return lc.deploy_flow(client, pool, project, "exchange_rates", name,
                          env)


def run(client, deployment, **parameters):
    fr = client.create_flow_run(deployment["id"], parameters=parameters)
    return client.wait_for_run(fr["id"], timeout=180)


def timestamps(project):
    """(timestamp as unix time, rows) per timestamp in the warehouse."""
    return tc.table(project, "select epoch(timestamp)::bigint, count(*) "
                             f"from {DS}.exchange_rates group by 1 order by 1")


def loads(project):
    return tc.table(project, f"select count(*) from {DS}._dlt_loads")


def data_loads(db):
    """The loads that brought rows into exchange_rates."""
    with lc.connect(db) as c:
        return c.execute(f"SELECT schema_name, status FROM {DS}._dlt_loads "
                         "WHERE load_id IN (SELECT _dlt_load_id FROM "
                         f"{DS}.exchange_rates) ORDER BY load_id").fetchall()


def same_as_dlt(ours, theirs):
    """Tables, columns, types and rows as dlt's; the same loads with data
    and the same last state. Not every load: a dlt run that finds nothing
    new still stores its state again, because it serializes the cursor's
    unique_hashes set in another order (a changed state hash), where
    pfagent (no hashes: whole timestamps are skipped) stores none."""
    assert lc.tables(ours, DS) == lc.tables(theirs, DS)
    assert lc.data_rows(ours, DS) == lc.data_rows(theirs, DS)
    assert data_loads(ours) == data_loads(theirs)
    mine, dlts = lc.system_rows(ours, DS), lc.system_rows(theirs, DS)
    assert mine["versions"] == dlts["versions"]
    assert mine["states"][-1] == dlts["states"][-1]


def artifact_rows(client, run_id):
    arts = client.request("POST", "/artifacts/filter", json={
        "artifacts": {"flow_run_id": {"any_": [run_id]}}})
    assert [(a["key"], a["type"]) for a in arts] == \
        [("exchange-rates-load", "table")]
    data = arts[0]["data"]
    return json.loads(data) if isinstance(data, str) else data


def test_exchange_rates_incremental(client, agent, pool_name, tmp_path,
                                    process_job_template, project, oxr):
    """Deployed and run by the worker: Completed with task runs extract,
    normalize, load and a table artifact; one row per currency at
    latest.json's timestamp, typed as dlt types them, and the same
    tables and system tables as dlt's pipeline. A second run in the same
    hour loads nothing new (the cursor), the next hour adds its rows;
    after each run the warehouse matches dlt's run as often."""
    client.create_pool(pool_name, base_job_template=process_job_template)
    dep = deploy(client, pool_name, project, oxr.base_url, pool_name)
    worker = agent(pool_name, "--query-seconds", "1", env=tc.AGENT_ENV)
    hour = int(oxr.clock().timestamp())

    first = run(client, dep)
    assert first["state_type"] == "COMPLETED", first["state"]
    tasks = {t["name"]: t for t in tc.task_runs(client, first["id"])}
    assert sorted(tasks) == ["extract-0", "load-0", "normalize-0"]
    assert {t["state_type"] for t in tasks.values()} == {"COMPLETED"}
    logs = [m["message"] for m in client.read_logs(first["id"])]
    assert f"Extracted {len(CURRENCIES)} rates at 1 timestamps from " \
           f"{oxr.base_url}" in logs, logs
    assert {(r["table_name"], r["row_count"]) for r in artifact_rows(
        client, first["id"])} >= {("exchange_rates", len(CURRENCIES))}
    assert timestamps(project) == [(hour, len(CURRENCIES))]
    cols = tc.table(project, "select column_name, data_type from "
                             "information_schema.columns where table_schema"
                             f" = '{DS}' and table_name = 'exchange_rates'")
    assert sorted(cols) == sorted([
        ("base", "VARCHAR"), ("currency", "VARCHAR"), ("rate", "DOUBLE"),
        ("timestamp", "TIMESTAMP WITH TIME ZONE"),
        ("_dlt_load_id", "VARCHAR"), ("_dlt_id", "VARCHAR")])
    assert tc.table(project, f"select base, rate from {DS}.exchange_rates "
                             "where currency = 'USD'") == [("USD", 1.0)]
    same_as_dlt(tc.warehouse(project), run_dlt(tmp_path, oxr.base_url))
    assert lc.system_rows(tc.warehouse(project), DS) == lc.system_rows(
        tmp_path / "dlt" / "dlt.duckdb", DS)
    assert loads(project) == [(1,)]

    second = run(client, dep)
    assert second["state_type"] == "COMPLETED", second["state"]
    logs = [m["message"] for m in client.read_logs(second["id"])]
    assert f"latest.json: timestamp {hour} already loaded" in logs, logs
    assert timestamps(project) == [(hour, len(CURRENCIES))]
    assert loads(project) == [(1,)]
    assert all(r["table_name"] != "exchange_rates"
               for r in artifact_rows(client, second["id"]))
    same_as_dlt(tc.warehouse(project), run_dlt(tmp_path, oxr.base_url))

    oxr.now += datetime.timedelta(hours=1)
    third = run(client, dep)
    assert third["state_type"] == "COMPLETED", third["state"]
    assert timestamps(project) == [(hour, len(CURRENCIES)),
                                   (hour + 3600, len(CURRENCIES))]
    same_as_dlt(tc.warehouse(project), run_dlt(tmp_path, oxr.base_url))

    for r in (first, second, third):
        assert APP_ID not in tc.seen(client, worker, r["id"])
    assert tc.files_with(project, APP_ID) == []


def test_exchange_rates_backfill(client, agent, pool_name, tmp_path,
                                 process_job_template, project, oxr):
    """start_date two days back: historical/ for those two days, then
    latest.json: 3 timestamps, as dlt's pipeline loads them. The same
    backfill again asks only latest.json (the cursor has passed the
    days) and loads nothing; a start_date that is no day fails."""
    client.create_pool(pool_name, base_job_template=process_job_template)
    dep = deploy(client, pool_name, project, oxr.base_url, pool_name)
    worker = agent(pool_name, "--query-seconds", "1", env=tc.AGENT_ENV)
    now = oxr.clock()
    start = (now.date() - datetime.timedelta(days=2)).isoformat()
    ends = [int(datetime.datetime.combine(
        now.date() - datetime.timedelta(days=d), datetime.time(23, 59, 59),
        datetime.timezone.utc).timestamp()) for d in (2, 1)]

    before = len(oxr.requests)
    first = run(client, dep, start_date=start)
    assert first["state_type"] == "COMPLETED", first["state"]
    asked = [r["path"] for r in oxr.requests[before:]]
    assert sorted(asked) == sorted([
        "/api/latest.json",
        f"/api/historical/{start}.json",
        f"/api/historical/{now.date() - datetime.timedelta(days=1)}.json"])
    assert timestamps(project) == [(ends[0], len(CURRENCIES)),
                                   (ends[1], len(CURRENCIES)),
                                   (int(now.timestamp()), len(CURRENCIES))]
    assert {(r["table_name"], r["row_count"]) for r in artifact_rows(
        client, first["id"])} >= {("exchange_rates", 3 * len(CURRENCIES))}
    same_as_dlt(tc.warehouse(project),
                run_dlt(tmp_path, oxr.base_url, start))

    before = len(oxr.requests)
    again = run(client, dep, start_date=start)
    assert again["state_type"] == "COMPLETED", again["state"]
    assert [r["path"] for r in oxr.requests[before:]] == \
        ["/api/latest.json"]
    assert len(timestamps(project)) == 3
    same_as_dlt(tc.warehouse(project),
                run_dlt(tmp_path, oxr.base_url, start))

    bad = run(client, dep, start_date="2024-02-30")
    assert bad["state_type"] == "FAILED", bad["state"]
    assert bad["state"]["message"].endswith(
        "start_date '2024-02-30' is not a day (YYYY-MM-DD)"), bad["state"]
    assert len(timestamps(project)) == 3
    for r in (first, again, bad):
        assert APP_ID not in tc.seen(client, worker, r["id"])


def test_exchange_rates_bad_and_missing_app_id(
        client, agent, pool_name, process_job_template, project, oxr):
    """An App ID the API refuses (401) ends the run Failed from extract
    with the endpoint (App ID masked), the status and the API's words;
    no App ID at all ends it Failed with the configuration resolver's
    missing-value message naming where it looked, before any request.
    Nothing is loaded; neither App ID shows anywhere."""
    client.create_pool(pool_name, base_job_template=process_job_template)
    worker = agent(pool_name, "--query-seconds", "1", env=tc.AGENT_ENV)

    base = oxr.scenario("ok")
    fr = run(client, deploy(client, pool_name, project, base,
                            f"{pool_name}-401", app_id=BAD_APP_ID))
    message = (f"GET {base}/latest.json?app_id=****: HTTP 401: "
               "invalid_app_id: Invalid App ID provided - please sign up "
               "at https://openexchangerates.org/signup, or contact "
               "support@openexchangerates.org.")
    assert fr["state_type"] == "FAILED", fr["state"]
    assert fr["state"]["message"] == \
        f"Flow run encountered an exception: FlowError: {message}"
    tasks = tc.task_runs(client, fr["id"])
    assert [(t["name"], t["state_type"]) for t in tasks] == \
        [("extract-0", "FAILED")]
    assert [r["app_id"] for r in oxr.requests_of(base)] == [BAD_APP_ID]
    assert BAD_APP_ID not in tc.seen(client, worker, fr["id"])

    base = oxr.scenario("ok")
    fr = run(client, deploy(client, pool_name, project, base,
                            f"{pool_name}-none", app_id=None))
    assert fr["state_type"] == "FAILED", fr["state"]
    missing = ("Missing 1 field(s) in configuration "
               "`sources.open_exchange_rates`: `api_key`\n")
    msg = fr["state"]["message"]
    assert msg.startswith("Flow run encountered an exception: FlowError: "
                          + missing), msg
    for tried in ("(Environment Variables, EXCHANGE_RATES__SOURCES__"
                  "OPEN_EXCHANGE_RATES__API_KEY)",
                  "(Environment Variables, SOURCES__OPEN_EXCHANGE_RATES__"
                  "API_KEY)",
                  "Active profile: `tests`",
                  "Provider `secrets.toml` probed but not found the "
                  f"following locations:\n\t- {project}/.dlt/tests."
                  "secrets.toml"):
        assert tried in msg, msg
    tasks = tc.task_runs(client, fr["id"])
    assert [(t["name"], t["state_type"]) for t in tasks] == \
        [("extract-0", "FAILED")]
    assert tasks[0]["state"]["message"].startswith(
        "Task run encountered an exception: ConfigFieldMissingException: "
        + missing)
    assert oxr.requests_of(base) == []

    assert tc.table(project, f"select 1 from {DS}.exchange_rates") is None
    assert tc.files_with(project, BAD_APP_ID) == []


def test_deploy_all_registers_the_pipelines(prefect_server, client,
                                           pool_name, tmp_path):
    """`pfagent deploy --all` of this repository's prefect.yaml (its work
    pool renamed to the test's), with the repository's flows, registers
    every deployment, exchange_rates with its start_date parameter and
    hourly schedule."""
    project = tmp_path / "repo"
    (project / "flows").mkdir(parents=True)
    text = (REPO_ROOT / "prefect.yaml").read_text()
    assert "name: c-pool\n" in text
    (project / "prefect.yaml").write_text(
        text.replace("name: c-pool\n", f"name: {pool_name}\n"))
    client.create_pool(pool_name)
    for f in (REPO_ROOT / "flows").glob("*.c"):
        shutil.copy(f, project / "flows")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update({"PREFECT_API_URL": prefect_server.api_url,
                "PFAGENT_INCLUDE_DIR": str(REPO_ROOT / "include"),
                "ASAN_OPTIONS": "detect_leaks=1"})
    p = subprocess.run([str(PFAGENT), "deploy", "--all"], cwd=project,
                       env=env, capture_output=True, text=True, timeout=300)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    # Other tests of the session may have registered some already.
    for name in ("hello", "exchange_rates", "currencies", "products"):
        assert re.search(f"Deployment '{name}/{name}' (created|updated|"
                         "unchanged)", out), out
    # The summary is stdout's last line; stderr may carry retry warnings.
    assert re.search(r"\b0 failed$", p.stdout.strip()), out
    dep = client.request("GET", "/deployments/name/exchange_rates/"
                                "exchange_rates")
    assert dep["entrypoint"] == ENTRY
    assert dep["parameter_openapi_schema"]["properties"] == {"start_date": {
        "position": 0, "title": "start_date", "type": "string",
        "default": None, "description": "Backfill from this UTC day "
        "(YYYY-MM-DD) up to yesterday; null: the latest rates only"}}
    assert [s["schedule"]["cron"] for s in dep["schedules"]] == ["5 * * * *"]
    for name in ("hello", "currencies"):
        assert client.request("GET", f"/deployments/name/{name}/{name}")
