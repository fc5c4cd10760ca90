"""Loads the same items through pfagent's runtime (the test flow
tests/flows/load_fixture.c) and through dlt's own Python pipeline into
two DuckDB files (or two PostgreSQL databases: test_load_postgres.py),
and reads both back for comparison (test_load.py)."""

import base64
import json
import os
import shutil
import subprocess
import sys
import zlib

import duckdb

from peers.prefect import REPO_ROOT, PFAGENT

LIBDUCKDB = REPO_ROOT / "third_party" / "duckdb" / "libduckdb.so"
ID_COLUMNS = ("_dlt_id", "_dlt_parent_id", "_dlt_root_id", "_dlt_load_id")

DLT_SCRIPT = r"""
import json, sys
import dlt
cfg = json.loads(sys.argv[1])
for batch in cfg["batches"]:
    res = dlt.resource(batch["items"], name=cfg["resource"],
                       write_disposition=batch.get("write_disposition",
                                                   "append"),
                       primary_key=batch.get("primary_key") or None,
                       max_table_nesting=cfg["max_table_nesting"])
    dest = (dlt.destinations.postgres(cfg["postgres"]) if cfg["postgres"]
            else dlt.destinations.duckdb(cfg["db"]))
    p = dlt.pipeline(pipeline_name=cfg["pipeline"],
                     destination=dest,
                     dataset_name=cfg["dataset"],
                     pipelines_dir=cfg["pipelines_dir"])
    p.run(res)
"""


def dlt_process(script, cfg, work):
    """Runs a dlt pipeline script (cfg as its JSON argument) in work,
    away from the suite's Prefect, dlt and source settings; returns the
    finished process."""
    work.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(
        ("PREFECT_", "DESTINATION__", "DLT_", "WORKSPACE__", "SOURCES__"))}
    env["RUNTIME__LOG_LEVEL"] = "WARNING"
    return subprocess.run([sys.executable, "-c", script, json.dumps(cfg)],
                          cwd=work, env=env, capture_output=True, text=True,
                          timeout=300)


def flow_project(tmp, flow):
    """A checkout of flows/<flow>.c and this repository's dlt
    configuration (no secrets, no local data or state)."""
    p = tmp / "project"
    (p / "flows").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "flows" / f"{flow}.c", p / "flows")
    shutil.copytree(REPO_ROOT / ".dlt", p / ".dlt", ignore=shutil.
                    ignore_patterns("secrets.toml", "*.secrets.toml",
                                    "data", "state", "profile-name"))
    return p


def deploy_flow(client, pool, project, flow, name, env, parameters=None):
    """A deployment of flows/<flow>.c:<flow> running in project under
    the tests profile, env added to its job's environment."""
    fl = client.request("POST", "/flows/", json={"name": flow})
    return client.request("POST", "/deployments/", json={
        "name": name, "flow_id": fl["id"], "work_pool_name": pool,
        "entrypoint": f"flows/{flow}.c:{flow}",
        "enforce_parameter_schema": False, "parameters": parameters or {},
        "job_variables": {"env": {"WORKSPACE__PROFILE": "tests", **env}},
        "pull_steps": [{"prefect.deployments.steps.set_working_directory":
                        {"directory": str(project)}}]})


def pfagent_env(tmp):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.setdefault("DESTINATION__WAREHOUSE__DESTINATION_TYPE", "duckdb")
    env.setdefault("PFAGENT_LIBDUCKDB", str(LIBDUCKDB))
    env.update({
        "DLT_DATA_DIR": str(tmp / "pf-data"),
        "DLT_LOCAL_DIR": str(tmp / "pf-local"),
        "ASAN_OPTIONS": "detect_leaks=1",
    })
    return env


def run_pfagent(tmp, params, check=True, env=None):
    """One run of the test flow (env: more variables, e.g. a postgres
    warehouse); returns the finished process."""
    p = subprocess.run(
        [str(PFAGENT), "run", "tests/flows/load_fixture.c:load_fixture",
         "--params", json.dumps(params)],
        cwd=REPO_ROOT, env={**pfagent_env(tmp), **(env or {})},
        capture_output=True, text=True, timeout=300)
    if check:
        assert p.returncode == 0, p.stderr
    return p


def pfagent_db(tmp):
    return tmp / "pf-local" / "warehouse.duckdb"


def run_dlt(tmp, pipeline, dataset, resource, nesting, batches,
            postgres=None):
    """dlt's own pipeline, in a directory of its own (no .dlt there),
    into DuckDB or the PostgreSQL database of the connection string
    postgres; returns what connect() takes."""
    work = tmp / "dlt"
    cfg = {"pipeline": pipeline, "dataset": dataset, "resource": resource,
           "max_table_nesting": nesting, "batches": batches,
           "db": str(work / "dlt.duckdb"), "postgres": postgres,
           "pipelines_dir": str(work / "pipelines")}
    p = dlt_process(DLT_SCRIPT, cfg, work)
    assert p.returncode == 0, p.stderr
    return postgres or work / "dlt.duckdb"


class _Postgres:
    """The little of a DuckDB connection the readers below use, over
    psycopg2 (dlt's postgres driver)."""

    def __init__(self, url):
        import psycopg2
        self.conn = psycopg2.connect(url)

    def execute(self, sql, params=()):
        cur = self.conn.cursor()
        cur.execute(sql.replace("?", "%s"), tuple(params) or None)
        return cur

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.conn.close()


def connect(db):
    """A read-only connection: db is a DuckDB file or a postgresql://
    connection string."""
    if str(db).startswith("postgresql://"):
        return _Postgres(str(db))
    return duckdb.connect(str(db), read_only=True)


def tables(db, dataset):
    """{table: [(column, type, nullable), ...]} of a dataset."""
    with connect(db) as c:
        out = {}
        for (t,) in c.execute(
                "SELECT table_name FROM information_schema.tables WHERE "
                "table_schema = ? ORDER BY 1", [dataset]).fetchall():
            out[t] = c.execute(
                "SELECT column_name, data_type, is_nullable FROM "
                "information_schema.columns WHERE table_schema = ? AND "
                "table_name = ? ORDER BY ordinal_position",
                [dataset, t]).fetchall()
        return out


def _value(v):
    if isinstance(v, str):
        try:
            return json.dumps(json.loads(v), sort_keys=True)
        except ValueError:
            return v
    return v


def data_rows(db, dataset):
    """Rows of the data tables with the random ids replaced by what they
    point at: a root row by its own values, a child row by its parent's
    canonical form and its list index; sorted, so order does not count."""
    schema = tables(db, dataset)
    canon, out = {}, {}
    names = sorted((t for t in schema if not t.startswith("_dlt_")),
                   key=lambda t: t.count("__"))
    with connect(db) as c:
        for t in names:
            cols = [col for col, _, _ in schema[t]]
            rows = []
            for r in c.execute(f'SELECT * FROM "{dataset}"."{t}"').fetchall():
                rec = dict(zip(cols, r))
                plain = tuple((k, _value(v)) for k, v in rec.items()
                              if k not in ID_COLUMNS)
                if "_dlt_parent_id" in rec:
                    key = (canon[rec["_dlt_parent_id"]], plain)
                else:
                    key = plain
                canon[rec["_dlt_id"]] = repr(key)
                rows.append(repr(key))
            out[t] = sorted(rows)
    return out


def system_rows(db, dataset):
    """What the system tables say, without ids, hashes and times."""
    with connect(db) as c:
        loads = c.execute(f'SELECT schema_name, status FROM "{dataset}".'
                          '"_dlt_loads" ORDER BY load_id').fetchall()
        # The versions as dlt steps them, and their content hashes:
        # pfagent's schema documents are dlt's.
        versions = c.execute(f'SELECT version, engine_version, '
                             f'schema_name, version_hash FROM '
                             f'"{dataset}"."_dlt_version"').fetchall()
        states = []
        for name, engine, state in c.execute(
                f'SELECT pipeline_name, engine_version, state FROM '
                f'"{dataset}"."_dlt_pipeline_state" ORDER BY created_at'
                ).fetchall():
            doc = json.loads(zlib.decompress(base64.b64decode(state)))
            states.append((name, engine, {k: doc.get(k) for k in (
                "pipeline_name", "dataset_name", "default_schema_name",
                "schema_names", "_state_engine_version")}))
    return {"loads": loads, "versions": sorted(set(versions)),
            "states": states}
