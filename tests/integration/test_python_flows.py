"""Python flows in a pool pfagent serves: a deployment whose entrypoint
is a .py file, made by Prefect's own Python client, runs by Prefect's
engine (`python -m prefect.engine`, the Python of the `prefect` on the
agent's PATH) the way Prefect's process worker runs it, with pfagent's
claim, cancellation and exit handling.
"""

import os
import subprocess

from peers.prefect import REPO_ROOT, VENV_BIN, wait_for

FAST = ("--query-seconds", "1")
# The agent's PATH: the venv (with Prefect) first, or not at all.
WITH_PREFECT = {"PATH": f"{VENV_BIN}:/usr/bin:/bin"}
WITHOUT_PREFECT = {"PATH": "/usr/bin:/bin"}


def wait_online(client, pool, agent):
    wait_for(lambda: client.read_workers(pool) if client.read_pool(pool)
             else [], timeout=60, watch=[agent],
             what=f"worker {agent.name!r} ONLINE",
             until=lambda ws: any(w["name"] == agent.name and
                                  w["status"] == "ONLINE" for w in ws))


def deploy(api_url, tmp_path, pool, entrypoint, name):
    """A deployment made by Prefect's client: flow.from_source(REPO_ROOT,
    entrypoint).deploy(...), as a team's Python project makes it."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PREFECT_")}
    env.update({"PREFECT_API_URL": api_url,
                "PREFECT_HOME": str(tmp_path / "deploy-home")})
    script = (
        "import sys\n"
        "from prefect import flow\n"
        "pool, source, entrypoint, name = sys.argv[1:5]\n"
        "f = flow.from_source(source=source, entrypoint=entrypoint)\n"
        "print(f.deploy(name=name, work_pool_name=pool, build=False,\n"
        "               push=False, print_next_steps=False))\n")
    out = subprocess.run(
        [str(VENV_BIN / "python"), "-c", script, pool, str(REPO_ROOT),
         entrypoint, name], env=env, capture_output=True, text=True,
        timeout=180)
    assert out.returncode == 0, (out.stdout, out.stderr[-3000:])
    return out.stdout.strip().splitlines()[-1]


def run(client, deployment_id, parameters=None):
    return client.request(
        "POST", f"/deployments/{deployment_id}/create_flow_run",
        json={"parameters": parameters or {}})


def messages(client, run_id):
    return [l["message"] for l in client.read_logs(run_id)]


def process_gone(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_python_flow_completes_with_its_log_line(
        client, agent, pool_name, prefect_server, tmp_path):
    """bench/hello_flow.py:hello, deployed by Prefect's client, runs
    Completed; its "Hello" log line reaches Prefect."""
    a = agent(pool_name, *FAST, env=WITH_PREFECT)
    wait_online(client, pool_name, a)
    dep = deploy(prefect_server.api_url, tmp_path, pool_name,
                 "bench/hello_flow.py:hello", "py-hello")
    r = run(client, dep, {"name": "Python"})
    final = client.wait_for_run(r["id"], timeout=180, watch=[a])
    assert final["state_type"] == "COMPLETED", final["state"]
    wait_for(lambda: messages(client, r["id"]),
             what="the flow's log line", watch=[a],
             until=lambda ms: "Hello, Python!" in ms)
    assert "not a relative path to a .c file" not in a.log_text()


def test_python_flow_that_raises_ends_failed(
        client, agent, pool_name, prefect_server, tmp_path):
    """A Python flow that raises is Failed (its engine's state), not
    Crashed by the worker for the engine's exit status 1."""
    a = agent(pool_name, *FAST, env=WITH_PREFECT)
    wait_online(client, pool_name, a)
    dep = deploy(prefect_server.api_url, tmp_path, pool_name,
                 "tests/flows/py_flows.py:fails", "py-fails")
    r = run(client, dep)
    final = client.wait_for_run(r["id"], timeout=180, watch=[a])
    assert final["state_type"] == "FAILED", final["state"]
    assert "failed on purpose" in final["state"]["message"]


def test_python_flow_cancelled_process_gone(
        client, agent, pool_name, prefect_server, tmp_path):
    """Cancelling a long Python flow: SIGTERM to its process group, the
    run Cancelled, its process gone."""
    a = agent(pool_name, *FAST, "--cancel-grace-seconds", 5,
              env=WITH_PREFECT)
    wait_online(client, pool_name, a)
    dep = deploy(prefect_server.api_url, tmp_path, pool_name,
                 "bench/hello_flow.py:hello", "py-slow")
    r = run(client, dep, {"sleep_seconds": 600})
    client.wait_for_run(r["id"], ("RUNNING",), timeout=180, watch=[a])
    pid = int(client.read_flow_run(r["id"])["infrastructure_pid"])
    client.request("POST", f"/flow_runs/{r['id']}/set_state", json={
        "state": {"type": "CANCELLING", "name": "Cancelling"},
        "force": True})
    final = client.wait_for_run(r["id"], ("CANCELLED",), timeout=60,
                                watch=[a])
    assert final["state"]["message"] == \
        "Flow run was cancelled successfully."
    wait_for(lambda: process_gone(pid), timeout=30, watch=[a],
             what=f"process {pid} of the cancelled run to be gone")
    assert not any("Hello" in m for m in messages(client, r["id"]))


def test_no_prefect_on_path_is_crashed_saying_so(
        client, agent, pool_name, prefect_server, tmp_path):
    """With no `prefect` on the agent's PATH, the run is Crashed with a
    message saying what to do."""
    a = agent(pool_name, *FAST, env=WITHOUT_PREFECT)
    wait_online(client, pool_name, a)
    dep = deploy(prefect_server.api_url, tmp_path, pool_name,
                 "bench/hello_flow.py:hello", "py-no-prefect")
    r = run(client, dep)
    final = client.wait_for_run(r["id"], timeout=120, watch=[a])
    assert final["state_type"] == "CRASHED", final["state"]
    assert final["state"]["message"] == (
        f"Flow run {r['id']} has a Python entrypoint and no 'prefect' "
        f"command was found on PATH: install Prefect in the worker's "
        f"image or set the deployment's job variable `command`")
