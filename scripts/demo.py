"""pfagent end to end on embedded defaults.

Starts a throwaway Prefect server (pinned venv, temporary PREFECT_HOME,
SQLite, free 127.0.0.1 port), points the Prefect variable
`data_pipelines_repository` at this repository's own .git, registers the
`hello` deployment of prefect.yaml with `pfagent deploy`, starts
`build/pfagent start` on its pool, triggers a run (which clones this
repository's `main` through pfagent's git cache and builds the flow in the
checkout), and prints the run's logs and final state. Everything is
stopped at the end; nothing is left outside a temporary directory.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from peers.prefect import (  # noqa: E402
    PrefectClient, PrefectServer, wait_for)

POOL = "c-pool"  # the pool of prefect.yaml's deployments


def main():
    home = Path(tempfile.mkdtemp(prefix="pfagent-demo-"))
    server = PrefectServer(home / "prefect")
    print(f"demo: starting a Prefect server ({server.api_url}) ...")
    server.start()
    agent = None
    client = PrefectClient(server.api_url)
    try:
        env = dict(os.environ, PREFECT_API_URL=server.api_url,
                   PFAGENT_STATE_DIR=str(home / "state"))
        client.request("POST", "/variables/", json={
            "name": "data_pipelines_repository",
            "value": (REPO / ".git").as_uri()})
        agent = subprocess.Popen(
            [str(REPO / "build/pfagent"), "start", "--pool", POOL,
             "--name", "demo-worker", "--query-seconds", "1"],
            cwd=home, env=env, stdin=subprocess.DEVNULL)
        # pfagent creates the pool; deploying needs it to exist.
        wait_for(lambda: client.read_pool(POOL), timeout=60,
                 what=f"pfagent to create pool {POOL}")
        print("demo: pfagent deploy --name hello")
        deployed = subprocess.run(
            [str(REPO / "build/pfagent"), "deploy", "--name", "hello"],
            cwd=REPO, env=env, stdin=subprocess.DEVNULL)
        if deployed.returncode != 0:
            return 1
        dep = client.request("GET", "/deployments/name/hello/hello")
        run = client.create_flow_run(dep["id"],
                                     parameters={"name": "pfagent demo"})
        print(f"demo: flow run {run['name']} ({run['id']}) created")
        run = client.wait_for_run(run["id"], timeout=120)
        print("\ndemo: the run's logs, as Prefect stores them:")
        for log in client.read_logs(run["id"]):
            print(f"  {log['timestamp'][11:23]}  {log['name']:<26} "
                  f"{log['message']}")
        print("\ndemo: state history: " + " -> ".join(
            s["name"] for s in client.read_states(run["id"])))
        print(f"demo: final state: {run['state_type']} "
              f"({run['state_name']})")
        return 0 if run["state_type"] == "COMPLETED" else 1
    finally:
        if agent is not None:
            agent.terminate()
            agent.wait(30)
        client.close()
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
