"""The currencies pipeline (flows/currencies.c) run by pfagent into a real
PostgreSQL, through a profile whose `warehouse` is postgres, against dlt's
own Python pipeline loading the same currencies.json (from the Open
Exchange Rates fixture server, tests/peers/oxr.py) with its postgres
destination: table names, column names and types, constraints, rows
(ids excepted) and system tables equal, after one run and after a second
(merge on code: no duplicates). The password shows in no output."""

import os
import re
import secrets
import subprocess

import pytest

import load_compare as lc
from peers.oxr import CURRENCIES, OxrServer
from peers.prefect import PFAGENT, REPO_ROOT

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
                 destination=dlt.destinations.postgres(cfg["postgres"]),
                 dataset_name="open_exchange_rates",
                 pipelines_dir=cfg["pipelines_dir"])
p.run(currencies())
"""


@pytest.fixture(scope="module")
def oxr():
    srv = OxrServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def pg_pair(postgres_server, request):
    urls = []
    for side in ("ours", "dlt"):
        db = f"cur_{side}_{secrets.token_hex(3)}"
        postgres_server.psql(f'create database "{db}" owner '
                             f'{postgres_server.user}')
        urls.append(postgres_server.url.rsplit("/", 1)[0] + "/" + db)
    return urls


def project_with_postgres_profile(tmp, url):
    """The flow and this repository's .dlt, plus a profile `pgwh` whose
    warehouse is postgres, its credentials as a table."""
    p = lc.flow_project(tmp, "currencies")
    m = re.match(r"postgresql://([^:]+):([^@]+)@([^:]+):(\d+)/(.+)", url)
    user, password, host, port, database = m.groups()
    (p / ".dlt" / "pgwh.secrets.toml").write_text(
        '[destination.warehouse]\ndestination_type = "postgres"\n\n'
        '[destination.warehouse.credentials]\n'
        f'database = "{database}"\nusername = "{user}"\n'
        f'password = "{password}"\nhost = "{host}"\nport = {port}\n')
    return p


def run_flow(project, base_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith(
        ("PREFECT_", "DESTINATION__", "DLT_", "WORKSPACE__", "SOURCES__"))}
    env.update({"WORKSPACE__PROFILE": "pgwh",
                "SOURCES__OPEN_EXCHANGE_RATES__BASE_URL": base_url,
                "PFAGENT_INCLUDE_DIR": str(REPO_ROOT / "include"),
                "ASAN_OPTIONS": "detect_leaks=1"})
    p = subprocess.run([str(PFAGENT), "run", "flows/currencies.c:currencies"],
                       cwd=project, env=env, capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    return p


def run_dlt(tmp, base_url, url):
    work = tmp / "dlt"
    p = lc.dlt_process(DLT_SCRIPT, {
        "base_url": base_url, "postgres": url,
        "pipelines_dir": str(work / "pipelines")}, work)
    assert p.returncode == 0, p.stderr


def test_currencies_into_postgres_match_dlt(tmp_path, oxr, pg_pair,
                                            postgres_server):
    ours, theirs = pg_pair
    project = project_with_postgres_profile(tmp_path, ours)
    ds = "open_exchange_rates"
    for attempt in (1, 2):
        out = run_flow(project, oxr.base_url)
        assert postgres_server.password not in out.stdout + out.stderr
        run_dlt(tmp_path, oxr.base_url, theirs)
        assert lc.tables(ours, ds) == lc.tables(theirs, ds)
        assert lc.data_rows(ours, ds) == lc.data_rows(theirs, ds)
        assert lc.system_rows(ours, ds) == lc.system_rows(theirs, ds)
    with lc.connect(ours) as c:
        rows = c.execute("SELECT code, name FROM open_exchange_rates."
                         "currencies ORDER BY code").fetchall()
        types = c.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = 'currencies' ORDER BY "
            "ordinal_position", [ds]).fetchall()
    assert rows == sorted(CURRENCIES.items())
    assert types == [("code", "character varying"),
                     ("name", "character varying"),
                     ("_dlt_load_id", "character varying"),
                     ("_dlt_id", "character varying")]
