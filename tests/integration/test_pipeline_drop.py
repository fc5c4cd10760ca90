"""`pfagent pipeline NAME drop` and `abort-packages` (dlt 1.31's
`drop-pending-packages`), the two commands that change data, and the
read-only ones (`-l`, `schema`, `load-package`, `failed-jobs`, `trace`,
`show`). dlt is the oracle: the same items loaded by dlt's own pipeline
and by pfagent's runtime, `dlt pipeline NAME drop` on dlt's and
`pfagent pipeline NAME drop` on ours, then the same plan printed, the
same tables left in the destination, and the next run reloading from
scratch."""

import json
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

import load_compare as lc
from peers.prefect import PFAGENT, SANITIZER_RE

DLT_CLI = Path(sys.executable).parent / "dlt"
ITEMS = [{"id": 1, "kids": [{"k": 1}, {"k": 2}]}, {"id": 2, "kids": []}]


def pf_cli(tmp, *args, env=None, stdin=subprocess.DEVNULL):
    e = lc.pfagent_env(tmp)
    e.update(env or {})
    p = subprocess.run([str(PFAGENT), "pipeline", *args], cwd=tmp,
                       env=e, capture_output=True, text=True, timeout=120,
                       stdin=stdin)
    assert not SANITIZER_RE.search(p.stderr), p.stderr
    return p


def dlt_cli(tmp, *args):
    """dlt's CLI on the pipeline run_dlt made (its pipelines dir and
    DuckDB file), from the directory the pipeline ran in."""
    work = tmp / "dlt"
    env = {k: v for k, v in lc.pfagent_env(tmp).items() if not
           k.startswith(("DESTINATION__", "DLT_", "WORKSPACE__"))}
    env.update({"RUNTIME__DLTHUB_TELEMETRY": "false",
                "DESTINATION__DUCKDB__CREDENTIALS": str(work / "dlt.duckdb")})
    return subprocess.run([str(DLT_CLI), "-y", "pipeline", "--pipelines-dir",
                           str(work / "pipelines"), *args], cwd=work,
                          env=env, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)


def run_ours(tmp, items, env=None, check=True, **extra):
    return lc.run_pfagent(tmp, {"pipeline": "shop", "dataset": "shop",
                                "resource": "Items", "cursor": "id",
                                "max_table_nesting": 1000, "items": items,
                                **extra}, check=check, env=env)


def same_as_dlt(tmp, items):
    """Ours as run_dlt's pipeline: no resource state."""
    return run_ours(tmp, items, cursor="")


def plan(stdout, dest):
    """The plan lines, the destination's name made the same."""
    return [line.replace(f"destination {dest}:", "destination D:")
            for line in stdout.splitlines()[1:]
            if not line.startswith("WARNING: You should run")]


def test_drop_matches_dlt_and_the_next_run_reloads(tmp_path):
    theirs_db = lc.run_dlt(tmp_path, "shop", "shop", "Items", 1000,
                           [{"items": ITEMS}])
    same_as_dlt(tmp_path, ITEMS)
    ours_db = lc.pfagent_db(tmp_path)

    theirs = dlt_cli(tmp_path, "shop", "drop", "Items")
    ours = pf_cli(tmp_path, "shop", "drop", "Items", "-y")
    assert theirs.returncode == ours.returncode == 0, (theirs.stderr,
                                                       ours.stderr)
    assert plan(ours.stdout, "warehouse") == plan(theirs.stdout, "duckdb")
    assert "Table(s) to drop: ['items__kids', 'items']" in ours.stdout

    # The same tables are left: the system ones, the data ones dropped.
    assert sorted(lc.tables(ours_db, "shop")) == \
        sorted(lc.tables(theirs_db, "shop")) == \
        ["_dlt_loads", "_dlt_pipeline_state", "_dlt_version"]
    # A load of its own, the schema's older versions gone, as dlt.
    assert lc.system_rows(ours_db, "shop")["loads"] == \
        lc.system_rows(theirs_db, "shop")["loads"] == [("shop", 0)] * 2
    with lc.connect(ours_db) as c:
        assert c.execute('SELECT count(*) FROM shop._dlt_version').fetchall() \
            == [(1,)]
    work = tmp_path / "pf-data" / "pipelines" / "shop"
    schema = json.loads((work / "schemas" / "shop.schema.json").read_text())
    assert "items" not in schema["tables"]
    assert "items__kids" not in schema["tables"]

    # The next run creates the tables again, as dlt's does, and dlt's
    # own CLI reads the result.
    same_as_dlt(tmp_path, ITEMS)
    lc.run_dlt(tmp_path, "shop", "shop", "Items", 1000, [{"items": ITEMS}])
    assert lc.data_rows(ours_db, "shop") == lc.data_rows(theirs_db, "shop")
    info = dlt_cli(tmp_path, "shop", "info")
    assert info.returncode == 0


def test_drop_without_a_match_and_state_only(tmp_path):
    lc.run_dlt(tmp_path, "shop", "shop", "Items", 1000, [{"items": ITEMS}])
    run_ours(tmp_path, ITEMS)
    theirs = dlt_cli(tmp_path, "shop", "drop", "nope")
    ours = pf_cli(tmp_path, "shop", "drop", "nope")
    assert ours.returncode == theirs.returncode == 0
    assert ours.stdout.splitlines()[1:] == [
        line.replace("dlt pipeline", "pfagent pipeline")
        for line in theirs.stdout.splitlines()[1:]]

    # Declined (stdin is no terminal: dlt's default, No): nothing moves.
    before = lc.tables(lc.pfagent_db(tmp_path), "shop")
    ours = pf_cli(tmp_path, "shop", "drop", "--drop-all")
    assert ours.returncode == 0
    assert "Selected resource(s): ['Items']" in ours.stdout
    assert lc.tables(lc.pfagent_db(tmp_path), "shop") == before

    # --state-only: the cursor goes, the tables stay.
    ours = pf_cli(tmp_path, "shop", "drop", "re:^It", "--state-only", "-y")
    assert ours.returncode == 0, ours.stderr
    assert plan(ours.stdout, "warehouse")[2:] == \
        ["Selected resource(s): []", "Table(s) to drop: []",
         "\twith data in destination: []",
         "Resource(s) state to reset: ['Items']",
         "Source state path(s) to reset: []"]
    assert lc.tables(lc.pfagent_db(tmp_path), "shop") == before
    again = run_ours(tmp_path, ITEMS)
    assert "cursor id starts at null" in again.stderr + again.stdout


@pytest.fixture
def pg_db(postgres_server, request):
    base = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:30]
    db = f"drop_{base}_{secrets.token_hex(3)}"
    postgres_server.psql(f'create database "{db}" owner '
                         f'{postgres_server.user}')
    return postgres_server.url.rsplit("/", 1)[0] + "/" + db


def test_drop_on_postgres_with_a_merge_resource(tmp_path, pg_db):
    env = {"DESTINATION__WAREHOUSE__DESTINATION_TYPE": "postgres",
           "DESTINATION__WAREHOUSE__CREDENTIALS": pg_db}
    run_ours(tmp_path, ITEMS, env=env, write_disposition="merge",
             primary_key="id")
    assert "items" in lc.tables(pg_db, "shop")
    ours = pf_cli(tmp_path, "shop", "drop", "Items", "-y", env=env)
    assert ours.returncode == 0, ours.stderr
    assert sorted(lc.tables(pg_db, "shop")) == \
        ["_dlt_loads", "_dlt_pipeline_state", "_dlt_version"]
    assert lc.tables(pg_db, "shop_staging") == {}
    run_ours(tmp_path, ITEMS, env=env, write_disposition="merge",
             primary_key="id")
    with lc.connect(pg_db) as c:
        assert c.execute('SELECT count(*) FROM shop.items').fetchall() == \
            [(2,)]


def poison(tmp):
    """The pending package's item job made unloadable: every run fails
    on it."""
    work = tmp / "pf-data" / "pipelines" / "shop" / "load" / "normalized"
    [pkg] = list(work.iterdir())
    [job] = list((pkg / "new_jobs").glob("items.*"))
    job.write_text('{"id": "not a number", "_dlt_id": "x", '
                   '"_dlt_load_id": "y"}\n')
    return pkg.name


# dlt's default: a job that fails terminally keeps its package pending.
KEEP = {"LOAD__AUTO_ABORT_ON_TERMINAL_ERROR": "false"}


def test_abort_packages_recovers_a_poisoned_pipeline(tmp_path):
    """With load.auto_abort_on_terminal_error false (dlt's default), a
    package that cannot load stays pending and fails every run, until
    `drop-pending-packages` (dlt's name) or `abort-packages` aborts it."""
    run_ours(tmp_path, [{"id": 1}, {"id": 2}])
    run_ours(tmp_path, [{"id": 3}], check=False, stop_after="normalize")
    load_id = poison(tmp_path)
    failed = run_ours(tmp_path, [{"id": 4}], check=False, env=KEEP)
    assert failed.returncode != 0
    assert "failed terminally with message: " in failed.stderr
    assert "The job has been queued for retry and the package remains " \
           "pending." in failed.stderr
    assert run_ours(tmp_path, [{"id": 4}], check=False,
                    env=KEEP).returncode != 0

    ours = pf_cli(tmp_path, "shop", "drop-pending-packages")
    assert ours.returncode == 0, ours.stderr
    lines = ours.stdout.splitlines()
    assert lines[1] == ("WARNING: drop-pending-packages is deprecated and "
                        "now aborts packages. Use `pfagent pipeline shop "
                        "abort-packages` instead.")
    assert lines[2] == f"Load package {load_id} will be aborted:"
    assert "Done." not in ours.stdout    # declined: no terminal
    assert run_ours(tmp_path, [{"id": 4}], check=False,
                    env=KEEP).returncode != 0

    ours = pf_cli(tmp_path, "shop", "drop-pending-packages", "-y")
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout.endswith("Done. Packages aborted, local state and "
                                "schemas restored to the point before the "
                                "aborted load.\n")
    # The state is the destination's again: the cursor at 2, so item 3,
    # which the aborted package held, is loaded by the next run.
    again = run_ours(tmp_path, [{"id": 3}, {"id": 4}])
    assert "cursor id starts at 2" in again.stderr + again.stdout
    with lc.connect(lc.pfagent_db(tmp_path)) as c:
        assert c.execute("SELECT id FROM shop.items ORDER BY id"
                         ).fetchall() == [(1,), (2,), (3,), (4,)]

    failed = pf_cli(tmp_path, "shop", "failed-jobs")
    assert failed.returncode == 0
    assert f"Checking failed jobs in load id '{load_id}'" in failed.stdout
    assert "JOB file type: jsonl" in failed.stdout
    assert "Aborted by pfagent pipeline" in failed.stdout
    package = pf_cli(tmp_path, "shop", "load-package", load_id)
    assert package.returncode == 0
    assert f"is in aborted state" in package.stdout
    nothing = pf_cli(tmp_path, "shop", "abort-packages", "-y")
    assert nothing.stdout.splitlines()[1:] == \
        ["No pending packages found. Nothing to abort."]


def test_a_package_that_cannot_load_is_aborted_not_retried(tmp_path):
    """By default (dlt's load.auto_abort_on_terminal_error) a package
    whose job fails for a reason that will not go away (a value its
    column cannot take) is aborted at once, reported with dlt's message
    and in failed-jobs, and the state rewound: nothing is left pending
    and the next run loads, the aborted package's items included. A
    failure that may go away (the destination unreachable) keeps the
    package for the next run."""
    run_ours(tmp_path, [{"id": 1}, {"id": 2}])
    run_ours(tmp_path, [{"id": 3}], check=False, stop_after="normalize")
    run_ours(tmp_path, [{"id": 5}], check=False, stop_after="extract")
    load_id = poison(tmp_path)
    work = tmp_path / "pf-data" / "pipelines" / "shop"

    gone = {"PFAGENT_LIBDUCKDB": str(tmp_path / "nope.so")}
    assert run_ours(tmp_path, [], check=False, env=gone).returncode != 0
    kept = sorted(d.name for d in (work / "load" / "normalized").iterdir())
    assert len(kept) == 2 and kept[0] == load_id    # and item 5's

    failed = run_ours(tmp_path, [{"id": 4}], check=False)
    assert failed.returncode != 0
    assert "Pipeline execution failed at `step=load` when processing " \
           f"package with `load_id={load_id}` with exception:\n\n<class " \
           "'dlt.load.exceptions.LoadClientJobFailed'>\nJob with `job_id=" \
           "items." in failed.stderr
    assert f".jsonl` and `load_id={load_id}` failed terminally with " \
           "message: " in failed.stderr
    assert "The package is aborted and cannot be retried." in failed.stderr
    for stage in ("normalize/extracted", "load/new", "load/normalized"):
        assert not (work / stage).exists() or \
            list((work / stage).iterdir()) == []
    assert (work / "load" / "loaded" / load_id / "package_aborted.json"
            ).exists()
    listed = pf_cli(tmp_path, "shop", "failed-jobs")
    assert f"Checking failed jobs in load id '{load_id}'" in listed.stdout
    assert "Failed to cast value to numerical: \"not a number\"" in \
        listed.stdout

    again = run_ours(tmp_path, [{"id": 3}, {"id": 4}, {"id": 5}])
    assert "cursor id starts at 2" in again.stderr + again.stdout
    with lc.connect(lc.pfagent_db(tmp_path)) as c:
        assert c.execute("SELECT id FROM shop.items ORDER BY id"
                         ).fetchall() == [(1,), (2,), (3,), (4,), (5,)]


def test_list_schema_and_the_read_only_commands(tmp_path):
    run_ours(tmp_path, ITEMS)
    env = {"DLT_DATA_DIR": str(tmp_path / "pf-data")}
    listed = pf_cli(tmp_path, "-l")
    assert listed.returncode == 0
    pipelines = tmp_path / "pf-data" / "pipelines"
    assert listed.stdout.splitlines()[0] == \
        f"1 pipelines found in {pipelines}"
    assert listed.stdout.splitlines()[1].startswith("shop (last run: ")
    dlt_env = {k: v for k, v in lc.pfagent_env(tmp_path).items()
               if not k.startswith(("DESTINATION__", "WORKSPACE__"))}
    dlt_env.update(env, RUNTIME__DLTHUB_TELEMETRY="false")
    theirs = subprocess.run([str(DLT_CLI), "pipeline", "-l"], cwd=tmp_path,
                            env=dlt_env, capture_output=True, text=True,
                            timeout=120)
    assert theirs.stdout.splitlines()[0] == listed.stdout.splitlines()[0]

    for fmt in ("yaml", "json"):
        ours = pf_cli(tmp_path, "shop", "schema", "--format", fmt)
        theirs = subprocess.run([str(DLT_CLI), "pipeline", "shop", "schema",
                                 "--format", fmt], cwd=tmp_path, env=dlt_env,
                                capture_output=True, text=True, timeout=120)
        assert ours.returncode == theirs.returncode == 0, theirs.stderr
        assert ours.stdout == theirs.stdout

    package = pf_cli(tmp_path, "shop", "load-package")
    assert package.returncode == 0
    assert "is in loaded state" in package.stdout
    trace = pf_cli(tmp_path, "shop", "trace")
    assert trace.stdout.endswith("Pipeline does not have last run trace.\n")
    show = pf_cli(tmp_path, "shop", "show")
    assert show.returncode == 0, show.stderr
    assert "  items: 2" in show.stdout
    assert "  items__kids: 2" in show.stdout
    missing = pf_cli(tmp_path, "nope", "schema")
    assert missing.returncode == 254
