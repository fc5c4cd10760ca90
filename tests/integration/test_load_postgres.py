"""The loading runtime into a real PostgreSQL (tests/peers/postgres.py)
against dlt itself: the same items go through the test flow
tests/flows/load_fixture.c (pfagent's runtime, warehouse = postgres) and
through dlt's own Python pipeline with its postgres destination, each
into a fresh database of the same server; tables, column names, types
and nullability from information_schema, unique constraints, rows (ids
excepted) and system tables must agree (load_compare.py reads both)."""

import re
import secrets

import pytest

import load_compare as lc
from test_load import NESTED


@pytest.fixture
def pg_pair(postgres_server, request):
    """Two fresh databases owned by the test role: (ours, dlt's) URLs."""
    base = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:30]
    urls = []
    for side in ("ours", "dlt"):
        db = f"{side}_{base}_{secrets.token_hex(3)}"
        postgres_server.psql(
            f'create database "{db}" owner {postgres_server.user}')
        urls.append(postgres_server.url.rsplit("/", 1)[0] + "/" + db)
    return urls


def warehouse_env(url):
    return {"DESTINATION__WAREHOUSE__DESTINATION_TYPE": "postgres",
            "DESTINATION__WAREHOUSE__CREDENTIALS": url}


def unique_columns(url, dataset):
    with lc.connect(url) as c:
        return sorted(c.execute(
            "SELECT tc.table_name, k.column_name FROM "
            "information_schema.table_constraints tc JOIN "
            "information_schema.key_column_usage k ON "
            "k.constraint_name = tc.constraint_name AND "
            "k.table_schema = tc.table_schema WHERE tc.table_schema = ? "
            "AND tc.constraint_type = 'UNIQUE'", [dataset]).fetchall())


def query(url, sql):
    with lc.connect(url) as c:
        return c.execute(sql).fetchall()


def compare(tmp, pg_pair, password, dataset, pf_runs, dlt_batches,
            resource="Items", nesting=1000):
    """Runs the flow once per params of pf_runs and dlt over
    dlt_batches, then asserts both databases agree; returns ours."""
    ours, theirs = pg_pair
    for params in pf_runs:
        p = lc.run_pfagent(tmp, {"pipeline": dataset, "dataset": dataset,
                                 "resource": resource,
                                 "max_table_nesting": nesting or -1,
                                 **params}, env=warehouse_env(ours))
        assert password not in p.stdout + p.stderr
    lc.run_dlt(tmp, dataset, dataset, resource, nesting, dlt_batches,
               postgres=theirs)
    assert lc.tables(ours, dataset) == lc.tables(theirs, dataset)
    assert unique_columns(ours, dataset) == unique_columns(theirs, dataset)
    assert lc.data_rows(ours, dataset) == lc.data_rows(theirs, dataset)
    assert lc.system_rows(ours, dataset) == lc.system_rows(theirs, dataset)
    return ours


@pytest.mark.parametrize("nesting", [0, 1, 2])
def test_nested_fixture_matches_dlt_on_postgres(tmp_path, pg_pair,
                                                postgres_server, nesting):
    """dlt's postgres types (varchar, bigint, double precision, boolean,
    timestamp with time zone, jsonb, ...), flattening, child tables,
    variants and UNIQUE on _dlt_id, at max_table_nesting 0, 1 and 2."""
    ours = compare(tmp_path, pg_pair, postgres_server.password, "nested",
                   [{"items": NESTED}], [{"items": NESTED}],
                   nesting=nesting)
    types = dict(((t, c), ty) for t, cols in
                 lc.tables(ours, "nested").items() for c, ty, _ in cols)
    assert types[("items", "id")] == "bigint"
    assert types[("items", "price")] == "double precision"
    assert types[("_dlt_loads", "inserted_at")] == \
        "timestamp with time zone"
    if nesting == 0:
        assert types[("items", "orders")] == "jsonb"
    else:
        assert "items__orders" in lc.tables(ours, "nested")


def test_merge_twice_gives_no_duplicates_on_postgres(tmp_path, pg_pair,
                                                     postgres_server):
    first = [{"id": 1, "v": "a", "kids": [{"k": 1}, {"k": 2}]},
             {"id": 2, "v": "b", "kids": [{"k": 3}]}]
    second = [{"id": 2, "v": "b2", "kids": [{"k": 4}]},
              {"id": 3, "v": "c", "kids": []}]
    batches = [{"write_disposition": "merge", "primary_key": "id",
                "items": b} for b in (first, second)]
    ours = compare(tmp_path, pg_pair, postgres_server.password, "merged",
                   batches, batches)
    assert query(ours, "SELECT id, v FROM merged.items ORDER BY id") == \
        [(1, "a"), (2, "b2"), (3, "c")]
    assert query(ours, "SELECT k FROM merged.items__kids ORDER BY k") == \
        [(1,), (2,), (4,)]
    assert query(ours, "SELECT count(*) FROM merged._dlt_loads")[0][0] == 2


def test_replace_leaves_only_the_new_rows_on_postgres(tmp_path, pg_pair,
                                                      postgres_server):
    first = [{"id": i, "tags": ["x", "y"]} for i in range(5)]
    second = [{"id": 10, "tags": ["z"]}]
    batches = [{"write_disposition": "replace", "items": b}
               for b in (first, second)]
    ours = compare(tmp_path, pg_pair, postgres_server.password, "replaced",
                   batches, batches)
    assert query(ours, "SELECT id FROM replaced.items") == [(10,)]
    assert query(ours, "SELECT value FROM replaced.items__tags") == [("z",)]


def test_a_new_field_adds_a_column_on_postgres(tmp_path, pg_pair,
                                               postgres_server):
    first = [{"id": 1, "name": "a"}]
    second = [{"id": 2, "name": "b", "added": 2.5, "more": {"x": True},
               "text": "tab\there, newline\nand \\backslash"}]
    ours = compare(tmp_path, pg_pair, postgres_server.password, "evolving",
                   [{"items": b} for b in (first, second)],
                   [{"items": b} for b in (first, second)])
    cols = [c for c, _, _ in lc.tables(ours, "evolving")["items"]]
    assert cols[-3:] == ["added", "text", "more__x"]  # dlt's order too
    assert query(ours, "SELECT id, added, text FROM evolving.items "
                 "ORDER BY id") == \
        [(1, None, None), (2, 2.5, "tab\there, newline\nand \\backslash")]


def test_wrong_password_fails_the_run_without_showing_it(tmp_path, pg_pair,
                                                          postgres_server):
    """A refused login fails the load with libpq's reason and where the
    server is, the password masked; nothing is loaded."""
    ours, _ = pg_pair
    wrong = "pw-wrong-" + secrets.token_hex(8)
    url = ours.replace(postgres_server.password, wrong)
    p = lc.run_pfagent(tmp_path, {"pipeline": "refused", "dataset":
                                  "refused", "resource": "Items",
                                  "max_table_nesting": 1000,
                                  "items": [{"id": 1}]},
                       check=False, env=warehouse_env(url))
    out = p.stdout + p.stderr
    assert p.returncode != 0
    assert 'password authentication failed for user "loader"' in out
    assert "postgresql://loader:***@127.0.0.1:" in out
    assert wrong not in out and postgres_server.password not in out
    assert query(ours, "SELECT count(*) FROM information_schema.schemata "
                 "WHERE schema_name = 'refused'") == [(0,)]
