"""`pfagent pipeline NAME sync` (seed 001's connection check) against
dlt's own `dlt pipeline NAME sync` on the same settings and the same
real PostgreSQL: the same output and exit status when the pipeline is
found (its state restored into the working dir), when the dataset is
missing, when the dataset lacks the pipeline, and a wrong password
refused without the password anywhere; DuckDB found and not found."""

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import load_compare as lc
from peers.prefect import PFAGENT, SANITIZER_RE

DLT_CLI = Path(sys.executable).parent / "dlt"


@pytest.fixture
def pg_db(postgres_server, request):
    """A fresh database owned by the test role; its connection string."""
    base = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:30]
    db = f"sync_{base}_{secrets.token_hex(3)}"
    postgres_server.psql(f'create database "{db}" owner '
                         f'{postgres_server.user}')
    return postgres_server.url.rsplit("/", 1)[0] + "/" + db


def cli_env(tmp, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(
        ("PREFECT_", "DESTINATION__", "DLT_", "WORKSPACE__"))}
    env.update({"DLT_DATA_DIR": str(tmp / "sync-data"),
                "RUNTIME__DLTHUB_TELEMETRY": "false",
                "ASAN_OPTIONS": "detect_leaks=1"})
    env.update(extra)
    return env


def sync(argv0, tmp, name, env, *args):
    """One `... pipeline NAME sync -y` in an empty directory (no .dlt)."""
    cwd = tmp / "cwd"
    cwd.mkdir(exist_ok=True)
    argv = [str(argv0), "pipeline", name, "sync", "-y", *args]
    if argv0 == DLT_CLI:
        argv = [str(DLT_CLI), "-y", "pipeline", name, "sync", *args]
    p = subprocess.run(argv, cwd=cwd, env=env, capture_output=True,
                       text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert not SANITIZER_RE.search(p.stderr), p.stderr
    return p


def both(tmp, name, env, *args):
    """dlt's sync, then ours on a clean working dir: (dlt's, ours)."""
    theirs = sync(DLT_CLI, tmp, name, env, *args)
    dlt_files = sorted(p.relative_to(tmp / "sync-data") for p in
                       (tmp / "sync-data").rglob("*") if p.is_file())
    shutil.rmtree(tmp / "sync-data", ignore_errors=True)
    ours = sync(PFAGENT, tmp, name, env, *args)
    theirs.files = dlt_files
    return theirs, ours


def load_with_pfagent(tmp, url, pipeline, dataset):
    env = {"DESTINATION__WAREHOUSE__DESTINATION_TYPE": "postgres",
           "DESTINATION__WAREHOUSE__CREDENTIALS": url}
    lc.run_pfagent(tmp, {"pipeline": pipeline, "dataset": dataset,
                         "resource": "Items", "max_table_nesting": 1000,
                         "write_disposition": "merge", "primary_key": "id",
                         "items": [{"id": 1, "v": "a"}]}, env=env)


def pg_env(tmp, url):
    return cli_env(tmp, DESTINATION__WAREHOUSE__DESTINATION_TYPE="postgres",
                   DESTINATION__WAREHOUSE__CREDENTIALS=url)


def test_sync_finds_a_pipeline_loaded_by_pfagent(tmp_path, pg_db):
    """Good credentials, the dataset holds the pipeline: dlt's output,
    exit 0, and the state restored as dlt restores it (dlt itself reads
    the state pfagent stored)."""
    load_with_pfagent(tmp_path, pg_db, "shop", "shop_data")
    theirs, ours = both(tmp_path, "shop", pg_env(tmp_path, pg_db),
                        "--destination", "warehouse",
                        "--dataset-name", "shop_data")
    assert theirs.returncode == 0, theirs.stderr
    assert Path("pipelines/shop/state.json") in theirs.files
    assert (ours.returncode, ours.stdout, ours.stderr) == \
        (theirs.returncode, theirs.stdout, theirs.stderr)
    assert "WARNING: Pipeline with `pipeline_name=shop`" in ours.stdout
    assert "ERROR" not in ours.stdout
    work = tmp_path / "sync-data" / "pipelines" / "shop"
    state = json.loads((work / "state.json").read_text())
    assert state["pipeline_name"] == "shop"
    assert state["dataset_name"] == "shop_data"
    assert state["_local"]["first_run"] is False
    schema = json.loads((work / "schemas" / "shop.schema.json").read_text())
    assert "items" in schema["tables"]

    # With the local state now present: dlt's drop-and-restore lines.
    again = sync(PFAGENT, tmp_path, "shop", pg_env(tmp_path, pg_db))
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[1:] == \
        ["Dropping local state", "Restoring from destination"]
    assert (work / "state.json").exists()


def test_sync_reports_a_missing_dataset_as_dlt(tmp_path, pg_db):
    theirs, ours = both(tmp_path, "pokemon", pg_env(tmp_path, pg_db),
                        "--destination", "warehouse",
                        "--dataset-name", "pokemon_api_data")
    assert (ours.returncode, ours.stdout, ours.stderr) == \
        (theirs.returncode, theirs.stdout, theirs.stderr)
    assert ours.returncode == 0
    assert ours.stdout.endswith("ERROR: Pipeline pokemon was not found in "
                                "dataset pokemon_api_data in warehouse\n")
    assert not (tmp_path / "sync-data" / "pipelines" / "pokemon" /
                "state.json").exists()


def test_sync_reports_a_dataset_without_the_pipeline(tmp_path, pg_db):
    load_with_pfagent(tmp_path, pg_db, "other", "shared")
    theirs, ours = both(tmp_path, "mine", pg_env(tmp_path, pg_db),
                        "--destination", "warehouse",
                        "--dataset-name", "shared")
    assert (ours.returncode, ours.stdout, ours.stderr) == \
        (theirs.returncode, theirs.stdout, theirs.stderr)
    assert "ERROR: Pipeline mine was not found in dataset shared in " \
        "warehouse" in ours.stdout


def test_sync_with_a_wrong_password_never_shows_it(tmp_path, pg_db,
                                                   postgres_server):
    wrong = "pw-wrong-" + secrets.token_hex(8)
    url = pg_db.replace(postgres_server.password, wrong)
    theirs, ours = both(tmp_path, "shop", pg_env(tmp_path, url),
                        "--destination", "warehouse",
                        "--dataset-name", "shop_data")
    assert ours.returncode == theirs.returncode == 255
    assert ours.stdout == theirs.stdout
    # dlt's text, then where: the server and database, password masked.
    assert ours.stderr.startswith(theirs.stderr.rstrip("\n"))
    assert 'password authentication failed for user "loader"' in ours.stderr
    db = pg_db.rsplit("/", 1)[1]
    assert f"postgresql://loader:***@127.0.0.1:{postgres_server.port}/{db}" \
        in ours.stderr
    assert wrong not in ours.stdout + ours.stderr
    assert not (tmp_path / "sync-data" / "pipelines" / "shop" /
                "state.json").exists()


def test_sync_without_credentials_prints_dlts_missing_fields(tmp_path):
    env = cli_env(tmp_path, DESTINATION__WAREHOUSE__DESTINATION_TYPE=
                  "postgres")
    ours = sync(PFAGENT, tmp_path, "shop", env, "--destination",
                "warehouse", "--dataset-name", "shop_data")
    assert ours.returncode == 255
    assert ours.stderr.startswith(
        "Pipeline execution failed at `step=sync` with exception:\n\n"
        "<class 'dlt.common.configuration.exceptions."
        "ConfigFieldMissingException'>\nMissing 1 field(s) in configuration "
        "`PostgresClientConfiguration`: `credentials`\nfield `credentials` "
        "is itself a configuration `PostgresCredentials` with missing "
        "field(s): `database`, `password`, `username`, `host`\n  for field "
        "`database` the following (config provider, key) were tried in "
        "order:\n    (Environment Variables, SHOP__DESTINATION__WAREHOUSE__"
        "CREDENTIALS__DATABASE)\n")


def test_sync_on_duckdb(tmp_path):
    """The dev warehouse: found after a load, not found for another
    dataset."""
    lc.run_pfagent(tmp_path, {"pipeline": "dev_shop", "dataset": "dev_data",
                              "resource": "Items", "max_table_nesting": 1000,
                              "items": [{"id": 1}]})
    env = cli_env(tmp_path, DESTINATION__WAREHOUSE__DESTINATION_TYPE="duckdb",
                  DLT_LOCAL_DIR=str(tmp_path / "pf-local"),
                  PFAGENT_LIBDUCKDB=str(lc.LIBDUCKDB))
    found = sync(PFAGENT, tmp_path, "dev_shop", env, "--destination",
                 "warehouse", "--dataset-name", "dev_data")
    assert found.returncode == 0, found.stderr
    assert "ERROR" not in found.stdout
    state = tmp_path / "sync-data" / "pipelines" / "dev_shop" / "state.json"
    assert json.loads(state.read_text())["dataset_name"] == "dev_data"
    shutil.rmtree(tmp_path / "sync-data")
    missing = sync(PFAGENT, tmp_path, "dev_shop", env, "--destination",
                   "warehouse", "--dataset-name", "nope")
    assert missing.returncode == 0, missing.stderr
    assert missing.stdout.endswith("ERROR: Pipeline dev_shop was not found "
                                   "in dataset nope in warehouse\n")


def test_info_matches_dlt_for_a_pipeline_pfagent_loaded(tmp_path):
    """`pfagent pipeline NAME info` against `dlt pipeline NAME info` on
    the working dir pfagent's runtime left: state, local state, resources
    per schema, completed packages. dlt fills in the _local defaults its
    own state files carry (first_run, initial_cwd) when they are absent;
    those two lines are left out of the comparison."""
    items = [{"id": 1, "kids": [{"k": 1}], "tags": ["a"]}]
    for _ in range(2):
        lc.run_pfagent(tmp_path, {"pipeline": "shop", "dataset": "shop",
                                  "resource": "Items",
                                  "max_table_nesting": 1000, "items": items})
    env = cli_env(tmp_path, DLT_DATA_DIR=str(tmp_path / "pf-data"))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    ours = subprocess.run([str(PFAGENT), "pipeline", "shop", "info"],
                          cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=60)
    theirs = subprocess.run([str(DLT_CLI), "pipeline", "shop", "info"],
                            cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=120)
    assert ours.returncode == theirs.returncode == 0, ours.stderr
    filled = ("initial_cwd: ", "first_run: ")
    assert ours.stdout.splitlines() == [
        line for line in theirs.stdout.splitlines()
        if not line.startswith(filled)]
    assert "Items with 3 table(s) and 0 resource state slot(s)" in \
        ours.stdout
    assert "Has 2 completed load packages with following load ids:" in \
        ours.stdout

    missing = subprocess.run([str(PFAGENT), "pipeline", "nope", "info"],
                             cwd=cwd, env=env, capture_output=True,
                             text=True, timeout=60)
    assert missing.returncode == 254
    assert "Try command pfagent pipeline nope sync" in missing.stdout
