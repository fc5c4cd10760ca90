"""pfagent as a Prefect process worker, against a real Prefect server.

Each test uses its own work pool. Waits poll the API for states (see
conftest.wait_for); the only fixed sleep is the 20 s outage in
test_run_survives_server_outage, which is that test's input.

Slow tests (by design, still part of `make test`):
  test_three_agents_share_300_runs_exactly_once   (300 runs, 3 agents, on
                                      the PostgreSQL-backed server)
  test_run_survives_server_outage                 (own server, 20 s outage)
"""

import collections
import os
import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

from peers.prefect import (
    REPO_ROOT, PrefectClient, PrefectServer, free_port, wait_for,
    without_late)
from peers.tls_proxy import TlsProxy, make_self_signed

HELLO = "flows/hello.c:hello"
# Agents poll every second so the suite does not idle on the default.
FAST = ("--query-seconds", "1")
# Allowance for the agent's own start-up (ASan build) before its first
# heartbeat.
STARTUP = 15


def wait_for_workers(client, pool, agents, timeout=60):
    """Wait until the pool exists and every agent's worker is ONLINE."""
    names = {a.name for a in agents}

    def observe():
        if client.read_pool(pool) is None:
            return None
        return client.read_workers(pool)

    return wait_for(
        observe, timeout=timeout,
        what=f"pool {pool!r} with ONLINE workers {sorted(names)}",
        until=lambda ws: ws is not None and names <= {
            w["name"] for w in ws if w["status"] == "ONLINE"},
        watch=agents)


def messages(logs, logger=None):
    return [l["message"].strip() for l in logs
            if logger is None or l["name"] == logger]


def wait_for_hello(client, deployment, agent, name=None):
    """Run `hello` once; assert it completes and logs its greeting."""
    params = {} if name is None else {"name": name}
    run = client.create_flow_run(deployment["id"], params)
    final = client.wait_for_run(run["id"], watch=[agent])
    assert final["state_type"] == "COMPLETED", final["state"]
    greeting = f"Hello, {name or 'world'}!"
    wait_for(lambda: messages(client.read_logs(run["id"])),
             what=f"log line {greeting!r} of run {run['id']}",
             until=lambda ms: greeting in ms, watch=[agent])
    return final


# --------------------------------------------------------------------------

def test_agent_creates_pool_and_heartbeats(client, agent, pool_name,
                                           process_job_template):
    """A missing pool is created by the agent as a `process` pool with the
    process worker's default base job template; the worker is ONLINE with
    the requested heartbeat interval within one interval (plus start-up),
    the pool turns READY, and heartbeats keep coming."""
    assert client.read_pool(pool_name) is None
    a = agent(pool_name, "--heartbeat-seconds", 5)

    workers = wait_for_workers(client, pool_name, [a], timeout=5 + STARTUP)
    assert [w["name"] for w in workers] == [a.name]
    worker = workers[0]
    assert worker["heartbeat_interval_seconds"] == 5

    pool = client.read_pool(pool_name)
    assert pool["type"] == "process"
    assert pool["base_job_template"] == process_job_template
    assert pool["status"] == "READY"

    first = worker["last_heartbeat_time"]
    later = wait_for(
        lambda: client.read_workers(pool_name), timeout=2 * 5 + 5,
        what="a second heartbeat", watch=[a],
        until=lambda ws: ws[0]["last_heartbeat_time"] != first)
    assert later[0]["status"] == "ONLINE"


def pools_named(client, names):
    """The pools with these names, found without addressing them by path."""
    return client.request("POST", "/work_pools/filter", json={
        "work_pools": {"name": {"any_": list(names)}}})


def test_pool_names_the_server_refuses_are_refused_first(client, agent,
                                                         pool_name):
    """A pool name Prefect's server refuses (a banned character, or only
    quotes and spaces) ends the agent at once with exit 2 and a message
    naming it, and no request creates anything."""
    names = [f"{pool_name}/x", f"{pool_name}%x", f"{pool_name}&x", "' '"]
    for i, name in enumerate(names):
        a = agent(name, *FAST, name=f"w-{pool_name}-{i}")
        assert a.wait(60) == 2, a.log_tail()
        assert f"work pool name '{name}' is not valid" in a.log_text(), \
            a.log_tail()
    assert pools_named(client, names) == []


def test_pool_the_server_cannot_find_again_is_fatal(client, agent,
                                                    pool_name):
    """A name the server stores but cannot serve back (a newline in it)
    ends the agent with exit 2 and a message naming the pool, instead of
    reading and creating it again and again."""
    name = f"{pool_name}\nx"
    a = agent(name, *FAST, name=f"w-{pool_name}")
    assert a.wait(60) == 2, a.log_tail()
    shown = name.replace("\n", "\\n")  # the log escapes control characters
    assert f"reading work pool '{shown}': the API answered HTTP 404" in \
        a.log_text(), a.log_tail()


def test_dot_pool_names_work(client, agent, pool_name):
    """"." and ".." are pool names the server takes: the agent reads or
    creates them (not the path's dot segments) and stops on SIGTERM."""
    for i, name in enumerate((".", "..")):
        a = agent(name, *FAST, name=f"w-{pool_name}-{i}")
        wait_for(a.log_text, timeout=60, watch=[a],
                 what=f"the agent online in pool {name!r}",
                 until=lambda t, n=name: f"online in pool '{n}'" in t)
        assert [p["name"] for p in pools_named(client, [name])] == [name]
        a.proc.terminate()
        assert a.wait(60) == 0, a.log_tail()


def test_twenty_hello_runs_complete(client, agent, pool_name):
    """20 hello runs with distinct names all complete through the expected
    state history, carry the worker labels and an infrastructure pid, and
    have the flow's greeting plus the worker's and engine's log lines."""
    a = agent(pool_name, *FAST)
    wait_for_workers(client, pool_name, [a])
    pool = client.read_pool(pool_name)
    dep = client.create_deployment(pool_name, HELLO)

    names = [f"friend {i:02d}" for i in range(20)]
    names[7] = "Zoë Ångström"
    created = [client.create_flow_run(dep["id"], {"name": n}) for n in names]
    ids = [r["id"] for r in created]
    name_of = {r["id"]: n for r, n in zip(created, names)}

    runs = {r["id"]: r for r in client.wait_for_runs(ids, timeout=180,
                                                     watch=[a])}
    not_completed = {i: (r["state_type"], r["state"]["message"])
                     for i, r in runs.items()
                     if r["state_type"] != "COMPLETED"}
    assert not not_completed

    expected_history = [("SCHEDULED", "Scheduled"), ("PENDING", "Pending"),
                        ("RUNNING", "Running"), ("COMPLETED", "Completed")]
    for run_id, run in runs.items():
        history = without_late([(s["type"], s["name"])
                                for s in client.read_states(run_id)])
        if history[2:3] == [("PENDING", "Submitting")]:
            del history[2]
        assert history == expected_history, (run_id, history)
        assert run["run_count"] == 1, run_id
        assert run["infrastructure_pid"], run_id

    def missing_lines():
        logs = collections.defaultdict(list)
        for log in client.read_logs(ids):
            logs[log["flow_run_id"]].append(log)
        missing = []
        for run_id in ids:
            worker = messages(logs[run_id], "prefect.flow_runs.worker")
            want_worker = [
                f"Worker '{a.name}' submitting flow run '{run_id}'",
                f"Flow run '{runs[run_id]['name']}' submitted to "
                f"infrastructure"]
            missing += [(run_id, m) for m in want_worker if m not in worker]
            all_ = messages(logs[run_id])
            greeting = f"Hello, {name_of[run_id]}!"
            if greeting not in all_:
                missing.append((run_id, greeting))
            if not any("Finished in state Completed()" in m for m in all_):
                missing.append((run_id, "Finished in state Completed()"))
        return missing

    wait_for(missing_lines, timeout=60, what="the log lines of all 20 runs",
             until=lambda missing: not missing, watch=[a])

    expected_labels = {
        "prefect.worker.name": a.name,
        "prefect.worker.type": "process",
        "prefect.work-pool.name": pool_name,
        "prefect.work-pool.id": pool["id"],
    }
    if not all("labels" in run for run in runs.values()):
        # Prefect 3.0: runs have no labels, and the agent says so once.
        log = a.log_text()
        assert log.count("the server has no flow-run labels") == 1, log
        assert "cannot set its worker labels" not in log, log
        return
    for run_id, run in runs.items():
        labels = {k: run["labels"].get(k) for k in expected_labels}
        assert labels == expected_labels, run_id


def test_failures_are_reported_and_agent_keeps_serving(client, agent,
                                                       pool_name):
    """A flow returning an error ends FAILED with its message, a segfaulting
    flow ends CRASHED with its exit status, a missing module or function
    ends CRASHED/FAILED naming it; after each, the same agent still runs a
    hello flow to completion."""
    a = agent(pool_name, *FAST)
    wait_for_workers(client, pool_name, [a])
    hello = client.create_deployment(pool_name, HELLO)

    cases = [
        ("tests/flows/fail.c:fail", {"FAILED"}, ["something went wrong"]),
        ("tests/flows/crash.c:crash", {"CRASHED"}, ["status code", "-11"]),
        ("flows/nope.c:nope", {"CRASHED", "FAILED"}, ["flows/nope.c"]),
        ("flows/hello.c:nope", {"CRASHED", "FAILED"}, ["nope"]),
    ]
    for entrypoint, types, fragments in cases:
        dep = client.create_deployment(pool_name, entrypoint)
        run = client.create_flow_run(dep["id"])
        final = client.wait_for_run(run["id"], watch=[a])
        state = final["state"]
        assert final["state_type"] in types, (entrypoint, state)
        message = state["message"] or ""
        for fragment in fragments:
            assert fragment in message, (entrypoint, message)

        wait_for_hello(client, hello, a)
        a.assert_alive(f"after the {entrypoint} run")


def test_three_agents_share_300_runs_exactly_once(pg_client, pg_prefect_server,
                                                  agent, pool_name, tmp_path,
                                                  process_job_template):
    """(slow) Three agents with --limit 4 on one pool of a PostgreSQL-backed
    server that orchestrates as in production (late-runs and scheduler
    services on), started together on 300 scheduled runs, execute each
    exactly once: its id appears once in the shared file, run_count is 1,
    its history has one Running and ends in its current state (no late
    claim left over it), and no agent is seen holding more than 4 runs in
    flight."""
    client = pg_client
    out = tmp_path / "touched.txt"
    client.create_pool(pool_name, base_job_template=process_job_template)
    dep = client.create_deployment(pool_name, "tests/flows/touch.c:touch",
                                   parameters={"path": str(out)})

    # Created before the agents start: this way every agent sees all 300
    # runs at once.
    def create(i):
        return client.create_flow_run(
            dep["id"], idempotency_key=f"{pool_name}-{i}")["id"]

    with ThreadPoolExecutor(max_workers=2) as executor:
        ids = list(executor.map(create, range(300)))
    assert len(set(ids)) == 300

    agents = [agent(pool_name, "--limit", 4, *FAST,
                    api_url=pg_prefect_server.api_url) for _ in range(3)]

    def observe():
        started = client.filter_runs(dep["id"], ["PENDING", "RUNNING",
                                                 "FAILED", "CRASHED",
                                                 "CANCELLED", "CANCELLING"])
        bad = [(r["id"], r["state_type"], r["state"]["message"])
               for r in started if r["state_type"] not in ("PENDING",
                                                           "RUNNING")]
        assert not bad, bad
        # What the server shows in flight is a subset of what the agents
        # hold (a run is Completed before its process is reaped).
        assert len(started) <= 12, \
            f"{len(started)} runs in flight with 3 agents at --limit 4"
        per_worker = collections.Counter(
            (r.get("labels") or {}).get("prefect.worker.name")
            for r in started)  # no labels before Prefect 3.1
        per_worker.pop(None, None)  # claimed, labels not written yet
        assert max(per_worker.values(), default=0) <= 4, \
            f"runs in flight per worker with --limit 4: {per_worker}"
        return client.count_runs(dep["id"], ["COMPLETED"])

    wait_for(observe, timeout=600, what="300 COMPLETED touch runs",
             until=lambda n: n == 300, show=lambda n: f"{n} completed",
             watch=agents)

    runs = client.read_flow_runs(ids)
    assert len(runs) == 300
    assert {r["state_type"] for r in runs} == {"COMPLETED"}
    assert [r["id"] for r in runs if r["run_count"] != 1] == []

    lines = collections.Counter(out.read_text().splitlines())
    assert set(lines) == set(ids)
    assert [i for i, n in lines.items() if n != 1] == []

    def history(run):
        states = client.read_states(run["id"])
        return run, [s["type"] for s in states], states[-1]["id"]

    with ThreadPoolExecutor(max_workers=2) as executor:
        histories = list(executor.map(history, runs))
    assert [(r["id"], types) for r, types, _ in histories
            if types.count("RUNNING") != 1] == []
    assert [(r["id"], types) for r, types, last in histories
            if r["state"]["id"] != last] == []


def test_run_once_drains_scheduled_runs_and_exits(client, agent, pool_name,
                                                  process_job_template):
    """`--run-once` picks up the runs already scheduled, waits for them
    (one sleeps 2 s) and exits 0; by then all three are COMPLETED."""
    client.create_pool(pool_name, base_job_template=process_job_template)
    dep = client.create_deployment(pool_name, HELLO)
    ids = [client.create_flow_run(dep["id"], p)["id"] for p in (
        {"name": "once 1"},
        {"name": "once 2", "sleep_seconds": 2},
        {"name": "once 3"})]

    a = agent(pool_name, "--run-once")
    assert a.wait(180) == 0

    states = {r["id"]: r["state_type"] for r in client.read_flow_runs(ids)}
    assert states == {i: "COMPLETED" for i in ids}


def test_run_survives_server_outage(own_server, agent, pool_name):
    """(slow) With a run in RUNNING, the server goes away for 20 s and comes
    back on the same port and database: the run still completes, the agent
    stays alive and serves a new run afterwards."""
    client = PrefectClient(own_server.api_url)
    try:
        a = agent(pool_name, *FAST, "--heartbeat-seconds", 5,
                  api_url=own_server.api_url)
        wait_for_workers(client, pool_name, [a])
        dep = client.create_deployment(pool_name, HELLO)
        run = client.create_flow_run(dep["id"], {"name": "outage",
                                                 "sleep_seconds": 30})
        client.wait_for_run(run["id"], ("RUNNING",), watch=[a])

        own_server.stop()
        time.sleep(20)  # the outage itself: an input, not a wait on state
        a.assert_alive("during the server outage")
        own_server.start()

        final = client.wait_for_run(run["id"], timeout=180, watch=[a])
        assert final["state_type"] == "COMPLETED", final["state"]
        a.assert_alive("after the server outage")
        wait_for_hello(client, dep, a, name="after outage")
    finally:
        client.close()


def test_closed_api_port_is_retried_not_fatal(agent, pool_name):
    """With PREFECT_API_URL pointing at a closed port the agent reports the
    connection problem in its output (stderr and stdout are captured
    together) repeatedly, i.e. it keeps retrying, and does not exit."""
    port = free_port()  # bound and released: nothing listens there
    a = agent(pool_name, *FAST, "--heartbeat-seconds", 5,
              api_url=f"http://127.0.0.1:{port}/api")
    problem = re.compile(
        r"(?i)refused|couldn'?t connect|could not connect|failed to connect|"
        r"cannot connect|can'?t connect|unreachable|"
        r"connection (error|failed|problem)")

    def reports():  # names left out: the pool's could match the pattern
        text = a.log_text().replace(a.name, "").replace(pool_name, "")
        return [l for l in text.splitlines() if problem.search(l)]

    wait_for(reports, timeout=60, watch=[a],
             what="two connection-problem reports in the agent's output",
             until=lambda lines: len(lines) >= 2,
             show=lambda lines: f"{lines}; output tail: {a.log_tail(20)}")
    a.assert_alive("while the API is unreachable")


def test_api_answering_502_is_named_with_status_and_host(agent, pool_name):
    """A proxy in front of the API answering 502 Bad Gateway: the agent
    says which status came from which host (not just "server error"),
    keeps retrying and stays up."""
    import http.server
    import threading

    class Gateway(http.server.BaseHTTPRequestHandler):
        def answer(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(502)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html>502 Bad Gateway</html>")
        do_GET = do_POST = do_PATCH = answer

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        a = agent(pool_name, *FAST, "--heartbeat-seconds", 5,
                  api_url=f"http://127.0.0.1:{port}/api")
        want = f"cannot read work pool '{pool_name}': HTTP 502 from " \
               f"127.0.0.1:{port}"
        wait_for(a.log_text, timeout=120, watch=[a],
                 what="the 502 and its host in the agent's output",
                 until=lambda t: want in t, show=lambda t: t[-2000:])
        a.assert_alive("while the gateway answers 502")
    finally:
        server.shutdown()
        server.server_close()


def test_basic_auth_and_refused_credentials(agent, pool_name, tmp_path):
    """Against a server that demands PREFECT_SERVER_API_AUTH_STRING, the
    agent authenticates with PREFECT_API_AUTH_STRING (Basic) and runs a
    flow; with a wrong secret it stops by itself (401 is not retried) with
    a message naming the variable, and never prints the secret."""
    secret = "pf-user:s3cr3t-" + pool_name[-6:]
    server = PrefectServer(tmp_path / "auth-home",
                           extra_env={"PREFECT_SERVER_API_AUTH_STRING": secret})
    server.start()
    user, password = secret.split(":", 1)
    client = PrefectClient(server.api_url, auth=(user, password))
    try:
        good = agent(pool_name, *FAST, "--heartbeat-seconds", 5,
                     api_url=server.api_url,
                     env={"PREFECT_API_AUTH_STRING": secret})
        wait_for(lambda: client.read_pool(pool_name), timeout=60,
                 watch=[good], what="the authenticated agent to create "
                                    "its pool")
        dep = client.create_deployment(pool_name, "flows/hello.c:hello")
        run = client.create_flow_run(dep["id"], parameters={"name": "auth"})
        run = client.wait_for_run(run["id"], watch=[good])
        assert run["state_type"] == "COMPLETED", run["state"]

        bad = agent(pool_name, *FAST, api_url=server.api_url,
                    env={"PREFECT_API_AUTH_STRING": "pf-user:wrong-secret"})
        code = bad.wait(60)
        assert code != 0, "an agent with refused credentials must stop"
        text = bad.log_text()
        assert "PREFECT_API_AUTH_STRING" in text, bad.log_tail()
        assert "wrong-secret" not in text and password not in text
        assert password not in good.log_text()
    finally:
        client.close()
        server.stop()


def test_tls_is_verified_and_configurable(agent, client, prefect_server,
                                          pool_name, tmp_path):
    """Through a TLS proxy with a self-signed certificate: by default the
    agent refuses the certificate (and keeps retrying); with
    PREFECT_API_SSL_CERT_FILE naming it, or with
    PREFECT_API_TLS_INSECURE_SKIP_VERIFY=true, it serves runs."""
    cert, key = make_self_signed(tmp_path)
    port = int(prefect_server.api_url.rsplit(":", 1)[1].split("/")[0])
    proxy = TlsProxy(cert, key, port)
    url = f"https://127.0.0.1:{proxy.port}/api"
    try:
        strict = agent(pool_name + "-strict", *FAST, api_url=url)
        wait_for(lambda: proxy.handshake_failures, timeout=60,
                 watch=[strict], what="the default agent to refuse the "
                                      "self-signed certificate")
        wait_for(lambda: "certificate" in strict.log_text().lower(),
                 timeout=60, watch=[strict],
                 what="a certificate error in the agent's log")
        assert client.read_pool(pool_name + "-strict") is None
        strict.assert_alive("after refusing the certificate")

        for n, env in enumerate(({"PREFECT_API_SSL_CERT_FILE": str(cert)},
                                 {"PREFECT_API_TLS_INSECURE_SKIP_VERIFY":
                                  "true"})):
            pool = f"{pool_name}-{n}"
            a = agent(pool, *FAST, api_url=url, env=env)
            wait_for(lambda: client.read_pool(pool), timeout=60, watch=[a],
                     what=f"the agent with {env} to create its pool")
            dep = client.create_deployment(pool, "flows/hello.c:hello")
            run = client.create_flow_run(dep["id"],
                                         parameters={"name": "tls"})
            run = client.wait_for_run(run["id"], watch=[a])
            assert run["state_type"] == "COMPLETED", (env, run["state"])
    finally:
        proxy.close()


def test_no_leaks_under_valgrind(client, prefect_server, pool_name, tmp_path):
    """The long-running paths (the worker's loop, claims, spawns, reaping,
    the executor and its log thread) have no memory errors and no leaks:
    the plain build under valgrind, children traced, serves runs that
    complete and fail, then exits 0 (--run-once)."""
    client.create_pool(pool_name)
    dep_ok = client.create_deployment(pool_name, "flows/hello.c:hello")
    dep_fail = client.create_deployment(pool_name, "tests/flows/fail.c:fail")
    ids = [client.create_flow_run(dep_ok["id"], parameters={"name": f"v{i}"})
           ["id"] for i in range(3)]
    ids.append(client.create_flow_run(dep_fail["id"])["id"])
    log = tmp_path / "valgrind.log"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PREFECT_")}
    env["PREFECT_API_URL"] = prefect_server.api_url
    proc = subprocess.run(
        ["valgrind", "--quiet", "--trace-children=yes",
         "--leak-check=full", "--show-leak-kinds=definite,indirect",
         "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=99",
         f"--log-file={log}.%p",
         str(REPO_ROOT / "build/pfagent"), "start", "--pool", pool_name,
         "--name", f"vg-{pool_name}", "--run-once", "--query-seconds", "1"],
        cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=300)
    reports = "".join(p.read_text() for p in tmp_path.glob("valgrind.log.*"))
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-3000:],
                                  reports[-5000:])
    # --quiet: valgrind's "==pid==" lines appear only for findings (its
    # "--pid--" notes about pidfd_open, which it lacks, are not findings).
    findings = [l for l in reports.splitlines() if l.startswith("==")]
    assert findings == [], "\n".join(findings[-80:])
    runs = {r["id"]: r["state_type"] for r in client.read_flow_runs(ids)}
    assert sorted(runs.values()) == ["COMPLETED"] * 3 + ["FAILED"], runs
