"""Pull steps against a real Prefect server and real git repositories.

Deployments name a C flow in a git repository; pfagent's executor runs
their pull steps (git_clone through libgit2 with its mirror cache,
run_shell_script, set_working_directory), builds the flow module in the
checkout and runs it. Repositories are served over file:// and over http
by the real `git http-backend` behind a loopback server that demands a
token (tests/peers/git_http.py) and logs every request.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from peers.git_http import GitHttpServer, git
from peers.prefect import REPO_ROOT, free_port, wait_for

FAST = ("--query-seconds", "1")
TOKEN = "ghp_pfagentTestToken0123456789abcdef"

FLOW = r'''
#include <unistd.h>
#include <pf/flow.h>

#define VERSION "%s"

static int
version(pf_run *run)
{
	pf_log_info(run, "flow version " VERSION);
	pf_log_info(run, access("vendor/sub/data.txt", R_OK) == 0 ?
	    "submodule present" : "submodule absent");
	return PF_OK;
}

PF_FLOW(version, .description = "Logs the version of its source.");
'''


def write_flow(work, version):
    (work / "flows").mkdir(exist_ok=True)
    (work / "flows" / "version.c").write_text(FLOW % version)


@pytest.fixture(scope="module")
def repos(tmp_path_factory):
    """Bare repositories under one root:
    flows.git  main: v1 -> v2 (+ submodule vendor/sub -> ../sub.git);
               feature: "feature"; broken: a syntax error
    sub.git    data.txt
    Returns a dict of paths and commit ids."""
    root = tmp_path_factory.mktemp("git-root")
    work = tmp_path_factory.mktemp("git-work")
    sub_work = work / "sub"
    sub_work.mkdir()
    git(sub_work, "init", "-q")
    (sub_work / "data.txt").write_text("submodule data\n")
    git(sub_work, "add", ".")
    git(sub_work, "commit", "-qm", "sub")
    git(root, "clone", "-q", "--bare", str(sub_work), "sub.git")

    main = work / "flows"
    main.mkdir()
    git(main, "init", "-q")
    write_flow(main, "v1")
    git(main, "add", ".")
    git(main, "commit", "-qm", "v1")
    v1 = git(main, "rev-parse", "HEAD")
    write_flow(main, "v2")
    git(main, "submodule", "add", "-q", str(root / "sub.git"), "vendor/sub")
    # Relative, so it resolves against the URL each clone uses.
    git(main, "config", "-f", ".gitmodules", "submodule.vendor/sub.url",
        "../sub.git")
    git(main, "add", ".")
    git(main, "commit", "-qm", "v2")
    v2 = git(main, "rev-parse", "HEAD")
    git(main, "checkout", "-qb", "feature", v1)
    write_flow(main, "feature")
    git(main, "commit", "-qam", "feature")
    git(main, "checkout", "-qb", "broken", v1)
    (main / "flows" / "version.c").write_text("int broken(void) { return }\n")
    git(main, "commit", "-qam", "broken")
    git(main, "checkout", "-q", "main")
    git(root, "clone", "-q", "--bare", str(main), "flows.git")
    for ref in ("feature", "broken"):
        git(root / "flows.git", "fetch", "-q", str(main), f"{ref}:{ref}")
    return {"root": root, "v1": v1, "v2": v2}


@pytest.fixture
def git_server(repos, tmp_path):
    server = GitHttpServer(repos["root"], TOKEN, tmp_path / "git-access.log")
    server.start()
    yield server
    server.stop()


def clone_step(repository, **kw):
    return {"prefect.deployments.steps.git_clone":
            {"repository": repository, **kw}}


def deploy(client, pool, name, pull_steps,
           entrypoint="flows/version.c:version", job_variables=None):
    flow = client.request("POST", "/flows/", json={"name": "version"})
    return client.request("POST", "/deployments/", json={
        "name": name, "flow_id": flow["id"], "work_pool_name": pool,
        "entrypoint": entrypoint, "enforce_parameter_schema": False,
        "pull_steps": pull_steps, "job_variables": job_variables or {}})


def run_and_wait(client, dep, a):
    run = client.create_flow_run(dep["id"])
    return client.wait_for_run(run["id"], watch=[a], timeout=180)


def messages(client, run_id):
    return [l["message"] for l in client.read_logs(run_id)]


def wait_logged(client, run_id, line, a):
    return wait_for(lambda: messages(client, run_id), watch=[a],
                    what=f"log line {line!r} of run {run_id}",
                    until=lambda ms: any(line in m for m in ms))


def start_agent(client, agent, pool, state_dir, env=None):
    """An agent on pool, once it has created the pool."""
    a = agent(pool, *FAST, "--state-dir", state_dir, env=env)
    wait_for(lambda: client.read_pool(pool), watch=[a],
             what=f"pool {pool!r} created by the agent")
    return a


# --------------------------------------------------------------------------

def test_file_url_branch_commit_and_submodules(client, agent, pool_name,
                                               repos, tmp_path):
    """Over file://: the branch runs its tip, a pinned commit runs that
    commit's code, another branch its own; submodules are checked out only
    when asked for. Each run logs the version string compiled into it."""
    a = start_agent(client, agent, pool_name, tmp_path / "state")
    url = (repos["root"] / "flows.git").as_uri()
    cases = [
        ("main", clone_step(url, branch="main"), "v2", "absent"),
        ("pinned", clone_step(url, commit_sha=repos["v1"]), "v1", "absent"),
        ("feature", clone_step(url, branch="feature"), "feature", "absent"),
        ("subs", clone_step(url, branch="main", include_submodules=True),
         "v2", "present"),
    ]
    for name, step, version, sub in cases:
        dep = deploy(client, pool_name, f"file-{name}", [step])
        final = run_and_wait(client, dep, a)
        assert final["state_type"] == "COMPLETED", (name, final["state"])
        wait_logged(client, final["id"], f"flow version {version}", a)
        wait_logged(client, final["id"], f"submodule {sub}", a)
    logs = messages(client, final["id"])
    assert "Executing deployment step: git_clone" in logs
    assert "Deployment step 'git_clone' completed successfully" in logs


def test_http_token_never_leaks_and_cache_skips_the_server(
        client, agent, pool_name, repos, git_server, tmp_path):
    """Over http behind a server demanding a token (taken from a Secret
    block at run time): runs complete, submodules come with the same
    credentials; the token is nowhere in the agent's output, the runs'
    logs or the state directory; a second run of a pinned commit makes no
    request at all, and a second run of a branch only lists refs."""
    client.request("POST", "/block_documents/", json={
        "name": "git-token", "data": {"value": TOKEN},
        "block_schema_id": secret_schema_id(client),
        "block_type_id": secret_type_id(client)})
    state = tmp_path / "state"
    a = start_agent(client, agent, pool_name, state)
    url = f"http://127.0.0.1:{git_server.port}/flows.git"
    token_ref = "{{ prefect.blocks.secret.git-token }}"
    pinned = deploy(client, pool_name, "http-pinned", [clone_step(
        url, commit_sha=repos["v2"], access_token=token_ref,
        include_submodules=True)])
    branch = deploy(client, pool_name, "http-branch", [clone_step(
        url, branch="main", access_token=token_ref)])

    run_ids = []
    for dep, sub in ((pinned, "present"), (branch, "absent")):
        final = run_and_wait(client, dep, a)
        assert final["state_type"] == "COMPLETED", final["state"]
        wait_logged(client, final["id"], f"submodule {sub}", a)
        run_ids.append(final["id"])

    before = list(git_server.requests)
    final = run_and_wait(client, pinned, a)
    assert final["state_type"] == "COMPLETED", final["state"]
    assert git_server.requests == before, "a cached commit hit the server"
    run_ids.append(final["id"])

    final = run_and_wait(client, branch, a)
    assert final["state_type"] == "COMPLETED", final["state"]
    run_ids.append(final["id"])
    new = git_server.requests[len(before):]
    assert new, "a branch must be resolved against the server"
    assert not [r for r in new if r[0] == "POST"], new  # no pack transfer

    # The token appears nowhere.
    for run_id in run_ids:
        wait_logged(client, run_id, "Finished in state Completed()", a)
        assert not [m for m in messages(client, run_id) if TOKEN in m]
    assert TOKEN not in a.log_text()
    leaks = subprocess.run(["grep", "-rl", TOKEN, str(state)],
                           capture_output=True, text=True)
    assert leaks.stdout == "", leaks.stdout


def secret_type_id(client):
    return client.request("GET", "/block_types/slug/secret")["id"]


def secret_schema_id(client):
    schemas = client.request("POST", "/block_schemas/filter", json={
        "block_schemas": {"block_type_id": {"any_": [secret_type_id(client)]}}})
    return schemas[0]["id"]


def test_bad_sources_end_the_run_with_their_cause(client, agent, pool_name,
                                                  repos, git_server,
                                                  tmp_path):
    """A bad URL, a missing branch, a wrong token, a missing entrypoint
    file, a compile error and a Python-only step each end the run CRASHED
    with a message naming the cause (the compiler's message is in the
    run's logs); the agent serves a good run after each."""
    a = start_agent(client, agent, pool_name, tmp_path / "state")
    url = (repos["root"] / "flows.git").as_uri()
    http = f"http://127.0.0.1:{git_server.port}/flows.git"
    closed = f"http://127.0.0.1:{free_port()}/nowhere.git"
    good = deploy(client, pool_name, "good", [clone_step(url)])
    cases = [
        ("bad-url", [clone_step(closed)], None, ["git_clone", "127.0.0.1"]),
        ("no-branch", [clone_step(url, branch="no-such-branch")], None,
         ["no-such-branch"]),
        ("bad-token", [clone_step(http, access_token="wrong-token")], None,
         ["auth"]),
        ("no-file", [clone_step(url)], "flows/missing.c:missing",
         ["flows/missing.c"]),
        ("compile-error", [clone_step(url, branch="broken")], None,
         ["flows/version.c", "build"]),
        ("python-step", [{"prefect.deployments.steps.pip_install_requirements":
                          {"requirements_file": "requirements.txt"}}], None,
         ["pip_install_requirements", "pfagent"]),
    ]
    for name, steps, entrypoint, fragments in cases:
        dep = deploy(client, pool_name, name, steps,
                     entrypoint or "flows/version.c:version")
        final = run_and_wait(client, dep, a)
        message = final["state"]["message"] or ""
        assert final["state_type"] == "CRASHED", (name, final["state"])
        for fragment in fragments:
            assert fragment.lower() in message.lower(), (name, message)
        if name == "compile-error":
            wait_logged(client, final["id"], "error:", a)
        ok = run_and_wait(client, good, a)
        assert ok["state_type"] == "COMPLETED", (name, ok["state"])
        a.assert_alive(f"after {name}")


def test_templated_steps_use_outputs_variables_blocks_and_env(
        client, agent, pool_name, repos, tmp_path):
    """Step inputs are templated at run time as Prefect does: earlier
    steps' outputs (flattened and under their id), {{ $ENV }}, Prefect
    variables (whole-string keeps the JSON value), and blocks; an unset
    {{ $ENV }} is "" with a warning naming it."""
    client.request("POST", "/variables/", json={
        "name": "greeting", "value": "hello from a variable"})
    client.request("POST", "/variables/", json={
        "name": "ref", "value": "main"})
    out = tmp_path / "out.txt"
    a = start_agent(client, agent, pool_name, tmp_path / "state",
                    env={"PF_TEST_ENV": "from the environment"})
    url = (repos["root"] / "flows.git").as_uri()
    steps = [
        {"prefect.deployments.steps.git_clone": {
            "id": "clone", "repository": url,
            "branch": "{{ prefect.variables.ref }}"}},
        {"prefect.deployments.steps.run_shell_script": {
            "id": "say", "script": "echo {{ prefect.variables.greeting }}",
            "stream_output": False}},
        {"prefect.deployments.steps.run_shell_script": {
            "script": "sh -c 'pwd; echo \"$A|$B|$C\"' ",
            "directory": "{{ clone.directory }}",
            "env": {"A": "{{ say.stdout }}", "B": "{{ $PF_TEST_ENV }}",
                    "C": "{{ stdout }}", "D": "{{ $PF_TEST_UNSET }}"},
            "stream_output": False, "id": "check"}},
        {"prefect.deployments.steps.run_shell_script": {
            "script": f"sh -c 'echo \"$X\" > {out}'",
            "env": {"X": "{{ check.stdout }}"}, "stream_output": False}},
    ]
    dep = deploy(client, pool_name, "templated", steps)
    final = run_and_wait(client, dep, a)
    assert final["state_type"] == "COMPLETED", final["state"]
    wait_logged(client, final["id"], "flow version v2", a)
    lines = out.read_text().splitlines()
    assert lines[0].startswith(str(tmp_path / "state")), lines
    assert lines[1] == ("hello from a variable|from the environment|"
                        "hello from a variable"), lines
    # An unset variable is "" as in Prefect, with Prefect's warning.
    wait_logged(client, final["id"], "Value for placeholder "
                "'{{ $PF_TEST_UNSET }}' not found in provided values", a)


def test_deployment_made_by_prefect_python_client_runs(
        client, agent, pool_name, repos, tmp_path, prefect_server,
        process_job_template):
    """A deployment registered by Prefect's own Python client (not by
    pfagent), with a git_clone pull step, run through Prefect's CLI,
    completes on pfagent."""
    client.create_pool(pool_name, base_job_template=process_job_template)
    a = start_agent(client, agent, pool_name, tmp_path / "state")
    url = (repos["root"] / "flows.git").as_uri()
    script = f"""
import asyncio
from prefect.client.orchestration import get_client

async def main():
    async with get_client() as c:
        flow_id = await c.create_flow_from_name("version")
        await c.create_deployment(
            flow_id=flow_id, name="py-made",
            entrypoint="flows/version.c:version",
            work_pool_name={pool_name!r},
            pull_steps=[{{"prefect.deployments.steps.git_clone": {{
                "repository": {url!r}, "branch": "main"}}}}])

asyncio.run(main())
"""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PREFECT_")}
    env.update(PREFECT_API_URL=prefect_server.api_url,
               PREFECT_HOME=str(tmp_path / "py-home"))
    out = subprocess.run([sys.executable, "-c", script], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    prefect = Path(sys.executable).parent / "prefect"
    out = subprocess.run([str(prefect), "deployment", "run",
                          "version/py-made"], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    dep = client.request("GET", "/deployments/name/version/py-made")
    runs = wait_for(lambda: client.filter_runs(dep["id"], ["COMPLETED",
                    "FAILED", "CRASHED"]), watch=[a], timeout=180,
                    what="the py-made run to finish")
    assert runs[0]["state_type"] == "COMPLETED", runs[0]["state"]
    wait_logged(client, runs[0]["id"], "flow version v2", a)


UNUSED = r'''
#include <pf/flow.h>

static int
unused(pf_run *run)
{
	int	spare;

	pf_log_info(run, "ran despite a warning");
	return PF_OK;
}

PF_FLOW(unused);
'''


def in_dir(path):
    return [{"prefect.deployments.steps.set_working_directory":
             {"directory": str(path)}}]


def test_user_flow_warnings_are_logged_not_fatal(client, agent, pool_name,
                                                 tmp_path):
    """A user's flow with an unused variable runs Completed, built by the
    default compile line and by this repository's Makefile alike, and the
    compiler's warning is in the run's logs at WARNING level; `make` here
    still builds this repository's own flows with -Werror."""
    plain = tmp_path / "plain"
    with_make = tmp_path / "with-make"
    for d in (plain, with_make):
        (d / "flows").mkdir(parents=True)
        (d / "flows" / "unused.c").write_text(UNUSED)
    (with_make / "Makefile").write_text((REPO_ROOT / "Makefile").read_text())
    (with_make / "include").symlink_to(REPO_ROOT / "include")
    a = start_agent(client, agent, pool_name, tmp_path / "state")
    for name, d in (("plain", plain), ("make", with_make)):
        dep = deploy(client, pool_name, f"warn-{name}", in_dir(d),
                     entrypoint="flows/unused.c:unused")
        final = run_and_wait(client, dep, a)
        assert final["state_type"] == "COMPLETED", (name, final["state"])
        wait_logged(client, final["id"], "ran despite a warning", a)
        warned = [l for l in client.read_logs(final["id"])
                  if "unused variable" in l["message"]]
        assert warned and warned[0]["level"] == 30, (name, warned)
        assert "spare" in warned[0]["message"]
    own = subprocess.run(["make", "-n", "-B", "build/flows/hello.so"],
                         cwd=REPO_ROOT, capture_output=True, text=True)
    assert own.returncode == 0 and "-Werror" in own.stdout, own.stdout


def test_module_build_sees_no_secret(client, agent, pool_name, tmp_path):
    """The module build (here a wrapper compiler named by CC that dumps
    its environment) gets only what a build needs: not the API key, not
    the deployment's secret variables, AWS keys or dlt SECTION__KEY
    values, which the flow's own process still has."""
    work = tmp_path / "work"
    (work / "flows").mkdir(parents=True)
    write_flow(work, "secretless")
    dump = tmp_path / "build-env.txt"
    wrapper = tmp_path / "cc-wrapper"
    wrapper.write_text(f"#!/bin/sh\nenv > {dump}\nexec cc \"$@\"\n")
    wrapper.chmod(0o755)
    secrets = {"PREFECT_API_KEY": "pnu_buildMustNotSeeThis0001",
               "MY_FLOW_SECRET": "flow-secret-value-0002",
               "AWS_SECRET_ACCESS_KEY": "aws-secret-value-0003",
               "DESTINATION__POSTGRES__CREDENTIALS__PASSWORD":
               "dlt-secret-value-0004"}
    a = start_agent(client, agent, pool_name, tmp_path / "state")
    dep = deploy(client, pool_name, "secretless", in_dir(work),
                 job_variables={"env": {"CC": str(wrapper), **secrets}})
    final = run_and_wait(client, dep, a)
    assert final["state_type"] == "COMPLETED", final["state"]
    wait_logged(client, final["id"], "flow version secretless", a)
    seen = dump.read_text()
    assert "PATH=" in seen and f"CC={wrapper}" in seen, seen
    for name, value in secrets.items():
        assert value not in seen and name not in seen, name


def test_streamed_shell_step_masks_resolved_secrets(client, agent, pool_name,
                                                    repos, tmp_path):
    """run_shell_script with stream_output echoing a Secret block: the
    worker's console shows the line with the value masked, and neither it
    nor the run's logs in Prefect nor the state message of a step that
    fails printing it hold the value."""
    value = "streamed-secret-4f9a1c"
    client.request("POST", "/block_documents/", json={
        "name": "shell-secret", "data": {"value": value},
        "block_schema_id": secret_schema_id(client),
        "block_type_id": secret_type_id(client)})
    a = start_agent(client, agent, pool_name, tmp_path / "state")
    url = (repos["root"] / "flows.git").as_uri()
    ref = "{{ prefect.blocks.secret.shell-secret }}"
    echo = {"prefect.deployments.steps.run_shell_script": {
        "script": f"echo streamed:{ref}", "stream_output": True}}
    fail = {"prefect.deployments.steps.run_shell_script": {
        "script": f"sh -c 'echo failing:{ref} >&2; exit 3'",
        "stream_output": True}}
    ok = deploy(client, pool_name, "shell-secret", [clone_step(url), echo])
    bad = deploy(client, pool_name, "shell-secret-fails",
                 [clone_step(url), fail])
    final = run_and_wait(client, ok, a)
    assert final["state_type"] == "COMPLETED", final["state"]
    failed = run_and_wait(client, bad, a)
    assert failed["state_type"] == "CRASHED", failed["state"]
    assert "failing:****" in failed["state"]["message"], failed["state"]
    for run in (final, failed):
        wait_logged(client, run["id"], "Finished in state", a)
        assert not [m for m in messages(client, run["id"]) if value in m]
    wait_for(a.log_text, watch=[a], what="the streamed line",
             until=lambda t: "streamed:****" in t)
    assert value not in a.log_text()
