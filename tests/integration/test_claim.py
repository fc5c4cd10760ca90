"""A claim is proved before anything runs (docs/architecture.md, "claim").

The server does not serialise claims: on SQLite two agents' Scheduled ->
Pending were both ACCEPTed 0.6 ms apart, and a claim that lands on a run
another worker finished moves it Completed -> Pending (no stored result),
after which the late claimant ran the flow a second time. Each test puts
a second claimant's move between two steps of agent B, in a fixed order:
B talks to the real server through tests/peers/hold_proxy.py, which holds
one chosen request of B's until the test releases it. The second
claimant is a real agent (A) where the server lets one act there, and the
test itself (a forced Pending with another transition id: what a rival
claim that the server accepted concurrently leaves) where it does not.
"""

import re
import uuid

import pytest

from peers.hold_proxy import HoldProxy
from peers.prefect import wait_for

HELLO = "flows/hello.c:hello"
FAST = ("--query-seconds", "1")
# B's held request must not time out while the test acts.
PATIENT = {"PREFECT_API_REQUEST_TIMEOUT": "600"}


@pytest.fixture
def proxy(prefect_server):
    p = HoldProxy(prefect_server.port)
    yield p
    p.stop()


def hellos(client, run_id):
    return [l["message"] for l in client.read_logs(run_id)
            if l["message"].startswith("Hello, ")]


def runnings(client, run_id):
    return [s for s in client.read_states(run_id) if s["type"] == "RUNNING"]


def agent_decided(a, run_id, pattern):
    """Wait until agent a's log has a line about run_id matching pattern."""
    rx = re.compile(rf"flow run {run_id}\b.*({pattern})")
    return wait_for(lambda: rx.search(a.log_text()), timeout=300,
                    what=f"agent {a.name} to log /{pattern}/ for {run_id}",
                    watch=[a])


def force_rival_pending(client, run_id):
    """What a second claim the server accepted leaves: the run's current
    state is a Pending with another claimant's transition id."""
    tid = str(uuid.uuid4())
    client.request("POST", f"/flow_runs/{run_id}/set_state", json={
        "state": {"type": "PENDING", "name": "Pending",
                  "state_details": {"transition_id": tid}},
        "force": True})
    return tid


def test_late_claim_on_a_finished_run_runs_nothing(
        client, agent, pool_name, proxy, process_job_template):
    """B's claim reaches the server only after A has run the flow to
    Completed; the server ACCEPTs Completed -> Pending. B finds the run
    ran since its poll (run_count 1), runs nothing and puts Completed
    back: one Hello, one Running, run_count 1, and the current state is
    the last of the history."""
    client.create_pool(pool_name, base_job_template=process_job_template)
    dep = client.create_deployment(pool_name, HELLO)
    rid = client.create_flow_run(dep["id"], {"name": "once"})["id"]
    claim = proxy.hold(lambda m, p, b: m == "POST" and
                       p.endswith(f"/flow_runs/{rid}/set_state") and
                       '"PENDING"' in b)
    b = agent(pool_name, "--no-events", *FAST, api_url=proxy.api_url,
              env=PATIENT)
    claim.wait_held(120)
    a = agent(pool_name, *FAST)
    assert client.wait_for_run(rid, watch=[a])["state_type"] == "COMPLETED"
    claim.release()
    agent_decided(b, rid, "restoring its Completed|exited with status")
    run = client.wait_for_run(rid, watch=[a, b])

    assert hellos(client, rid) == ["Hello, once!"]
    assert len(runnings(client, rid)) == 1
    assert run["run_count"] == 1
    states = client.read_states(rid)
    assert run["state_type"] == "COMPLETED"
    assert run["state"]["id"] == states[-1]["id"], \
        [(s["type"], s["name"]) for s in states]


def test_rival_pending_before_submitting_is_left_alone(
        client, agent, pool_name, proxy, process_job_template):
    """B's claim is ACCEPTed and proved; while B reads the flow, a rival
    claim becomes the run's current state. B proves the claim again
    before its labels and Submitting, finds it lost, and proposes
    nothing: no labels, no state, no process."""
    client.create_pool(pool_name, base_job_template=process_job_template)
    dep = client.create_deployment(pool_name, HELLO)
    rid = client.create_flow_run(dep["id"], {"name": "rival"})["id"]
    read_flow = proxy.hold(lambda m, p, b: m == "GET" and
                           p.endswith(f"/flows/{dep['flow_id']}"))
    b = agent(pool_name, "--no-events", *FAST, api_url=proxy.api_url,
              env=PATIENT)
    read_flow.wait_held(120)
    # B claims beside its reads: the rival comes once B's claim landed
    # (before, the server ABORTs B's claim, and B rightly does nothing).
    wait_for(lambda: client.read_flow_run(rid)["state_type"],
             what="B's claim to land", until=lambda t: t == "PENDING",
             watch=[b])
    rival = force_rival_pending(client, rid)
    n = len(proxy.relayed())
    read_flow.release()
    agent_decided(b, rid, "not ours after all|exited with status")

    after = [(m, p) for m, p, _ in proxy.relayed()[n:]
             if rid in p and m != "GET"]
    assert after == [], after
    run = client.read_flow_run(rid)
    assert run["state"]["state_details"]["transition_id"] == rival
    assert runnings(client, rid) == []
    assert hellos(client, rid) == []


def test_rival_pending_before_running_is_left_alone(
        client, agent, pool_name, proxy, process_job_template):
    """B submits the run and starts its process, handing it the run and
    the deployment it read; before the process proves the claim (its one
    read of the run, right before Running), a rival claim becomes the
    run's current state. The process finds it lost, runs nothing,
    proposes nothing, leaves no log line and exits 245; B does not
    report Crashed."""
    client.create_pool(pool_name, base_job_template=process_job_template)
    dep = client.create_deployment(pool_name, HELLO)
    rid = client.create_flow_run(dep["id"], {"name": "rival"})["id"]
    submitted = []

    def process_proves_claim(m, p, b):
        # B's Submitting goes first; the next read of the run is the
        # flow-run process's proof (B reads it no more once Submitting
        # is accepted).
        if m == "POST" and p.endswith(f"/flow_runs/{rid}/set_state") and \
                '"Submitting"' in b:
            submitted.append(p)
        return bool(submitted) and m == "GET" and \
            p.endswith(f"/flow_runs/{rid}")

    gate = proxy.hold(process_proves_claim)
    b = agent(pool_name, "--no-events", *FAST, api_url=proxy.api_url,
              env=PATIENT)
    gate.wait_held(120)
    rival = force_rival_pending(client, rid)
    gate.release()
    agent_decided(b, rid, "claimed by another worker and ran nothing|"
                  "exited with status 0")

    assert hellos(client, rid) == []
    assert runnings(client, rid) == []
    run = client.read_flow_run(rid)
    assert run["state"]["state_details"]["transition_id"] == rival
    assert [s for s in client.read_states(rid)
            if s["type"] == "CRASHED"] == []
    # No line of the process's reached the run.
    assert [l["message"] for l in client.read_logs(rid)
            if l["name"] != "prefect.flow_runs.worker"] == []
