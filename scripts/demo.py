"""pfagent end to end on embedded defaults: the currencies pipeline.

Starts a throwaway Prefect server (pinned venv, temporary PREFECT_HOME,
SQLite, free 127.0.0.1 port), points the Prefect variable
`data_pipelines_repository` at this repository's own .git, registers the
`hello` and `currencies` deployments of prefect.yaml with `pfagent
deploy`, and starts `build/pfagent start --profile dev` on their pool
($PFAGENT selects another binary).
Then it runs them: hello (a quick check), and the currencies pipeline
(seed 000's Open Exchange Rates currency list into the `warehouse`
destination, DuckDB in the dev profile), each run cloning this
repository's `main` through pfagent's git cache and building its flow
in the checkout. Open Exchange Rates is the real API when
https://openexchangerates.org answers, else the fixture server of the
tests (tests/peers/oxr.py). It prints the runs' logs, states, task runs
and artifact, then the rows the pipeline loaded, read from the DuckDB
file. Everything is stopped at the end; nothing is left outside a
temporary directory.
"""

import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from peers.oxr import OxrServer  # noqa: E402
from peers.prefect import (  # noqa: E402
    PrefectClient, PrefectServer, wait_for)

POOL = "c-pool"  # the pool of prefect.yaml's deployments
PFAGENT = os.environ.get("PFAGENT", str(REPO / "build/pfagent"))
OXR = "https://openexchangerates.org/api"


def oxr_source():
    """The real API when it answers quickly, else the fixture server."""
    try:
        with urllib.request.urlopen(f"{OXR}/currencies.json",
                                    timeout=3) as r:
            if isinstance(json.load(r), dict):
                print(f"demo: Open Exchange Rates answers: using {OXR}")
                return None, OXR
    except Exception as e:  # offline, DNS, TLS, not JSON: all the same
        why = getattr(e, "reason", e)
        print(f"demo: {OXR} unreachable ({why}): using the fixture "
              f"server tests/peers/oxr.py")
    srv = OxrServer().start()
    return srv, srv.base_url


def show_run(client, run):
    print(f"\ndemo: the logs of {run['name']}, as Prefect stores them:")
    for log in client.read_logs(run["id"]):
        print(f"  {log['timestamp'][11:23]}  {log['name']:<20} "
              f"{log['message']}")
    print("demo: state history: " + " -> ".join(
        s["name"] for s in client.read_states(run["id"])))
    tasks = client.request("POST", "/task_runs/filter", json={
        "flow_runs": {"id": {"any_": [run["id"]]}},
        "sort": "EXPECTED_START_TIME_ASC"})
    if tasks:
        print("demo: task runs: " + ", ".join(
            f"{t['name']} {t['state_name']}" for t in tasks))
    print(f"demo: final state: {run['state_type']} ({run['state_name']})")


def run_deployment(client, name, **extra):
    dep = client.request("GET", f"/deployments/name/{name}/{name}")
    run = client.create_flow_run(dep["id"], **extra)
    print(f"\ndemo: flow run {run['name']} ({run['id']}) of {name} created")
    run = client.wait_for_run(run["id"], timeout=300)
    show_run(client, run)
    return run


def show_loaded(client, run, database):
    for a in client.request("POST", "/artifacts/filter", json={
            "artifacts": {"flow_run_id": {"any_": [run["id"]]}}}):
        rows = a["data"]
        rows = json.loads(rows) if isinstance(rows, str) else rows
        print(f"demo: artifact {a['key']} ({a['description']}):")
        for r in rows:
            print(f"  load {r['load_id']}  {r['table_name']:<22} "
                  f"{r['row_count']} rows")
    try:
        import duckdb
    except ImportError:
        print(f"demo: the rows are in {database} (no duckdb module here "
              f"to show them)")
        return
    con = duckdb.connect(str(database), read_only=True)
    try:
        n = con.sql("select count(*) from open_exchange_rates.currencies"
                    ).fetchone()[0]
        print(f"\ndemo: {database}: open_exchange_rates.currencies has "
              f"{n} rows; the first ten:")
        for code, name in con.sql(
                "select code, name from open_exchange_rates.currencies "
                "order by code limit 10").fetchall():
            print(f"  {code}  {name}")
        print("demo: its columns: " + ", ".join(
            f"{c} {t}" for c, t in con.sql(
                "select column_name, data_type from "
                "information_schema.columns where table_schema = "
                "'open_exchange_rates' and table_name = 'currencies' "
                "order by ordinal_position").fetchall()))
        print("demo: tables: " + ", ".join(r[0] for r in con.sql(
            "select table_name from information_schema.tables where "
            "table_schema = 'open_exchange_rates' order by 1").fetchall()))
    finally:
        con.close()


def main():
    home = Path(tempfile.mkdtemp(prefix="pfagent-demo-"))
    database = home / "warehouse.duckdb"
    server = PrefectServer(home / "prefect")
    print(f"demo: starting a Prefect server ({server.api_url}) ...")
    server.start()
    agent = oxr = None
    client = PrefectClient(server.api_url)
    try:
        oxr, base_url = oxr_source()
        env = dict(os.environ, PREFECT_API_URL=server.api_url,
                   PFAGENT_STATE_DIR=str(home / "state"))
        client.request("POST", "/variables/", json={
            "name": "data_pipelines_repository",
            "value": (REPO / ".git").as_uri()})
        # prefect.yaml's pipelines run the prod profile (Snowflake); the
        # demo's worker runs its flows under dev (DuckDB), as a
        # developer's machine would.
        agent = subprocess.Popen(
            [PFAGENT, "start", "--pool", POOL,
             "--name", "demo-worker", "--query-seconds", "1",
             "--profile", "dev"],
            cwd=home, env=env, stdin=subprocess.DEVNULL)
        # pfagent creates the pool; deploying needs it to exist.
        wait_for(lambda: client.read_pool(POOL), timeout=60,
                 what=f"pfagent to create pool {POOL}")
        print("demo: pfagent deploy --name hello --name currencies")
        deployed = subprocess.run(
            [PFAGENT, "deploy", "--name", "hello",
             "--name", "currencies"],
            cwd=REPO, env=env, stdin=subprocess.DEVNULL)
        if deployed.returncode != 0:
            return 1
        hello = run_deployment(client, "hello",
                               parameters={"name": "pfagent demo"})
        # The dev profile's warehouse is DuckDB; the file goes in the
        # demo's directory instead of the checkout's .dlt/data/dev/.
        currencies = run_deployment(client, "currencies", job_variables={
            "env": {"SOURCES__OPEN_EXCHANGE_RATES__BASE_URL": base_url,
                    "DESTINATION__WAREHOUSE__CREDENTIALS": str(database)}})
        if currencies["state_type"] == "COMPLETED":
            show_loaded(client, currencies, database)
        ok = all(r["state_type"] == "COMPLETED" for r in (hello, currencies))
        print(f"\ndemo: {'done' if ok else 'FAILED'}")
        return 0 if ok else 1
    finally:
        if agent is not None:
            agent.terminate()
            agent.wait(30)
        if oxr is not None:
            oxr.stop()
        client.close()
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
