"""The loading runtime against dlt itself: the same items go through the
test flow tests/flows/load_fixture.c (pfagent's runtime, DuckDB) and
through dlt's own Python pipeline (DuckDB); tables, column names, types
and nullability, rows (ids excepted) and system tables must agree."""

import subprocess

import duckdb
import pytest

import load_compare as lc
from peers.prefect import PFAGENT, REPO_ROOT

NESTED = [
    {"id": 1, "Name": "Ada", "camelCaseKey": "x", "HTTPServer": True,
     "when": "2024-01-15T10:00:00Z", "day": "2024-01-15",
     "price": 1.5, "count": 3, "big": 12345678901234,
     "address": {"City Name": "London", "geo": {"lat": 51.5, "lng": -0.1}},
     "tags": ["a", "b", "c"],
     "orders": [{"sku": "A-1", "qty": 2, "lines": [{"n": 1}, {"n": 2}],
                 "meta": {"gift": False, "notes": ["n1"]}},
                {"sku": "B-2", "qty": 1, "lines": []}],
     "matrix": [[1, 2], [3]],
     "empty_obj": {}, "nothing": None, "": "blank key",
     "weird-Key+Plus": "v", "trailing_": 1, "2fast": "d"},
    {"id": 2, "Name": "Bob", "camelCaseKey": None,
     "when": "not a time", "price": 2, "count": "7", "big": 1.25,
     "address": {"City Name": "Paris"}, "tags": [],
     "orders": [{"sku": "C-3", "qty": "many"}],
     "extra": {"deep": {"deeper": {"deepest": "x"}}},
     "unicode": "h\u00e9llo \u2603"},
    {"id": 3, "Name": "Cy", "price": None, "ok": "yes", "count": 4.0,
     "tags": ["z"], "orders": [{"sku": "D-4", "qty": 5.5}]},
]


def compare(tmp, dataset, pf_runs, dlt_batches, resource="Items",
            nesting=1000):
    """Runs the flow once per params of pf_runs and dlt over
    dlt_batches, then asserts both datasets agree; returns pfagent's."""
    for params in pf_runs:
        lc.run_pfagent(tmp, {"pipeline": dataset, "dataset": dataset,
                             "resource": resource,
                             "max_table_nesting": nesting or -1, **params})
    theirs = lc.run_dlt(tmp, dataset, dataset, resource, nesting,
                        dlt_batches)
    ours = lc.pfagent_db(tmp)
    assert lc.tables(ours, dataset) == lc.tables(theirs, dataset)
    assert lc.data_rows(ours, dataset) == lc.data_rows(theirs, dataset)
    assert lc.system_rows(ours, dataset) == lc.system_rows(theirs, dataset)
    return ours


def query(db, sql):
    with duckdb.connect(str(db), read_only=True) as c:
        return c.execute(sql).fetchall()


@pytest.mark.parametrize("nesting", [0, 1, 2])
def test_nested_fixture_matches_dlt(tmp_path, nesting):
    """Names, flattening, child tables (lists of objects, of scalars, of
    lists), json below max_table_nesting, type inference (timestamps,
    bigint, double, bool, text), variant columns and null-only fields,
    as dlt makes them at max_table_nesting 0, 1 and 2."""
    ours = compare(tmp_path, "nested", [{"items": NESTED}],
                   [{"items": NESTED}], nesting=nesting)
    names = {t for (t,) in query(ours, "SELECT table_name FROM "
             "information_schema.tables WHERE table_schema = 'nested'")}
    if nesting == 0:
        assert names == {"items", "_dlt_loads", "_dlt_version",
                         "_dlt_pipeline_state"}
    else:
        assert "items__orders" in names
        assert ("items__orders__lines" in names) == (nesting >= 2)


def test_default_nesting_matches_dlt(tmp_path):
    """Without a limit (dlt's 1000) every level becomes a table."""
    ours = compare(tmp_path, "deep", [{"items": NESTED}], [{"items": NESTED}])
    assert query(ours, "SELECT count(*) FROM deep.items__matrix__list")[0][0] \
        == 3


def test_a_wide_table_matches_dlt(tmp_path):
    """A table of over 1100 columns (read_json's columns argument would
    bind it in quadratic time; COPY takes the table's own) of the types
    values infer, a variant and nulls, twice (the second run adds
    columns to the existing table), as dlt lands it."""
    def wide(r, n):
        d = {"id": r, "when": "2024-001T10:00:00Z", "flag": r % 2 == 0,
             "obj": {"x": r, "y": None}, "kids": [{"k": r}]}
        for i in range(n):
            d[f"f{i}"] = [r * i, f"v{r}_{i}", (r + i) / 8 + 0.0625][
                i % 3] if i % 10 else None
        return d
    first = [wide(r, 1200) for r in range(3)] + [{"id": 5, "f3": "text"}]
    second = [wide(r, 1300) for r in range(3, 5)]
    ours = compare(tmp_path, "wide", [{"items": first}, {"items": second}],
                   [{"items": first}, {"items": second}])
    cols = lc.tables(ours, "wide")["items"]
    assert len(cols) > 1024 and ("f3__v_text", "VARCHAR", "YES") in cols
    assert query(ours, "SELECT count(*) FROM wide.items")[0][0] == 6


def test_merge_twice_gives_no_duplicates(tmp_path):
    """merge on a primary key, twice with overlapping keys and a key
    repeated within a load: one row per key, children replaced too."""
    first = [{"id": 1, "v": "a", "kids": [{"k": 1}, {"k": 2}]},
             {"id": 2, "v": "b", "kids": [{"k": 3}]}]
    second = [{"id": 2, "v": "b2", "kids": [{"k": 4}]},
              {"id": 3, "v": "c", "kids": []}]
    runs = [{"write_disposition": "merge", "primary_key": "id",
             "items": batch} for batch in (first, second)]
    ours = compare(tmp_path, "merged", runs,
                   [{"write_disposition": "merge", "primary_key": "id",
                     "items": batch} for batch in (first, second)])
    assert query(ours, "SELECT id, v FROM merged.items ORDER BY id") == \
        [(1, "a"), (2, "b2"), (3, "c")]
    assert query(ours, "SELECT k FROM merged.items__kids ORDER BY k") == \
        [(1,), (2,), (4,)]
    assert query(ours, "SELECT count(*) FROM merged._dlt_loads")[0][0] == 2


def test_replace_leaves_only_the_new_rows(tmp_path):
    first = [{"id": i, "tags": ["x", "y"]} for i in range(5)]
    second = [{"id": 10, "tags": ["z"]}]
    runs = [{"write_disposition": "replace", "items": b}
            for b in (first, second)]
    ours = compare(tmp_path, "replaced", runs,
                   [{"write_disposition": "replace", "items": b}
                    for b in (first, second)])
    assert query(ours, "SELECT id FROM replaced.items") == [(10,)]
    assert query(ours, "SELECT value FROM replaced.items__tags") == [("z",)]


def test_a_new_field_adds_a_column(tmp_path):
    first = [{"id": 1, "name": "a"}]
    second = [{"id": 2, "name": "b", "added": 2.5, "more": {"x": True}}]
    ours = compare(tmp_path, "evolving",
                   [{"items": b} for b in (first, second)],
                   [{"items": b} for b in (first, second)])
    cols = [c for c, _, _ in lc.tables(ours, "evolving")["items"]]
    assert cols[-2:] == ["added", "more__x"]
    assert query(ours, "SELECT id, added FROM evolving.items ORDER BY id") \
        == [(1, None), (2, 2.5)]


def test_a_run_killed_between_normalize_and_load_is_finished_once(
        tmp_path):
    """The flow dies after normalize: nothing is loaded, the package
    waits on disk; the next run loads it and its own, each once; a
    package whose load committed but was not marked loaded (the process
    died in between) is recognised in _dlt_loads and not loaded again."""
    first = [{"id": 1, "kids": [{"k": 1}]}, {"id": 2}]
    second = [{"id": 3, "kids": [{"k": 2}]}]
    base = {"pipeline": "killed", "dataset": "killed", "resource": "Items",
            "max_table_nesting": 1000}
    died = lc.run_pfagent(tmp_path, {**base, "items": first,
                                     "stop_after": "normalize"}, check=False)
    assert died.returncode != 0
    pending = list((tmp_path / "pf-data" / "pipelines" / "killed" / "load" /
                    "normalized").iterdir())
    assert len(pending) == 1
    ours = lc.pfagent_db(tmp_path)
    assert not ours.exists() or not query(
        ours, "SELECT * FROM information_schema.tables WHERE "
        "table_schema = 'killed' AND table_name = 'items'")

    lc.run_pfagent(tmp_path, {**base, "items": second})
    theirs = lc.run_dlt(tmp_path, "killed", "killed", "Items", 1000,
                        [{"items": first}, {"items": second}])
    assert lc.tables(ours, "killed") == lc.tables(theirs, "killed")
    assert lc.data_rows(ours, "killed") == lc.data_rows(theirs, "killed")
    loads = query(ours, "SELECT load_id FROM killed._dlt_loads "
                  "ORDER BY load_id")
    assert [lid for (lid,) in loads][0] == pending[0].name
    assert len(loads) == 2

    # Died after the commit, before the package was moved to loaded/.
    loaded = tmp_path / "pf-data" / "pipelines" / "killed" / "load"
    back = loaded / "normalized" / pending[0].name
    (loaded / "loaded" / pending[0].name).rename(back)
    again = lc.run_pfagent(tmp_path, {**base, "items": []})
    assert "already in killed._dlt_loads" in again.stderr
    assert not back.exists()
    assert lc.data_rows(ours, "killed") == lc.data_rows(theirs, "killed")
    assert len(query(ours, "SELECT * FROM killed._dlt_loads")) == 2


def test_state_and_cursor_come_back_from_the_destination(tmp_path):
    """The incremental cursor is kept in dlt's pipeline state and stored
    with the load; a run on a machine without the working directory
    (an ECS task, say) reads state and schema back from the destination,
    as dlt's restore_from_destination."""
    base = {"pipeline": "cursor", "dataset": "cursor", "resource": "Items",
            "max_table_nesting": 1000, "cursor": "updated"}
    first = lc.run_pfagent(tmp_path, {**base, "items": [
        {"id": 1, "updated": 10}, {"id": 2, "updated": 30},
        {"id": 3, "updated": 20}]})
    assert "cursor updated starts at null" in first.stderr
    again = lc.run_pfagent(tmp_path, {**base, "items": []})
    assert "cursor updated starts at 30" in again.stderr

    import shutil
    shutil.rmtree(tmp_path / "pf-data")
    fresh = lc.run_pfagent(tmp_path, {**base, "items": [
        {"id": 4, "updated": 40, "new": "x"}]})
    assert "Restored the state of pipeline cursor" in fresh.stderr
    assert "cursor updated starts at 30" in fresh.stderr
    ours = lc.pfagent_db(tmp_path)
    assert query(ours, "SELECT count(*) FROM cursor.items")[0][0] == 4
    states = lc.system_rows(ours, "cursor")["states"]
    assert len(states) == 2


def test_errors_name_what_and_where(tmp_path, monkeypatch):
    """A destination type pfagent cannot load and a missing DuckDB
    library end the run Failed, saying what and where; nothing is
    loaded."""
    base = {"pipeline": "errs", "dataset": "errs", "resource": "Items",
            "items": [{"id": 1}]}
    # A dlt destination pfagent does not load (Snowflake it now does).
    monkeypatch.setenv("DESTINATION__WAREHOUSE__DESTINATION_TYPE",
                       "bigquery")
    p = lc.run_pfagent(tmp_path, base, check=False)
    monkeypatch.delenv("DESTINATION__WAREHOUSE__DESTINATION_TYPE")
    assert p.returncode == 1
    assert "Destination 'warehouse' (type 'bigquery') is not one pfagent " \
           "can load: configure destination.warehouse.destination_type as " \
           "duckdb, postgres or snowflake" in p.stderr

    monkeypatch.setenv("PFAGENT_LIBDUCKDB", str(tmp_path / "nope.so"))
    p = lc.run_pfagent(tmp_path, base, check=False)
    assert p.returncode == 1
    assert "cannot load DuckDB from PFAGENT_LIBDUCKDB=" in p.stderr
    assert "nope.so" in p.stderr
    assert not lc.pfagent_db(tmp_path).exists()


def test_bad_typed_settings_fail_naming_key_and_provider(tmp_path,
                                                         monkeypatch):
    """normalize.max_table_nesting that is not a whole number >= 0 ends
    the run Failed naming the field, the key and the provider, and loads
    nothing; a configuration lookup that failed in extract (a flow that
    did not check) seals no load package, so the next good run loads its
    items once."""
    base = {"pipeline": "typed", "dataset": "typed", "resource": "Items",
            "items": [{"id": 1}]}
    monkeypatch.setenv("NORMALIZE__MAX_TABLE_NESTING", "abc")
    p = lc.run_pfagent(tmp_path, base, check=False)
    assert p.returncode == 1
    assert "Configured value for field `max_table_nesting` cannot be " \
           "coerced into type `<class 'int'>` (provider: Environment " \
           "Variables, key: NORMALIZE__MAX_TABLE_NESTING)" in p.stderr
    monkeypatch.setenv("NORMALIZE__MAX_TABLE_NESTING", "-2")
    p = lc.run_pfagent(tmp_path, base, check=False)
    assert p.returncode == 1
    assert "Configured value for field `max_table_nesting` must be a " \
           "whole number from 0 to 2147483647 (provider: Environment " \
           "Variables, key: NORMALIZE__MAX_TABLE_NESTING)" in p.stderr
    monkeypatch.delenv("NORMALIZE__MAX_TABLE_NESTING")
    assert query(lc.pfagent_db(tmp_path), "SELECT count(*) FROM "
                 "information_schema.tables WHERE table_schema = "
                 "'typed'")[0][0] == 0

    monkeypatch.setenv("SOURCES__TYPED__LIMIT", "many")
    p = lc.run_pfagent(tmp_path, {**base, "read_int": "sources.typed.limit"},
                       check=False)
    assert p.returncode == 1
    assert "Configured value for field `limit` cannot be coerced into " \
           "type `<class 'int'>` (provider: Environment Variables, key: " \
           "SOURCES__TYPED__LIMIT)" in p.stderr
    extracted = tmp_path / "pf-data" / "pipelines" / "typed" / "normalize" \
        / "extracted"
    assert not extracted.exists() or list(extracted.iterdir()) == []
    monkeypatch.delenv("SOURCES__TYPED__LIMIT")
    lc.run_pfagent(tmp_path, base)
    assert query(lc.pfagent_db(tmp_path),
                 "SELECT count(*) FROM typed.items")[0][0] == 1
    assert query(lc.pfagent_db(tmp_path),
                 "SELECT count(*) FROM typed._dlt_loads")[0][0] == 1


def run_file(tmp, lines, check=True):
    """One run of tests/flows/load_file.c over the JSON lines given (bytes
    or text, written as they are) into pipeline and dataset `poison`."""
    path = tmp / "items.jsonl"
    path.write_bytes(b"".join((ln if isinstance(ln, bytes) else
                               ln.encode()) + b"\n" for ln in lines))
    p = subprocess.run(
        [str(PFAGENT), "run", "tests/flows/load_file.c:load_file",
         "--param", f"path={path}", "--param", "pipeline=poison",
         "--param", "dataset=poison", "--param", "resource=Items"],
        cwd=REPO_ROOT, env=lc.pfagent_env(tmp), capture_output=True,
        text=True, timeout=300)
    if check:
        assert p.returncode == 0, p.stderr
    return p


def pending(tmp):
    """Packages of pipeline `poison` not loaded yet (any stage)."""
    work = tmp / "pf-data" / "pipelines" / "poison"
    return [d.name for stage in ("normalize/extracted", "load/new",
                                 "load/normalized")
            if (work / stage).exists() for d in (work / stage).iterdir()]


@pytest.mark.parametrize("bad, why, at", [
    ('{"id": 2, "deep": {"n": [1, 18446744073709551616]}}',
     "Integer exceeds 64-bit range", 28),
    ('{"id": 2, "n": -9223372036854775809}',
     "Integer exceeds 64-bit range", 15),
    ('{"id": 2, "s": "x\\ud800y"}',
     "str is not valid UTF-8: surrogates not allowed", 17),
    ('{"id": 2, "\\udfff": 1}',
     "str is not valid UTF-8: surrogates not allowed", 11),
    (b'{"id": 2, "s": "\xed\xa0\x80"}',
     "str is not valid UTF-8: surrogates not allowed", 16),
    (b'{"id": 2, "s": "caf\xe9"}',
     "str is not valid UTF-8: invalid byte sequence", 19),
])
def test_what_dlt_refuses_at_extract_is_refused_there(tmp_path, bad, why,
                                                      at):
    """An integer beyond 64 bits or text that is no UTF-8 (a lone
    surrogate) is refused at extract, in dlt's (orjson's) words and
    where: the run fails, no package is left to fail every later run,
    and the next run loads its items."""
    p = run_file(tmp_path, ['{"id": 1}', bad, '{"id": 3}'], check=False)
    assert p.returncode == 1
    assert "Pipeline execution failed at `step=extract` when processing " \
           "package with `load_id=" in p.stderr
    assert f"<class 'TypeError'>\n{why} (resource `Items`, item 2, at " \
           f"byte {at} of it)" in p.stderr
    assert pending(tmp_path) == []
    db = lc.pfagent_db(tmp_path)
    assert not db.exists() or query(
        db, "SELECT count(*) FROM information_schema.tables WHERE "
        "table_schema = 'poison'")[0][0] == 0

    run_file(tmp_path, ['{"id": 1}', 'null', '{"id": 3}'])
    assert pending(tmp_path) == []
    # dlt skips a null item: no row of nulls.
    assert query(db, "SELECT id FROM poison.items ORDER BY id") == \
        [(1,), (3,)]


def versions(db, dataset):
    """_dlt_version as (version, version_hash, previous_hashes), oldest
    first."""
    import json
    with lc.connect(db) as c:
        return [(v, h, json.loads(s)["previous_hashes"]) for v, h, s in
                c.execute(f'SELECT version, version_hash, schema FROM '
                          f'"{dataset}"._dlt_version ORDER BY inserted_at'
                          ).fetchall()]


def dlt_into(tmp, db, batches, name="cont"):
    """dlt's pipeline `name` over batches into the DuckDB file db, from a
    working directory of its own (a first run there restores the state
    and schema from the destination, as dlt does)."""
    work = tmp / f"dlt-{len(list(tmp.glob('dlt-*')))}"
    db.parent.mkdir(parents=True, exist_ok=True)
    cfg = {"pipeline": name, "dataset": name, "resource": "Items",
           "max_table_nesting": 1000, "postgres": None, "db": str(db),
           "pipelines_dir": str(work / "pipelines"),
           "batches": [{"items": b} for b in batches]}
    p = lc.dlt_process(lc.DLT_SCRIPT, cfg, work)
    assert p.returncode == 0, p.stderr


FIRST = NESTED[:2]
SECOND = [NESTED[2], {"id": 9, "newcol": 1, "orders": [{"sku": "E-5"}]}]


def test_a_pipeline_goes_on_from_dlt_to_pfagent_and_back(tmp_path):
    """The same nested data loaded by dlt and continued by pfagent (its
    state and schema read back from the destination), and the other way
    round, ends as dlt alone ends: the same tables, rows and _dlt_version
    rows (version, version_hash and previous_hashes): dlt cannot tell
    pfagent's schema from its own."""
    oracle = tmp_path / "oracle.duckdb"
    dlt_into(tmp_path, oracle, [FIRST, SECOND])
    expected = versions(oracle, "cont")
    assert [v for v, _, _ in expected] == [2, 4]

    base = {"pipeline": "cont", "dataset": "cont", "resource": "Items",
            "max_table_nesting": 1000}
    ours = lc.pfagent_db(tmp_path)
    dlt_into(tmp_path, ours, [FIRST])
    p = lc.run_pfagent(tmp_path, {**base, "items": SECOND})
    assert "Restored the state of pipeline cont" in p.stderr
    assert versions(ours, "cont") == expected
    assert lc.tables(ours, "cont") == lc.tables(oracle, "cont")
    assert lc.data_rows(ours, "cont") == lc.data_rows(oracle, "cont")

    back = tmp_path / "back"
    back.mkdir()
    lc.run_pfagent(back, {**base, "items": FIRST})
    dlt_into(back, lc.pfagent_db(back), [SECOND])
    assert versions(lc.pfagent_db(back), "cont") == expected
    assert lc.tables(lc.pfagent_db(back), "cont") == lc.tables(oracle,
                                                               "cont")
    assert lc.data_rows(lc.pfagent_db(back), "cont") == \
        lc.data_rows(oracle, "cont")
