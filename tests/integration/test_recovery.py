"""Crash recovery against a real Prefect server: `kill -9` of the agent
with runs in flight, then a restart on the same --state-dir. The journal
of claimed runs (<state dir>/runs/) lets the new agent, in one reconcile
pass before it claims anything, adopt the processes that survived (they
complete) and record Crashed for those that are gone; a run claimed but
never started goes back to Scheduled and runs. Per-run limits from job
variables end a run over them Crashed, naming the limit. Waits are on
states and log lines, never fixed sleeps.
"""

import json
import os
import signal
import subprocess
import sys
import uuid

import pytest

from peers.prefect import PFAGENT, REPO_ROOT, wait_for

HELLO = "flows/hello.c:hello"
HOG = "tests/flows/hog.c:hog"
FAST = ("--query-seconds", "1")


def process_gone(pid):
    """No such process, or only its zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def history(client, run_id):
    return [(s["type"], s["name"]) for s in client.read_states(run_id)]


def journal(state):
    d = state / "runs"
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def three_running(client, agent, pool, state, sleep):
    """Three runs Running; sleep is seconds, or a list of three."""
    sleeps = sleep if isinstance(sleep, list) else [sleep] * 3
    client.create_pool(pool)
    a = agent(pool, *FAST, "--state-dir", state)
    dep = client.create_deployment(pool, HELLO)
    ids = [client.create_flow_run(dep["id"], {"name": f"r{i}",
                                              "sleep_seconds": s})["id"]
           for i, s in enumerate(sleeps)]
    runs = client.wait_for_runs(ids, types=("RUNNING",), watch=[a])
    pids = {r["id"]: int(r["infrastructure_pid"]) for r in runs}
    assert sorted(journal(state)) == sorted(ids)
    return a, dep, ids, pids


def kill9(a):
    a.proc.kill()
    a.proc.wait(30)


# --------------------------------------------------------------------------

def test_kill9_with_processes_gone_crashes_every_run(client, agent,
                                                     pool_name, tmp_path):
    """kill -9 of the agent and of its three flow-run processes; the
    restarted agent finds the three journalled runs, sees their processes
    gone and records each Crashed, saying the worker died, before its
    first claim; the journal is empty afterwards."""
    state = tmp_path / "state"
    a, _, ids, pids = three_running(client, agent, pool_name, state, 300)
    kill9(a)
    for pid in pids.values():
        os.killpg(pid, signal.SIGKILL)
    wait_for(lambda: [p for p in pids.values() if not process_gone(p)],
             timeout=30, what="the flow-run processes to die",
             until=lambda left: not left)
    for run in client.read_flow_runs(ids):
        assert run["state_type"] == "RUNNING"     # stranded, as in Prefect

    b = agent(pool_name, *FAST, "--state-dir", state)
    runs = client.wait_for_runs(ids, timeout=60, watch=[b])
    for run in runs:
        assert run["state_type"] == "CRASHED", run["state"]
        msg = run["state"]["message"]
        assert "worker running this flow run died" in msg, msg
        assert f"process {pids[run['id']]} is gone" in msg, msg
        assert history(client, run["id"])[-2][0] == "RUNNING"
    # The runs can be final before the worker logs that it is online.
    log = wait_for(b.log_text, timeout=30, what="the worker online",
                   until=lambda text: "online in pool" in text, watch=[b])
    assert "recovery: 3 flow run(s) left by a worker that died" in log
    assert log.index("reconciling them") < log.index("online in pool")
    wait_for(lambda: journal(state), timeout=30, what="an empty journal",
             until=lambda j: j == [])


def test_flow_exit_ends_the_run_crashed(client, agent, pool_name, tmp_path):
    """A flow that calls exit() mid-run, with status 0 as with 3, leaves
    no final state: the worker reads the run after its process exits and
    records Crashed "Process exited with status code: N. ...", the lines
    the flow logged are delivered, and the journal record goes only once
    the run is final (the journal is empty afterwards)."""
    state = tmp_path / "state"
    client.create_pool(pool_name)
    a = agent(pool_name, *FAST, "--state-dir", state)
    for fn, code in (("exit0", 0), ("exit3", 3)):
        dep = client.create_deployment(pool_name, f"tests/flows/exits.c:{fn}")
        run = client.create_flow_run(dep["id"])
        final = client.wait_for_run(run["id"], watch=[a])
        assert final["state_type"] == "CRASHED", final["state"]
        msg = final["state"]["message"]
        assert msg.startswith(f"Process exited with status code: {code}."), \
            msg
        assert [t for t, _ in history(client, run["id"])][-2:] == [
            "RUNNING", "CRASHED"]
        wait_for(lambda: [l["message"] for l in
                          client.read_logs(run["id"])],
                 timeout=30, watch=[a],
                 what=f"the {fn} run's own line and the crash's",
                 until=lambda ms: f"about to exit {code}" in ms and
                 any(m.startswith("Process exited with status code: "
                                  f"{code}.") for m in ms))
    wait_for(lambda: journal(state), timeout=30, what="an empty journal",
             until=lambda j: j == [])


def test_kill9_survivors_are_adopted_and_complete(client, agent, pool_name,
                                                  tmp_path):
    """kill -9 of the agent only: its three flow-run processes go on; the
    restarted agent adopts them (same pids); two complete, with no
    Crashed in their history; the third, killed while adopted, ends
    without a final state and is recorded Crashed (its exit status is
    unknown to a worker that is not its parent); then the agent drains
    and exits 0."""
    state = tmp_path / "state"
    a, _, ids, pids = three_running(client, agent, pool_name, state,
                                    [12, 12, 300])
    kill9(a)
    assert not any(process_gone(p) for p in pids.values())

    b = agent(pool_name, *FAST, "--state-dir", state)
    wait_for(b.log_text, timeout=60, what="three adoptions",
             until=lambda t: t.count("adopted its running process") == 3,
             show=lambda t: t[-3000:])
    os.killpg(pids[ids[2]], signal.SIGKILL)
    runs = {r["id"]: r for r in client.wait_for_runs(ids, timeout=120,
                                                     watch=[b])}
    for i in ids[:2]:
        run = runs[i]
        assert run["state_type"] == "COMPLETED", run["state"]
        assert int(run["infrastructure_pid"]) == pids[i]
        assert "CRASHED" not in [t for t, _ in history(client, i)]
    killed = runs[ids[2]]
    assert killed["state_type"] == "CRASHED", killed["state"]
    assert f"Process {pids[ids[2]]} ended while the worker that started " \
           f"it was down" in killed["state"]["message"], killed["state"]
    wait_for(lambda: journal(state), timeout=30, what="an empty journal",
             until=lambda j: j == [])
    b.proc.send_signal(signal.SIGTERM)
    assert b.wait(60) == 0


def test_adopted_runs_can_be_cancelled_and_drained(client, agent, pool_name,
                                                   tmp_path):
    """Adopted processes are the worker's like any other: one cancelled
    (Cancelling set through the API, as `prefect flow-run cancel` does)
    ends Cancelled and its process is gone; on SIGTERM the others are
    stopped after the drain and recorded Crashed with the new worker's
    shutdown message."""
    state = tmp_path / "state"
    a, _, ids, pids = three_running(client, agent, pool_name, state, 300)
    kill9(a)
    b = agent(pool_name, *FAST, "--state-dir", state, "--drain-seconds", 1)
    # Adopted first, then subscribed: the Cancelling event comes live.
    wait_for(b.log_text, timeout=60, what="adoptions and the event stream",
             until=lambda t: t.count("adopted its running process") == 3
             and "events: subscribed to " in t, show=lambda t: t[-3000:])
    client.request("POST", f"/flow_runs/{ids[0]}/set_state", json={
        "state": {"type": "CANCELLING", "name": "Cancelling"}})
    final = client.wait_for_run(ids[0], ("CANCELLED",), timeout=60,
                                watch=[b])
    assert final["state"]["message"] == \
        "Flow run was cancelled successfully."
    wait_for(lambda: process_gone(pids[ids[0]]), timeout=30,
             what="the cancelled run's process to be gone")
    b.proc.send_signal(signal.SIGTERM)
    assert b.wait(60) == 0, b.log_tail()
    for run in client.read_flow_runs(ids[1:]):
        assert run["state_type"] == "CRASHED", run["state"]
        assert run["state"]["message"] == f"Worker '{b.name}' shut down " \
            f"before the flow run finished."
    assert journal(state) == []


def test_unstarted_claim_is_rescheduled_and_garbage_skipped(
        client, agent, pool_name, tmp_path):
    """A run left Pending by a worker that died between its claim and its
    process (journalled with the claim's transition id, no pid) goes back
    to Scheduled and is then run; a garbage file in the journal is warned
    about, left in place, and costs nothing else; a record naming another
    API is left alone."""
    state = tmp_path / "state"
    (state / "runs").mkdir(parents=True)
    client.create_pool(pool_name)
    dep = client.create_deployment(pool_name, HELLO)
    run = client.create_flow_run(dep["id"], {"name": "pending"})
    tid = str(uuid.uuid4())
    client.request("POST", f"/flow_runs/{run['id']}/set_state", json={
        "state": {"type": "PENDING", "name": "Pending",
                  "state_details": {"transition_id": tid}}})
    assert client.read_flow_run(run["id"])["state_type"] == "PENDING"
    (state / "runs" / run["id"]).write_text(json.dumps({
        "version": 1, "flow_run_id": run["id"], "name": run["name"],
        "api_url": client.api_url.rstrip("/"), "claim_transition_id": tid,
        "submit_transition_id": "", "pid": 0, "start_time": 0,
        "boot_id": ""}))
    garbage = state / "runs" / "0d15ea5e-0000-4000-8000-000000000000"
    garbage.write_bytes(b'{"version": 1, "flow_run_id": "0d15')
    other = state / "runs" / "0ther000-0000-4000-8000-000000000000"
    other.write_text(json.dumps({
        "version": 1, "flow_run_id": other.name, "api_url": "http://x/api",
        "pid": 0, "start_time": 0}))

    a = agent(pool_name, *FAST, "--state-dir", state)
    final = client.wait_for_run(run["id"], watch=[a])
    assert final["state_type"] == "COMPLETED", final["state"]
    kinds = history(client, run["id"])
    assert kinds[:3] == [("SCHEDULED", "Scheduled"), ("PENDING", "Pending"),
                         ("SCHEDULED", "Scheduled")], kinds
    log = a.log_text()
    assert f"journal: {garbage} is not a valid run record" in log
    assert "skipped and left in place" in log
    assert garbage.exists() and other.exists()


# --------------------------------------------------------------------------
# per-run limits (the plain build: a sanitizer's shadow memory does not fit
# under a data limit)

@pytest.fixture
def plain_agent(agent, monkeypatch):
    plain = PFAGENT.parent.parent / "pfagent" \
        if PFAGENT.parent.name == "san" else PFAGENT
    if not plain.exists():
        pytest.fail(f"plain build {plain} not found: run `make` first")
    monkeypatch.setattr(sys.modules["conftest"], "PFAGENT", plain)
    return agent


def test_runs_over_their_limits_crash_naming_them(client, plain_agent,
                                                  pool_name, tmp_path):
    """Job variables memory (MiB) and cpu_limit_seconds: a run allocating
    past its memory limit and one burning CPU past its limit end Crashed
    with a message naming the limit; a run within the limits completes;
    a bad value ends the run Crashed naming the variable."""
    client.create_pool(pool_name)
    a = plain_agent(pool_name, *FAST, "--state-dir", tmp_path / "state")
    dep = client.create_deployment(
        pool_name, HOG, job_variables={"memory": 96,
                                       "cpu_limit_seconds": 2})
    over_mem = client.create_flow_run(dep["id"], {"mb": 400})["id"]
    over_cpu = client.create_flow_run(dep["id"], {"spin": 60})["id"]
    within = client.create_flow_run(dep["id"], {"mb": 16, "spin": 1})["id"]
    bad = client.create_flow_run(dep["id"], {}, job_variables={
        "memory": "lots"})["id"]
    runs = {r["id"]: r for r in client.wait_for_runs(
        [over_mem, over_cpu, within, bad], watch=[a])}

    assert runs[within]["state_type"] == "COMPLETED", runs[within]["state"]
    r = runs[over_mem]
    assert r["state_type"] == "CRASHED", r["state"]
    assert r["state"]["message"].startswith(
        "Flow run exceeded its memory limit of 96 MiB (job variable "
        "memory)"), r["state"]
    r = runs[over_cpu]
    assert r["state_type"] == "CRASHED", r["state"]
    assert r["state"]["message"].startswith(
        "Flow run exceeded its CPU time limit of 2 s (job variable "
        "cpu_limit_seconds)"), r["state"]
    r = runs[bad]
    assert r["state_type"] == "CRASHED", r["state"]
    assert "job variable 'memory' must be a whole number of MiB" in \
        r["state"]["message"], r["state"]


# --------------------------------------------------------------------------

def test_drain_and_recovery_paths_do_not_leak(client, prefect_server,
                                              pool_name, tmp_path):
    """The worker's new long-running paths under valgrind (the plain
    build; its executors run natively): a recovery pass over a journalled
    run whose process is gone (Crashed), two runs journalled, started and
    then stopped by a 1 s drain (Crashed), exit 0, no findings."""
    state = tmp_path / "state"
    (state / "runs").mkdir(parents=True)
    client.create_pool(pool_name)
    dep = client.create_deployment(pool_name, HELLO)
    orphan = client.create_flow_run(dep["id"], {"name": "orphan"})
    for kind in ("PENDING", "RUNNING"):
        client.request("POST", f"/flow_runs/{orphan['id']}/set_state",
                       json={"state": {"type": kind}, "force": True})
    dead = subprocess.Popen(["true"])
    dead.wait()
    (state / "runs" / orphan["id"]).write_text(json.dumps({
        "version": 1, "flow_run_id": orphan["id"], "name": orphan["name"],
        "api_url": prefect_server.api_url.rstrip("/"),
        "claim_transition_id": "", "submit_transition_id": "",
        "pid": dead.pid, "start_time": 1, "boot_id": ""}))

    log = tmp_path / "valgrind.log"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PREFECT_")}
    env["PREFECT_API_URL"] = prefect_server.api_url
    plain = PFAGENT.parent.parent / "pfagent" \
        if PFAGENT.parent.name == "san" else PFAGENT
    proc = subprocess.Popen(
        ["valgrind", "--quiet", "--trace-children=no",
         "--leak-check=full", "--show-leak-kinds=definite,indirect",
         "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=99",
         f"--log-file={log}",
         str(plain), "start", "--pool", pool_name, "--name",
         f"vg-{pool_name}", "--query-seconds", "1", "--drain-seconds", "1",
         "--state-dir", str(state)],
        cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        final = client.wait_for_run(orphan["id"], timeout=120)
        assert final["state_type"] == "CRASHED", final["state"]
        ids = [client.create_flow_run(dep["id"], {"name": f"v{i}",
                                                  "sleep_seconds": 300})
               ["id"] for i in range(2)]
        client.wait_for_runs(ids, types=("RUNNING",), timeout=180)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    findings = [l for l in log.read_text().splitlines()
                if l.startswith("==")]
    assert proc.returncode == 0, (proc.returncode, out[-3000:], findings)
    assert findings == [], "\n".join(findings[-80:])
    for run in client.read_flow_runs(ids):
        assert run["state_type"] == "CRASHED", run["state"]
    assert journal(state) == []
