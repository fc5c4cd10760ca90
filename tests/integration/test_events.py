"""The event path of pfagent against a real Prefect server: the
/events/out websocket (runs claimed as they are scheduled, Cancelling
runs killed), its polling fallback, and the worker's own events.

Agents here poll every 600 s unless the test is about polling, so a run
that starts within a couple of minutes was found through the event
stream. Waits are on states and log lines, never fixed sleeps.
"""

import datetime
import os
import subprocess

import pytest

from peers.mute_relay import MuteRelay
from peers.prefect import (
    VENV_BIN, PrefectClient, PrefectServer, wait_for)
from peers.tls_proxy import TlsProxy, make_self_signed

HELLO = "flows/hello.c:hello"
SLOW = ("--query-seconds", "600")   # only the event path is this quick
FAST = ("--query-seconds", "1")
SUBSCRIBED = "events: subscribed to "
WELL_BEFORE_NEXT_POLL = 120  # seconds; the next poll is ~600 s away


def subscriptions(agent):
    return agent.log_text().count(SUBSCRIBED)


def wait_subscribed(agent, times=1, timeout=60):
    wait_for(lambda: subscriptions(agent), timeout=timeout, watch=[agent],
             what=f"subscription #{times} to the event stream",
             until=lambda n: n >= times,
             show=lambda n: f"{n} so far; log tail:\n{agent.log_tail(20)}")


def wait_online(client, pool, agent):
    wait_for(lambda: client.read_workers(pool) if client.read_pool(pool)
             else [], timeout=60, watch=[agent],
             what=f"worker {agent.name!r} ONLINE",
             until=lambda ws: any(w["name"] == agent.name and
                                  w["status"] == "ONLINE" for w in ws))


def prefect_cli(api_url, tmp_path, *args):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PREFECT_")}
    env.update({"PREFECT_API_URL": api_url,
                "PREFECT_HOME": str(tmp_path / "cli-home")})
    out = subprocess.run([str(VENV_BIN / "prefect"), *args], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, (out.stdout, out.stderr[-3000:])
    return out.stdout


def process_gone(pid):
    """No such process, or only its zombie (not yet reaped by whoever
    adopted it)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def history(client, run_id):
    return [(s["type"], s["name"]) for s in client.read_states(run_id)]


def messages(client, run_id):
    return [l["message"] for l in client.read_logs(run_id)]


# --------------------------------------------------------------------------

def test_run_for_now_is_claimed_through_the_event_stream(client, agent,
                                                         pool_name):
    """With --query-seconds 600, a run created for now is claimed and
    completes well before the next poll: the prefect.flow-run.Scheduled
    event of the pool triggered an immediate poll."""
    a = agent(pool_name, *SLOW, "--log-level", "debug")
    wait_online(client, pool_name, a)
    wait_subscribed(a)
    dep = client.create_deployment(pool_name, HELLO)

    for i in range(3):
        run = client.create_flow_run(dep["id"], {"name": f"event {i}"})
        final = client.wait_for_run(run["id"], timeout=WELL_BEFORE_NEXT_POLL,
                                    watch=[a])
        assert final["state_type"] == "COMPLETED", final["state"]
        assert f"flow run {run['id']}: prefect.flow-run.Scheduled: " \
               f"polling now" in a.log_text()


def test_socket_cut_by_server_restart_reconnects(own_server, agent,
                                                 pool_name):
    """The server restarts under a subscribed agent: the agent says the
    stream is down and polling takes over, reconnects by itself once the
    server is back, and a run created afterwards is claimed through the
    new subscription (long before the 600 s poll)."""
    client = PrefectClient(own_server.api_url)
    try:
        a = agent(pool_name, *SLOW, "--heartbeat-seconds", 5,
                  api_url=own_server.api_url)
        wait_online(client, pool_name, a)
        wait_subscribed(a)
        dep = client.create_deployment(pool_name, HELLO)
        run = client.create_flow_run(dep["id"], {"name": "before"})
        assert client.wait_for_run(run["id"], watch=[a],
                                   timeout=WELL_BEFORE_NEXT_POLL
                                   )["state_type"] == "COMPLETED"

        own_server.stop()
        wait_for(a.log_text, timeout=60, watch=[a],
                 what="the agent to see the stream go down",
                 until=lambda t: "polling takes over" in t,
                 show=lambda t: t[-2000:])
        own_server.start()
        wait_subscribed(a, times=2, timeout=120)

        run = client.create_flow_run(dep["id"], {"name": "after"})
        final = client.wait_for_run(run["id"], watch=[a],
                                    timeout=WELL_BEFORE_NEXT_POLL)
        assert final["state_type"] == "COMPLETED", final["state"]
    finally:
        client.close()


def test_idle_stream_outlives_many_keepalive_pings(tmp_path, agent,
                                                   pool_name, request):
    """An idle stream answers every keepalive ping and stays up: with the
    server pinging each second (uvicorn closes a socket whose pong does
    not come, 1011 keepalive ping timeout) and the agent pinging each
    second too (lws 4.1's own pings once spoiled the pong it owed the
    server when both fell due together), the agent has 30 pongs back on
    one subscription, and a run created then is claimed through it."""
    server = PrefectServer(tmp_path / "keepalive-home", extra_env={
        "PREFECT_SERVER_API_WEBSOCKET_PING_INTERVAL": "1",
        "PREFECT_SERVER_API_WEBSOCKET_PING_TIMEOUT": "5"})
    request.node._pf_servers = [server]
    server.start()
    client = PrefectClient(server.api_url)
    try:
        a = agent(pool_name, *SLOW, "--log-level", "debug",
                  api_url=server.api_url,
                  env={"PFAGENT_EVENTS_PING_SECONDS": "1"})
        wait_subscribed(a)
        wait_for(lambda: a.log_text().count("events: pong"), timeout=180,
                 watch=[a], what="30 pongs on the event stream",
                 until=lambda n: n >= 30,
                 show=lambda n: f"{n} so far; log tail:\n{a.log_tail(20)}")
        assert subscriptions(a) == 1, a.log_tail()
        assert "polling takes over" not in a.log_text()

        dep = client.create_deployment(pool_name, HELLO)
        run = client.create_flow_run(dep["id"], {"name": "after idling"})
        final = client.wait_for_run(run["id"], watch=[a],
                                    timeout=WELL_BEFORE_NEXT_POLL)
        assert final["state_type"] == "COMPLETED", final["state"]
        assert subscriptions(a) == 1, a.log_tail()
    finally:
        client.close()
        server.stop()


def test_silent_stream_is_hung_up_and_subscribed_again(prefect_server,
                                                       agent, pool_name):
    """A stream that goes silent with its socket still open (a server
    host gone without a FIN) is hung up once two of the agent's pings
    went unanswered, said so, and subscribed again."""
    relay = MuteRelay(prefect_server.port)
    try:
        a = agent(pool_name, *SLOW, api_url=relay.api_url,
                  env={"PFAGENT_EVENTS_PING_SECONDS": "1"})
        wait_subscribed(a)
        assert relay.mute() == 1
        wait_subscribed(a, times=2)
        assert "events: no answer to 2 pings in 2 s; polling takes over" \
            in a.log_text(), a.log_tail()
    finally:
        relay.close()


@pytest.mark.parametrize("stream", ["websocket", "polling"])
def test_prefect_cli_cancels_a_running_run(client, agent, pool_name,
                                           prefect_server, tmp_path, stream):
    """A 60 s run cancelled with `prefect flow-run cancel` ends Cancelled
    with Prefect's message, never Crashed, and its process is gone: with
    the event stream, and with --no-events through the polling of
    POST /flow_runs/filter."""
    if stream == "websocket":
        a = agent(pool_name, *SLOW)
        wait_online(client, pool_name, a)
        wait_subscribed(a)
    else:
        a = agent(pool_name, *FAST, "--no-events")
        wait_online(client, pool_name, a)
    dep = client.create_deployment(pool_name, HELLO)
    run = client.create_flow_run(dep["id"], {"name": "long",
                                             "sleep_seconds": 60})
    running = client.wait_for_run(run["id"], ("RUNNING",), watch=[a],
                                  timeout=WELL_BEFORE_NEXT_POLL)
    pid = int(running["infrastructure_pid"])
    assert not process_gone(pid)

    prefect_cli(prefect_server.api_url, tmp_path, "flow-run", "cancel",
                run["id"])
    final = client.wait_for_run(run["id"], ("CANCELLED",), timeout=50,
                                watch=[a])
    assert final["state"]["message"] == \
        "Flow run was cancelled successfully."
    states = history(client, run["id"])
    assert ("CANCELLING", "Cancelling") in states, states
    assert not [s for s in states if s[0] == "CRASHED"], states
    wait_for(lambda: process_gone(pid), timeout=30, watch=[a],
             what=f"process {pid} of the cancelled run to be gone")
    wait_for(lambda: messages(client, run["id"]), timeout=30,
             what="the cancellation in the run's logs",
             until=lambda ms: "Flow run was cancelled." in ms and
             any(m.startswith("Cancelled flow run") for m in ms))
    assert not any("Hello" in m for m in messages(client, run["id"]))
    if stream == "polling":
        assert f"flow run {run['id']}: found Cancelling by polling" in \
            a.log_text()
    a.assert_alive("after the cancellation")


def test_run_cancelled_while_pending_never_starts(client, agent, pool_name,
                                                  prefect_server, tmp_path):
    """A run claimed ahead of its start (prefetch) is cancelled while
    Pending: it never reaches Running, the flow never runs, it ends
    Cancelled and its process is gone."""
    a = agent(pool_name, *FAST, "--prefetch-seconds", 120)
    wait_online(client, pool_name, a)
    wait_subscribed(a)
    dep = client.create_deployment(pool_name, HELLO)
    start = (datetime.datetime.now(datetime.timezone.utc)
             + datetime.timedelta(seconds=90)).isoformat()
    run = client.create_flow_run(
        dep["id"], {"name": "never"},
        state={"type": "SCHEDULED",
               "state_details": {"scheduled_time": start}})
    pending = client.wait_for_run(run["id"], ("PENDING",), watch=[a],
                                  timeout=60)
    wait_for(lambda: client.read_flow_run(run["id"]), timeout=30, watch=[a],
             what="the claimed run's process id",
             until=lambda r: r["infrastructure_pid"])
    pid = int(client.read_flow_run(run["id"])["infrastructure_pid"])
    assert pending["start_time"] is None

    prefect_cli(prefect_server.api_url, tmp_path, "flow-run", "cancel",
                run["id"])
    final = client.wait_for_run(run["id"], ("CANCELLED",), timeout=50,
                                watch=[a])
    states = history(client, run["id"])
    assert not [s for s in states if s[0] in ("RUNNING", "CRASHED")], states
    assert final["state"]["message"] == \
        "Flow run was cancelled successfully."
    wait_for(lambda: process_gone(pid), timeout=30, watch=[a],
             what=f"process {pid} of the cancelled run to be gone")
    logs = messages(client, run["id"])
    assert not any("Hello" in m or "Beginning flow run" in m for m in logs)


def test_cancel_grace_ends_with_sigkill(client, agent, pool_name,
                                       prefect_server, tmp_path):
    """A run whose process ignores SIGTERM (a job `command` trapping it)
    is SIGKILLed when --cancel-grace-seconds are over, then recorded
    Cancelled."""
    a = agent(pool_name, *FAST, "--cancel-grace-seconds", 2)
    wait_online(client, pool_name, a)
    dep = client.create_deployment(
        pool_name, HELLO,
        job_variables={"command":
                       "/bin/sh -c \"trap '' TERM; sleep 300\""})
    run = client.create_flow_run(dep["id"])
    wait_for(lambda: client.read_flow_run(run["id"]), timeout=60, watch=[a],
             what="the run's process id",
             until=lambda r: r["infrastructure_pid"])
    pid = int(client.read_flow_run(run["id"])["infrastructure_pid"])

    prefect_cli(prefect_server.api_url, tmp_path, "flow-run", "cancel",
                run["id"])
    final = client.wait_for_run(run["id"], ("CANCELLED",), timeout=60,
                                watch=[a])
    assert final["state"]["message"] == \
        "Flow run was cancelled successfully."
    assert process_gone(pid)
    assert f"flow run {run['id']}: process group {pid} still running" \
        in a.log_text()


def test_worker_events_have_prefect_shapes(client, agent, pool_name):
    """prefect.worker.started, submitted-flow-run, executed-flow-run and
    stopped are stored by the server (POST /events/filter) with the
    worker's resource id and the related pool, deployment, flow and flow
    run; executed follows submitted and stopped follows started."""
    a = agent(pool_name, *FAST)
    wait_online(client, pool_name, a)
    pool = client.read_pool(pool_name)
    dep = client.create_deployment(pool_name, HELLO)
    run = client.create_flow_run(dep["id"], {"name": "events"})
    done = client.wait_for_run(run["id"], watch=[a])
    assert done["state_type"] == "COMPLETED"
    a.terminate()

    worker_id = f"prefect.worker.process.{a.name.lower()}"

    def read():
        page = client.request("POST", "/events/filter", json={
            "filter": {"resource": {"id": [worker_id]},
                       "occurred": {"since": "2020-01-01T00:00:00Z"}},
            "limit": 50})
        return {e["event"]: e for e in page["events"]}

    names = {"prefect.worker.started", "prefect.worker.submitted-flow-run",
             "prefect.worker.executed-flow-run", "prefect.worker.stopped"}
    events = wait_for(read, timeout=60, what=f"the events of {worker_id}",
                      until=lambda evs: names <= set(evs),
                      show=lambda evs: sorted(evs))

    def related(e):
        return {r["prefect.resource.role"]: r for r in e["related"]}

    for e in events.values():
        assert e["resource"]["prefect.resource.name"] == a.name
        assert e["resource"]["prefect.worker-type"] == "process"
        assert related(e)["work-pool"]["prefect.resource.id"] == \
            f"prefect.work-pool.{pool['id']}"
    sub = events["prefect.worker.submitted-flow-run"]
    ex = events["prefect.worker.executed-flow-run"]
    for e in (sub, ex):
        rel = related(e)
        assert rel["flow-run"]["prefect.resource.id"] == \
            f"prefect.flow-run.{run['id']}"
        assert rel["deployment"]["prefect.resource.id"] == \
            f"prefect.deployment.{dep['id']}"
        assert rel["flow"]["prefect.resource.id"] == \
            f"prefect.flow.{dep['flow_id']}"
    assert related(ex)["flow-run"]["prefect.infrastructure.identifier"] == \
        str(done["infrastructure_pid"])
    assert related(ex)["flow-run"]["prefect.infrastructure.status-code"] \
        == "0"
    assert ex["follows"] == sub["id"]
    assert events["prefect.worker.stopped"]["follows"] == \
        events["prefect.worker.started"]["id"]


def test_stream_authenticates_and_verifies_tls(agent, pool_name, tmp_path):
    """Against a server with PREFECT_SERVER_API_AUTH_STRING, reached
    through TLS with PREFECT_API_SSL_CERT_FILE: the websocket (wss)
    authenticates with the raw auth string and a run for now is claimed
    through it."""
    secret = "pf-user:ev-" + pool_name[-6:]
    server = PrefectServer(tmp_path / "auth-home",
                           extra_env={"PREFECT_SERVER_API_AUTH_STRING":
                                      secret})
    server.start()
    cert, key = make_self_signed(tmp_path)
    proxy = TlsProxy(cert, key, server.port)
    url = f"https://127.0.0.1:{proxy.port}/api"
    user, password = secret.split(":", 1)
    client = PrefectClient(server.api_url, auth=(user, password))
    try:
        a = agent(pool_name, *SLOW, api_url=url,
                  env={"PREFECT_API_AUTH_STRING": secret,
                       "PREFECT_API_SSL_CERT_FILE": str(cert)})
        wait_online(client, pool_name, a)
        wait_subscribed(a)
        assert f"{SUBSCRIBED}wss://127.0.0.1:{proxy.port}/api/events/out" \
            in a.log_text()
        dep = client.create_deployment(pool_name, HELLO)
        run = client.create_flow_run(dep["id"], {"name": "tls"})
        final = client.wait_for_run(run["id"], watch=[a],
                                    timeout=WELL_BEFORE_NEXT_POLL)
        assert final["state_type"] == "COMPLETED", final["state"]
        assert password not in a.log_text()
        a.terminate()  # before its proxy and server go away
    finally:
        client.close()
        proxy.close()
        server.stop()
