"""`pfagent deploy ENTRYPOINT --name ... --pool ...`: the deployment the
command line makes, compared field by field with what Prefect 3.8.8's
own `prefect deploy` makes from the same flags (the oracle: a Python
flow of the same name, signature and description), and the errors
found before anything is sent.
"""

import os
import re
import subprocess
import textwrap

from peers.prefect import VENV_BIN
from test_deploy import deploy, project, read_deployment, write_yaml  # noqa: F401

PY_HELLO = '''\
from prefect import flow


@flow(name="hello",
      description="Says hello to someone, optionally after a nap.")
def hello(name: str = "world", sleep_seconds: int = 0):
    pass
'''

# What differs by construction: identity, times, the entrypoint's file
# and so its default version, and the schema (Python's from its
# signature, ours from the C declaration; test_deploy checks ours).
SKIP = {"id", "created", "updated", "name", "entrypoint", "version",
        "parameter_openapi_schema", "created_by", "updated_by",
        "last_polled", "status", "schedules"}
SCHEDULE_SKIP = {"id", "created", "updated", "deployment_id"}


def prefect_deploy(project, server, tmp_path, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update({"PREFECT_API_URL": server.api_url,
                "PREFECT_HOME": str(tmp_path / "cli-home"),
                "PREFECT_CLI_PROMPT": "false"})
    p = subprocess.run([str(VENV_BIN / "prefect"), "deploy", *args],
                       cwd=project, env=env, capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    return p


def comparable(dep):
    out = {k: v for k, v in dep.items() if k not in SKIP}
    out["schedules"] = sorted(
        ({k: v for k, v in s.items() if k not in SCHEDULE_SKIP}
         for s in dep["schedules"]),
        key=lambda s: repr(s))
    for s in out["schedules"]:
        s["schedule"].pop("anchor_date", None)  # Prefect sends "now"
    if out.get("global_concurrency_limit"):  # each deployment's own
        out["global_concurrency_limit"] = {
            k: v for k, v in out["global_concurrency_limit"].items()
            if k not in ("id", "created", "updated", "name")}
    return out


FLAGS = ["--cron", "0 6 * * *", "--interval", "3600", "--timezone",
         "Europe/Paris", "--param", "name=Ada", "--param",
         "sleep_seconds=2", "-t", "etl", "--tag", "nightly",
         "--job-variable", "env={\"A\": \"1\"}", "--job-variable",
         "{\"labels\": {\"team\": \"data\"}}", "-q", "q1",
         "-d", "Made on the command line", "--version", "7",
         "--concurrency-limit", "3", "--collision-strategy", "CANCEL_NEW"]


def test_flags_make_what_prefect_deploy_makes(client, prefect_server,
                                              project, pool_name, tmp_path):
    """No prefect.yaml: ENTRYPOINT and every flag make the deployment;
    read back, it equals Prefect's from the same flags in every field
    but identity, entrypoint and schema."""
    client.create_pool(pool_name)
    (project / "flows/hello.py").write_text(PY_HELLO)
    ours = deploy(project, prefect_server, "flows/hello.c:hello", "-n",
                  f"{pool_name}-c", "-p", pool_name, *FLAGS)
    assert ours.returncode == 0, ours.stdout + ours.stderr
    assert "1 created" in ours.stdout
    prefect_deploy(project, prefect_server, tmp_path, "flows/hello.py:hello",
                   "-n", f"{pool_name}-py", "-p", pool_name, *FLAGS)
    c = read_deployment(client, "hello", f"{pool_name}-c")
    py = read_deployment(client, "hello", f"{pool_name}-py")
    assert c["entrypoint"] == "flows/hello.c:hello"
    assert c["parameters"] == {"name": "Ada", "sleep_seconds": 2}
    assert c["job_variables"] == {"env": '{"A": "1"}',
                                  "labels": {"team": "data"}}
    assert comparable(c) == comparable(py)

    again = deploy(project, prefect_server, "flows/hello.c:hello", "-n",
                   f"{pool_name}-c", "-p", pool_name, *FLAGS)
    assert "unchanged: no changes" in again.stdout, again.stdout


def test_flags_apply_to_the_file_deployment(client, prefect_server, project,
                                            pool_name, tmp_path):
    """With a prefect.yaml of one deployment, the flags apply to it as in
    Prefect: schedules added, parameters updated, its pull steps kept;
    the same as prefect deploy makes of the same file and flags."""
    client.create_pool(pool_name)
    (project / "flows/hello.py").write_text(PY_HELLO)
    yaml = """\
        pull:
          - prefect.deployments.steps.set_working_directory:
              directory: /srv/{ext}
        deployments:
          - name: {pool}-{ext}
            entrypoint: flows/hello.{ext}:hello
            parameters: {{name: Bob, sleep_seconds: 1}}
            tags: [from-file]
            schedules:
              - interval: 600
            work_pool: {{name: {pool}}}
        """
    write_yaml(project, yaml.format(pool=pool_name, ext="c"))
    flags = ["--param", "sleep_seconds=5", "--cron", "0 7 * * *",
             "--version", "7"]
    ours = deploy(project, prefect_server, *flags)
    assert ours.returncode == 0, ours.stdout + ours.stderr
    write_yaml(project, yaml.format(pool=pool_name, ext="py"))
    prefect_deploy(project, prefect_server, tmp_path, *flags)
    c = read_deployment(client, "hello", f"{pool_name}-c")
    py = read_deployment(client, "hello", f"{pool_name}-py")
    assert c["parameters"] == {"name": "Bob", "sleep_seconds": 5}
    assert len(c["schedules"]) == 2
    assert c["pull_steps"][0][
        "prefect.deployments.steps.set_working_directory"] == {
            "directory": "/srv/c"}
    a, b = comparable(c), comparable(py)
    a.pop("pull_steps"), b.pop("pull_steps")
    assert a == b


def test_errors_before_sending(client, prefect_server, project, pool_name):
    """A Python-only pull step (which deployment, which step, where), a
    parameter of the wrong type (from the file or --param), a name the
    server refuses, bad --params JSON (line and column), a missing
    entrypoint: each said before anything is written."""
    client.create_pool(pool_name)
    write_yaml(project, f"""\
        deployments:
          - name: {pool_name}-pip
            entrypoint: flows/hello.c:hello
            work_pool: {{name: {pool_name}}}
            pull:
              - prefect.deployments.steps.set_working_directory:
                  directory: /tmp
              - prefect.deployments.steps.pip_install_requirements:
                  requirements_file: requirements.txt
          - name: {pool_name}-type
            entrypoint: flows/hello.c:hello
            work_pool: {{name: {pool_name}}}
            parameters:
              sleep_seconds: soon
          - name: "{pool_name}<x>"
            entrypoint: flows/hello.c:hello
            work_pool: {{name: {pool_name}}}
        """)
    p = deploy(project, prefect_server, "--all")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "0 created, 0 updated, 0 unchanged, 3 failed" in p.stdout
    err = p.stderr.splitlines()
    pip = [x for x in err if f"deployment '{pool_name}-pip'" in x]
    assert re.match(r"pfagent deploy: prefect\.yaml:8:\d+: ", pip[0]), pip
    assert "pull step 2 'prefect.deployments.steps.pip_install_" \
           "requirements' cannot run: it is a Python step" in pip[0]
    typ = [x for x in err if f"deployment '{pool_name}-type'" in x]
    assert re.match(r"pfagent deploy: prefect\.yaml:14:\d+: ", typ[0]), typ
    assert "parameters.sleep_seconds = \"soon\": is not of type " \
           "'integer'" in typ[0]
    name = [x for x in err if f"'{pool_name}<x>'" in x]
    assert re.match(r"pfagent deploy: prefect\.yaml:15:\d+: ", name[0]), name
    assert "contains '<'" in name[0]
    assert client.send("GET", f"/deployments/name/hello/{pool_name}-type"
                       ).status_code == 404

    os.remove(project / "prefect.yaml")
    args = ["flows/hello.c:hello", "-n", f"{pool_name}-cli", "-p", pool_name]
    bad = deploy(project, prefect_server, *args, "--param",
                 "sleep_seconds=1.5")
    assert bad.returncode == 1
    assert "parameters.sleep_seconds = 1.5: is not of type 'integer'" \
        in bad.stderr, bad.stderr
    lax = deploy(project, prefect_server, *args, "--param",
                 "sleep_seconds=x", "--no-enforce-parameter-schema",
                 "--dry-run")
    assert lax.returncode == 1
    assert "Input should be a valid integer" in lax.stderr, lax.stderr
    j = deploy(project, prefect_server, *args, "--params",
               '{"name": "a",\n "sleep_seconds": }')
    assert j.returncode == 2
    assert "--params: invalid JSON at line 2, column" in j.stderr, j.stderr
    (project / "p.json").write_text('{"name": [1, 2}')
    f = deploy(project, prefect_server, *args, "--params-file", "p.json")
    assert f.returncode == 2
    assert "--params-file p.json: invalid JSON at line 1" in f.stderr
    (project / "p.json").write_text('{"name": "Zed"}')
    ok = deploy(project, prefect_server, *args, "--params-file", "p.json")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert read_deployment(client, "hello", f"{pool_name}-cli")[
        "parameters"] == {"name": "Zed"}
    noep = deploy(project, prefect_server, "-n", "x", "-p", pool_name)
    assert noep.returncode == 2
    assert "flows/<file>.c:<function>" in noep.stderr, noep.stderr
    assert ".py" not in noep.stderr
