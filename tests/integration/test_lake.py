"""The filesystem destination (load/filesystem.c, aws/s3.c) against
moto's S3 with signature checking on: the same items loaded by dlt 1.31's
own filesystem destination (s3fs, to another prefix of the same bucket)
and by pfagent's test flow give the same object keys (modulo load and
file ids), the same decompressed rows (modulo ids and load times) and
the same _dlt_* files; `pfagent pipeline NAME sync` restores the state
from the bucket; replace leaves only the new files; a re-run of a
package whose load died before its _dlt_loads file lands the same keys
again; 503s from a proxy are retried; a wrong secret fails with S3's
error code and the secret nowhere; a 200 MB file goes up as multipart;
exchange_rates deployed in the prod profile takes the lake's S3 keys,
Snowpipe's key-pair user and the App ID from moto's Secrets Manager
(read with the ECS task role's keys), none of them seen anywhere."""

import gzip
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import load_compare as lc
from peers.fault_proxy import FaultProxy
from peers.moto import REGION, MotoServer
from peers.prefect import PFAGENT, REPO_ROOT, SANITIZER_RE, _started

BUCKET = "lake"
DLT_S3 = REPO_ROOT / ".venv" / "dlt-s3"
S3_CLIENT = PFAGENT.parent / "tests" / "integration" / "s3_client"
IDS = re.compile(r"\d{10}\.\d+")

DLT_SCRIPT = r"""
import json, sys
import dlt
cfg = json.loads(sys.argv[1])
dest = dlt.destinations.filesystem(cfg["bucket_url"],
                                   credentials=cfg["credentials"])
for batch in cfg["batches"]:
    res = dlt.resource(batch["items"], name=cfg["resource"],
                       write_disposition=batch.get("write_disposition",
                                                   "append"),
                       primary_key=batch.get("primary_key") or None,
                       max_table_nesting=cfg["max_table_nesting"])
    p = dlt.pipeline(pipeline_name=cfg["pipeline"], destination=dest,
                     dataset_name=cfg["dataset"],
                     pipelines_dir=cfg["pipelines_dir"])
    p.run(res)
"""

ITEMS = [
    {"id": 1, "currency": "EUR", "rate": 0.92, "at": "2026-01-01T00:00:00Z",
     "meta": {"source": "oxr"}, "tags": ["a", "b"]},
    {"id": 2, "currency": "GBP", "rate": 0.79, "at": "2026-01-01T00:00:00Z",
     "meta": {"source": "oxr"}, "tags": []},
]


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    m = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log").start()
    # Ours for the module: the sweep of orphans after a worker's test
    # spares it.
    _started.add(m.proc.pid)
    try:
        m.keys = m.create_user("lake", ["s3:*", "sqs:*"])
        # Secrets Manager as test_snowflake.py has it: the ECS task role
        # may only read secrets, an admin writes them.
        m.admin = m.create_user("admin", ["secretsmanager:*"])
        m.task = m.create_user("pfagent-task",
                               ["secretsmanager:GetSecretValue"])
        m.client("s3").create_bucket(Bucket=BUCKET)
        m.enable_auth()
        yield m
    finally:
        _started.discard(m.proc.pid)
        m.stop()


@pytest.fixture(scope="module")
def ecs(moto):
    from peers.ecs_credentials import EcsCredentialsServer
    srv = EcsCredentialsServer(*moto.task).start()
    yield srv
    srv.stop()


def s3(moto):
    return moto.client("s3", *moto.keys)


def objects(moto, prefix):
    """{key below prefix: bytes} of every object under prefix/."""
    c, out = s3(moto), {}
    for page in c.get_paginator("list_objects_v2").paginate(
            Bucket=BUCKET, Prefix=prefix + "/"):
        for o in page.get("Contents", []):
            body = c.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read()
            out[o["Key"][len(prefix) + 1:]] = body
    return out


def pf_env(moto, prefix, secret=None, endpoint=None):
    ak, sk = moto.keys
    w = "DESTINATION__WAREHOUSE__"
    return {w + "DESTINATION_TYPE": "filesystem",
            w + "BUCKET_URL": f"s3://{BUCKET}/{prefix}",
            w + "CREDENTIALS__AWS_ACCESS_KEY_ID": ak,
            w + "CREDENTIALS__AWS_SECRET_ACCESS_KEY": secret or sk,
            w + "CREDENTIALS__ENDPOINT_URL": endpoint or moto.url,
            w + "CREDENTIALS__REGION_NAME": REGION}


def run_pf(tmp, moto, prefix, items, check=True, **kw):
    params = {"pipeline": "rates", "dataset": "rates_data",
              "resource": "rates", "max_table_nesting": 1000,
              "items": items, **{k: v for k, v in kw.items()
                                 if k in ("write_disposition",
                                          "stop_after")}}
    p = lc.run_pfagent(tmp, params, check=check,
                       env=pf_env(moto, prefix, kw.get("secret"),
                                  kw.get("endpoint")))
    assert not SANITIZER_RE.search(p.stderr), p.stderr
    return p


def run_dlt(tmp, moto, prefix, batches):
    ak, sk = moto.keys
    work = tmp / "dlt"
    work.mkdir(exist_ok=True)
    cfg = {"pipeline": "rates", "dataset": "rates_data",
           "resource": "rates", "max_table_nesting": 1000,
           "batches": batches, "bucket_url": f"s3://{BUCKET}/{prefix}",
           "credentials": {"aws_access_key_id": ak,
                           "aws_secret_access_key": sk,
                           "endpoint_url": moto.url,
                           "region_name": REGION},
           "pipelines_dir": str(work / "pipelines")}
    env = {k: v for k, v in os.environ.items() if not k.startswith(
        ("PREFECT_", "DESTINATION__", "DLT_", "WORKSPACE__", "SOURCES__",
         "AWS_"))}
    env.update({"RUNTIME__LOG_LEVEL": "WARNING",
                "PYTHONPATH": str(DLT_S3)})
    p = subprocess.run([sys.executable, "-c", DLT_SCRIPT, json.dumps(cfg)],
                       cwd=work, env=env, capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr


def shape(keys):
    """Keys with load ids, file ids and schema hashes (each side's
    schema has its own) replaced: what must agree."""
    out = []
    for k in keys:
        k = IDS.sub("<id>", k)
        k = re.sub(r"__[0-9a-f]{64}\.jsonl$", "__<hash>.jsonl", k)
        k = re.sub(r"\.[0-9a-f]{10}\.jsonl", ".<file>.jsonl", k)
        out.append(k)
    return sorted(out)


def rows(objs, table):
    """The decompressed rows of a table, ids and load ids dropped."""
    out = []
    for k, body in objs.items():
        if k.startswith(f"rates_data/{table}/"):
            text = gzip.decompress(body).decode()
            for line in text.splitlines():
                r = json.loads(line)
                for c in ("_dlt_id", "_dlt_load_id", "_dlt_parent_id"):
                    r.pop(c, None)
                out.append(json.dumps(r, sort_keys=True))
    return sorted(out)


def test_the_lake_is_dlts(tmp_path, moto):
    """Same keys modulo ids, same rows, same _dlt_* files and fields."""
    run_dlt(tmp_path, moto, "dlt", [{"items": ITEMS}])
    run_pf(tmp_path, moto, "pf", ITEMS)
    theirs, ours = objects(moto, "dlt"), objects(moto, "pf")
    assert shape(ours) == shape(theirs)
    assert ours["rates_data/init"] == theirs["rates_data/init"]
    for t in ("rates", "rates__tags"):
        assert rows(ours, t) and rows(ours, t) == rows(theirs, t)
    for table in ("_dlt_loads", "_dlt_pipeline_state", "_dlt_version"):
        mine = [json.loads(v) for k, v in ours.items()
                if k.startswith(f"rates_data/{table}/")]
        dlts = [json.loads(v) for k, v in theirs.items()
                if k.startswith(f"rates_data/{table}/")]
        assert len(mine) == len(dlts) == 1, table
        assert list(mine[0]) == list(dlts[0]), table
    load = [json.loads(v) for k, v in ours.items()
            if k.startswith("rates_data/_dlt_loads/")][0]
    assert load["status"] == 0 and load["schema_name"] == "rates"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00",
                        load["inserted_at"])


def pf_sync(tmp, moto, prefix, data_dir):
    """`pfagent pipeline rates sync` on the lake: its restored working
    dir under tmp/data_dir."""
    env = {**lc.pfagent_env(tmp), **pf_env(moto, prefix),
           "DLT_DATA_DIR": str(tmp / data_dir)}
    cwd = tmp / f"{data_dir}-cwd"
    cwd.mkdir()
    p = subprocess.run([str(PFAGENT), "pipeline", "rates", "sync", "-y",
                        "--destination", "warehouse", "--dataset-name",
                        "rates_data"], cwd=cwd, env=env,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    return tmp / data_dir / "pipelines" / "rates"


def assert_restored(work):
    """The working dir holds the lake's state and schema."""
    state = json.loads((work / "state.json").read_text())
    assert state["pipeline_name"] == "rates"
    assert state["dataset_name"] == "rates_data"
    assert "rates__tags" in json.loads(
        (work / "schemas" / "rates.schema.json").read_text())["tables"]


def test_sync_restores_the_state_from_the_bucket(tmp_path, moto):
    run_pf(tmp_path, moto, "sync", ITEMS)
    assert_restored(pf_sync(tmp_path, moto, "sync", "restored"))


def dlt_sync(tmp, moto, prefix):
    """`dlt pipeline rates sync` (dlt's own CLI) on the lake: its
    restored working dir."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(
        ("PREFECT_", "DESTINATION__", "DLT_", "WORKSPACE__", "AWS_"))}
    env.update({**pf_env(moto, prefix), "PYTHONPATH": str(DLT_S3),
                "DLT_DATA_DIR": str(tmp / "dlt-sync"),
                "RUNTIME__DLTHUB_TELEMETRY": "false"})
    cwd = tmp / "dlt-cwd"
    cwd.mkdir(exist_ok=True)
    p = subprocess.run([str(Path(sys.executable).parent / "dlt"), "-y",
                        "pipeline", "rates", "sync", "--destination",
                        "warehouse", "--dataset-name", "rates_data"],
                       cwd=cwd, env=env, capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    return tmp / "dlt-sync" / "pipelines" / "rates"


def test_each_side_restores_the_others_lake(tmp_path, moto):
    """dlt's sync reads the state pfagent stored in its lake, and
    pfagent's sync the state dlt stored in its own."""
    run_pf(tmp_path, moto, "pf-made", ITEMS)
    assert_restored(dlt_sync(tmp_path, moto, "pf-made"))

    run_dlt(tmp_path, moto, "dlt-made", [{"items": ITEMS}])
    assert_restored(pf_sync(tmp_path, moto, "dlt-made", "pf-sync"))


def test_replace_leaves_only_the_new_files(tmp_path, moto):
    run_pf(tmp_path, moto, "repl", ITEMS, write_disposition="replace")
    first = objects(moto, "repl")
    run_pf(tmp_path, moto, "repl", ITEMS[:1], write_disposition="replace")
    second = objects(moto, "repl")
    data = [k for k in second if k.startswith("rates_data/rates/")]
    assert len(data) == 1 and data[0] not in first
    assert rows(second, "rates") == rows({data[0]: second[data[0]]},
                                         "rates")
    assert len([k for k in second if "/_dlt_loads/" in k]) == 2


def test_a_package_loaded_again_lands_the_same_keys(tmp_path, moto):
    """A load that died before its _dlt_loads file: the retry writes the
    same keys again (ids come from the package), nothing twice."""
    run_pf(tmp_path, moto, "again", ITEMS)
    before = objects(moto, "again")
    c = s3(moto)
    marker = [k for k in before if "/_dlt_loads/" in k][0]
    c.delete_object(Bucket=BUCKET, Key="again/" + marker)
    loaded = tmp_path / "pf-data" / "pipelines" / "rates" / "load"
    pkg = next((loaded / "loaded").iterdir())
    (pkg / "package_completed.json").unlink()
    (loaded / "normalized").mkdir(exist_ok=True)
    pkg.rename(loaded / "normalized" / pkg.name)
    run_pf(tmp_path, moto, "again", [])
    after = objects(moto, "again")
    assert sorted(k for k in after if "/_dlt_version/" not in k) == \
        sorted(k for k in before if "/_dlt_version/" not in k)


def test_a_run_killed_midway_leaves_no_partial_object(tmp_path, moto):
    """pfagent killed while an upload is in flight (held by a proxy in
    front of moto): no object of it, no _dlt_loads file; the next run
    finishes the package with the same keys, nothing twice."""
    import signal
    from peers.hold_proxy import HoldProxy
    proxy = HoldProxy(moto.port)
    gate = proxy.hold(lambda m, path, body: m == "PUT" and
                      "/rates__tags/" in path)
    params = {"pipeline": "rates", "dataset": "rates_data",
              "resource": "rates", "max_table_nesting": 1000,
              "items": ITEMS}
    try:
        p = subprocess.Popen(
            [str(PFAGENT), "run", "tests/flows/load_fixture.c:load_fixture",
             "--params", json.dumps(params)], cwd=REPO_ROOT,
            env={**lc.pfagent_env(tmp_path),
                 **pf_env(moto, "killed",
                          endpoint=f"http://127.0.0.1:{proxy.port}")},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        gate.wait_held(120)
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(60)
        mid = objects(moto, "killed")
        assert not [k for k in mid if "/rates__tags/" in k]
        assert not [k for k in mid if "/_dlt_loads/" in k]
        for k, body in mid.items():     # what is there is whole
            if k.endswith(".gz"):
                gzip.decompress(body)
    except BaseException:
        proxy.stop()
        raise
    run_pf(tmp_path, moto, "killed", [])
    proxy.stop()            # the held PUT may go on now: the same key
    after = objects(moto, "killed")
    for table in ("rates", "rates__tags", "_dlt_loads",
                  "_dlt_pipeline_state"):
        assert len([k for k in after
                    if k.startswith(f"rates_data/{table}/")]) == 1, table
    assert len(rows(after, "rates")) == len(ITEMS)


def test_503_is_retried(tmp_path, moto):
    proxy = FaultProxy(moto.port, mode="503", every=3, burst=2).start()
    try:
        run_pf(tmp_path, moto, "flaky", ITEMS,
               endpoint=f"http://127.0.0.1:{proxy.port}")
        assert proxy.failed
    finally:
        proxy.stop()
    assert rows(objects(moto, "flaky"), "rates")


def test_a_wrong_secret_fails_with_s3s_code(tmp_path, moto):
    secret = "wrongSECRETwrongSECRETwrongSECRET12345678"
    p = run_pf(tmp_path, moto, "denied", ITEMS, check=False, secret=secret)
    assert p.returncode != 0
    out = p.stdout + p.stderr
    assert "SignatureDoesNotMatch" in out
    assert secret not in out
    for f in (tmp_path / "pf-data").rglob("*"):
        if f.is_file():
            assert secret.encode() not in f.read_bytes(), f


def test_200mb_goes_up_as_multipart(tmp_path, moto):
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        for i in range(200):
            f.write(bytes([i % 251]) * (1 << 20))
    ak, sk = moto.keys
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ACCESS_KEY_ID": ak, "AWS_SECRET_ACCESS_KEY": sk,
                "AWS_REGION": REGION, "S3_ENDPOINT": moto.url})
    p = subprocess.run([str(S3_CLIENT), "put-file", str(big), BUCKET,
                        "big/one.bin"], env=env, capture_output=True,
                       text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    assert json.loads(p.stdout)["multipart"] == 1
    head = s3(moto).head_object(Bucket=BUCKET, Key="big/one.bin")
    assert head["ContentLength"] == 200 << 20
    assert head["ETag"].strip('"').endswith("-25")
    assert not s3(moto).list_multipart_uploads(Bucket=BUCKET).get(
        "Uploads")


# ------------------------------------------------------------- Snowpipe

ACCOUNT, LOADER = "TESTACCOUNT", "LOADER"


def key_pair():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = k.private_bytes(serialization.Encoding.PEM,
                              serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode()
    public = k.public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


@pytest.fixture(scope="module")
def fakesnow(tmp_path_factory):
    from peers.fakesnow import FakesnowServer
    fs = FakesnowServer(tmp_path_factory.mktemp("fakesnow") /
                        "fakesnow.log").start()
    yield fs
    fs.stop()


@pytest.fixture
def snowpipe(moto, fakesnow):
    from peers.snowpipe import SnowpipeStandIn
    private, public = key_pair()
    sp = SnowpipeStandIn(fakesnow, "DLT", s3(moto), BUCKET, ACCOUNT, LOADER,
                         public).start()
    sp.private_key = private
    yield sp
    sp.stop()


def snowpipe_env(sp, pipe="DLT.RATES_DATA.RATES_PIPE", key=None,
                 mode="rest"):
    w = "DESTINATION__WAREHOUSE__SNOWPIPE__"
    return {w + "PIPE": pipe, w + "MODE": mode, w + "TABLE": "rates",
            w + "ACCOUNT": ACCOUNT, w + "USER": LOADER,
            w + "PRIVATE_KEY": key or sp.private_key, w + "HOST": sp.url,
            w + "PROTOCOL": "http", w + "TIMEOUT": "120"}


def run_piped(tmp, moto, sp, prefix, items, check=True, **env):
    params = {"pipeline": "rates", "dataset": "rates_data",
              "resource": "rates", "max_table_nesting": 1000,
              "items": items}
    p = lc.run_pfagent(tmp, params, check=check, env={
        **pf_env(moto, prefix), **snowpipe_env(sp, **env)})
    assert not SANITIZER_RE.search(p.stderr), p.stderr
    return p


def ddl(tmp, moto, sp, prefix, mode="rest"):
    """`pfagent pipeline rates snowpipe ddl` after a run stopped (as if
    killed) after normalize: the schema is there, the package pending."""
    lc.run_pfagent(tmp, {"pipeline": "rates", "dataset": "rates_data",
                         "resource": "rates", "max_table_nesting": 1000,
                         "items": ITEMS, "stop_after": "normalize"},
                   check=False,
                   env={**pf_env(moto, prefix), **snowpipe_env(sp)})
    env = {**lc.pfagent_env(tmp), **pf_env(moto, prefix),
           **snowpipe_env(sp, mode=mode)}
    p = subprocess.run([str(PFAGENT), "pipeline", "rates", "snowpipe", "ddl",
                        "--destination", "warehouse", "--dataset-name",
                        "rates_data"], env=env, capture_output=True,
                       text=True, timeout=120, cwd=REPO_ROOT)
    assert p.returncode == 0, p.stderr
    assert not SANITIZER_RE.search(p.stderr), p.stderr
    return p.stdout


def test_snowpipe_rest_brings_the_rows_into_snowflake(tmp_path, moto,
                                                      snowpipe, fakesnow):
    text = ddl(tmp_path, moto, snowpipe, "piped")
    assert "CREATE PIPE IF NOT EXISTS DLT.RATES_DATA.RATES_PIPE " \
        "AUTO_INGEST = FALSE" in text
    assert "URL = 's3://lake/piped/rates_data/'" in text
    snowpipe.apply_ddl(text)
    p = run_piped(tmp_path, moto, snowpipe, "piped", ITEMS)
    assert "Task run 'snowpipe" in p.stderr
    lake = objects(moto, "piped")
    files = sorted(k[len("rates_data/"):] for k in lake
                   if k.startswith("rates_data/rates/"))
    assert len(files) == 2     # the stopped run's package, and this one's
    loaded = sorted(h["path"] for h in snowpipe.history
                    if h["status"] == "LOADED")
    assert loaded == files
    with fakesnow.connect("DLT", "RATES_DATA") as c:
        got = c.cursor().execute(
            'SELECT "CURRENCY", "RATE" FROM "RATES_DATA"."RATES" '
            "ORDER BY 1").fetchall()
    assert got == sorted([(i["currency"], i["rate"]) for i in ITEMS] * 2)
    # The artifact lists the files and the rows Snowflake ingested.
    art = p.stderr[p.stderr.index("Table artifact"):]
    assert '"snowpipe_status": "LOADED"' in art
    assert f'"file": "{files[0]}"' in art


def test_auto_ingest_notifications_feed_the_pipe(tmp_path, moto, snowpipe,
                                                 fakesnow):
    """auto_ingest: moto sends the bucket's ObjectCreated notifications
    to SQS, the stand-in's pipe loads each landed file into fakesnow, and
    pfagent's snowpipe task waits on the pipe's loadHistoryScan."""
    sqs = moto.client("sqs", *moto.keys)
    q = sqs.create_queue(QueueName="lake-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=[
        "QueueArn"])["Attributes"]["QueueArn"]
    s3(moto).put_bucket_notification_configuration(
        Bucket=BUCKET, NotificationConfiguration={"QueueConfigurations": [{
            "QueueArn": arn, "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [
                {"Name": "prefix", "Value": "auto/"}]}}}]})
    pipe = "DLT.AUTO_DATA.RATES_PIPE"
    text = ddl(tmp_path, moto, snowpipe, "auto", mode="auto_ingest")
    assert "AUTO_INGEST = TRUE" in text
    # Its own schema in the module's fakesnow (the rest test fills
    # RATES_DATA), on the same stage folder.
    snowpipe.apply_ddl(text.replace("RATES_DATA", "AUTO_DATA")
                       .replace("s3://lake/auto/auto_data/",
                                "s3://lake/auto/rates_data/"))
    snowpipe.consume(sqs, q)
    p = run_piped(tmp_path, moto, snowpipe, "auto", ITEMS, pipe=pipe,
                  mode="auto_ingest")
    assert "Task run 'snowpipe-0' - Finished in state Completed" in p.stderr
    files = sorted(k[len("rates_data/"):] for k in objects(moto, "auto")
                   if k.startswith("rates_data/rates/"))
    assert sorted(h["path"] for h in snowpipe.history
                  if h["status"] == "LOADED") == files
    with fakesnow.connect("DLT", "AUTO_DATA") as c:
        n = c.cursor().execute('SELECT COUNT(*) FROM "AUTO_DATA"."RATES"'
                               ).fetchone()[0]
    assert n == 2 * len(ITEMS)


def test_a_file_snowpipe_rejects_fails_the_run_naming_it(tmp_path, moto,
                                                         snowpipe, fakesnow):
    text = ddl(tmp_path, moto, snowpipe, "rejected")
    text = text.replace("RATES_DATA", "REJECTED_DATA").replace(
        "s3://lake/rejected/rejected_data/", "s3://lake/rejected/rates_data/")
    snowpipe.apply_ddl(text)
    # The table lost a column the pipe's COPY names: every file fails.
    with fakesnow.connect("DLT", "REJECTED_DATA") as c:
        c.cursor().execute('ALTER TABLE "REJECTED_DATA"."RATES" DROP COLUMN '
                           '"RATE"')
    p = run_piped(tmp_path, moto, snowpipe, "rejected", ITEMS, check=False,
                  pipe="DLT.REJECTED_DATA.RATES_PIPE")
    assert p.returncode != 0
    files = sorted(k[len("rates_data/"):] for k in objects(moto, "rejected")
                   if k.startswith("rates_data/rates/"))
    assert files
    assert "Snowpipe DLT.REJECTED_DATA.RATES_PIPE did not load: " in p.stderr
    for f in files:
        assert f"{f} (LOAD_FAILED: " in p.stderr


def test_a_key_snowpipe_refuses_fails_the_run(tmp_path, moto, snowpipe):
    text = ddl(tmp_path, moto, snowpipe, "refused")
    snowpipe.apply_ddl(text)
    other, _ = key_pair()
    p = run_piped(tmp_path, moto, snowpipe, "refused", ITEMS, check=False,
                  key=other)
    assert p.returncode != 0
    assert "Snowpipe insertFiles DLT.RATES_DATA.RATES_PIPE: HTTP 401 " \
        "390144: JWT token is invalid." in p.stderr
    assert snowpipe.rejected >= 1
    body = "".join(other.splitlines()[1:-1])
    assert body[:40] not in p.stderr and body[:40] not in p.stdout


# ------------------------------------------- exchange_rates in the lake

APP_ID = "9a8b7c6d5e4f30211f2e3d4c5b6a7980"


def run_rates(tmp, moto, sp, base_url, piped=True, prefix="prod"):
    """flows/exchange_rates.c as prod runs it: a lake on S3 (moto) with
    a Snowpipe in rest mode (the stand-in), named by the profile."""
    lake = {k.replace("__WAREHOUSE__", "__LAKE__"): v
            for k, v in pf_env(moto, prefix).items()}
    pipe = {k.replace("__WAREHOUSE__", "__LAKE__"): v for k, v in
            snowpipe_env(sp, pipe="DLT.OPEN_EXCHANGE_RATES.RATES_PIPE")
            .items()}
    pipe["DESTINATION__LAKE__SNOWPIPE__TABLE"] = "exchange_rates"
    env = {**lc.pfagent_env(tmp), **lake, **(pipe if piped else {}),
           "SOURCES__OPEN_EXCHANGE_RATES__BASE_URL": base_url,
           "SOURCES__OPEN_EXCHANGE_RATES__API_KEY": APP_ID}
    p = subprocess.run([str(PFAGENT), "run",
                        "flows/exchange_rates.c:exchange_rates"],
                       cwd=REPO_ROOT, env=env, capture_output=True,
                       text=True, timeout=300)
    assert not SANITIZER_RE.search(p.stderr), p.stderr
    assert p.returncode == 0, p.stderr
    return p, {**env, **pipe}


def test_exchange_rates_lands_in_the_lake_and_snowpipe_ingests(
        tmp_path, moto, snowpipe, fakesnow):
    import datetime
    from peers.oxr import OxrServer
    now = datetime.datetime.now(datetime.timezone.utc).replace(
        minute=0, second=0, microsecond=0)
    oxr = OxrServer(app_ids={APP_ID}, now=now).start()
    try:
        # A first hour into the lake alone; its schema makes the DDL.
        run_rates(tmp_path, moto, snowpipe, oxr.base_url, piped=False)
        first = objects(moto, "prod")
        data = [k for k in first
                if k.startswith("open_exchange_rates/exchange_rates/")]
        assert len(data) == 1 and data[0].endswith(".jsonl.gz")
        _, env = run_rates(tmp_path, moto, snowpipe, oxr.base_url)
        assert sorted(objects(moto, "prod")) != []
        again = [k for k in objects(moto, "prod")
                 if k.startswith("open_exchange_rates/exchange_rates/")]
        assert again == data    # the same timestamp lands nothing new
        p = subprocess.run([str(PFAGENT), "pipeline", "exchange_rates",
                            "snowpipe", "ddl"], env=env, cwd=REPO_ROOT,
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        snowpipe.apply_ddl(p.stdout)
        # The next hour: landed, handed to Snowpipe, in Snowflake.
        oxr.now += datetime.timedelta(hours=1)
        p, _ = run_rates(tmp_path, moto, snowpipe, oxr.base_url)
        tasks = re.findall(r"Task run '(\w+)-0' - Finished in state "
                           r"Completed", p.stderr)
        assert tasks == ["extract", "normalize", "load", "snowpipe"]
        new = [k for k in objects(moto, "prod")
               if k.startswith("open_exchange_rates/exchange_rates/")
               and k not in data]
        assert len(new) == 1
        assert [h["path"] for h in snowpipe.history
                if h["status"] == "LOADED"] == \
            [new[0][len("open_exchange_rates/"):]]
        rows = len(gzip.decompress(objects(moto, "prod")[new[0]])
                   .splitlines())
        with fakesnow.connect("DLT", "OPEN_EXCHANGE_RATES") as c:
            got = c.cursor().execute(
                'SELECT COUNT(*), COUNT(DISTINCT "CURRENCY") FROM '
                '"OPEN_EXCHANGE_RATES"."EXCHANGE_RATES"').fetchone()
        assert got == (rows, rows) and rows > 100
        art = p.stderr[p.stderr.index("Table artifact"):]
        assert f'"rows_ingested": {rows}' in art
    finally:
        oxr.stop()


def test_a_failed_part_aborts_the_multipart_upload(tmp_path, moto):
    """A part S3 refuses (a relay in front of moto answers part 3 with
    400): the upload is aborted, no object and no upload left."""
    import http.client
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Relay(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def _go(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else b""
            headers = []
            if self.command == "PUT" and "partNumber=3&" in self.path:
                page = (b"<Error><Code>InvalidArgument</Code><Message>"
                        b"refused by the test relay</Message></Error>")
                status = 400
            else:
                up = http.client.HTTPConnection("127.0.0.1", moto.port,
                                                timeout=120)
                up.request(self.command, self.path, body=body or None,
                           headers={k: v for k, v in self.headers.items()
                                    if k.lower() != "content-length"})
                r = up.getresponse()
                page, status = r.read(), r.status
                headers = [(k, v) for k, v in r.getheaders() if k.lower()
                           not in ("content-length", "transfer-encoding",
                                   "connection")]
                up.close()
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        do_GET = do_PUT = do_POST = do_DELETE = _go

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Relay)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(21 << 20))
    ak, sk = moto.keys
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ACCESS_KEY_ID": ak, "AWS_SECRET_ACCESS_KEY": sk,
                "AWS_REGION": REGION,
                "S3_ENDPOINT": f"http://127.0.0.1:{srv.server_address[1]}"})
    try:
        p = subprocess.run([str(S3_CLIENT), "put-file", str(big), BUCKET,
                            "aborted/one.bin", str(5 << 20)], env=env,
                           capture_output=True, text=True, timeout=600)
    finally:
        srv.shutdown()
        srv.server_close()
    assert p.returncode == 1, p.stdout + p.stderr
    err = json.loads(p.stdout)["error"]
    assert err.startswith("UploadPart s3://lake/aborted/one.bin: "
                          "InvalidArgument"), err
    c = s3(moto)
    assert "Contents" not in c.list_objects_v2(Bucket=BUCKET,
                                               Prefix="aborted/")
    assert not c.list_multipart_uploads(Bucket=BUCKET).get("Uploads")


def test_exchange_rates_deployed_to_a_worker_feeds_snowpipe(
        client, agent, pool_name, process_job_template, tmp_path, moto,
        snowpipe, fakesnow):
    """exchange_rates deployed and run by a pfagent worker with the lake
    on S3: a first deployment lands an hour in the lake; the DDL comes
    from the schema stored there; the piped deployment's next hour is
    handed to Snowpipe: task runs extract, normalize, load, snowpipe and
    an artifact with the file and the rows ingested."""
    import datetime
    import test_currencies as tc
    from peers.oxr import OxrServer
    now = datetime.datetime.now(datetime.timezone.utc).replace(
        minute=0, second=0, microsecond=0)
    oxr = OxrServer(app_ids={APP_ID}, now=now).start()
    project = lc.flow_project(tmp_path, "exchange_rates")
    lake = {k.replace("__WAREHOUSE__", "__LAKE__"): v
            for k, v in pf_env(moto, "deployed").items()}
    # Its own schema in the module's fakesnow (DEP_RATES).
    pipe = {k.replace("__WAREHOUSE__", "__LAKE__"): v for k, v in
            snowpipe_env(snowpipe, pipe="DLT.OPEN_EXCHANGE_RATES.DEP_PIPE")
            .items()}
    pipe["DESTINATION__LAKE__SNOWPIPE__TABLE"] = "exchange_rates"
    src = {"SOURCES__OPEN_EXCHANGE_RATES__BASE_URL": oxr.base_url,
           "SOURCES__OPEN_EXCHANGE_RATES__API_KEY": APP_ID}
    try:
        client.create_pool(pool_name,
                           base_job_template=process_job_template)
        plain = lc.deploy_flow(client, pool_name, project, "exchange_rates",
                               "lake", {**src, **lake})
        agent(pool_name, "--query-seconds", "1", env=tc.AGENT_ENV)
        fr = client.create_flow_run(plain["id"])
        first = client.wait_for_run(fr["id"], timeout=180)
        assert first["state_type"] == "COMPLETED", first["state"]
        # The Snowflake side from the schema the lake holds.
        env = {**lc.pfagent_env(tmp_path / "ddl"), **lake, **pipe}
        p = subprocess.run([str(PFAGENT), "pipeline", "exchange_rates",
                            "snowpipe", "ddl", "--dataset-name",
                            "open_exchange_rates"], env=env, cwd=REPO_ROOT,
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        snowpipe.apply_ddl(p.stdout.replace(
            '"OPEN_EXCHANGE_RATES"', '"DEP_RATES"').replace(
            "DLT.OPEN_EXCHANGE_RATES.DEP_PIPE", "DLT.DEP_RATES.DEP_PIPE"))
        pipe["DESTINATION__LAKE__SNOWPIPE__PIPE"] = "DLT.DEP_RATES.DEP_PIPE"
        piped = lc.deploy_flow(client, pool_name, project, "exchange_rates",
                               "piped", {**src, **lake, **pipe})
        oxr.now += datetime.timedelta(hours=1)
        fr = client.create_flow_run(piped["id"])
        second = client.wait_for_run(fr["id"], timeout=180)
        assert second["state_type"] == "COMPLETED", second["state"]
        tasks = sorted(t["name"] for t in tc.task_runs(client, fr["id"]))
        assert tasks == ["extract-0", "load-0", "normalize-0", "snowpipe-0"]
        arts = client.request("POST", "/artifacts/filter", json={
            "artifacts": {"flow_run_id": {"any_": [fr["id"]]}}})
        data = arts[0]["data"]
        rows = json.loads(data) if isinstance(data, str) else data
        piped_rows = [r for r in rows if "snowpipe_status" in r]
        assert len(piped_rows) == 1
        assert piped_rows[0]["snowpipe_status"] == "LOADED"
        with fakesnow.connect("DLT", "DEP_RATES") as c:
            n = c.cursor().execute('SELECT COUNT(*) FROM "DEP_RATES".'
                                   '"EXCHANGE_RATES"').fetchone()[0]
        assert n == piped_rows[0]["rows_ingested"] > 100
    finally:
        oxr.stop()


def test_exchange_rates_in_prod_takes_its_keys_from_secrets_manager(
        client, agent, pool_name, process_job_template, tmp_path, moto, ecs,
        snowpipe, fakesnow):
    """exchange_rates deployed in the prod profile and run by a pfagent
    worker: the lake's S3 keys (dlt/s3-credentials), Snowpipe's key-pair
    user (dlt/snowpipe) and the App ID come from moto's Secrets Manager,
    read with the ECS task role's keys (which may not touch S3); the
    deployment's env holds the bucket and the API's URL only. Completed,
    the hour in the lake, Snowpipe brought it into fakesnow, the artifact
    lists the file and its rows, no secret anywhere."""
    import datetime
    import boto3
    from peers.oxr import OxrServer
    from test_currencies import AGENT_ENV, files_with, seen, task_runs
    from test_snowflake import REGION as SM_REGION, prod_env, prod_project
    ak, sk = moto.keys
    sm = boto3.client("secretsmanager", endpoint_url=moto.url,
                      region_name=SM_REGION,
                      aws_access_key_id=moto.admin[0],
                      aws_secret_access_key=moto.admin[1])
    for name, value in (
            ("dlt/s3-credentials", {"aws_access_key_id": ak,
                                    "aws_secret_access_key": sk,
                                    "endpoint_url": moto.url,
                                    "region_name": REGION}),
            ("dlt/snowpipe", {"account": ACCOUNT, "user": LOADER,
                              "private_key": snowpipe.private_key,
                              "host": snowpipe.url, "protocol": "http"}),
            ("dlt/open-exchange-rates", {"api_key": APP_ID})):
        sm.create_secret(Name=name, SecretString=json.dumps(value))
    bucket_url = f"s3://{BUCKET}/prod-sm"
    now = datetime.datetime.now(datetime.timezone.utc).replace(
        minute=0, second=0, microsecond=0)
    oxr = OxrServer(app_ids={APP_ID}, now=now).start()
    project = prod_project(tmp_path, "exchange_rates", moto)
    key_line = [l for l in snowpipe.private_key.splitlines()
                if not l.startswith("-----")][3]
    try:
        # The Snowflake side needs the schema: a first hour in the lake
        # (tests profile, no Snowpipe), then the DDL in the prod profile
        # from the schema stored there, read with dlt/s3-credentials.
        run_rates(tmp_path, moto, snowpipe, oxr.base_url, piped=False,
                  prefix="prod-sm")
        first = [k for k in objects(moto, "prod-sm")
                 if k.startswith("open_exchange_rates/exchange_rates/")]
        assert len(first) == 1
        env = {k: v for k, v in os.environ.items() if not k.startswith(
            ("PREFECT_", "DESTINATION__", "DLT_", "WORKSPACE__",
             "SOURCES__", "AWS_"))}
        env.update(prod_env(ecs, DESTINATION__LAKE__BUCKET_URL=bucket_url),
                   ASAN_OPTIONS="detect_leaks=1")
        p = subprocess.run([str(PFAGENT), "pipeline", "exchange_rates",
                            "snowpipe", "ddl", "--dataset-name",
                            "open_exchange_rates"], env=env, cwd=project,
                           capture_output=True, text=True, timeout=120,
                           stdin=subprocess.DEVNULL)
        assert not SANITIZER_RE.search(p.stderr), p.stderr
        assert p.returncode == 0, p.stderr
        assert "CREATE PIPE IF NOT EXISTS DLT.OPEN_EXCHANGE_RATES." \
            "EXCHANGE_RATES_PIPE AUTO_INGEST = FALSE" in p.stdout
        assert "URL = 's3://lake/prod-sm/open_exchange_rates/'" in p.stdout
        # Its own schema in the module's fakesnow (PROD_RATES); the pipe
        # keeps prod.config.toml's name.
        snowpipe.apply_ddl(p.stdout.replace('"OPEN_EXCHANGE_RATES"',
                                            '"PROD_RATES"'))

        client.create_pool(pool_name,
                           base_job_template=process_job_template)
        dep = lc.deploy_flow(client, pool_name, project, "exchange_rates",
                             "prod-sm", prod_env(ecs, **{
                                 "DESTINATION__LAKE__BUCKET_URL": bucket_url,
                                 "SOURCES__OPEN_EXCHANGE_RATES__BASE_URL":
                                     oxr.base_url}))
        env_text = json.dumps(dep["job_variables"])
        assert sk not in env_text and APP_ID not in env_text
        worker = agent(pool_name, "--query-seconds", "1", env=AGENT_ENV)
        oxr.now += datetime.timedelta(hours=1)
        asked = len(ecs.requests)
        fr = client.create_flow_run(dep["id"])
        fr = client.wait_for_run(fr["id"], timeout=300)
        assert fr["state_type"] == "COMPLETED", fr["state"]
        assert sorted(t["name"] for t in task_runs(client, fr["id"])) == \
            ["extract-0", "load-0", "normalize-0", "snowpipe-0"]
        assert len(ecs.requests) > asked    # the run's own Secrets Manager
    finally:
        oxr.stop()
    lake = objects(moto, "prod-sm")
    new = [k for k in lake
           if k.startswith("open_exchange_rates/exchange_rates/")
           and k not in first]
    assert len(new) == 1 and new[0].endswith(".jsonl.gz")
    assert [k for k in lake if k.startswith("open_exchange_rates/"
                                            "_dlt_loads/")]
    file = new[0][len("open_exchange_rates/"):]
    assert [h["path"] for h in snowpipe.history
            if h["status"] == "LOADED"] == [file]
    rows = len(gzip.decompress(lake[new[0]]).splitlines())
    with fakesnow.connect("DLT", "PROD_RATES") as c:
        got = c.cursor().execute(
            'SELECT COUNT(*), COUNT(DISTINCT "CURRENCY") FROM '
            '"PROD_RATES"."EXCHANGE_RATES"').fetchone()
    assert got == (rows, rows) and rows > 100
    arts = client.request("POST", "/artifacts/filter", json={
        "artifacts": {"flow_run_id": {"any_": [fr["id"]]}}})
    data = arts[0]["data"]
    table = json.loads(data) if isinstance(data, str) else data
    piped = [r for r in table if "snowpipe_status" in r]
    assert [(r["file"], r["snowpipe_status"], r["rows_ingested"])
            for r in piped] == [(file, "LOADED", rows)]
    text = seen(client, worker, fr["id"])
    for secret in (sk, key_line, APP_ID):
        assert secret not in text
        assert files_with(project, secret) == []


def test_exchange_rates_in_dev_lands_in_a_local_lake(tmp_path):
    """The dev profile (.dlt/dev.config.toml) names a local lake: the
    rows land under .dlt/data/dev/lake as dlt's filesystem destination
    lays them out, offline, no Snowpipe task."""
    import datetime
    import test_currencies as tc
    from peers.oxr import OxrServer
    now = datetime.datetime.now(datetime.timezone.utc).replace(
        minute=0, second=0, microsecond=0)
    oxr = OxrServer(app_ids={APP_ID}, now=now).start()
    project = lc.flow_project(tmp_path, "exchange_rates")
    env = {k: v for k, v in os.environ.items() if not k.startswith(
        ("PREFECT_", "DESTINATION__", "DLT_", "WORKSPACE__", "AWS_"))}
    env.update({**tc.AGENT_ENV, "WORKSPACE__PROFILE": "dev",
                "ASAN_OPTIONS": "detect_leaks=1",
                "SOURCES__OPEN_EXCHANGE_RATES__BASE_URL": oxr.base_url,
                "SOURCES__OPEN_EXCHANGE_RATES__API_KEY": APP_ID})
    try:
        p = subprocess.run([str(PFAGENT), "run",
                            "flows/exchange_rates.c:exchange_rates"],
                           cwd=project, env=env, capture_output=True,
                           text=True, timeout=300)
    finally:
        oxr.stop()
    assert p.returncode == 0, p.stderr
    assert not SANITIZER_RE.search(p.stderr), p.stderr
    assert "Task run 'snowpipe" not in p.stderr
    ds = project / ".dlt" / "data" / "dev" / "lake" / "open_exchange_rates"
    files = sorted(f.relative_to(ds).parts[0] for f in ds.rglob("*")
                   if f.is_file())
    assert files == ["_dlt_loads", "_dlt_pipeline_state", "_dlt_version",
                     "exchange_rates", "init"]
    data = next((ds / "exchange_rates").iterdir())
    assert data.name.endswith(".jsonl.gz")
    assert len(gzip.decompress(data.read_bytes()).splitlines()) > 100
