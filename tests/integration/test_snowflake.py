"""The currencies and products pipelines in the prod profile, loaded into
Snowflake as dlt 1.31's snowflake destination would load them.

The peers are real: fakesnow 0.12.1 (tests/peers/fakesnow.py) as the
Snowflake server, with a relay in front (tests/peers/snow_gate.py) that
records every statement and can hold one while the server is killed and
restarted, or tests/peers/snowflake_front.py checking passwords and JWTs
as Snowflake does, or tests/peers/fault_proxy.py answering every third
request with a 503; moto's Secrets
Manager, with signature checking on, holding dlt/snowflake-credentials,
reached with the keys of the loopback ECS credentials endpoint, as seed
000 describes; the Open Exchange Rates fixture and a real PostgreSQL
source. The project is this repository's .dlt with Secrets Manager's
endpoint pointed at moto, and the runs are the deployments' runs by a
pfagent worker with WORKSPACE__PROFILE=prod.

dlt is the oracle twice over: dlt's snowflake SQL client generates the
CREATE TABLE statements for the schema dlt's own pipeline makes from the
same data (no server needed): the column names and types of our
statements must equal them, and the tables they create in a second
fakesnow database must equal ours in information_schema; and dlt loads
the same data into DuckDB, whose rows must equal the rows read back from
fakesnow with snowflake-connector-python.
"""

import base64
import datetime
import decimal
import json
import os
import pathlib
import re
import secrets
import shutil
import subprocess
import zlib

import boto3
import pytest

import load_compare as lc
from peers.ecs_credentials import EcsCredentialsServer
from peers.fakesnow import FakesnowServer
from peers.moto import MotoServer
from peers.oxr import CURRENCIES, OxrServer
from peers.prefect import PFAGENT, SANITIZER_RE, _started
from peers.fault_proxy import FaultProxy
from peers.snow_gate import SnowGate
from peers.snowflake_front import SnowflakeFront
from test_currencies import AGENT_ENV, files_with, seen, task_runs
from test_products import CHANGE, CREATE

REGION = "eu-west-2"            # .dlt/config.toml's
SECRET = "dlt/snowflake-credentials"
APP_ID = "5f0c1d2e3a4b5c6d7e8f90a1b2c3d4e5"

# dlt's snowflake SQL client on the schema dlt's pipeline made: the DDL
# it would run (CREATE TABLE of every table, and of the staging tables
# of merge tables), without a server.
DDL_TAIL = r"""
from dlt.destinations import snowflake
dest = snowflake(credentials="snowflake://user:pass@account/DLT_REF")
sf_cfg = dest.configuration(dest.spec()._bind_dataset_name(
    dataset_name=p.dataset_name))
schema = p.default_schema
client = dest.client(schema, sf_cfg)
ddl = []
for name in schema.tables:
    cols = list(schema.get_table_columns(name).values())
    if cols:
        ddl += client._get_table_update_sql(name, cols, False)
with client.with_staging_dataset():
    for name, t in schema.tables.items():
        cols = list(schema.get_table_columns(name).values())
        if cols and client.should_load_data_to_staging_dataset(name):
            ddl += client._get_table_update_sql(name, cols, False)
json.dump(ddl, open(cfg["ddl"], "w"))
"""

DLT_CURRENCIES = r"""
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
""" + DDL_TAIL

DLT_PRODUCTS = r"""
import json, sys
import dlt
from dlt.sources.sql_database import sql_table
cfg = json.loads(sys.argv[1])
url = cfg["url"].replace("postgresql://", "postgresql+psycopg2://", 1)
products = sql_table(credentials=url, table="products", schema="public",
                     write_disposition="merge", primary_key="id",
                     incremental=dlt.sources.incremental("updated_at"))
products.max_table_nesting = 1
p = dlt.pipeline(pipeline_name="products",
                 destination=dlt.destinations.duckdb(cfg["db"]),
                 dataset_name="clever_cloud",
                 pipelines_dir=cfg["pipelines_dir"])
p.run(products)
""" + DDL_TAIL


# ------------------------------------------------------------ peers

@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    """Secrets Manager with signatures checked: a task role allowed
    GetSecretValue only, an admin the tests write secrets with."""
    m = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log").start()
    # Ours for the module: the sweep of orphans after a test spares it.
    _started.add(m.proc.pid)
    try:
        m.admin = m.create_user("admin", ["secretsmanager:*"])
        m.task = m.create_user("pfagent-task",
                               ["secretsmanager:GetSecretValue"])
        m.enable_auth()
        yield m
    finally:
        _started.discard(m.proc.pid)
        m.stop()


def put_secret(moto, value):
    sm = boto3.client("secretsmanager", endpoint_url=moto.url,
                      region_name=REGION, aws_access_key_id=moto.admin[0],
                      aws_secret_access_key=moto.admin[1])
    try:
        sm.put_secret_value(SecretId=SECRET, SecretString=json.dumps(value))
    except sm.exceptions.ResourceNotFoundException:
        sm.create_secret(Name=SECRET, SecretString=json.dumps(value))


@pytest.fixture(scope="module")
def ecs(moto):
    srv = EcsCredentialsServer(*moto.task).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def fakesnow(tmp_path_factory):
    d = tmp_path_factory.mktemp("fakesnow")
    (d / "db").mkdir()
    srv = FakesnowServer(d / "fakesnow.log", d / "db").start()
    yield srv
    srv.stop()


@pytest.fixture
def gate(fakesnow):
    g = SnowGate(fakesnow.port)
    yield g
    g.stop()


@pytest.fixture(scope="module")
def oxr():
    srv = OxrServer(app_ids={APP_ID}).start()
    yield srv
    srv.stop()


@pytest.fixture
def database():
    """A database of its own per test (fakesnow creates it at login)."""
    return f"DLT_{secrets.token_hex(4).upper()}"


class Warehouse:
    """What a test's runs load into: the credentials in Secrets Manager
    (the seed's secret, pointed at the relay) and reading back."""

    def __init__(self, moto, fakesnow, gate, database, password=None,
                 **extra):
        self.fakesnow, self.gate, self.database = fakesnow, gate, database
        self.password = password or "sf-pw-" + secrets.token_hex(8)
        self.secret = {"database": database, "warehouse": "LOADING",
                       "role": "SVC_DLT", "username": "SVC_DLT",
                       "password": self.password, "host": gate.host,
                       "protocol": "http", **extra}
        put_secret(moto, self.secret)

    def query(self, sql, schema=None):
        with self.fakesnow.connect(self.database, schema) as c:
            cur = c.cursor()
            cur.execute(sql)
            return cur.fetchall()


def prod_project(tmp_path, flow, moto):
    """This repository's flow and .dlt, Secrets Manager at moto."""
    p = lc.flow_project(tmp_path, flow)
    cfg = p / ".dlt" / "config.toml"
    assert cfg.read_text().rstrip().endswith('region_name = "eu-west-2"')
    cfg.write_text(cfg.read_text() + f'endpoint_url = "{moto.url}"\n')
    return p


def prod_env(ecs, **more):
    return {"WORKSPACE__PROFILE": "prod", **ecs.env(), **more}


def run(client, deployment):
    fr = client.create_flow_run(deployment["id"])
    return client.wait_for_run(fr["id"], timeout=300)


# -------------------------------------------------- reading back

def snow_tables(wh, dataset):
    """{table: [(column, type, nullable, length, precision, scale)]}
    of a dataset (and its staging dataset), names as stored."""
    rows = wh.query(
        "SELECT table_schema, table_name, column_name, data_type, "
        "is_nullable, character_maximum_length, numeric_precision, "
        "numeric_scale FROM information_schema.columns WHERE table_schema "
        f"IN ('{dataset.upper()}', '{dataset.upper()}_STAGING') "
        "ORDER BY table_schema, table_name, ordinal_position")
    out = {}
    for s, t, *col in rows:
        out.setdefault(f"{s}.{t}", []).append(tuple(col))
    return out


def canon(v):
    """A value as both sides can agree on it."""
    if isinstance(v, datetime.datetime):
        return v.astimezone(datetime.timezone.utc).isoformat() \
            if v.tzinfo else v.isoformat()
    if isinstance(v, (datetime.date, datetime.time)):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return format(v.normalize(), "f")
    if isinstance(v, (bytes, bytearray)):
        return v.hex()
    if isinstance(v, str):
        try:
            doc = json.loads(v)
        except ValueError:
            return v
        return json.dumps(doc, sort_keys=True) if isinstance(
            doc, (dict, list)) else v
    return v


def canonical_rows(tables):
    """lc.data_rows for {table: [row dict]}: ids replaced by what they
    point at, values canonical, sorted."""
    by_parent, out = {}, {}
    for t in sorted(tables, key=lambda t: t.count("__")):
        rows = []
        for rec in tables[t]:
            plain = tuple((k, canon(v)) for k, v in sorted(rec.items())
                          if k not in lc.ID_COLUMNS)
            key = (by_parent[rec["_dlt_parent_id"]], plain) \
                if "_dlt_parent_id" in rec else plain
            by_parent[rec["_dlt_id"]] = repr(key)
            rows.append(repr(key))
        out[t] = sorted(rows)
    return out


def snow_rows(wh, dataset, names):
    out = {}
    with wh.fakesnow.connect(wh.database) as c:
        for t in names:
            cur = c.cursor()
            cur.execute(f'SELECT * FROM "{dataset.upper()}".'
                        f'"{t.upper()}"')
            cols = [d[0].lower() for d in cur.description]
            out[t] = [dict(zip(cols, r)) for r in cur.fetchall()]
    return canonical_rows(out)


def duck_rows(db, dataset, names):
    out = {}
    with lc.connect(db) as c:
        for t in names:
            cur = c.execute(f'SELECT * FROM "{dataset}"."{t}"')
            cols = [d[0] for d in cur.description]
            out[t] = [dict(zip(cols, r)) for r in cur.fetchall()]
    return canonical_rows(out)


def snow_system(wh, dataset):
    """lc.system_rows of the Snowflake side."""
    ds = dataset.upper()
    loads = wh.query(f'SELECT "SCHEMA_NAME", "STATUS" FROM "{ds}".'
                     '"_DLT_LOADS" ORDER BY "LOAD_ID"')
    versions = wh.query(f'SELECT "VERSION", "ENGINE_VERSION", "SCHEMA_NAME", '
                        f'"VERSION_HASH" FROM "{ds}"."_DLT_VERSION"')
    states = []
    for name, engine, state in wh.query(
            f'SELECT "PIPELINE_NAME", "ENGINE_VERSION", "STATE" FROM '
            f'"{ds}"."_DLT_PIPELINE_STATE" ORDER BY "CREATED_AT"'):
        doc = json.loads(zlib.decompress(base64.b64decode(state)))
        states.append((name, engine, {k: doc.get(k) for k in (
            "pipeline_name", "dataset_name", "default_schema_name",
            "schema_names", "_state_engine_version")}))
    return {"loads": [tuple(r) for r in loads],
            "versions": sorted(set(tuple(v) for v in versions)),
            "states": states}


# ------------------------------------------------------ dlt's DDL

def split_defs(body):
    """Column definitions of a CREATE TABLE body, split at top-level
    commas (a type's own "NUMBER(19,0)" stays whole)."""
    out, depth, cur, quote = [], 0, "", None
    for ch in body:
        if quote:
            cur += ch
            quote = None if ch == quote else quote
            continue
        if ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
            continue
        cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


COLUMN_RE = re.compile(r'^"((?:[^"]|"")+)"\s+(\S+(?:\(\d+(?:,\d+)?\))?)'
                       r'(\s+NOT NULL)?', re.S)
TABLE_RE = re.compile(r'^(?:CREATE TABLE(?: IF NOT EXISTS)?|ALTER TABLE)\s+'
                      r'("(?:[^"]|"")+"\."(?:[^"]|"")+")\s*(.*)$', re.S)


def ddl_columns(statements):
    """{"DS"."T": [(column, type, not null)]} of CREATE TABLE and ALTER
    TABLE ... ADD COLUMN statements, COMMENTs left out."""
    out = {}
    for sql in statements:
        m = TABLE_RE.match(sql.strip())
        if not m:
            continue
        table, rest = m.groups()
        rest = rest.strip()
        if rest.startswith("("):
            defs = split_defs(rest[1:rest.rindex(")")])
        elif rest.upper().startswith("ADD COLUMN"):
            defs = split_defs(rest[len("ADD COLUMN"):])
        else:
            continue
        for d in defs:
            c = COLUMN_RE.match(d)
            assert c, d
            out.setdefault(table, []).append(
                (c.group(1), c.group(2), bool(c.group(3))))
    return out


def create_reference(wh, ddl, dataset):
    """dlt's DDL run in a database of its own on the same server."""
    ref = f"{wh.database}_REF_{secrets.token_hex(2).upper()}"
    with wh.fakesnow.connect(ref) as c:
        cur = c.cursor()
        for ds in (dataset.upper(), dataset.upper() + "_STAGING"):
            cur.execute(f'CREATE SCHEMA IF NOT EXISTS "{ds}"')
        for sql in ddl:
            cur.execute(sql)
    ref_wh = Warehouse.__new__(Warehouse)
    ref_wh.fakesnow, ref_wh.database = wh.fakesnow, ref
    return ref_wh


def run_dlt(script, tmp, cfg):
    work = tmp / "dlt"
    cfg = {**cfg, "db": str(work / "dlt.duckdb"),
           "pipelines_dir": str(work / "pipelines"),
           "ddl": str(work / "ddl.json")}
    p = lc.dlt_process(script, cfg, work)
    assert p.returncode == 0, p.stderr
    return work / "dlt.duckdb", json.loads((work / "ddl.json").read_text())


def same_as_dlt(wh, dataset, duck, ddl):
    """Our statements' columns and types are dlt's; the tables they made
    are those dlt's statements make; the rows are those dlt loaded."""
    ours = ddl_columns(wh.gate.statements())
    theirs = ddl_columns(ddl)
    assert sorted(ours) == sorted(theirs)
    for t in theirs:
        assert ours[t] == theirs[t], t
    ref = create_reference(wh, ddl, dataset)
    assert snow_tables(wh, dataset) == snow_tables(ref, dataset)
    names = [t for (t,) in lc.connect(duck).execute(
        "SELECT table_name FROM information_schema.tables WHERE "
        "table_schema = ? AND table_name NOT LIKE '_dlt%' ORDER BY 1",
        [dataset]).fetchall()]
    assert snow_rows(wh, dataset, names) == duck_rows(duck, dataset, names)
    assert snow_system(wh, dataset) == lc.system_rows(duck, dataset)


# ------------------------------------------------------------ tests

def deploy_currencies(client, pool, project, ecs, oxr, name):
    return lc.deploy_flow(client, pool, project, "currencies", name,
                          prod_env(ecs, **{
                              "SOURCES__OPEN_EXCHANGE_RATES__BASE_URL":
                                  oxr.base_url,
                              "SOURCES__OPEN_EXCHANGE_RATES__API_KEY":
                                  APP_ID}))


def test_currencies_in_prod_land_in_snowflake_as_dlt(
        client, agent, pool_name, tmp_path, process_job_template, moto, ecs,
        fakesnow, gate, oxr, database):
    """Two runs of the deployment in the prod profile: Completed; the
    credentials came from Secrets Manager; after each run the tables,
    columns, types and rows equal dlt's, the second run merged without
    duplicates; the password shows nowhere."""
    wh = Warehouse(moto, fakesnow, gate, database)
    project = prod_project(tmp_path, "currencies", moto)
    client.create_pool(pool_name, base_job_template=process_job_template)
    dep = deploy_currencies(client, pool_name, project, ecs, oxr, pool_name)
    worker = agent(pool_name, "--query-seconds", "1", env=AGENT_ENV)
    ds = "open_exchange_rates"

    first = run(client, dep)
    assert first["state_type"] == "COMPLETED", first["state"]
    assert sorted(t["name"] for t in task_runs(client, first["id"])) == \
        ["extract-0", "load-0", "normalize-0"]
    assert len(ecs.requests) >= 1
    duck, ddl = run_dlt(DLT_CURRENCIES, tmp_path, {"base_url": oxr.base_url})
    same_as_dlt(wh, ds, duck, ddl)
    assert wh.query('SELECT "CODE", "NAME" FROM "OPEN_EXCHANGE_RATES".'
                    '"CURRENCIES" ORDER BY 1') == sorted(CURRENCIES.items())

    second = run(client, dep)
    assert second["state_type"] == "COMPLETED", second["state"]
    assert wh.query('SELECT count(*), count(DISTINCT "CODE") FROM '
                    '"OPEN_EXCHANGE_RATES"."CURRENCIES"') == \
        [(len(CURRENCIES), len(CURRENCIES))]
    assert wh.query('SELECT count(*) FROM "OPEN_EXCHANGE_RATES".'
                    '"_DLT_LOADS" WHERE "STATUS" = 0') == [(2,)]
    duck, ddl = run_dlt(DLT_CURRENCIES, tmp_path, {"base_url": oxr.base_url})
    same_as_dlt(wh, ds, duck, ddl)
    for r in (first, second):
        text = seen(client, worker, r["id"])
        assert wh.password not in text and APP_ID not in text
    assert files_with(project, wh.password) == []


class Source:
    """test_products' source: a database of the test PostgreSQL."""

    def __init__(self, server, name):
        self.server, self.name = server, name
        server.psql(f'create database "{name}" owner {server.user}')
        self.sql(CREATE)

    def sql(self, text):
        return self.server.psql(f"set role {self.server.user};" + text,
                                database=self.name)

    @property
    def url(self):
        return self.server.url.rsplit("/", 1)[0] + "/" + self.name

    def env(self):
        return {"SOURCES__CLEVER_CLOUD__HOST": "127.0.0.1",
                "SOURCES__CLEVER_CLOUD__PORT": str(self.server.port),
                "SOURCES__CLEVER_CLOUD__DATABASE": self.name,
                "SOURCES__CLEVER_CLOUD__USERNAME": self.server.user,
                "SOURCES__CLEVER_CLOUD__PASSWORD": self.server.password}


def cli_env(project, ecs):
    env = {k: v for k, v in os.environ.items() if not k.startswith(
        ("PREFECT_", "DESTINATION__", "DLT_", "WORKSPACE__", "SOURCES__",
         "AWS_"))}
    env.update(prod_env(ecs), ASAN_OPTIONS="detect_leaks=1")
    return env


def test_products_in_prod_merge_and_restore_state_from_snowflake(
        client, agent, pool_name, tmp_path, process_job_template, moto, ecs,
        fakesnow, gate, database, postgres_server):
    """products in the prod profile: dlt's types for every column kind
    (NUMBER(19,0), VARCHAR, FLOAT, NUMBER(10,3), BOOLEAN, VARIANT,
    TIMESTAMP_LTZ, TIMESTAMP_NTZ, TIME) and dlt's rows; the local state
    wiped, `pfagent pipeline products sync` restores the incremental
    state from Snowflake, so the second run extracts only the three
    changed rows and merges them, as dlt does."""
    wh = Warehouse(moto, fakesnow, gate, database)
    source = Source(postgres_server, f"src_sf_{secrets.token_hex(3)}")
    project = prod_project(tmp_path, "products", moto)
    client.create_pool(pool_name, base_job_template=process_job_template)
    dep = lc.deploy_flow(client, pool_name, project, "products", pool_name,
                         prod_env(ecs, **source.env()),
                         parameters={"chunk_size": 2})
    worker = agent(pool_name, "--query-seconds", "1", env=AGENT_ENV)
    ds = "clever_cloud"

    first = run(client, dep)
    assert first["state_type"] == "COMPLETED", first["state"]
    duck, ddl = run_dlt(DLT_PRODUCTS, tmp_path, {"url": source.url})
    same_as_dlt(wh, ds, duck, ddl)
    types = {c: t for c, t, _ in ddl_columns(gate.statements())[
        '"CLEVER_CLOUD"."PRODUCTS"']}
    assert types == {"ID": "NUMBER(19,0)", "NAME": "VARCHAR",
                     "PRICE": "FLOAT", "WEIGHT": "NUMBER(10,3)",
                     "IN_STOCK": "BOOLEAN", "ATTRIBUTES": "VARIANT",
                     "UPDATED_AT": "TIMESTAMP_LTZ", "R": "NUMBER(19,0)",
                     "OPENS": "TIME", "CREATED": "TIMESTAMP_NTZ",
                     "_DLT_LOAD_ID": "VARCHAR", "_DLT_ID": "VARCHAR"}

    # The local state gone: sync brings it back from Snowflake.
    state_dir = project / ".dlt" / "state" / "prod"
    assert (state_dir / "pipelines" / "products" / "state.json").exists()
    shutil.rmtree(state_dir)
    p = subprocess.run([str(PFAGENT), "pipeline", "products", "sync", "-y",
                        "--destination", "warehouse", "--dataset-name", ds],
                       cwd=project, env=cli_env(project, ecs),
                       capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    assert not SANITIZER_RE.search(p.stderr), p.stderr
    assert p.returncode == 0, p.stdout + p.stderr
    restored = json.loads((state_dir / "pipelines" / "products" /
                           "state.json").read_text())
    cursors = [inc for src in restored["sources"].values()
               for res in src.get("resources", {}).values()
               for col, inc in res.get("incremental", {}).items()
               if col == "updated_at"]
    # dlt's typed text: a timestamp behind its private-use mark.
    assert len(cursors) == 1 and cursors[0]["last_value"] == \
        "\uf0272026-11-03T10:00:00+00:00", cursors
    assert wh.password not in p.stdout + p.stderr

    source.sql(CHANGE)
    second = run(client, dep)
    assert second["state_type"] == "COMPLETED", second["state"]
    logs = [m["message"] for m in client.read_logs(second["id"])]
    assert "Extracted 3 new or updated rows of public.products" in logs
    assert wh.query('SELECT "ID", "NAME", "PRICE" FROM "CLEVER_CLOUD".'
                    '"PRODUCTS" ORDER BY 1') == [
        (1, "Kettle", 26.0), (2, "Toaster", 39.99), (3, "Mug", 6.0),
        (4, "Teapot", 18.75), (5, "Sugar pot", None), (6, "Spoon", 2.5)]
    duck, ddl = run_dlt(DLT_PRODUCTS, tmp_path, {"url": source.url})
    same_as_dlt(wh, ds, duck, ddl)
    for r in (first, second):
        assert wh.password not in seen(client, worker, r["id"])
    assert files_with(project, wh.password) == []


# ----------------------------------------------------------- faults

def key_pair(passphrase=None):
    """A new RSA key: (private PEM, public PEM)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    enc = serialization.BestAvailableEncryption(passphrase.encode()) \
        if passphrase else serialization.NoEncryption()
    private = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                enc).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


def key_body(pem):
    """A line of the key's base64: what a leak would show."""
    return [l for l in pem.splitlines() if not l.startswith("-----")][3]


def test_wrong_password_and_bad_key_fail_with_snowflakes_message(
        client, agent, pool_name, tmp_path, process_job_template, moto, ecs,
        fakesnow, oxr, database):
    """The server refuses a wrong password (390100) and a JWT signed
    with a key it does not know (390144): each run ends Failed with
    Snowflake's code and message and the destination named, no secret
    anywhere (logs, states, artifacts, agent output, files); the right
    encrypted key with its passphrase logs in (JWT checked by PyJWT)."""
    right = "sf-right-" + secrets.token_hex(6)
    phrase = "key-phrase-" + secrets.token_hex(4)
    known, known_pub = key_pair(phrase)
    stranger, _ = key_pair()
    gate = SnowflakeFront(fakesnow.port).start()
    gate.add_user("SVC_DLT", password=right,
                  public_key_pem=known_pub.encode())
    try:
        project = prod_project(tmp_path, "currencies", moto)
        client.create_pool(pool_name, base_job_template=process_job_template)
        worker = agent(pool_name, "--query-seconds", "1", env=AGENT_ENV)
        dep = deploy_currencies(client, pool_name, project, ecs, oxr,
                                pool_name)

        wrong = Warehouse(moto, fakesnow, gate, database,
                          password="sf-wrong-" + secrets.token_hex(6))
        fr = run(client, dep)
        assert fr["state_type"] == "FAILED", fr["state"]
        msg = fr["state"]["message"]
        assert "390100" in msg and "Incorrect username or password was " \
            "specified." in msg, msg
        # Every value of a Secrets Manager secret is masked, the user and
        # the host too.
        assert "(destination warehouse at snowflake://****:***@****/****)" \
            in msg, msg
        text = seen(client, worker, fr["id"])
        for secret in (wrong.password, right):
            assert secret not in text
            assert files_with(project, secret) == []

        Warehouse(moto, fakesnow, gate, database,
                  authenticator="snowflake_jwt", private_key=stranger)
        fr = run(client, dep)
        assert fr["state_type"] == "FAILED", fr["state"]
        msg = fr["state"]["message"]
        assert "390144" in msg and "JWT token is invalid." in msg, msg
        text = seen(client, worker, fr["id"])
        assert key_body(stranger) not in text
        assert files_with(project, key_body(stranger)) == []

        Warehouse(moto, fakesnow, gate, database,
                  authenticator="snowflake_jwt", private_key=known,
                  private_key_passphrase=phrase)
        fr = run(client, dep)
        assert fr["state_type"] == "COMPLETED", fr["state"]
        text = seen(client, worker, fr["id"])
        assert key_body(known) not in text and phrase not in text
        assert files_with(project, phrase) == []
    finally:
        gate.stop()


def currencies_loaded_once(wh):
    """The currencies once each, and every package's rows once: a load
    id in _DLT_LOADS once, a state row at most once per load."""
    assert wh.query('SELECT count(*), count(DISTINCT "CODE") FROM '
                    '"OPEN_EXCHANGE_RATES"."CURRENCIES"') == \
        [(len(CURRENCIES), len(CURRENCIES))]
    loads = wh.query('SELECT "LOAD_ID" FROM "OPEN_EXCHANGE_RATES".'
                     '"_DLT_LOADS"')
    assert len(loads) == len(set(loads))
    states = wh.query('SELECT "_DLT_LOAD_ID" FROM "OPEN_EXCHANGE_RATES".'
                      '"_DLT_PIPELINE_STATE"')
    # A state row only when the state changed, as dlt stores it.
    assert len(states) == len(set(states)) and set(states) <= set(loads)
    return len(loads)


def test_503_on_every_third_request_loads_once(
        client, agent, pool_name, tmp_path, process_job_template, moto, ecs,
        fakesnow, oxr, database):
    """A relay that sheds every third request with 503: each one is
    asked again (with its requestId) and the run Completes with every
    row once, twice over."""
    gate = FaultProxy(fakesnow.port, mode="503", every=3).start()
    try:
        wh = Warehouse(moto, fakesnow, gate, database)
        project = prod_project(tmp_path, "currencies", moto)
        client.create_pool(pool_name, base_job_template=process_job_template)
        worker = agent(pool_name, "--query-seconds", "1", env=AGENT_ENV)
        dep = deploy_currencies(client, pool_name, project, ecs, oxr,
                                pool_name)
        for runs in (1, 2):
            fr = run(client, dep)
            assert fr["state_type"] == "COMPLETED", fr["state"]
            assert currencies_loaded_once(wh) == runs
        assert len(gate.failed) >= 5, gate.received
        assert wh.password not in worker.log_text()
    finally:
        gate.stop()


def test_server_killed_mid_load_loads_the_package_once(
        client, agent, pool_name, tmp_path, process_job_template, moto, ecs,
        fakesnow, gate, oxr, database):
    """fakesnow killed while the package's transaction is open (its
    _DLT_LOADS row on the way) and started again: the statement is not
    run in a new session outside the transaction; the run ends Failed
    and nothing of the package is in Snowflake. The next run loads the
    package left behind and its own: every row once."""
    wh = Warehouse(moto, fakesnow, gate, database)
    project = prod_project(tmp_path, "currencies", moto)
    client.create_pool(pool_name, base_job_template=process_job_template)
    worker = agent(pool_name, "--query-seconds", "1", env=AGENT_ENV)
    dep = deploy_currencies(client, pool_name, project, ecs, oxr, pool_name)
    held = gate.hold(lambda m, path, text: path.startswith(
        "/queries/v1/query-request") and json.loads(text)["sqlText"].
        startswith('INSERT INTO "OPEN_EXCHANGE_RATES"."_DLT_LOADS"'))
    fr = client.create_flow_run(dep["id"])
    held.wait_held(240)
    fakesnow.kill()
    fakesnow.start()
    held.release()
    fr = client.wait_for_run(fr["id"], timeout=300)
    assert fr["state_type"] == "FAILED", fr["state"]
    assert wh.query("SELECT count(*) FROM information_schema.tables WHERE "
                    "table_schema = 'OPEN_EXCHANGE_RATES' AND table_name = "
                    "'_DLT_LOADS'") == [(1,)]
    assert wh.query('SELECT count(*) FROM "OPEN_EXCHANGE_RATES".'
                    '"_DLT_LOADS"') == [(0,)]
    assert wh.query('SELECT count(*) FROM "OPEN_EXCHANGE_RATES".'
                    '"CURRENCIES"') == [(0,)]

    fr = run(client, dep)
    assert fr["state_type"] == "COMPLETED", fr["state"]
    assert currencies_loaded_once(wh) == 2
    assert wh.password not in worker.log_text()


def test_stage_method_puts_the_job_file_and_names_copy_into(
        client, agent, pool_name, tmp_path, process_job_template, moto, ecs,
        fakesnow, oxr, database):
    """load_method = "stage" forces dlt's way on fakesnow: the PUT
    answer's stage (a GCS-style presigned URL of fakesnow's) gets the
    job file, uploaded through the relay as the connector would, and
    fakesnow holds it byte for byte; fakesnow cannot run dlt's COPY INTO
    (its FILE_FORMAT list, a JSON file by column name), so the run ends
    Failed naming COPY INTO and the table, and nothing is loaded."""
    gate = SnowGate(fakesnow.port, unsupported_as_error=True)
    try:
        wh = Warehouse(moto, fakesnow, gate, database)
        project = prod_project(tmp_path, "currencies", moto)
        client.create_pool(pool_name, base_job_template=process_job_template)
        worker = agent(pool_name, "--query-seconds", "1", env=AGENT_ENV)
        dep = lc.deploy_flow(
            client, pool_name, project, "currencies", pool_name,
            prod_env(ecs, **{"SOURCES__OPEN_EXCHANGE_RATES__BASE_URL":
                             oxr.base_url,
                             "DESTINATION__WAREHOUSE__LOAD_METHOD": "stage"}))
        fr = run(client, dep)
        assert fr["state_type"] == "FAILED", fr["state"]
        msg = fr["state"]["message"]
        assert re.search(r'COPY INTO "OPEN_EXCHANGE_RATES"\."_DLT_PIPELINE_'
                         r'STATE": Snowflake error 261000', msg), msg
        puts = [s for s in gate.statements() if s.startswith("PUT ")]
        assert len(puts) == 1 and re.fullmatch(
            r"PUT 'file://\S+/new_jobs/_dlt_pipeline_state\.\S+\.jsonl' "
            r'@"OPEN_EXCHANGE_RATES"\."%_DLT_PIPELINE_STATE"/[0-9.]+ '
            r"OVERWRITE = TRUE, AUTO_COMPRESS = FALSE", puts[0]), puts
        uploads = [r for r in gate.requests if r[0] == "PUT"]
        assert [(p.startswith("/fs_bucket/"), st) for _, p, st in
                uploads] == [(True, 200)], gate.requests
        job = pathlib.Path(puts[0].split("'")[1][len("file://"):])
        where = re.findall(r"Uploaded \d+ bytes to (\S+)",
                           fakesnow.log_path.read_text())
        assert where and pathlib.Path(where[-1]).name == job.name
        assert pathlib.Path(where[-1]).read_bytes() == job.read_bytes()
        assert wh.query('SELECT count(*) FROM "OPEN_EXCHANGE_RATES".'
                        '"_DLT_LOADS"') == [(0,)]
        assert wh.password not in seen(client, worker, fr["id"])
    finally:
        gate.stop()
