"""The flow SDK seen from Prefect: artifacts (compared with the ones a
Python flow makes through Prefect 3.8.8's own create_markdown_artifact
and create_table_artifact) and typed parameters (deployed with
`pfagent deploy`, run with Prefect's own `prefect deployment run`).

Flows: tests/flows/artifacts.c and tests/flows/typed_params.c, built in
the repository (build/tests/flows/) as the executor builds them.
"""

import json
import os
import re
import subprocess
import textwrap

import pytest

from peers.prefect import (PFAGENT, REPO_ROOT, VENV_BIN, PrefectClient,
                           wait_for)

ARTIFACTS = "tests/flows/artifacts.c:artifacts"
TYPED = "tests/flows/typed_params.c:typed_params"

# The same texts go to the C flow and to the Python one.
MARKDOWN = ("# Report\n\n| a | b |\n|---|---|\n| café | \"q\" |\n\n"
            "All *good*. 🎉")
ROWS = ('[{"name": "caf\u00e9", "n": 1, "ratio": 0.5, "ok": true},\n'
        ' {"name": "tea \\"x\\"", "n": 2, "ratio": 1e-7, "ok": null},'
        ' {"name": "\U0001F375", "n": -0, "ratio": 1.0, "ok": false,'
        ' "big": 12345678901234567890, "f": 1E5}]')
COLUMNS = '{"day":["mon","tue"],"rows":[10,12],"ratio":[0.1,2.50]}'

PY_FLOW = """\
import json, sys
from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.runtime import flow_run

@task
def make_note(key: str):
    create_markdown_artifact(markdown="Made in a task.", key=key,
                             description="A task's note")

@flow(name="py-artifacts")
def py_artifacts(prefix: str, markdown: str, rows: str, columns: str):
    create_markdown_artifact(markdown=markdown, key=f"{prefix}-report",
                             description="Report of the run")
    create_table_artifact(table=json.loads(rows), key=f"{prefix}-rows",
                          description="Rows of the run")
    create_table_artifact(table=json.loads(columns))
    make_note(f"{prefix}-note")
    print("FLOW_RUN_ID", flow_run.id)

if __name__ == "__main__":
    py_artifacts(*json.loads(sys.argv[1]))
"""


def env_for(api_url=None, home=None, **extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PREFECT_")}
    env["ASAN_OPTIONS"] = "handle_segv=0:detect_leaks=1"
    if api_url:
        env["PREFECT_API_URL"] = api_url
    if home:
        env["PREFECT_HOME"] = str(home)
    env.update(extra)
    return env


@pytest.fixture(scope="module", autouse=True)
def modules():
    """The test flows' modules, where `pfagent run` looks for them."""
    p = subprocess.run(["make", "-s", "build/tests/flows/artifacts.so",
                        "build/tests/flows/typed_params.so"], cwd=REPO_ROOT,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr


def pfagent_run(*args, api_url=None, **kw):
    return subprocess.run([str(PFAGENT), "run", *args], cwd=REPO_ROOT,
                          env=env_for(api_url), capture_output=True,
                          text=True, timeout=300, **kw)


def artifacts_of(client, run_id):
    return client.request("POST", "/artifacts/filter", json={
        "artifacts": {"flow_run_id": {"any_": [run_id]}},
        "sort": "CREATED_DESC"})


def shape(artifacts, prefix):
    """What must be equal between a C and a Python flow's artifacts."""
    out = []
    for a in sorted(artifacts, key=lambda a: a["created"]):
        out.append({
            "key": a["key"] and a["key"].replace(prefix, "PREFIX"),
            "type": a["type"], "description": a["description"],
            "data": a["data"], "metadata_": a["metadata_"],
            "in_a_task": a["task_run_id"] is not None})
    return out


# ----------------------------------------------------------- artifacts

def test_artifacts_match_a_python_flows(client, prefect_server, agent,
                                        pool_name, process_job_template,
                                        tmp_path):
    """A deployed C flow's artifacts (markdown, table of rows, table of
    columns without key or description, a note made in a task) are
    linked to its flow run (and the note to its task run) and read back
    through POST /artifacts/filter exactly as those a Python flow makes
    with the same texts; a bad key and a bad table are refused with a
    logged error and publish nothing."""
    client.create_pool(pool_name, base_job_template=process_job_template)
    c_prefix = f"c-{pool_name}"
    dep = client.create_deployment(pool_name, ARTIFACTS, parameters={
        "key_prefix": c_prefix, "markdown": MARKDOWN, "rows": ROWS,
        "columns": COLUMNS})
    run = client.create_flow_run(dep["id"])
    a = agent(pool_name, "--run-once")
    assert a.wait(180) == 0
    final = client.read_flow_run(run["id"])
    assert final["state_type"] == "COMPLETED", final["state"]
    c_arts = artifacts_of(client, run["id"])
    assert len(c_arts) == 4
    assert {x["flow_run_id"] for x in c_arts} == {run["id"]}
    note = [x for x in c_arts if x["task_run_id"]]
    assert [x["key"] for x in note] == [f"{c_prefix}-note"]
    task_run = client.request("GET", f"/task_runs/{note[0]['task_run_id']}")
    assert task_run["flow_run_id"] == run["id"]
    assert task_run["name"].startswith("make_note")

    messages = [m["message"] for m in client.read_logs(run["id"])]
    assert "Cannot create markdown artifact 'Bad_Key': Artifact key " \
           "'Bad_Key' must only contain lowercase letters, numbers, and " \
           "dashes." in messages, messages
    assert "Cannot create table artifact 'bad-table': row 0 is a number, " \
           "not an object" in messages, messages
    assert "artifacts published" in messages

    py_prefix = f"py-{pool_name}"
    script = tmp_path / "py_artifacts.py"
    script.write_text(PY_FLOW)
    p = subprocess.run(
        [str(VENV_BIN / "python"), str(script),
         json.dumps([py_prefix, MARKDOWN, ROWS, COLUMNS])],
        env=env_for(prefect_server.api_url, tmp_path / "py-home"),
        capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    py_run = re.search(r"FLOW_RUN_ID (\S+)", p.stdout).group(1)
    py_arts = artifacts_of(client, py_run)

    print("pfagent:", json.dumps(shape(c_arts, c_prefix), indent=1))
    print("python:", json.dumps(shape(py_arts, py_prefix), indent=1))
    assert shape(c_arts, c_prefix) == shape(py_arts, py_prefix)
    assert shape(c_arts, c_prefix)[1]["data"] == json.dumps(json.loads(ROWS))

    # The key makes it the latest of its collection, as in Python.
    latest = client.request("GET", f"/artifacts/{c_prefix}-report/latest")
    assert latest["flow_run_id"] == run["id"]


def test_local_run_prints_artifacts():
    """`pfagent run` without PREFECT_API_URL prints each artifact on the
    console (a table as the JSON Prefect would store) and the run still
    completes."""
    p = pfagent_run(ARTIFACTS, "--params", json.dumps({"rows": ROWS}))
    assert p.returncode == 0, p.stderr
    assert "Markdown artifact 'pf-report' (Report of the run), printed " \
           "here as there is no PREFECT_API_URL:\n# Report\n\nAll *good*.\n" \
        in p.stderr
    assert "Table artifact 'pf-rows' (Rows of the run), printed here as " \
           f"there is no PREFECT_API_URL:\n{json.dumps(json.loads(ROWS))}\n" \
        in p.stderr
    assert "Cannot create table artifact 'bad-table'" in p.stderr
    assert "Finished in state Completed()" in p.stderr


def test_artifacts_ride_out_an_api_outage(own_server, tmp_path):
    """(slow) The server goes away while the flow publishes: the POST is
    retried until it comes back, each artifact is stored once, and the
    run completes."""
    client = PrefectClient(own_server.api_url)
    out = tmp_path / "run.log"
    try:
        with open(out, "w") as f:
            proc = subprocess.Popen(
                [str(PFAGENT), "run", ARTIFACTS, "--param", "delay=8",
                 "--param", "key_prefix=outage"], cwd=REPO_ROOT,
                env=env_for(own_server.api_url), stdout=f,
                stderr=subprocess.STDOUT)
        try:
            runs = wait_for(lambda: client.request(
                "POST", "/flow_runs/filter", json={
                    "flow_runs": {"state": {"type": {"any_": ["RUNNING"]}}}}),
                what="the local run to be RUNNING")
            own_server.stop()
            wait_for(out.read_text, what="the artifact POST to be retried",
                     until=lambda t: "POST /artifacts/" in t)
            own_server.start()
            assert proc.wait(180) == 0, out.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        text = out.read_text()
        assert "Sanitizer" not in text and "runtime error" not in text, text
        arts = artifacts_of(client, runs[0]["id"])
        assert sorted(str(x["key"]) for x in arts) == \
            ["None", "outage-note", "outage-report", "outage-rows"]
        assert client.read_flow_run(runs[0]["id"])["state_type"] == \
            "COMPLETED"
    finally:
        client.close()


# ---------------------------------------------------------- parameters

TYPED_YAML = """\
    deployments:
      - name: {pool}-typed
        entrypoint: {entrypoint}
        parameters: {{path: /data/in}}
        work_pool: {{name: {pool}}}
      - name: {pool}-lax
        entrypoint: {entrypoint}
        parameters: {{path: /data/in}}
        enforce_parameter_schema: false
        work_pool: {{name: {pool}}}
"""


@pytest.fixture
def typed(client, prefect_server, pool_name, process_job_template,
          tmp_path):
    """typed_params deployed by `pfagent deploy` (from the repository,
    with a prefect.yaml of the test's own): a deployment enforcing the
    schema and one that does not. Returns the two deployments."""
    client.create_pool(pool_name, base_job_template=process_job_template)
    yaml = tmp_path / "prefect.yaml"
    yaml.write_text(textwrap.dedent(TYPED_YAML).format(
        pool=pool_name, entrypoint=TYPED))
    p = subprocess.run([str(PFAGENT), "deploy", "--all", "--prefect-file",
                        str(yaml)], cwd=REPO_ROOT,
                       env=env_for(prefect_server.api_url),
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    return [client.request("GET", f"/deployments/name/typed_params/"
                           f"{pool_name}-{n}") for n in ("typed", "lax")]


def prefect_cli(server, home, *args):
    """Prefect's own CLI from the venv, against the server."""
    return subprocess.run([str(VENV_BIN / "prefect"), *args],
                          env=env_for(server.api_url, home, COLUMNS="250"),
                          capture_output=True, text=True, timeout=300)


def cli_run(server, home, deployment, *params):
    """`prefect deployment run FLOW/DEPLOYMENT --param k=v ...`: the id."""
    args = ["deployment", "run", f"typed_params/{deployment['name']}"]
    for p in params:
        args += ["--param", p]
    p = prefect_cli(server, home, *args)
    assert p.returncode == 0, p.stdout + p.stderr
    return re.search(r"UUID: ([0-9a-f-]{36})", p.stdout).group(1)


def test_typed_parameters_schema_defaults_and_cli_overrides(
        client, prefect_server, typed, agent, pool_name, tmp_path):
    """The deployment's schema comes from the module (types, defaults,
    the required one); a run gets the defaults it was not given, and
    overrides through Prefect's CLI (`--param k=v`, one per type)
    reach the flow body as typed values."""
    strict, _ = typed
    schema = strict["parameter_openapi_schema"]
    assert strict["enforce_parameter_schema"] is True
    assert schema["required"] == ["path"]
    assert {k: (v["type"], v.get("default")) for k, v in
            schema["properties"].items()} == {
        "name": ("string", "world"), "count": ("integer", 3),
        "ratio": ("number", 0.5), "verbose": ("boolean", False),
        "options": ("object", {"depth": 1}), "tags": ("array", ["a", "b"]),
        "path": ("string", None)}

    home = tmp_path / "cli-home"
    defaults = cli_run(prefect_server, home, strict)
    overridden = cli_run(prefect_server, home, strict, "name=Ada",
                         "count=7", "ratio=2.25", "verbose=true",
                         'options={"depth": 3, "x": [1]}', 'tags=["z"]',
                         "path=/tmp/out")
    a = agent(pool_name, "--run-once")
    assert a.wait(180) == 0
    for run_id, want in (
            (defaults, "name=world count=3 ratio=0.5 verbose=false "
                       'options={"depth":1} tags=["a","b"] path=/data/in'),
            (overridden, "name=Ada count=7 ratio=2.25 verbose=true "
                         'options={"depth":3,"x":[1]} tags=["z"] '
                         "path=/tmp/out")):
        r = client.read_flow_run(run_id)
        assert r["state_type"] == "COMPLETED", r["state"]
        messages = [m["message"] for m in client.read_logs(run_id)]
        assert want in messages, messages


def test_wrong_parameter_type_fails_before_the_body(
        client, prefect_server, typed, agent, pool_name, tmp_path):
    """A value of the wrong type (let through by a deployment that does
    not enforce its schema, or set through the API; null included, as
    pydantic refuses None for a str) ends the run as Prefect 3.8.8's
    engine ends a Python flow's: Failed straight from Pending (never
    Running, no "Beginning flow run"), with pydantic's message naming
    each parameter in declaration order and an ERROR line with the
    exception's text; the flow body never runs. With the schema
    enforced, Prefect's CLI refuses it itself."""
    strict, lax = typed
    home = tmp_path / "cli-home"
    refused = prefect_cli(prefect_server, home, "deployment", "run",
                          f"typed_params/{strict['name']}", "--param",
                          "count=abc")
    assert refused.returncode != 0
    assert "count" in refused.stdout + refused.stderr

    by_cli = cli_run(prefect_server, home, lax, "count=abc")
    by_api = client.create_flow_run(lax["id"], {
        "path": 5, "verbose": "maybe", "options": [1], "name": None})["id"]
    a = agent(pool_name, "--run-once")
    assert a.wait(180) == 0
    prefix = "Validation of flow parameters failed with error: "
    for run_id, problems in (
            (by_cli, " - count: Input should be a valid integer, unable "
                     "to parse string as an integer"),
            (by_api, " - name: Input should be a valid string\n"
                     " - verbose: Input should be a valid boolean, unable "
                     "to interpret input\n"
                     " - options: Input should be a valid dictionary\n"
                     " - path: Input should be a valid string")):
        text = "Flow run received invalid parameters:\n" + problems
        r = client.read_flow_run(run_id)
        assert r["state_type"] == "FAILED", r["state"]
        assert r["state"]["message"] == \
            prefix + "ParameterTypeError: " + text, r["state"]
        assert r["run_count"] == 0
        assert [s["name"] for s in client.read_states(run_id)] == \
            ["Scheduled", "Pending", "Submitting", "Failed"]
        logs = [(m["level"], m["message"]) for m in client.read_logs(run_id)]
        assert (40, prefix + text) in logs, logs
        messages = [m for _, m in logs]
        assert "typed_params body started" not in messages, logs
        assert not [m for m in messages if m.startswith("Beginning")], logs
