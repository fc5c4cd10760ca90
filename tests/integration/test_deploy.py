"""`pfagent deploy`: the deployments of a prefect.yaml registered as
Prefect 3.8.8's `prefect deploy` registers them, idempotently.

Each test writes a project of its own (a copy of flows/hello.c and a
prefect.yaml) in a temporary directory and deploys it from there, so
entrypoints are relative to it and the modules are built in it. Names
carry the test's pool name: the session server is shared.
"""

import ast
import hashlib
import os
import re
import secrets
import shutil
import subprocess
import textwrap

import pytest

from peers.prefect import PFAGENT, REPO_ROOT, VENV_BIN, PrefectClient, wait_for

HELLO_SCHEMA = {
    "title": "Parameters",
    "type": "object",
    "properties": {
        "name": {"position": 0, "title": "name", "type": "string",
                 "description": "Who to greet", "default": "world"},
        "sleep_seconds": {"position": 1, "title": "sleep_seconds",
                          "type": "integer",
                          "description": "Seconds to sleep before greeting",
                          "default": 0},
    },
    "definitions": {},
}
HELLO_DESCRIPTION = "Says hello to someone, optionally after a nap."
SET_WORKDIR = "prefect.deployments.steps.set_working_directory"
@pytest.fixture
def project(tmp_path):
    """A project directory holding flows/hello.c."""
    root = tmp_path / "project"
    (root / "flows").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "flows" / "hello.c", root / "flows" / "hello.c")
    return root


def write_yaml(project, text):
    (project / "prefect.yaml").write_text(textwrap.dedent(text))


def deploy(project, server, *args, env=None):
    """Runs `pfagent deploy ARGS` in the project; the finished process."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    e.update({
        "PREFECT_API_URL": server.api_url,
        "ASAN_OPTIONS": "detect_leaks=1",
    })
    e.update(env or {})
    p = subprocess.run([str(PFAGENT), "deploy", *args], cwd=project, env=e,
                       capture_output=True, text=True, timeout=300)
    assert "Sanitizer" not in p.stderr and "runtime error" not in p.stderr, \
        p.stderr
    return p


def read_deployment(client, flow, name):
    return client.request("GET", f"/deployments/name/{flow}/{name}")


def snapshot(client, deployments):
    """What must not move when nothing changed: updated, schedule ids."""
    return {d["id"]: (d["updated"], sorted(s["id"] for s in d["schedules"]))
            for d in (client.request("GET", f"/deployments/{x['id']}")
                      for x in deployments)}


def runs_of(client, deployment_ids):
    return client.request("POST", "/flow_runs/filter", json={
        "deployments": {"id": {"any_": list(deployment_ids)}},
        "limit": 200})


def schedule_of(dep, key, value):
    hits = [s for s in dep["schedules"] if s["schedule"].get(key) == value]
    assert len(hits) == 1, dep["schedules"]
    return hits[0]


FULL_YAML = """\
    name: project
    deployments:
      - name: {pool}-full
        entrypoint: flows/hello.c:hello
        version: "1.2"
        description: Every field set
        tags: [etl, "{{{{ $DEPLOY_TAG }}}}"]
        parameters: {{name: Ada}}
        enforce_parameter_schema: false
        concurrency_limit:
          limit: 2
          collision_strategy: CANCEL_NEW
          grace_period_seconds: 120
        work_pool:
          name: {pool}
          work_queue_name: q1
          job_variables: {{env: {{GREETING: hi}}}}
        schedules:
          - cron: "0 6 * * *"
            timezone: Europe/Paris
            slug: morning
          - interval: 3600
          - interval: 600
            anchor_date: "2026-01-01T00:00:00"
            active: false
          - rrule: "FREQ=WEEKLY;BYDAY=MO"
            parameters: {{name: Monday}}
      - name: {pool}-min
        entrypoint: flows/hello.c:hello
        work_pool: {{name: {pool}}}
      - name: {pool}-paused
        entrypoint: flows/hello.c:hello
        paused: true
        pull:
          - prefect.deployments.steps.set_working_directory:
              directory: "{{{{ prefect.variables.workdir }}}}"
        work_pool: {{name: {pool}}}
"""


def test_deploy_all_creates_flows_and_deployments(client, prefect_server,
                                                 project, pool_name):
    """Every field of prefect.yaml lands on the server as prefect deploy
    would put it: the flow name and parameter schema come from the
    module, Prefect's defaults fill the rest (description from the flow,
    version = md5 of the flow's file, enforce_parameter_schema true, the
    default pull step to the project), pull steps keep their references
    for run time."""
    client.create_pool(pool_name)
    write_yaml(project, FULL_YAML.format(pool=pool_name))
    p = deploy(project, prefect_server, "--all",
               env={"DEPLOY_TAG": "from-env"})
    assert p.returncode == 0, p.stdout + p.stderr
    for name in ("full", "min", "paused"):
        assert re.search(rf"Deployment 'hello/{pool_name}-{name}' created "
                         r"\(id [0-9a-f-]{36}\)", p.stdout), p.stdout
    assert "3 created, 0 updated, 0 unchanged, 0 failed" in p.stdout

    flow = client.request("GET", "/flows/name/hello")
    full = read_deployment(client, "hello", f"{pool_name}-full")
    assert full["flow_id"] == flow["id"]
    assert full["entrypoint"] == "flows/hello.c:hello"
    assert full["version"] == "1.2"
    assert full["description"] == "Every field set"
    assert full["tags"] == ["etl", "from-env"]
    assert full["parameters"] == {"name": "Ada"}
    assert full["parameter_openapi_schema"] == HELLO_SCHEMA
    assert full["enforce_parameter_schema"] is False
    assert full["paused"] is False
    assert full["work_pool_name"] == pool_name
    assert full["work_queue_name"] == "q1"
    assert full["job_variables"] == {"env": {"GREETING": "hi"}}
    # Older servers store less (3.0.0: the limit on the deployment and no
    # options; before 3.5 no grace period); pfagent leaves out, with a
    # warning, what they refuse, and what they do store must be right.
    if "global_concurrency_limit" in full:
        assert full["global_concurrency_limit"]["limit"] == 2
    else:
        assert full["concurrency_limit"] == 2
    if "concurrency_options" in full:
        options = full["concurrency_options"]
        assert options["collision_strategy"] == "CANCEL_NEW"
        if "grace_period_seconds" in options:
            assert options == {"collision_strategy": "CANCEL_NEW",
                               "grace_period_seconds": 120}
    assert full["pull_steps"] == [
        {SET_WORKDIR: {"directory": str(project.resolve())}}]
    assert len(full["schedules"]) == 4
    cron = schedule_of(full, "cron", "0 6 * * *")
    assert cron["schedule"] == {"cron": "0 6 * * *",
                                "timezone": "Europe/Paris", "day_or": True}
    assert cron["active"] is True
    if "slug" in cron:
        assert cron["slug"] == "morning"
    else:   # Prefect 3.0
        assert "does not take schedules[0].slug" in p.stderr, p.stderr
    hourly = schedule_of(full, "interval", 3600.0)
    assert hourly["schedule"]["timezone"] == "UTC"
    assert hourly["schedule"]["anchor_date"]  # picked by the server
    anchored = schedule_of(full, "interval", 600.0)
    assert anchored["active"] is False
    assert anchored["schedule"]["anchor_date"].startswith(
        "2026-01-01T00:00:00")
    weekly = [s for s in full["schedules"] if "rrule" in s["schedule"]]
    assert len(weekly) == 1
    assert weekly[0]["schedule"]["rrule"].endswith("FREQ=WEEKLY;BYDAY=MO")
    if "parameters" in weekly[0]:
        assert weekly[0]["parameters"] == {"name": "Monday"}
    else:   # Prefect 3.0
        assert "does not take schedules[3].parameters" in p.stderr

    md5 = hashlib.md5((project / "flows/hello.c").read_bytes()).hexdigest()
    minimal = read_deployment(client, "hello", f"{pool_name}-min")
    assert minimal["description"] == HELLO_DESCRIPTION
    assert minimal["version"] == md5
    assert minimal["enforce_parameter_schema"] is True
    assert minimal["paused"] is False
    assert minimal["tags"] == [] and minimal["parameters"] == {}
    assert minimal["job_variables"] == {}
    assert minimal["work_queue_name"] == "default"
    assert minimal["schedules"] == []
    assert minimal.get("global_concurrency_limit") is None
    assert minimal.get("concurrency_options") is None
    assert minimal["parameter_openapi_schema"] == HELLO_SCHEMA

    paused = read_deployment(client, "hello", f"{pool_name}-paused")
    assert paused["paused"] is True
    assert paused["pull_steps"] == [
        {SET_WORKDIR: {"directory": "{{ prefect.variables.workdir }}"}}]
    assert (project / "build/flows/hello.so").exists()

    # Deployed again, nothing differs, on any server: compared as it
    # stores them (a default queue by name, no field it lacks).
    again = deploy(project, prefect_server, "--all",
                   env={"DEPLOY_TAG": "from-env"})
    assert "0 created, 0 updated, 3 unchanged, 0 failed" in again.stdout, \
        again.stdout + again.stderr


def test_prefect_cli_agrees(client, prefect_server, project, pool_name,
                            tmp_path):
    """`prefect deployment inspect` (Prefect's own CLI) reads back what
    pfagent deploy registered."""
    client.create_pool(pool_name)
    write_yaml(project, FULL_YAML.format(pool=pool_name))
    p = deploy(project, prefect_server, "--name", f"hello/{pool_name}-full",
               env={"DEPLOY_TAG": "x"})
    assert p.returncode == 0, p.stdout + p.stderr
    assert "1 created" in p.stdout

    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update({"PREFECT_API_URL": prefect_server.api_url,
                "PREFECT_HOME": str(tmp_path / "cli-home")})
    out = subprocess.run(
        [str(VENV_BIN / "prefect"), "deployment", "inspect",
         f"hello/{pool_name}-full"],
        env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    seen = ast.literal_eval(out.stdout.strip())
    assert seen["name"] == f"{pool_name}-full"
    assert seen["entrypoint"] == "flows/hello.c:hello"
    assert seen["version"] == "1.2"
    assert seen["description"] == "Every field set"
    assert seen["tags"] == ["etl", "x"]
    assert seen["parameters"] == {"name": "Ada"}
    assert seen["parameter_openapi_schema"] == HELLO_SCHEMA
    assert seen["enforce_parameter_schema"] is False
    assert seen["work_pool_name"] == pool_name
    assert seen["work_queue_name"] == "q1"
    assert seen["job_variables"] == {"env": {"GREETING": "hi"}}
    assert seen["pull_steps"] == [
        {SET_WORKDIR: {"directory": str(project.resolve())}}]
    assert seen["global_concurrency_limit"]["limit"] == 2
    assert seen["concurrency_options"]["collision_strategy"] == "CANCEL_NEW"
    kinds = sorted(next(iter(s["schedule"])) for s in seen["schedules"])
    assert kinds == ["cron", "interval", "interval", "rrule"]
    cron = [s for s in seen["schedules"] if "cron" in s["schedule"]][0]
    assert cron["schedule"]["timezone"] == "Europe/Paris"


@pytest.fixture
def scheduler_client(scheduler_server):
    """REST helper bound to the server whose scheduler runs."""
    c = PrefectClient(scheduler_server.api_url)
    yield c
    c.close()


def test_redeploy_changes_nothing(scheduler_client, scheduler_server,
                                  project, pool_name):
    """A second deploy of the same file writes nothing: "no changes" for
    each deployment, the same updated timestamps and schedule ids, no
    scheduled run deleted (a PATCH would delete them), and every run
    there was created by the server's scheduler, not by deploy."""
    client, prefect_server = scheduler_client, scheduler_server
    client.create_pool(pool_name)
    write_yaml(project, FULL_YAML.format(pool=pool_name))
    env = {"DEPLOY_TAG": "t"}
    first = deploy(project, prefect_server, "--all", env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    deps = [read_deployment(client, "hello", f"{pool_name}-{n}")
            for n in ("full", "min", "paused")]
    ids = [d["id"] for d in deps]
    # The scheduler picks up the new deployment within seconds.
    wait_for(lambda: runs_of(client, ids), timeout=120,
             what="the scheduler to create runs")
    before = snapshot(client, deps)
    runs_before = {r["id"] for r in runs_of(client, ids)}

    again = deploy(project, prefect_server, "--all", env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    for n in ("full", "min", "paused"):
        assert f"Deployment 'hello/{pool_name}-{n}' unchanged: no changes" \
            in again.stdout, again.stdout
    assert "0 created, 0 updated, 3 unchanged, 0 failed" in again.stdout
    dry = deploy(project, prefect_server, "--all", "--dry-run", env=env)
    assert dry.returncode == 0 and "3 unchanged" in dry.stdout, dry.stdout

    assert snapshot(client, deps) == before
    runs_after = runs_of(client, ids)
    assert runs_before <= {r["id"] for r in runs_after}
    assert all(r["auto_scheduled"] for r in runs_after), \
        [(r["name"], r["auto_scheduled"]) for r in runs_after]


CHANGE_YAML = """\
    deployments:
      - name: {pool}-a
        entrypoint: flows/hello.c:hello
        parameters: {{name: {name}}}
        work_pool: {{name: {pool}}}
        schedules:
          - interval: 3600
      - name: {pool}-b
        entrypoint: flows/hello.c:hello
        work_pool: {{name: {pool}}}
        schedules:
{schedules}
"""
MORNING = """\
          - cron: "{cron}"
            slug: morning
"""
EVENING = """\
          - cron: "0 20 * * *"
            slug: evening
"""


def test_changed_field_updates_only_its_deployment(client, prefect_server,
                                                   project, pool_name):
    """One changed field: --dry-run shows it (old -> new) and writes
    nothing; the deploy then PATCHes only that deployment and only that
    field, so the schedules of both keep their ids. Slugged schedules
    are updated in place; one removed from the file is deleted."""
    client.create_pool(pool_name)

    def write(name="Ada", cron="0 6 * * *", evening=True):
        write_yaml(project, CHANGE_YAML.format(
            pool=pool_name, name=name,
            schedules=MORNING.format(cron=cron) + (EVENING if evening
                                                   else "")))

    write()
    p = deploy(project, prefect_server, "--all")
    assert p.returncode == 0, p.stdout + p.stderr
    a = read_deployment(client, "hello", f"{pool_name}-a")
    b = read_deployment(client, "hello", f"{pool_name}-b")
    before = snapshot(client, [a, b])

    write(name="Bob")
    dry = deploy(project, prefect_server, "--all", "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert f"Deployment 'hello/{pool_name}-a' would be updated: " \
           f"parameters" in dry.stdout, dry.stdout
    assert 'parameters: {"name":"Ada"} -> {"name":"Bob"}' in dry.stdout
    assert f"Deployment 'hello/{pool_name}-b' unchanged" in dry.stdout
    assert snapshot(client, [a, b]) == before

    p = deploy(project, prefect_server, "--all")
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"Deployment 'hello/{pool_name}-a' updated: parameters " \
        in p.stdout, p.stdout
    assert f"Deployment 'hello/{pool_name}-b' unchanged" in p.stdout
    after = snapshot(client, [a, b])
    assert after[b["id"]] == before[b["id"]]
    assert after[a["id"]][1] == before[a["id"]][1]  # schedule ids kept
    assert read_deployment(client, "hello", f"{pool_name}-a")[
        "parameters"] == {"name": "Bob"}

    # A slugged schedule changes in place: same ids.
    write(name="Bob", cron="0 7 * * *")
    p = deploy(project, prefect_server, "--all")
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"Deployment 'hello/{pool_name}-b' updated: schedules " \
        in p.stdout, p.stdout
    assert f"Deployment 'hello/{pool_name}-a' unchanged" in p.stdout
    b2 = read_deployment(client, "hello", f"{pool_name}-b")
    assert sorted(s["id"] for s in b2["schedules"]) == before[b["id"]][1]
    assert schedule_of(b2, "cron", "0 7 * * *")["slug"] == "morning"

    # Removed from the file: deleted on the server, the other one kept.
    morning_id = schedule_of(b2, "cron", "0 7 * * *")["id"]
    write(name="Bob", cron="0 7 * * *", evening=False)
    p = deploy(project, prefect_server, "--all")
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"Deployment 'hello/{pool_name}-b' updated: schedules " \
        in p.stdout, p.stdout
    b3 = read_deployment(client, "hello", f"{pool_name}-b")
    assert [s["id"] for s in b3["schedules"]] == [morning_id]
    again = deploy(project, prefect_server, "--all")
    assert "0 created, 0 updated, 2 unchanged" in again.stdout, again.stdout


def test_interval_schedule_runs_on_the_worker(scheduler_client,
                                              scheduler_server, project,
                                              pool_name, agent):
    """An interval schedule makes the server's scheduler create runs
    (its recent-deployments loop picks new deployments up within
    seconds), and a pfagent worker runs them to Completed with the
    deployment's parameters, in the project the default pull step
    names."""
    client, prefect_server = scheduler_client, scheduler_server
    client.create_pool(pool_name)
    write_yaml(project, f"""\
        deployments:
          - name: {pool_name}-tick
            entrypoint: flows/hello.c:hello
            parameters: {{name: Tick}}
            work_pool: {{name: {pool_name}}}
            schedules:
              - interval: 5
        """)
    p = deploy(project, prefect_server)
    assert p.returncode == 0, p.stdout + p.stderr
    dep = read_deployment(client, "hello", f"{pool_name}-tick")
    a = agent(pool_name, "--query-seconds", "1",
              api_url=prefect_server.api_url)
    try:
        wait_for(lambda: client.filter_runs(dep["id"], ["SCHEDULED"]),
                 timeout=120, watch=[a],
                 what="the scheduler to create runs")
        done = wait_for(
            lambda: client.filter_runs(dep["id"], ["COMPLETED"]),
            timeout=180, until=lambda runs: len(runs) >= 2, watch=[a],
            what="two scheduled runs to complete")
        for r in done[:2]:
            assert r["auto_scheduled"] is True
            assert r["parameters"] == {"name": "Tick"}
            messages = [m["message"] for m in client.read_logs(r["id"])]
            assert "Hello, Tick!" in messages, messages
    finally:
        # Stop the scheduler making more runs for this test's pool.
        client.request("PATCH", f"/deployments/{dep['id']}",
                       json={"paused": True})


ERRORS_YAML = """\
    deployments:
      - name: {pool}-ok
        entrypoint: flows/hello.c:hello
        work_pool: {{name: {pool}}}
      - name: {pool}-nofile
        entrypoint: flows/nope.c:nope
        work_pool: {{name: {pool}}}
      - name: {pool}-broken
        entrypoint: flows/broken.c:broken
        work_pool: {{name: {pool}}}
      - name: {pool}-nopool
        entrypoint: flows/hello.c:hello
        work_pool: {{name: {pool}-missing}}
      - name: {pool}-nosecret
        entrypoint: flows/hello.c:hello
        work_pool:
          name: {pool}
          job_variables:
            env: {{TOKEN: "{{{{ prefect.blocks.secret.{pool}-missing }}}}"}}
      - name: {pool}-build
        entrypoint: flows/hello.c:hello
        build:
          - prefect_docker.deployments.steps.build_docker_image:
              image_name: x
        work_pool: {{name: {pool}}}
"""


def test_errors_name_their_cause_and_the_rest_deploys(
        client, prefect_server, project, pool_name):
    """A missing module file, a compile error (the compiler's message is
    shown), an unknown work pool, a missing secret block and a build
    step each fail their deployment with a message placed in
    prefect.yaml; the good deployment is still created, and the exit
    status is 1. A YAML syntax error stops everything with
    file:line:col and exit status 2."""
    client.create_pool(pool_name)
    (project / "flows/broken.c").write_text(
        "#include <pf/flow.h>\nstatic int broken(pf_run *r) { return 0 }\n"
        "PF_FLOW(broken);\n")
    write_yaml(project, ERRORS_YAML.format(pool=pool_name))
    p = deploy(project, prefect_server, "--all")
    assert p.returncode == 1, p.stdout + p.stderr
    err = p.stderr
    assert f"Deployment 'hello/{pool_name}-ok' created" in p.stdout
    assert "1 created, 0 updated, 0 unchanged, 5 failed" in p.stdout
    read_deployment(client, "hello", f"{pool_name}-ok")

    def line(name):
        hits = [x for x in err.splitlines()
                if f"deployment '{pool_name}-{name}'" in x]
        assert len(hits) == 1, err
        assert re.match(r"pfagent deploy: prefect\.yaml:\d+:\d+: ", hits[0]), \
            hits[0]
        return hits[0]

    assert "flows/nope.c" in line("nofile")
    assert "building build/flows/broken.so failed" in line("broken")
    assert re.search(r"broken\.c:2:\d+: error: expected .;.", err), err
    assert f"work pool '{pool_name}-missing' does not exist" in line("nopool")
    assert f"block not found: '{pool_name}-missing' of type 'secret'" in \
        line("nosecret")
    assert "build step 'prefect_docker.deployments.steps." \
           "build_docker_image'" in line("build")
    for name in ("nofile", "broken", "nopool", "nosecret", "build"):
        r = client.send("GET", f"/deployments/name/hello/{pool_name}-{name}")
        assert r.status_code == 404, name

    (project / "prefect.yaml").write_text(
        "deployments:\n  - name: x\n    entrypoint: [flows/hello.c\n")
    bad = deploy(project, prefect_server, "--all")
    assert bad.returncode == 2, bad.stdout + bad.stderr
    assert re.search(r"prefect\.yaml:\d+:\d+: ", bad.stderr), bad.stderr

    no_api = subprocess.run(
        [str(PFAGENT), "deploy", "--dry-run"], cwd=project,
        env={k: v for k, v in os.environ.items()
             if not k.startswith("PREFECT_")},
        capture_output=True, text=True, timeout=60)
    assert no_api.returncode == 2
    assert "PREFECT_API_URL" in no_api.stderr and "--dry-run" in \
        no_api.stderr


def make_secret(client, name, value):
    """A Secret block document; returns its id."""
    bt = client.request("GET", "/block_types/slug/secret")
    schema = client.request("POST", "/block_schemas/filter", json={
        "block_schemas": {"block_type_id": {"any_": [bt["id"]]}}})[0]
    doc = client.request("POST", "/block_documents/", json={
        "name": name, "block_type_id": bt["id"],
        "block_schema_id": schema["id"], "data": {"value": value}})
    return doc["id"]


def test_secret_values_are_never_printed(client, prefect_server, project,
                                         pool_name):
    """A job variable templated from a Secret block at deploy time (as
    prefect deploy does) reaches the server, but neither the normal
    output nor --dry-run (create or update, old or new value) shows
    it."""
    client.create_pool(pool_name)
    block = f"{pool_name}-token"
    old, new = f"s3cr3t-{secrets.token_hex(8)}", f"n3w-{secrets.token_hex(8)}"
    doc_id = make_secret(client, block, old)
    write_yaml(project, f"""\
        deployments:
          - name: {pool_name}-sec
            entrypoint: flows/hello.c:hello
            work_pool:
              name: {pool_name}
              job_variables:
                env:
                  TOKEN: "{{{{ prefect.blocks.secret.{block} }}}}"
                  AUTH: "Bearer {{{{ prefect.blocks.secret.{block} }}}}"
        """)

    def shown(p):
        return p.stdout + p.stderr

    dry = deploy(project, prefect_server, "--dry-run")
    assert dry.returncode == 0, shown(dry)
    assert "would be created" in dry.stdout
    assert "job_variables: (not shown: it comes from a block)" in dry.stdout
    assert old not in shown(dry)

    p = deploy(project, prefect_server)
    assert p.returncode == 0, shown(p)
    assert old not in shown(p)
    dep = read_deployment(client, "hello", f"{pool_name}-sec")
    assert dep["job_variables"] == {
        "env": {"TOKEN": old, "AUTH": f"Bearer {old}"}}

    client.request("PATCH", f"/block_documents/{doc_id}", json={
        "data": {"value": new}, "merge_existing_data": False})
    dry = deploy(project, prefect_server, "--dry-run")
    assert dry.returncode == 0, shown(dry)
    assert "would be updated: job_variables" in dry.stdout, dry.stdout
    assert "job_variables: changed (not shown: it comes from a block)" \
        in dry.stdout
    assert old not in shown(dry) and new not in shown(dry)

    p = deploy(project, prefect_server)
    assert p.returncode == 0, shown(p)
    assert "updated: job_variables" in p.stdout
    assert old not in shown(p) and new not in shown(p)
    assert read_deployment(client, "hello", f"{pool_name}-sec")[
        "job_variables"]["env"]["TOKEN"] == new
