"""The products pipeline (flows/products.c, pf_sql_table of the SDK)
deployed on a real Prefect server and run by pfagent from a real
PostgreSQL source (tests/peers/postgres.py: a products table with
integer, text, double precision, boolean, timestamptz and jsonb columns,
in a fresh database per test) into a real DuckDB warehouse.

dlt is the oracle: its own sql_table pipeline (seed 000's products
pipeline: merge on id, incremental on updated_at, dataset clever_cloud)
runs on the same source after each of our runs, and the tables,
columns, types, nullability, rows and system tables must agree. A
second run after two rows are updated and one inserted loads exactly
those three and merges them without duplicates. A wrong source password
ends the run Failed naming the server and the database, the password
nowhere; a missing table ends it Failed naming the table. `pfagent
deploy --all` deploys the repository's products deployment with the
flow's parameters.
"""

import base64
import json
import os
import re
import secrets
import shutil
import subprocess
import zlib

import pytest

import load_compare as lc
from peers.prefect import PFAGENT, REPO_ROOT
from test_currencies import AGENT_ENV, seen, task_runs

ENTRY = "flows/products.c:products"
DATASET = "clever_cloud"

CREATE = """
CREATE TABLE public.products (
    id integer PRIMARY KEY,
    name text NOT NULL,
    price double precision,
    weight numeric(10,3),
    in_stock boolean,
    attributes jsonb,
    updated_at timestamptz NOT NULL,
    r smallint DEFAULT 7,               -- named as pfagent's row alias
    opens time DEFAULT '08:30:00.25',
    created timestamp DEFAULT '2026-10-01 10:00:00.5'
);
INSERT INTO public.products VALUES
 (1, 'Kettle', 24.5, 1.25, true, '{"colour": "red"}', '2026-11-01 08:00:00+00'),
 (2, 'Toaster', 39.99, 2.5, false, NULL, '2026-11-02 09:30:00.25+00'),
 (3, 'Mug', 6, 0.3, true, '{"colour": "blue", "tags": ["a"]}',
  '2026-11-03 10:00:00+00'),
 (4, 'Teapot', 18.75, NULL, NULL, '{}', '2026-11-03 10:00:00+00'),
 (5, 'Sugar bowl', NULL, 0.125, true, NULL, '2026-11-01 07:00:00+00');
"""

# Two rows updated, one inserted. Rows 3 and 4 stay on the first run's
# boundary (its last updated_at): read again by ">=", they are skipped as
# already loaded, as dlt's incremental skips them.
CHANGE = """
UPDATE public.products SET price = 26.0, updated_at = '2026-11-05 12:00:00+00'
 WHERE id = 1;
UPDATE public.products SET name = 'Sugar pot',
 updated_at = '2026-11-04 12:00:00+00' WHERE id = 5;
INSERT INTO public.products VALUES
 (6, 'Spoon', 2.5, 0.02, true, NULL, '2026-11-04 00:00:00.5+00');
"""

# Seed 000's products pipeline in dlt itself: the oracle.
DLT_SCRIPT = r"""
import json, sys
import dlt
from dlt.sources.sql_database import sql_table
cfg = json.loads(sys.argv[1])
# psycopg2, the seed's driver (SQLAlchemy would pick psycopg 3).
url = cfg["url"].replace("postgresql://", "postgresql+psycopg2://", 1)
products = sql_table(credentials=url, table="products", schema="public", write_disposition="merge",
                     primary_key="id",
                     incremental=dlt.sources.incremental("updated_at"))
# As .dlt/config.toml's normalize.max_table_nesting gives pfagent's
# resources (dlt reads no such key).
products.max_table_nesting = 1
p = dlt.pipeline(pipeline_name="products",
                 destination=dlt.destinations.duckdb(cfg["db"]),
                 dataset_name="clever_cloud",
                 pipelines_dir=cfg["pipelines_dir"])
p.run(products)
"""


class Source:
    """A database of the test PostgreSQL holding the products table."""

    def __init__(self, server, name):
        self.server, self.name = server, name
        server.psql(f'create database "{name}" owner {server.user}')
        self.sql(CREATE)

    def sql(self, text):
        # As the owner, so the tables belong to the role pfagent reads as.
        return self.server.psql(f"set role {self.server.user};" + text,
                                database=self.name)

    @property
    def url(self):
        return self.server.url.rsplit("/", 1)[0] + "/" + self.name

    def env(self, password=None):
        return {"SOURCES__CLEVER_CLOUD__HOST": "127.0.0.1",
                "SOURCES__CLEVER_CLOUD__PORT": str(self.server.port),
                "SOURCES__CLEVER_CLOUD__DATABASE": self.name,
                "SOURCES__CLEVER_CLOUD__USERNAME": self.server.user,
                "SOURCES__CLEVER_CLOUD__PASSWORD":
                    password or self.server.password}


@pytest.fixture
def source(postgres_server, request):
    base = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:30]
    return Source(postgres_server, f"src_{base}_{secrets.token_hex(3)}")


@pytest.fixture
def project(tmp_path):
    return lc.flow_project(tmp_path, "products")


def run_dlt(tmp, url, check=True):
    """dlt's pipeline (kept between calls, as ours) on the same source;
    with check False, the finished process."""
    work = tmp / "dlt"
    p = lc.dlt_process(DLT_SCRIPT, {
        "url": url, "db": str(work / "dlt.duckdb"),
        "pipelines_dir": str(work / "pipelines")}, work)
    if not check:
        return p
    assert p.returncode == 0, p.stderr
    return work / "dlt.duckdb"


def warehouse(project):
    return project / ".dlt" / "data" / "tests" / "warehouse.duckdb"


def query(db, sql):
    with lc.connect(db) as c:
        return c.execute(sql).fetchall()


def deploy(client, pool, project, env, name, parameters=None):
    return lc.deploy_flow(client, pool, project, "products", name, env,
                          parameters)


def run(client, deployment):
    fr = client.create_flow_run(deployment["id"])
    return client.wait_for_run(fr["id"], timeout=180)


def incremental_state(db):
    """The newest stored state's incremental cursors, by source and
    resource: {(source, resource, column): (last_value, hashes)}."""
    with lc.connect(db) as c:
        (blob,), = c.execute(f'SELECT state FROM {DATASET}.'
                             '_dlt_pipeline_state ORDER BY created_at DESC '
                             'LIMIT 1').fetchall()
    doc = json.loads(zlib.decompress(base64.b64decode(blob)))
    out = {}
    for src, body in doc.get("sources", {}).items():
        for res, rs in body.get("resources", {}).items():
            for col, inc in rs.get("incremental", {}).items():
                out[(src, res, col)] = (inc.get("last_value"),
                                        sorted(inc.get("unique_hashes")))
    return out


def same_as_dlt(ours, theirs):
    a, b = lc.tables(ours, DATASET), lc.tables(theirs, DATASET)
    assert sorted(a) == sorted(b)
    for t in a:
        assert a[t] == b[t], t
    a, b = lc.data_rows(ours, DATASET), lc.data_rows(theirs, DATASET)
    for t in a:
        assert a[t] == b[t], t
    assert lc.system_rows(ours, DATASET) == lc.system_rows(theirs, DATASET)
    assert incremental_state(ours) == incremental_state(theirs)


def test_products_incremental_merge_matches_dlt(
        client, agent, pool_name, tmp_path, process_job_template, project,
        source, postgres_server):
    """Two runs, the source changed in between: Completed with task runs
    extract, normalize and load and the artifact; dlt's types (bigint,
    varchar, double, decimal(10,3), boolean, timestamp with and without
    time zone, time, json; NOT NULL where the source says so; a column named as the
    query's row alias); the second run loads only
    the two updated rows and the new one and merges them; after each run
    the warehouse (tables, rows, system tables, the incremental state's
    last value and boundary hashes) equals dlt's sql_table pipeline run
    as often on the same source."""
    client.create_pool(pool_name, base_job_template=process_job_template)
    # Two rows per FETCH: the cursor is read in several chunks.
    dep = deploy(client, pool_name, project, source.env(), pool_name,
                 parameters={"chunk_size": 2})
    worker = agent(pool_name, "--query-seconds", "1", env=AGENT_ENV)

    first = run(client, dep)
    assert first["state_type"] == "COMPLETED", first["state"]
    tasks = {t["name"]: t for t in task_runs(client, first["id"])}
    assert sorted(tasks) == ["extract-0", "load-0", "normalize-0"]
    logs = [m["message"] for m in client.read_logs(first["id"])]
    assert "Extracted 5 new or updated rows of public.products" in logs
    ours = warehouse(project)
    theirs = run_dlt(tmp_path, source.url)
    same_as_dlt(ours, theirs)
    types = {c: (t, n) for c, t, n in lc.tables(ours, DATASET)["products"]}
    assert types["id"] == ("BIGINT", "NO")
    assert types["name"] == ("VARCHAR", "NO")
    assert types["price"] == ("DOUBLE", "YES")
    assert types["weight"] == ("DECIMAL(10,3)", "YES")
    assert types["in_stock"] == ("BOOLEAN", "YES")
    assert types["attributes"] == ("JSON", "YES")
    assert types["updated_at"] == ("TIMESTAMP WITH TIME ZONE", "NO")
    assert types["r"] == ("BIGINT", "YES")
    assert types["opens"] == ("TIME", "YES")
    assert types["created"] == ("TIMESTAMP", "YES")
    arts = client.request("POST", "/artifacts/filter", json={
        "artifacts": {"flow_run_id": {"any_": [first["id"]]}}})
    assert [(a["key"], a["type"]) for a in arts] == [("products-load",
                                                      "table")]
    rows = {r["table_name"]: r["row_count"] for r in
            json.loads(arts[0]["data"])}
    assert rows["products"] == 5

    source.sql(CHANGE)
    second = run(client, dep)
    assert second["state_type"] == "COMPLETED", second["state"]
    logs = [m["message"] for m in client.read_logs(second["id"])]
    assert "Extracted 3 new or updated rows of public.products" in logs
    last_load = query(ours, f"SELECT max(load_id) FROM {DATASET}._dlt_loads")
    assert query(ours, f"SELECT id FROM {DATASET}.products WHERE "
                 f"_dlt_load_id = '{last_load[0][0]}' ORDER BY id") == \
        [(1,), (5,), (6,)]
    assert query(ours, f"SELECT id, name, price FROM {DATASET}.products "
                 "ORDER BY id") == [
        (1, "Kettle", 26.0), (2, "Toaster", 39.99), (3, "Mug", 6.0),
        (4, "Teapot", 18.75), (5, "Sugar pot", None), (6, "Spoon", 2.5)]
    run_dlt(tmp_path, source.url)
    same_as_dlt(ours, theirs)
    assert postgres_server.password not in seen(client, worker, second["id"])


def test_wrong_source_password_fails_naming_the_server(
        client, agent, pool_name, process_job_template, project, source,
        postgres_server):
    """The source refuses the password: Failed, the message names the
    section, the table, the server and the database; neither password
    shows anywhere; nothing is loaded."""
    client.create_pool(pool_name, base_job_template=process_job_template)
    wrong = "wrong-" + secrets.token_hex(8)
    dep = deploy(client, pool_name, project, source.env(password=wrong),
                 pool_name)
    worker = agent(pool_name, "--query-seconds", "1", env=AGENT_ENV)
    fr = run(client, dep)
    assert fr["state_type"] == "FAILED", fr["state"]
    msg = fr["state"]["message"]
    assert "sources.clever_cloud" in msg and "public.products" in msg, msg
    assert f"postgresql://loader:***@127.0.0.1:{postgres_server.port}/" \
           f"{source.name}" in msg, msg
    assert "password authentication failed" in msg, msg
    text = seen(client, worker, fr["id"])
    assert wrong not in text and postgres_server.password not in text
    assert not warehouse(project).exists() or not query(
        warehouse(project), "SELECT table_name FROM information_schema."
        f"tables WHERE table_schema = '{DATASET}' AND table_name = "
        "'products'")


def test_missing_table_fails_naming_it(client, agent, pool_name,
                                       process_job_template, project,
                                       source, postgres_server):
    client.create_pool(pool_name, base_job_template=process_job_template)
    dep = deploy(client, pool_name, project, source.env(), pool_name,
                 parameters={"table": "no_such_products"})
    worker = agent(pool_name, "--query-seconds", "1", env=AGENT_ENV)
    fr = run(client, dep)
    assert fr["state_type"] == "FAILED", fr["state"]
    msg = fr["state"]["message"]
    assert "public.no_such_products" in msg and source.name in msg, msg
    assert "does not exist" in msg, msg
    assert postgres_server.password not in seen(client, worker, fr["id"])


def test_null_cursor_fails_as_dlt_raises(client, agent, pool_name,
                                         process_job_template, project,
                                         source, postgres_server, tmp_path):
    """A row whose updated_at is NULL fails the run naming the column and
    the row's key (dlt's on_cursor_value_missing="raise"); nothing is
    loaded."""
    client.create_pool(pool_name, base_job_template=process_job_template)
    source.sql("ALTER TABLE public.products ALTER updated_at DROP NOT NULL;"
               "UPDATE public.products SET updated_at = NULL WHERE id = 2;")
    dep = deploy(client, pool_name, project, source.env(), pool_name)
    worker = agent(pool_name, "--query-seconds", "1", env=AGENT_ENV)
    fr = run(client, dep)
    assert fr["state_type"] == "FAILED", fr["state"]
    msg = fr["state"]["message"]
    assert "incremental cursor column 'updated_at' is NULL in the row " \
           "with key [2] of public.products" in msg, msg
    assert not warehouse(project).exists() or not query(
        warehouse(project), "SELECT table_name FROM information_schema."
        f"tables WHERE table_schema = '{DATASET}' AND table_name = "
        "'products'")
    assert postgres_server.password not in seen(client, worker, fr["id"])
    theirs = run_dlt(tmp_path, source.url, check=False)
    assert theirs.returncode != 0
    assert "IncrementalCursorPathHasValueNone" in theirs.stderr, \
        theirs.stderr[-2000:]


def test_deploy_all_deploys_products(client, prefect_server, tmp_path,
                                     pool_name):
    """The repository's prefect.yaml (its pool renamed to this test's)
    deploys products (flow module built, its parameters in the schema)
    along with every other deployment."""
    project = tmp_path / "repo"
    (project / "flows").mkdir(parents=True)
    client.create_pool(pool_name)
    (project / "prefect.yaml").write_text(
        (REPO_ROOT / "prefect.yaml").read_text().replace(
            "name: c-pool", f"name: {pool_name}"))
    for f in (REPO_ROOT / "flows").glob("*.c"):
        shutil.copy(f, project / "flows")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update({"PREFECT_API_URL": prefect_server.api_url,
                "PFAGENT_INCLUDE_DIR": str(REPO_ROOT / "include"),
                "ASAN_OPTIONS": "detect_leaks=1"})
    p = subprocess.run([str(PFAGENT), "deploy", "--all"], cwd=project,
                       env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "0 failed" in p.stdout, p.stdout
    dep = client.request("GET", "/deployments/name/products/products")
    assert dep["entrypoint"] == ENTRY
    assert [s["schedule"]["cron"] for s in dep["schedules"]] == \
        ["30 2 * * *"]
    props = dep["parameter_openapi_schema"]["properties"]
    assert props["table"]["default"] == "products"
    assert props["chunk_size"]["default"] == 50000
