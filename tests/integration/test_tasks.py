"""Task runs, flow retries and timeouts of C flows, against a real
Prefect server.

Task runs go through Prefect's REST API (POST /task_runs/, set_state),
so the server's orchestration applies task retries; what it records is
compared with what Prefect 3.8.8's own Python engine records for the
equivalent Python flow, run here against the same server. Flows:
tests/flows/tasks.c, flow_retry.c and timeouts.c, built in the
repository (build/tests/flows/) as the executor builds them. Waits poll
the API for states; nothing here sleeps or measures time.
"""

import os
import re
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from peers.prefect import PFAGENT, REPO_ROOT, VENV_BIN, wait_for
from test_worker_core import FAST, HELLO, wait_for_hello, wait_for_workers

TERMINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")

# The equivalent of tests/flows/tasks.c:tasks in Python. TaskError is
# named after the exception pfagent reports for pf_fail, and the tasks
# log what the C ones log, so even the log lines compare equal.
PY_FLOW = """\
from prefect import flow, task, get_run_logger

class TaskError(Exception):
    pass

calls = {"n": 0}

@task
def extract():
    get_run_logger().info("extracting")

@task(retries=2, retry_delay_seconds=1)
def flaky():
    calls["n"] += 1
    if calls["n"] <= 2:
        raise TaskError(f"boom {calls['n']}")
    get_run_logger().info(f"worked on call {calls['n']}")

@task(tags=["etl"])
def load():
    get_run_logger().info("loading")

@flow
def tasks():
    e = extract(return_state=True)
    f = flaky(wait_for=[e], return_state=True)
    load(wait_for=[e, f], return_state=True)

state = tasks(return_state=True)
print("FLOW_RUN_ID", state.state_details.flow_run_id)
"""

RETRIED = [("PENDING", "Pending"), ("RUNNING", "Running"),
           ("SCHEDULED", "AwaitingRetry"), ("RUNNING", "Retrying"),
           ("SCHEDULED", "AwaitingRetry"), ("RUNNING", "Retrying"),
           ("COMPLETED", "Completed")]


def task_runs(client, flow_run_id):
    return client.request("POST", "/task_runs/filter", json={
        "flow_runs": {"id": {"any_": [flow_run_id]}}, "limit": 200})


def task_history(client, task_run_id):
    states = client.request("GET", "/task_run_states/",
                            params={"task_run_id": task_run_id})
    return [(s["type"], s["name"], s["message"])
            for s in sorted(states, key=lambda s: s["timestamp"])]


def base(name):
    """The task's name: Prefect's suffix is a counter or a uuid prefix."""
    return name.rsplit("-", 1)[0]


def task_view(client, flow_run_id):
    """{task name: what the API shows of its run}: state history, upstream
    links by name, tags, retry policy and log lines, in order."""
    runs = task_runs(client, flow_run_id)
    names = {r["id"]: base(r["name"]) for r in runs}
    logs = client.read_logs(flow_run_id)
    view = {}
    for r in runs:
        inputs = r["task_inputs"]
        view[base(r["name"])] = {
            "run": r,
            "history": [h[:2] for h in task_history(client, r["id"])],
            "wait_for": sorted(names.get(i["id"], i["id"])
                               for i in inputs.get("wait_for", [])),
            "inputs": sorted(inputs),
            "tags": sorted(r["tags"]),
            "policy": {k: r["empirical_policy"].get(k) for k in
                       ("retries", "retry_delay", "retry_jitter_factor")},
            "logs": [(l["name"], l["level"], l["message"]) for l in logs
                     if l["task_run_id"] == r["id"] and
                     not ENGINE_3_0_0.fullmatch(l["message"])],
        }
    return view


# A line Prefect 3.0.0's Python engine logs for each task run (gone by
# 3.0.11): it is not the server's record of the run, so not compared.
ENGINE_3_0_0 = re.compile(r"Created task run '[^']+' for task '[^']+'")


def settled(view, n):
    """n task runs, each recorded up to a final state and its last line."""
    return len(view) == n and all(
        v["history"] and v["history"][-1][0] in TERMINAL and
        v["run"]["state_type"] in TERMINAL and
        any(m.startswith("Finished in state") for _, _, m in v["logs"])
        for v in view.values())


def wait_for_tasks(client, flow_run_id, n, agent=None):
    return wait_for(lambda: task_view(client, flow_run_id),
                    what=f"{n} settled task runs of flow run {flow_run_id}",
                    until=lambda v: settled(v, n),
                    watch=[agent] if agent else (),
                    show=lambda v: repr({k: (x["history"], x["logs"])
                                         for k, x in v.items()}))


def run_python_flow(api_url, tmp_path, source=PY_FLOW):
    """Runs a Python flow through Prefect's engine; returns its run id."""
    script = tmp_path / "py_flow.py"
    script.write_text(source)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PREFECT_")}
    env.update({"PREFECT_API_URL": api_url,
                "PREFECT_HOME": str(tmp_path / "py-home")})
    out = subprocess.run([str(VENV_BIN / "python"), str(script)],
                         cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return re.search(r"FLOW_RUN_ID (\S+)", out.stdout).group(1)


def states(client, run_id):
    """A flow run's (type, name) history, without Pending/Submitting."""
    return [(s["type"], s["name"]) for s in client.read_states(run_id)
            if s["name"] != "Submitting"]


def messages(client, run_id):
    return [l["message"] for l in client.read_logs(run_id)]


# --------------------------------------------------------------------------

def test_task_runs_match_prefects_engine(client, agent, pool_name,
                                         prefect_server, tmp_path):
    """A flow of three tasks, the middle one failing twice with
    retries=2: pfagent's task runs, their state histories, upstream
    links, tags, retry policies and log lines read back from the API
    equal what Prefect's Python engine records for the same flow."""
    a = agent(pool_name, *FAST)
    wait_for_workers(client, pool_name, [a])
    dep = client.create_deployment(pool_name, "tests/flows/tasks.c:tasks")
    run = client.create_flow_run(dep["id"])

    py_id = run_python_flow(prefect_server.api_url, tmp_path)
    final = client.wait_for_run(run["id"], watch=[a])
    assert final["state_type"] == "COMPLETED", final["state"]

    ours = wait_for_tasks(client, run["id"], 3, a)
    theirs = wait_for_tasks(client, py_id, 3)

    assert sorted(ours) == sorted(theirs) == ["extract", "flaky", "load"]
    assert ours["flaky"]["history"] == theirs["flaky"]["history"] == RETRIED
    for name in ours:
        for field in ("history", "wait_for", "inputs", "tags", "policy",
                      "logs"):
            assert ours[name][field] == theirs[name][field], (name, field)
    assert ours["load"]["wait_for"] == ["extract", "flaky"]
    assert ours["flaky"]["wait_for"] == ["extract"]
    assert ours["flaky"]["run"]["run_count"] == 3
    # As Prefect names task runs created through the API: counted calls.
    for name, v in ours.items():
        assert v["run"]["name"] == f"{name}-0"
        assert v["run"]["dynamic_key"] == "0"
        assert re.fullmatch(rf"{name}-[0-9a-f]{{8}}", v["run"]["task_key"])
        assert {l[0] for l in v["logs"]} == {"prefect.task_runs"}
    assert ours["flaky"]["logs"] == [
        ("prefect.task_runs", 20, "Task run failed with exception: "
         "TaskError('boom 1') - Retry 1/2 will start 1 second(s) from now"),
        ("prefect.task_runs", 20, "Task run failed with exception: "
         "TaskError('boom 2') - Retry 2/2 will start 1 second(s) from now"),
        ("prefect.task_runs", 20, "worked on call 3"),
        ("prefect.task_runs", 20, "Finished in state Completed()")]


def test_failed_task_leaves_the_decision_to_the_flow(client, agent,
                                                     pool_name):
    """pf_fail inside a task fails the task (Failed, Prefect's message);
    the flow then fails with its own message naming the task's error."""
    a = agent(pool_name, *FAST)
    wait_for_workers(client, pool_name, [a])
    dep = client.create_deployment(pool_name,
                                   "tests/flows/tasks.c:tasks_fail")
    run = client.create_flow_run(dep["id"])
    final = client.wait_for_run(run["id"], watch=[a])
    assert final["state_type"] == "FAILED", final["state"]
    assert final["state"]["message"] == (
        "Flow run encountered an exception: FlowError: broken failed: "
        "no rows")
    view = wait_for_tasks(client, run["id"], 1, a)
    broken = view["broken"]
    assert broken["history"] == [("PENDING", "Pending"),
                                 ("RUNNING", "Running"),
                                 ("FAILED", "Failed")]
    assert broken["run"]["state"]["message"] == (
        "Task run encountered an exception: TaskError: no rows")
    assert [m for _, _, m in broken["logs"]] == [
        "Task run failed with exception: TaskError('no rows')",
        "Finished in state Failed('Task run encountered an exception: "
        "TaskError: no rows')"]


PY_FLOW_RETRY = """\
from prefect import flow
calls = {"n": 0}

@flow(retries=1)
def flow_retry():
    calls["n"] += 1
    if calls["n"] == 1:
        raise ValueError("first run fails on purpose")

state = flow_retry(return_state=True)
print("FLOW_RUN_ID", state.state_details.flow_run_id)
"""


def test_flow_retry_completes_on_second_run(client, agent, pool_name,
                                            prefect_server, tmp_path):
    """A flow with retries=1 that fails on its first run is rerun by the
    orchestrator's retry and completes: run_count 2, and from its first
    Running on the history Prefect's engine records for the same Python
    flow: Running, AwaitingRetry, Running (the server renames reruns of
    tasks to Retrying, not of flows), Completed."""
    a = agent(pool_name, *FAST)
    wait_for_workers(client, pool_name, [a])
    dep = client.create_deployment(
        pool_name, "tests/flows/flow_retry.c:flow_retry",
        parameters={"dir": str(tmp_path)})
    run = client.create_flow_run(dep["id"])
    py_id = run_python_flow(prefect_server.api_url, tmp_path, PY_FLOW_RETRY)
    final = client.wait_for_run(run["id"], watch=[a])
    assert final["state_type"] == "COMPLETED", final["state"]
    assert final["run_count"] == 2
    assert final["empirical_policy"]["retries"] == 1

    ours, theirs = states(client, run["id"]), states(client, py_id)
    assert ours[:2] == [("SCHEDULED", "Scheduled"), ("PENDING", "Pending")]
    assert ours[2:] == theirs[1:] == [
        ("RUNNING", "Running"), ("SCHEDULED", "AwaitingRetry"),
        ("RUNNING", "Running"), ("COMPLETED", "Completed")]
    assert client.read_flow_run(py_id)["run_count"] == 2
    wait_for(lambda: messages(client, run["id"]), watch=[a],
             what="the retry's log lines",
             until=lambda ms: "second run: completing" in ms and
             "Received non-final state 'AwaitingRetry' when proposing "
             "final state 'Failed' and will attempt to run again..." in ms)


def test_timeouts_stop_cooperative_and_stuck_code(client, agent, pool_name,
                                                  tmp_path):
    """Flows and tasks overrunning their 1 s timeouts end FAILED named
    TimedOut with Prefect's messages, whether their code returns when
    asked (pf_sleep, pf_stopped) or ignores it (a busy loop, stopped by
    ending the executor after the grace period); a flow with retries
    whose stuck first run was ended runs again (a fresh executor) and
    completes. No run ends Crashed and the agent keeps serving."""
    a = agent(pool_name, *FAST)
    wait_for_workers(client, pool_name, [a])
    runs = {}
    for fn in ("flow_sleep_timeout", "flow_busy_timeout",
               "task_sleep_timeout", "task_busy_timeout",
               "flow_busy_retry"):
        dep = client.create_deployment(
            pool_name, f"tests/flows/timeouts.c:{fn}",
            parameters={"dir": str(tmp_path)} if fn == "flow_busy_retry"
            else None)
        runs[fn] = client.create_flow_run(dep["id"])["id"]
    final = {r["id"]: r for r in client.wait_for_runs(
        runs.values(), timeout=240, watch=[a])}
    got = {fn: final[i] for fn, i in runs.items()}

    flow_timeout = "Flow run exceeded timeout of 1.0 second(s)"
    task_timeout = "Task run exceeded timeout of 1.0 second(s)"
    for fn in ("flow_sleep_timeout", "flow_busy_timeout"):
        r = got[fn]
        assert (r["state_type"], r["state_name"]) == ("FAILED", "TimedOut"), \
            (fn, r["state"])
        assert r["state"]["message"] == flow_timeout

    r = got["task_sleep_timeout"]       # the flow decided: pf_fail
    assert (r["state_type"], r["state_name"]) == ("FAILED", "Failed")
    assert r["state"]["message"] == ("Flow run encountered an exception: "
                                     f"FlowError: nap failed: {task_timeout}")
    r = got["task_busy_timeout"]        # the flow could not: Prefect's words
    assert (r["state_type"], r["state_name"]) == ("FAILED", "TimedOut")
    assert r["state"]["message"] == (
        "Flow run failed due to timeout: TaskRunTimeoutError('Scope timed "
        "out after 1.0 second(s).')")
    for fn, task in (("task_sleep_timeout", "nap"),
                     ("task_busy_timeout", "spin")):
        view = wait_for_tasks(client, runs[fn], 1, a)
        assert view[task]["history"] == [("PENDING", "Pending"),
                                         ("RUNNING", "Running"),
                                         ("FAILED", "TimedOut")], fn
        assert view[task]["run"]["state"]["message"] == task_timeout
        assert [m for _, _, m in view[task]["logs"]][-3:] == [
            "Task run failed with exception: TaskRunTimeoutError('Scope "
            "timed out after 1.0 second(s).')", task_timeout,
            f"Finished in state TimedOut('{task_timeout}', type=FAILED)"]

    r = got["flow_busy_retry"]
    assert r["state_type"] == "COMPLETED", r["state"]["message"]
    assert r["run_count"] == 2
    assert states(client, r["id"])[-4:] == [
        ("RUNNING", "Running"), ("SCHEDULED", "AwaitingRetry"),
        ("RUNNING", "Running"), ("COMPLETED", "Completed")]

    stopped = "after its timeout, ignoring pf_stopped(): pfagent ends the " \
              "process to stop it"
    for fn in runs:
        wait_for(lambda: messages(client, runs[fn]), watch=[a],
                 what=f"the final log line of {fn}",
                 until=lambda ms: any(m.startswith("Finished in state")
                                      for m in ms))
        hard = any(stopped in m for m in messages(client, runs[fn]))
        assert hard == ("busy" in fn), fn
    assert "second run: completing" in messages(client, runs[
        "flow_busy_retry"])

    a.assert_alive("after the timeouts")
    wait_for_hello(client, client.create_deployment(pool_name, HELLO), a)


def test_sigterm_crashes_the_running_task_and_flow(client, agent, pool_name):
    """SIGTERM to the agent while a task spins: after the drain (5 s for
    test agents) the executor is stopped, records the task run Crashed
    and leaves the flow run to the worker, which records it Crashed, both
    with the worker's shutdown message, and everything stops."""
    a = agent(pool_name, *FAST)
    wait_for_workers(client, pool_name, [a])
    dep = client.create_deployment(pool_name,
                                   "tests/flows/timeouts.c:task_busy_long")
    run = client.create_flow_run(dep["id"])
    wait_for(lambda: task_runs(client, run["id"]), watch=[a],
             what="the spinning task run",
             until=lambda trs: [t["state_type"] for t in trs] == ["RUNNING"])
    a.terminate()
    shutdown = f"Worker '{a.name}' shut down before the flow run finished."
    final = client.wait_for_run(run["id"])
    assert (final["state_type"], final["state"]["message"]) == (
        "CRASHED", shutdown), final["state"]
    (task,) = task_runs(client, run["id"])
    assert (task["state_type"], task["state"]["message"]) == (
        "CRASHED", shutdown)


class LosingProxy:
    """Relays every request to the real server, but answers 503 to the
    state proposals and task-run creations after the server applied
    them: the answer is lost, as when a connection drops. Only the first
    time a request is seen, so a resent one gets its answer."""

    LOSE = re.compile(r"/api/(task_runs/|(task|flow)_runs/[^/]+/set_state)$")

    def __init__(self, upstream_api_url):
        base = upstream_api_url.rsplit("/api", 1)[0]
        self.http = httpx.Client(base_url=base, timeout=60)
        self.lost = []
        self.seen = set()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def relay(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "content-length",
                                                "connection")}
                r = proxy.http.request(self.command, self.path,
                                       content=body, headers=headers)
                key = (self.path, body)
                if self.command == "POST" and proxy.LOSE.search(self.path) \
                        and r.status_code < 300 and key not in proxy.seen:
                    proxy.seen.add(key)
                    proxy.lost.append(self.path)
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(r.status_code)
                self.send_header("Content-Type",
                                 r.headers.get("content-type", "text/plain"))
                self.send_header("Content-Length", str(len(r.content)))
                self.end_headers()
                self.wfile.write(r.content)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = relay

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.api_url = f"http://127.0.0.1:{self.server.server_port}/api"
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.http.close()


def test_lost_answers_are_not_applied_twice(client, prefect_server):
    """Every task-run creation and every task and flow state proposal
    lands on the server but its answer is lost (503): pfagent looks
    before it resends, so the runs end exactly as without losses, with
    no state recorded twice and run counts unchanged."""
    proxy = LosingProxy(prefect_server.api_url)
    try:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("PREFECT_")}
        env.update({"PREFECT_API_URL": proxy.api_url,
                    "ASAN_OPTIONS": "handle_segv=0:detect_leaks=1"})
        p = subprocess.run([str(PFAGENT), "run", "tests/flows/tasks.c:tasks"],
                           cwd=REPO_ROOT, env=env, capture_output=True,
                           text=True, timeout=300)
    finally:
        proxy.close()
    assert p.returncode == 0, p.stderr[-3000:]
    assert len(proxy.lost) >= 3 + 3 * 2 + 4 + 2, proxy.lost
    name = p.stderr.split("Flow run '", 1)[1].split("'", 1)[0]
    (run,) = client.request("POST", "/flow_runs/filter", json={
        "flow_runs": {"name": {"any_": [name]}}})
    assert run["state_type"] == "COMPLETED" and run["run_count"] == 1
    assert states(client, run["id"]) == [
        ("PENDING", "Pending"), ("RUNNING", "Running"),
        ("COMPLETED", "Completed")]
    view = wait_for_tasks(client, run["id"], 3)
    assert view["flaky"]["history"] == RETRIED
    assert view["flaky"]["run"]["run_count"] == 3
    for name in ("extract", "load"):
        assert view[name]["history"] == [("PENDING", "Pending"),
                                         ("RUNNING", "Running"),
                                         ("COMPLETED", "Completed")]
        assert view[name]["run"]["run_count"] == 1
