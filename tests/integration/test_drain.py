"""Graceful drain on SIGTERM (an ECS deploy), against a real Prefect server.

The first SIGTERM stops claiming while running flows get --drain-seconds
to finish; what still runs then is stopped and recorded Crashed with the
worker's shutdown message (or, with --drain-action reschedule, Scheduled
again for another worker); the agent exits 0. A second SIGTERM stops at
once, still recording final states. Waits are on states and log lines,
never fixed sleeps.
"""

import signal

from peers.prefect import wait_for

HELLO = "flows/hello.c:hello"
FAST = ("--query-seconds", "1")


def shutdown_message(agent):
    return f"Worker '{agent.name}' shut down before the flow run finished."


def start_three(client, agent, pool, tmp_path, sleep, *args):
    """An agent with its own state dir and three `sleep` s runs Running."""
    client.create_pool(pool)
    a = agent(pool, *FAST, "--state-dir", tmp_path / "state", *args)
    dep = client.create_deployment(pool, HELLO)
    ids = [client.create_flow_run(dep["id"], {"name": f"d{i}",
                                              "sleep_seconds": sleep})["id"]
           for i in range(3)]
    client.wait_for_runs(ids, types=("RUNNING",), watch=[a])
    return a, dep, ids


def history(client, run_id):
    return [(s["type"], s["name"]) for s in client.read_states(run_id)]


def wait_log(agent, text, timeout=60):
    wait_for(agent.log_text, timeout=timeout, what=f"{text!r} in the log",
             until=lambda t: text in t, show=lambda t: t[-3000:])


# --------------------------------------------------------------------------

def test_long_drain_lets_running_flows_complete(client, agent, pool_name,
                                                tmp_path):
    """SIGTERM with three 10 s runs in flight and a long drain: no new
    claim (a run created after the signal stays Scheduled), heartbeats go
    on, all three complete, the agent exits 0."""
    a, dep, ids = start_three(client, agent, pool_name, tmp_path, 10,
                              "--drain-seconds", 300,
                              "--heartbeat-seconds", 1)
    a.proc.send_signal(signal.SIGTERM)
    wait_log(a, "no more claims; draining 3 flow run(s)")
    late = client.create_flow_run(dep["id"], {"name": "late"})["id"]
    beat = client.read_workers(pool_name)[0]["last_heartbeat_time"]
    wait_for(lambda: client.read_workers(pool_name)[0], timeout=30,
             what="a heartbeat during the drain",
             until=lambda w: w["last_heartbeat_time"] != beat)

    assert a.wait(120) == 0, a.log_tail()
    runs = {r["id"]: r for r in client.read_flow_runs(ids + [late])}
    for i in ids:
        assert runs[i]["state_type"] == "COMPLETED", runs[i]["state"]
    assert runs[late]["state_type"] == "SCHEDULED", runs[late]["state"]
    assert "Hello, d0!" in [l["message"] for l in client.read_logs(ids[0])]


def test_short_drain_crashes_what_still_runs(client, agent, pool_name,
                                             tmp_path):
    """--drain-seconds 2 with three 60 s runs: none is left Running or
    Pending; each is Crashed once, with the worker's shutdown message
    (written by the worker, not the executor's 'termination signal'
    crash), and the agent exits 0."""
    a, _, ids = start_three(client, agent, pool_name, tmp_path, 60,
                            "--drain-seconds", 2)
    a.proc.send_signal(signal.SIGTERM)
    assert a.wait(60) == 0, a.log_tail()

    for run in client.read_flow_runs(ids):
        assert run["state_type"] == "CRASHED", run["state"]
        assert run["state"]["message"] == shutdown_message(a)
        states = history(client, run["id"])
        assert [t for t, _ in states].count("CRASHED") == 1, states
        assert states[-2][0] == "RUNNING", states
        msgs = [l["message"] for l in client.read_logs(run["id"])]
        assert not any("termination signal" in m for m in msgs), msgs
        assert any(shutdown_message(a) in m for m in msgs), msgs


def test_reschedule_drain_hands_runs_to_another_worker(client, agent,
                                                       pool_name, tmp_path):
    """--drain-action reschedule: runs still going when the drain ends go
    back to Scheduled (AwaitingRetry, as Prefect's own SIGTERM reschedule),
    and a second agent then runs them to completion."""
    a, _, ids = start_three(client, agent, pool_name, tmp_path, 10,
                            "--drain-seconds", 1,
                            "--drain-action", "reschedule")
    a.proc.send_signal(signal.SIGTERM)
    assert a.wait(60) == 0, a.log_tail()
    for run in client.read_flow_runs(ids):
        assert (run["state_type"], run["state_name"]) == \
            ("SCHEDULED", "AwaitingRetry"), run["state"]
        assert "shut down" in run["state"]["message"]

    b = agent(pool_name, *FAST, "--state-dir", tmp_path / "state-b")
    for run in client.wait_for_runs(ids, watch=[b]):
        assert run["state_type"] == "COMPLETED", run["state"]
        kinds = [t for t, _ in history(client, run["id"])]
        assert kinds.count("RUNNING") == 2 and "CRASHED" not in kinds, kinds


def test_second_sigterm_stops_at_once(client, agent, pool_name, tmp_path):
    """During a long drain a second SIGTERM stops every run at once: the
    agent exits 0 long before the drain would end, each run Crashed with
    the shutdown message."""
    a, _, ids = start_three(client, agent, pool_name, tmp_path, 300,
                            "--drain-seconds", 600)
    a.proc.send_signal(signal.SIGTERM)
    wait_log(a, "no more claims; draining 3 flow run(s)")
    a.proc.send_signal(signal.SIGTERM)
    assert a.wait(60) == 0, a.log_tail()
    for run in client.read_flow_runs(ids):
        assert run["state_type"] == "CRASHED", run["state"]
        assert run["state"]["message"] == shutdown_message(a)


def test_sigquit_stops_at_once(client, agent, pool_name, tmp_path):
    """SIGQUIT as the first signal: no drain, every run Crashed with the
    shutdown message, exit 0."""
    a, _, ids = start_three(client, agent, pool_name, tmp_path, 300,
                            "--drain-seconds", 600)
    a.proc.send_signal(signal.SIGQUIT)
    assert a.wait(60) == 0, a.log_tail()
    for run in client.read_flow_runs(ids):
        assert run["state_type"] == "CRASHED", run["state"]
        assert run["state"]["message"] == shutdown_message(a)
