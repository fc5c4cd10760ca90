"""Health, metrics, JSON logs and log buffering through API outages,
against a real Prefect server.

/metrics is read with prometheus_client's own text parser, so a format
mistake fails the test. The fixed sleeps in the outage tests are the
outages themselves (inputs, not waits on a state).

Slow tests (by design, still part of `make test`):
  test_outage_mid_run_keeps_every_log_line_in_order   (60 s outage)
  test_log_buffer_cap_reports_dropped_lines           (20 s outage)
"""

import datetime
import json
import re
import socket
import time
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from peers.prefect import PrefectClient, free_port, wait_for
# The config_secrets project and its secrets (test_sdk_config.py).
from test_sdk_config import AGENT_ENV, deploy, leaked, project  # noqa: F401

HELLO = "flows/hello.c:hello"
TICKER = "tests/flows/ticker.c:ticker"
FAST = ("--query-seconds", "1")


def http_get(port, path):
    """(status, body) of GET http://127.0.0.1:port/path; (None, error)
    while nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}",
                                    timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return None, str(e)


def metrics(port):
    """{(name, labels as a sorted tuple): value} of every sample."""
    status, body = http_get(port, "/metrics")
    assert status == 200, body
    out = {}
    for family in text_string_to_metric_families(body):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def health(port):
    status, body = http_get(port, "/health")
    return status, (json.loads(body) if status is not None else body)


def wait_health(port, want, agent, timeout=90):
    return wait_for(lambda: health(port), timeout=timeout, watch=[agent],
                    what=f"/health to answer {want}",
                    until=lambda sb: sb[0] == want)


def wait_pool(client, pool, agent):
    wait_for(lambda: client.read_pool(pool), watch=[agent],
             what=f"pool {pool!r} created by the agent")


def set_state(client, run_id, type_, name):
    client.request("POST", f"/flow_runs/{run_id}/set_state", json={
        "state": {"type": type_, "name": name}, "force": True})


def ticks(logs):
    """The numbers of the ticker's "tick N" lines, in log order."""
    return [int(m.group(1)) for l in logs
            if (m := re.fullmatch(r"tick (\d+)", l["message"]))]


# --------------------------------------------------------------------------

def test_metrics_count_the_runs_executed(client, agent, pool_name):
    """Two runs complete, one fails, one crashes (SIGSEGV), one is
    cancelled while running: /metrics, parsed by prometheus_client,
    counts each by the final state the API records, five claims and
    five starts, five pickup latencies, nothing in flight, the worker's
    info; /health and /live answer 200 as Prefect's worker webserver
    does."""
    port = free_port()
    a = agent(pool_name, *FAST, "--health-port", port)
    status, body = wait_health(port, 200, a)
    assert body == {"message": "OK"}
    assert http_get(port, "/live")[0] == 200

    deps = {e: client.create_deployment(pool_name, e)["id"] for e in (
        HELLO, "tests/flows/fail.c:fail", "tests/flows/crash.c:crash")}
    long = client.create_flow_run(deps[HELLO], {"sleep_seconds": 120})
    client.wait_for_run(long["id"], ("RUNNING",), watch=[a])
    set_state(client, long["id"], "CANCELLING", "Cancelling")
    runs = [client.create_flow_run(deps[HELLO], {"name": n})["id"]
            for n in ("a", "b")]
    runs.append(client.create_flow_run(deps["tests/flows/fail.c:fail"])["id"])
    runs.append(client.create_flow_run(
        deps["tests/flows/crash.c:crash"])["id"])
    finals = [client.wait_for_run(r, watch=[a])["state_type"]
              for r in runs + [long["id"]]]
    assert finals == ["COMPLETED", "COMPLETED", "FAILED", "CRASHED",
                      "CANCELLED"], finals

    def finished(m):
        return {s: m.get(("pfagent_flow_runs_finished_total",
                          (("state", s),))) for s in
                ("completed", "failed", "crashed", "cancelled")}

    m = wait_for(lambda: metrics(port), watch=[a], timeout=60,
                 what="every final state counted",
                 until=lambda m: sum(finished(m).values()) == 5,
                 show=lambda m: finished(m))
    assert finished(m) == {"completed": 2, "failed": 1, "crashed": 1,
                           "cancelled": 1}
    assert m[("pfagent_flow_runs_claimed_total", ())] == 5
    assert m[("pfagent_flow_runs_started_total", ())] == 5
    assert m[("pfagent_flow_runs_in_flight", ())] == 0
    assert m[("pfagent_flow_run_pickup_latency_seconds_count", ())] == 5
    assert m[("pfagent_flow_run_pickup_latency_seconds_bucket",
              (("le", "+Inf"),))] == 5
    assert m[("pfagent_flow_run_pickup_latency_seconds_sum", ())] >= 0
    assert m[("pfagent_ready", ())] == 1
    assert m[("pfagent_info", (("pool", pool_name), ("version", "0.1.0"),
                               ("worker", a.name)))] == 1
    assert ("pfagent_events_connected", ()) in m
    for kind in ("transport", "timeout", "http_4xx", "http_5xx"):
        assert ("pfagent_api_errors_total", (("kind", kind),)) in m
    # Anything else is answered, not crashed on.
    assert http_get(port, "/nope")[0] == 404
    a.assert_alive()

    # The cancelled run's process was stopped: Prefect's runner event.
    def read():
        return client.request("POST", "/events/filter", json={
            "filter": {"event": {"name": [
                "prefect.runner.cancelled-flow-run"]},
                "related": {"id": [f"prefect.flow-run.{long['id']}"]},
                "occurred": {"since": "2020-01-01T00:00:00Z"}},
            "limit": 10})["events"]

    ev, = wait_for(read, timeout=60, what="the runner's cancelled event",
                   until=lambda evs: len(evs) == 1)
    assert ev["resource"]["prefect.resource.id"] == \
        f"prefect.runner.{a.name.lower()}"
    assert ev["resource"]["prefect.resource.name"] == a.name
    roles = [(r["prefect.resource.role"], r["prefect.resource.id"])
             for r in ev["related"]]
    assert roles[:3] == [
        ("deployment", f"prefect.deployment.{deps[HELLO]}"),
        ("flow", f"prefect.flow.{long['flow_id']}"),
        ("flow-run", f"prefect.flow-run.{long['id']}")], roles


def raw(port, data):
    """What the server answers to these bytes, up to its close."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as s:
        s.sendall(data)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out


def test_health_server_survives_hostile_clients(agent, pool_name):
    """Bad requests get their 4xx and the connection is closed; HEAD has
    no body; idle connections beyond the 32 the server keeps are refused,
    and once the idle ones time out it answers again; the agent stays
    up throughout."""
    port = free_port()
    a = agent(pool_name, *FAST, "--health-port", port)
    wait_for(lambda: http_get(port, "/live")[0], watch=[a],
             what="/live to answer", until=lambda st: st == 200)
    assert raw(port, b"GARBAGE\r\n\r\n").startswith(
        b"HTTP/1.1 400 Bad Request\r\n")
    assert raw(port, b"GET /live HTTP/2.0\r\n\r\n").startswith(
        b"HTTP/1.1 505 ")
    assert raw(port, b"GET /live HTTP/1.1\r\nX: " + b"a" * 9000).startswith(
        b"HTTP/1.1 431 ")
    assert raw(port, b"POST /health HTTP/1.1\r\nContent-Length: 2\r\n"
               b"\r\n{}").startswith(b"HTTP/1.1 400 ")
    assert raw(port, b"DELETE /health HTTP/1.1\r\n\r\n").startswith(
        b"HTTP/1.1 405 ")
    head = raw(port, b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and \
        head.endswith(b"\r\n\r\n"), head

    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(40)]
    try:
        # The loop still turns (heartbeats go on) while they are held,
        # and once they time out, the server answers again.
        wait_for(lambda: http_get(port, "/live")[0], watch=[a],
                 what="/live to answer after the idle connections",
                 until=lambda st: st == 200)
    finally:
        for s in idle:
            s.close()
    a.assert_alive()


def test_run_scheduled_beyond_prefetch_is_claimed_on_time(client, agent,
                                                          pool_name):
    """With --query-seconds 600 and --prefetch-seconds 2, a run scheduled
    20 s ahead is outside every poll's window when it is created; a
    timer armed from the next scheduled run polls when the window
    reaches it, so it completes long before the next regular poll, and
    does not start before its time."""
    a = agent(pool_name, "--query-seconds", 600, "--prefetch-seconds", 2)
    wait_pool(client, pool_name, a)
    dep = client.create_deployment(pool_name, HELLO)
    start = datetime.datetime.now(datetime.timezone.utc) + \
        datetime.timedelta(seconds=20)
    run = client.create_flow_run(dep["id"], {"name": "ahead"}, state={
        "type": "SCHEDULED", "state_details": {
            "scheduled_time": start.isoformat()}})
    final = client.wait_for_run(run["id"], watch=[a], timeout=120)
    assert final["state_type"] == "COMPLETED", final["state"]
    # Not early: the server's WaitForScheduledTime holds Running back
    # until the scheduled time, rounded to whole seconds.
    running = [s for s in client.read_states(run["id"])
               if s["type"] == "RUNNING"]
    assert datetime.datetime.fromisoformat(running[0]["timestamp"]) >= \
        start - datetime.timedelta(seconds=1), (running, start)


def test_health_turns_503_while_the_api_is_down(own_server, agent,
                                                pool_name):
    """/health is 200 while heartbeats and polls succeed, 503 naming the
    stale checks while the server is down (/live stays 200: the agent is
    fine), and 200 again once the server is back; the transport errors
    are counted in /metrics."""
    port = free_port()
    client = PrefectClient(own_server.api_url)
    try:
        a = agent(pool_name, *FAST, "--heartbeat-seconds", 1,
                  "--health-port", port, api_url=own_server.api_url)
        wait_health(port, 200, a)

        own_server.stop()
        status, body = wait_health(port, 503, a)
        assert body["message"] == "Worker may be unresponsive at this time"
        assert set(body["failed"]) & {"heartbeat", "poll"}, body
        assert http_get(port, "/live")[0] == 200
        m = metrics(port)
        assert m[("pfagent_ready", ())] == 0
        assert m[("pfagent_api_errors_total",
                  (("kind", "transport"),))] > 0

        own_server.start()
        wait_health(port, 200, a, timeout=120)
        a.assert_alive("after the outage")
    finally:
        client.close()


def test_log_format_json_lines_all_parse(client, agent, pool_name):
    """With --log-format json every line the agent and its flow-run
    process print is one JSON object with timestamp, level, logger and
    message; lines about the run carry its id, and the flow's own lines
    arrive as such too."""
    a = agent(pool_name, *FAST, "--log-format", "json")
    wait_pool(client, pool_name, a)
    dep = client.create_deployment(pool_name, HELLO)
    run = client.create_flow_run(dep["id"], {"name": "json"})
    assert client.wait_for_run(run["id"], watch=[a])["state_type"] == \
        "COMPLETED"
    wait_for(a.log_text, watch=[a], what="the run's process exit logged",
             until=lambda t: "exited with status" in t)
    lines = [l for l in a.log_text().splitlines() if l.strip()]
    objs = []
    for l in lines:
        try:
            objs.append(json.loads(l))
        except ValueError:
            raise AssertionError(f"not a JSON line: {l!r}") from None
    for o in objs:
        assert {"timestamp", "level", "logger", "message"} <= set(o), o
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z",
                            o["timestamp"]), o
    about_run = [o for o in objs if o.get("flow_run_id") == run["id"]]
    assert any(o["message"] == "Hello, json!" and
               o["logger"] == "prefect.flow_runs" for o in about_run), objs
    assert any(o["message"].endswith(": claimed") and
               o["flow_run_name"] == run["name"] for o in about_run), objs


def test_log_format_json_keeps_secrets_masked(client, agent, pool_name,
                                              process_job_template,
                                              project):
    """A flow that reads a password and an API key and logs them, run
    with --log-format json: every line of the agent's output is JSON,
    the flow's and its task run's lines are there, masked, with the
    task run's name, and no secret appears anywhere in the output."""
    client.create_pool(pool_name, base_job_template=process_job_template)
    dep = deploy(client, pool_name, project, f"{pool_name}-json")
    run = client.create_flow_run(dep["id"])
    a = agent(pool_name, "--run-once", "--log-format", "json",
              env=AGENT_ENV)
    assert a.wait(300) == 0, a.log_tail()
    assert client.read_flow_run(run["id"])["state_type"] == "FAILED"
    text = a.log_text()
    assert not leaked(text), a.log_tail()
    objs = [json.loads(l) for l in text.splitlines() if l.strip()]
    assert any(o["message"] == "password is ****" and
               o.get("flow_run_id") == run["id"] for o in objs), objs
    assert any(o["message"] == "api key is ****" and
               o.get("task_run_name") == "use_api_key-0" and
               o["logger"] == "prefect.task_runs" for o in objs), objs
    # What the flow wrote to stderr itself: a JSON object of the run too.
    assert any(o["message"] == "raw stderr: password is ****" and
               o.get("stream") == "stderr" and
               o.get("flow_run_id") == run["id"] for o in objs), objs


def test_outage_mid_run_keeps_every_log_line_in_order(own_server, agent,
                                                      pool_name):
    """(slow) A flow logs a numbered line every 100 ms for 80 s; the
    server is down for 60 s in the middle: the run ends Completed and
    every line is in Prefect, once and in order."""
    client = PrefectClient(own_server.api_url)
    try:
        a = agent(pool_name, *FAST, "--heartbeat-seconds", 5,
                  api_url=own_server.api_url)
        wait_pool(client, pool_name, a)
        dep = client.create_deployment(pool_name, TICKER)
        count = 800
        run = client.create_flow_run(dep["id"], {"count": count,
                                                 "interval_ms": 100})
        wait_for(lambda: ticks(client.read_logs(run["id"])), watch=[a],
                 what="the first ticks delivered", until=len)

        own_server.stop()
        time.sleep(60)  # the outage itself: an input
        a.assert_alive("during the server outage")
        own_server.start()

        final = client.wait_for_run(run["id"], timeout=300, watch=[a])
        assert final["state_type"] == "COMPLETED", final["state"]
        got = ticks(client.read_logs(run["id"]))
        assert got == list(range(count)), (len(got), got[:5], got[-5:])
    finally:
        client.close()


def test_log_buffer_cap_reports_dropped_lines(own_server, agent, pool_name):
    """(slow) With PFAGENT_LOG_BUFFER_LINES=50 a 20 s outage overflows
    the run's log buffer: the lines beyond it are dropped (the newest,
    so what is kept stays in order), and where they were the run's logs
    say "N log lines were dropped while the API was unreachable", N
    being exactly the lines missing; the run still ends Completed."""
    client = PrefectClient(own_server.api_url)
    try:
        a = agent(pool_name, *FAST, "--heartbeat-seconds", 5,
                  api_url=own_server.api_url,
                  env={"PFAGENT_LOG_BUFFER_LINES": "50"})
        wait_pool(client, pool_name, a)
        dep = client.create_deployment(pool_name, TICKER)
        count = 600
        run = client.create_flow_run(dep["id"], {"count": count,
                                                 "interval_ms": 50})
        wait_for(lambda: ticks(client.read_logs(run["id"])), watch=[a],
                 what="the first ticks delivered", until=len)

        own_server.stop()
        time.sleep(20)  # the outage itself: an input
        own_server.start()

        final = client.wait_for_run(run["id"], timeout=300, watch=[a])
        assert final["state_type"] == "COMPLETED", final["state"]
        logs = client.read_logs(run["id"])
        notes = [(i, l["message"]) for i, l in enumerate(logs) if
                 "dropped while the API was unreachable" in l["message"]]
        assert len(notes) == 1, notes
        pos, note = notes[0]
        m = re.fullmatch(r"(\d+) log lines? (?:was|were) dropped while the "
                         r"API was unreachable", note)
        assert m, note
        dropped = int(m.group(1))
        got = ticks(logs)
        assert got == sorted(got) and len(set(got)) == len(got)
        missing = sorted(set(range(count)) - set(got))
        assert len(missing) == dropped > 0, (dropped, missing)
        # One gap, and the note stands in it.
        assert missing == list(range(missing[0], missing[0] + dropped))
        before = ticks(logs[:pos])
        assert before and before[-1] == missing[0] - 1, (before[-3:],
                                                         missing[:3])
        assert logs[pos]["level"] == 30
    finally:
        client.close()


CHATTER = "tests/flows/chatter.c:chatter"


def chats(logs):
    """The numbers of a chatter run's lines, in the order Prefect has them."""
    return [int(m.group(1)) for l in logs
            if (m := re.match(r"chat (\d{9}) ", l["message"]))]


def test_hundred_thousand_lines_of_1kb_all_stored_in_order(client, agent,
                                                           pool_name):
    """(slow) A flow logs 100,000 lines of 1 KB as fast as it can to a
    healthy server: the log buffer (32 MiB) fills, the flow waits for the
    API instead of dropping lines, and every line is stored, once and in
    order, with no "dropped" notice."""
    a = agent(pool_name, *FAST)
    wait_pool(client, pool_name, a)
    dep = client.create_deployment(pool_name, CHATTER)
    count = 100_000
    run = client.create_flow_run(dep["id"], {"count": count, "size": 1024})
    final = client.wait_for_run(run["id"], timeout=900, watch=[a])
    assert final["state_type"] == "COMPLETED", final["state"]
    logs = client.read_logs(run["id"])
    assert not [l for l in logs if "dropped" in l["message"]]
    got = chats(logs)
    assert got == list(range(count)), (len(got), got[:3], got[-3:])
    assert all(len(l["message"]) == 1024 - 16 + 15 for l in logs
               if l["message"].startswith("chat "))


@pytest.mark.parametrize("die", ["segv", "abort"])
def test_lines_before_a_crash_reach_prefect(client, agent, pool_name, die):
    """A flow logs 300 lines and at once dies of SIGSEGV or abort(): the
    lines it wrote are in Prefect all the same (the log spool the worker
    ships), in order, and the run is Crashed."""
    a = agent(pool_name, *FAST)
    wait_pool(client, pool_name, a)
    dep = client.create_deployment(pool_name, CHATTER)
    run = client.create_flow_run(dep["id"], {"count": 300, "size": 64,
                                             "die": die})
    final = client.wait_for_run(run["id"], timeout=120, watch=[a])
    assert final["state_type"] == "CRASHED", final["state"]
    logs = wait_for(lambda: client.read_logs(run["id"]), watch=[a],
                    what="all 300 lines delivered",
                    until=lambda logs: len(chats(logs)) >= 300)
    got = chats(logs)
    twice = sorted(n for n in set(got) if got.count(n) > 1)
    assert got == list(range(300)), (len(got), twice[:5], [
        (l["timestamp"], l["message"][:14]) for l in logs
        if twice and l["message"].startswith(f"chat {twice[0]:09d}")])
