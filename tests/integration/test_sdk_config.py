"""Configuration and secrets for C flows (pf_config_*, pf_secret_*,
pf_destination_type of pf/flow.h) against a real Prefect server.

A temporary project holds its own .dlt/ (a dlt workspace with dev and
prod files) and flows/config_secrets.c (tests/flows/config_secrets.c),
which reads a config value (config.toml), a password (secrets.toml) and
an API key (SOURCES__DEMO__API_KEY), then leaks both secrets on purpose:
in log lines, in a task's failure, in artifacts and in its own failure.
It runs as a deployment (pull step set_working_directory to the project,
the module built there by pfagent) and with `pfagent run` in the
project. The secrets' bytes must appear nowhere: the run's logs, state
messages (flow and task runs), artifacts, the agent's output (the flow
runs' console) and the files the runs leave in the project.
"""

import os
import secrets
import shutil
import subprocess

import pytest

from peers.prefect import REPO_ROOT, PFAGENT

ENTRY = "flows/config_secrets.c:config_secrets"
PASSWORD = "pw-dev-" + secrets.token_hex(8)
PROD_PASSWORD = "pw-prod-" + secrets.token_hex(8)
API_KEY = "ak-" + secrets.token_hex(8)
SECRETS = (PASSWORD, PROD_PASSWORD, API_KEY)
# The flows' module is built with the default compile line (no
# Makefile in the project), against this repository's SDK header.
# The suite runs under the tests profile (scripts/run-integration); these
# agents start without one, so the runs' default (dev) is what is tested.
AGENT_ENV = {"PFAGENT_INCLUDE_DIR": str(REPO_ROOT / "include"),
             "WORKSPACE__PROFILE": ""}


@pytest.fixture
def project(tmp_path):
    """A fresh checkout: sources and .dlt/, nothing built."""
    p = tmp_path / "project"
    (p / "flows").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "tests" / "flows" / "config_secrets.c",
                p / "flows" / "config_secrets.c")
    dlt = p / ".dlt"
    dlt.mkdir()
    (dlt / ".workspace").write_text("")
    (dlt / "config.toml").write_text(
        '[sources.demo]\ngreeting = "hello from config.toml"\n\n'
        '[destination.warehouse]\ndestination_type = "duckdb"\n')
    (dlt / "secrets.toml").write_text(
        f'[destination.warehouse.credentials]\npassword = "{PASSWORD}"\n')
    (dlt / "prod.config.toml").write_text(
        '[sources.demo]\ngreeting = "hello from prod"\n')
    (dlt / "prod.secrets.toml").write_text(
        f'[destination.warehouse.credentials]\n'
        f'password = "{PROD_PASSWORD}"\n')
    return p


def clean_env(**extra):
    """The test's environment without Prefect, dlt or demo settings of
    its own; the SDK header for the default compile line."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PREFECT_", "SOURCES__", "DESTINATION__"))
           and k not in ("DLT_PROJECT_DIR", "WORKSPACE__PROFILE")}
    env["PFAGENT_INCLUDE_DIR"] = str(REPO_ROOT / "include")
    env["ASAN_OPTIONS"] = "handle_segv=0:detect_leaks=1"
    env.update(extra)
    return env


def deploy(client, pool, project, name, parameters=None, env=None):
    flow = client.request("POST", "/flows/", json={"name": "config_secrets"})
    return client.request("POST", "/deployments/", json={
        "name": name, "flow_id": flow["id"], "work_pool_name": pool,
        "entrypoint": ENTRY, "enforce_parameter_schema": False,
        "parameters": parameters or {},
        "job_variables": {"env": {"SOURCES__DEMO__API_KEY": API_KEY,
                                  **(env or {})}},
        "pull_steps": [{"prefect.deployments.steps.set_working_directory":
                        {"directory": str(project)}}]})


def seen_by_prefect(client, run_id):
    """Everything the server keeps of a run, as text: its state
    messages, logs, task runs' state messages, artifacts."""
    parts = [m["message"] or "" for m in client.read_logs(run_id)]
    parts += [s["message"] or "" for s in client.read_states(run_id)]
    tasks = client.request("POST", "/task_runs/filter", json={
        "flow_runs": {"id": {"any_": [run_id]}}})
    for t in tasks:
        parts += [s["message"] or "" for s in client.request(
            "GET", "/task_run_states/", params={"task_run_id": t["id"]})]
    for a in client.request("POST", "/artifacts/filter", json={
            "artifacts": {"flow_run_id": {"any_": [run_id]}}}):
        parts += [a["data"] or "", a["description"] or ""]
    return "\n".join(parts), tasks


def leaked(text):
    return [s for s in SECRETS if s in text]


def files_leaking(project):
    """Files of the project holding a secret, but the files it comes
    from."""
    sources = {project / ".dlt" / f for f in ("secrets.toml",
                                             "prod.secrets.toml")}
    out = []
    for root, _, names in os.walk(project):
        for n in names:
            path = os.path.join(root, n)
            if path in {str(s) for s in sources}:
                continue
            with open(path, "rb") as f:
                data = f.read()
            out += [(path, s) for s in SECRETS if s.encode() in data]
    return out


def logs_of(client, run_id):
    return [m["message"] for m in client.read_logs(run_id)]


# ------------------------------------------------------------ deployments

def test_deployed_runs_read_configuration_and_mask_secrets(
        client, agent, pool_name, process_job_template, project):
    """One agent, three runs of the project: the dev profile (config
    value logged, both secrets masked everywhere, in the run's, the
    task run's and the artifacts' texts), a missing value (Failed with
    dlt's ConfigFieldMissingException listing every place looked) and
    WORKSPACE__PROFILE=prod from the deployment's env (prod's files)."""
    client.create_pool(pool_name, base_job_template=process_job_template)
    dev = deploy(client, pool_name, project, f"{pool_name}-dev")
    missing = deploy(client, pool_name, project, f"{pool_name}-missing",
                     parameters={"mode": "missing"})
    prod = deploy(client, pool_name, project, f"{pool_name}-prod",
                  env={"WORKSPACE__PROFILE": "prod"})
    runs = {n: client.create_flow_run(d["id"])["id"]
            for n, d in (("dev", dev), ("missing", missing),
                         ("prod", prod))}
    a = agent(pool_name, "--run-once", env=AGENT_ENV)
    assert a.wait(300) == 0, a.log_tail()

    run = client.read_flow_run(runs["dev"])
    assert run["state_type"] == "FAILED", run["state"]
    assert run["state"]["message"] == "Flow run encountered an exception: " \
        "FlowError: failing on purpose with password ****"
    logs = logs_of(client, runs["dev"])
    for line in ("greeting is hello from config.toml", "profile is dev",
                 "destination warehouse is duckdb", "retries is 3",
                 "password is ****", "api key is ****",
                 "the task said: rejected api key ****"):
        assert line in logs, logs
    text, tasks = seen_by_prefect(client, runs["dev"])
    assert [t["state_type"] for t in tasks] == ["FAILED"]
    assert "Task run encountered an exception: TaskError: rejected api " \
           "key ****" in text
    assert "password: ****, key: ****" in text
    assert '[{"password": "****"}]' in text
    assert not leaked(text)

    run = client.read_flow_run(runs["missing"])
    assert run["state_type"] == "FAILED", run["state"]
    message = run["state"]["message"]
    assert message.startswith(
        "Flow run encountered an exception: ConfigFieldMissingException: "
        "Missing 1 field(s) in configuration `sources.demo`: "
        "`missing_key`\nfor field `missing_key` the following (config "
        "provider, key) were tried in order:\n"
        "  (Environment Variables, SOURCES__DEMO__MISSING_KEY)\n"
        "  (Environment Variables, SOURCES__MISSING_KEY)\n"
        "  (Environment Variables, MISSING_KEY)\n"
        "  (secrets.toml, sources.demo.missing_key)\n"), message
    for part in ("  (config.toml, missing_key)\n", "Active profile: `dev`",
                 f"\t- {project}/.dlt/config.toml\n",
                 f"\t- {project}/.dlt/dev.config.toml\n",
                 "Learn more: https://dlthub.com/docs/general-usage/"
                 "credentials/"):
        assert part in message, message
    assert "greeting is hello from config.toml" not in \
        logs_of(client, runs["missing"])
    text, _ = seen_by_prefect(client, runs["missing"])
    assert not leaked(text)

    logs = logs_of(client, runs["prod"])
    assert "greeting is hello from prod" in logs, logs
    assert "profile is prod" in logs and "password is ****" in logs
    text, _ = seen_by_prefect(client, runs["prod"])
    assert not leaked(text)

    assert not leaked(a.log_text()), a.log_tail()
    assert "Task run 'use_api_key-0' - api key is ****" in a.log_text()
    assert not files_leaking(project)


def test_start_profile_makes_deployed_runs_read_prod(
        client, agent, pool_name, process_job_template, project):
    """`pfagent start --profile prod`: a deployment without a profile of
    its own reads prod's files; the prod password is masked."""
    client.create_pool(pool_name, base_job_template=process_job_template)
    dep = deploy(client, pool_name, project, f"{pool_name}-dev")
    run_id = client.create_flow_run(dep["id"])["id"]
    a = agent(pool_name, "--run-once", "--profile", "prod", env=AGENT_ENV)
    assert a.wait(300) == 0, a.log_tail()
    logs = logs_of(client, run_id)
    assert "greeting is hello from prod" in logs, logs
    assert "profile is prod" in logs, logs
    text, _ = seen_by_prefect(client, run_id)
    assert "password is ****" in text
    assert not leaked(text) and not leaked(a.log_text())
    assert not files_leaking(project)


# ------------------------------------------------------------- pfagent run

def pfagent_run(project, *args, **env):
    return subprocess.run([str(PFAGENT), "run", ENTRY, *args], cwd=project,
                          env=clean_env(**env), capture_output=True,
                          text=True, timeout=300)


def test_pfagent_run_builds_reads_configuration_and_masks(project):
    """`pfagent run` in a fresh checkout builds the module, reads the
    project's .dlt/ (WORKSPACE__PROFILE=prod: prod's files) and masks
    the secrets on its console; a missing value fails the run (exit 1)
    with dlt's message."""
    p = pfagent_run(project, SOURCES__DEMO__API_KEY=API_KEY)
    assert p.returncode == 1, p.stderr
    assert "pfagent run: built build/flows/config_secrets.so from " \
           "flows/config_secrets.c" in p.stderr
    for line in ("Flow run 'config_secrets' - greeting is hello from "
                 "config.toml", "Flow run 'config_secrets' - password is "
                 "****", "Task run 'use_api_key-0' - api key is ****",
                 "Finished in state Failed('Flow run encountered an "
                 "exception: FlowError: failing on purpose with password "
                 "****')", "password: ****, key: ****",
                 '[{"password": "****"}]'):
        assert line in p.stderr, p.stderr
    assert not leaked(p.stdout + p.stderr)

    prod = pfagent_run(project, SOURCES__DEMO__API_KEY=API_KEY,
                       WORKSPACE__PROFILE="prod")
    assert prod.returncode == 1, prod.stderr
    assert "greeting is hello from prod" in prod.stderr
    assert "pfagent run: built" not in prod.stderr   # up to date
    assert not leaked(prod.stdout + prod.stderr)

    missing = pfagent_run(project, "--param", "mode=missing")
    assert missing.returncode == 1
    assert "Failed('Flow run encountered an exception: " \
           "ConfigFieldMissingException: Missing 1 field(s) in " \
           "configuration `sources.demo`: `missing_key`\\nfor field " \
           "`missing_key`" in missing.stderr, missing.stderr
    assert "(config.toml, sources.demo.missing_key)" in missing.stderr
    assert not files_leaking(project)


def test_pfagent_run_with_an_api_reports_masked(client, project):
    """With PREFECT_API_URL the local run is on the server, masked as a
    deployed one."""
    p = pfagent_run(project, SOURCES__DEMO__API_KEY=API_KEY,
                    PREFECT_API_URL=client.api_url)
    assert p.returncode == 1, p.stderr
    name = p.stderr.split("Flow run '", 1)[1].split("'", 1)[0]
    runs = client.request("POST", "/flow_runs/filter", json={
        "flow_runs": {"name": {"any_": [name]}}})
    assert len(runs) == 1
    text, tasks = seen_by_prefect(client, runs[0]["id"])
    assert len(tasks) == 1
    assert "password is ****" in text and "api key is ****" in text
    assert runs[0]["state"]["message"].endswith("with password ****")
    assert not leaked(text) and not leaked(p.stdout + p.stderr)


def test_pfagent_run_compile_errors_and_broken_configuration(project):
    """A compile error prints the compiler's messages and exits 2; a
    TOML syntax error in .dlt/ is a warning, and the flow's lookups fail
    with dlt's TomlProviderReadException."""
    src = project / "flows" / "config_secrets.c"
    good = src.read_text()
    src.write_text(good + "\nint broken = ;\n")
    p = pfagent_run(project)
    assert p.returncode == 2
    assert "error: expected expression" in p.stderr, p.stderr
    assert "building build/flows/config_secrets.so failed" in p.stderr
    assert "Beginning flow run" not in p.stderr

    src.write_text(good)
    (project / ".dlt" / "config.toml").write_text("[sources.demo\n")
    p = pfagent_run(project, SOURCES__DEMO__API_KEY=API_KEY)
    assert p.returncode == 1, p.stderr
    assert "WARNING | Flow run 'config_secrets' - Configuration could not " \
           "be loaded: A problem encountered when loading config.toml" \
        in p.stderr, p.stderr
    assert "Finished in state Failed(\"Flow run encountered an " \
           "exception: TomlProviderReadException: A problem encountered " \
           "when loading config.toml from paths [" in p.stderr, p.stderr
    assert p.stderr.count("expected ']'") == 3   # warning, error, state
