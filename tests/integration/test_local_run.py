"""`pfagent run`: local flow runs, as `python my_flow.py` in Prefect."""

import json
import os
import subprocess

from peers.prefect import REPO_ROOT, PFAGENT, VENV_BIN


def run(*args, api_url=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["ASAN_OPTIONS"] = "handle_segv=0:detect_leaks=1"
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return subprocess.run([str(PFAGENT), "run", *args], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True,
                          timeout=120)


def test_local_run_without_api_reports_by_exit_status():
    """No PREFECT_API_URL: the flow runs here, logs go to the console,
    and the exit status tells the final state; parameters are layered
    (prefect.yaml defaults, --params, --param) and validated."""
    ok = run("flows/hello.c:hello", "--params", '{"name": "x"}',
             "--param", "name=Ada")
    assert ok.returncode == 0, ok.stderr
    assert "Hello, Ada!" in ok.stderr
    assert "Finished in state Completed()" in ok.stderr

    by_name = run("hello")  # the deployment of prefect.yaml
    assert by_name.returncode == 0 and "Hello, world!" in by_name.stderr

    failed = run("tests/flows/fail.c:fail")
    assert failed.returncode == 1
    assert "Failed('Flow run encountered an exception: FlowError: " \
           "something went wrong')" in failed.stderr

    bad = run("flows/hello.c:hello", "--param", "sleep_seconds=abc")
    assert bad.returncode == 1
    assert " - sleep_seconds: Input should be a valid integer, unable to " \
           "parse string as an integer" in bad.stderr

    missing = run("flows/nope.c:nope")
    assert missing.returncode == 2 and "build/flows/nope.so" in missing.stderr
    unknown = run("no-such-deployment")
    assert unknown.returncode == 2 and "no-such-deployment" in unknown.stderr


def test_local_run_with_api_is_reported(client, prefect_server):
    """With PREFECT_API_URL the flow and its run are created on the
    server, with states Pending -> Running -> Completed and the logs."""
    p = run("flows/hello.c:hello", "--param", "name=Reported",
            api_url=prefect_server.api_url)
    assert p.returncode == 0, p.stderr
    name = p.stderr.split("Flow run '", 1)[1].split("'", 1)[0]
    runs = client.request("POST", "/flow_runs/filter", json={
        "flow_runs": {"name": {"any_": [name]}}})
    assert len(runs) == 1
    r = runs[0]
    assert r["state_type"] == "COMPLETED" and r["run_count"] == 1
    assert r["parameters"] == {"name": "Reported"}
    assert [s["name"] for s in client.read_states(r["id"])] == \
        ["Pending", "Running", "Completed"]
    messages = [log["message"] for log in client.read_logs(r["id"])]
    assert "Hello, Reported!" in messages
    assert "Finished in state Completed()" in messages


def prefect_cli(server, home, *args):
    """Prefect's own CLI from the venv, against the server."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PREFECT_")}
    env.update({"PREFECT_API_URL": server.api_url, "PREFECT_HOME": str(home),
                "COLUMNS": "250"})
    return subprocess.run([str(VENV_BIN / "prefect"), *args], env=env,
                          capture_output=True, text=True, timeout=300)


def test_local_run_is_seen_by_prefects_cli(prefect_server, tmp_path):
    """Prefect's own CLI lists a local run with an API (`prefect flow-run
    ls`) in its final state and prints its logs (`prefect flow-run
    logs`); a failing flow's run is listed Failed, and exits 1."""
    ok = run("flows/hello.c:hello", "--param", "name=Listed",
             api_url=prefect_server.api_url)
    assert ok.returncode == 0, ok.stderr
    failed = run("tests/flows/fail.c:fail", api_url=prefect_server.api_url)
    assert failed.returncode == 1, failed.stderr
    names = [p.stderr.split("Flow run '", 1)[1].split("'", 1)[0]
             for p in (ok, failed)]

    home = tmp_path / "cli-home"
    # Newest first; only final states, so no future scheduled run of
    # another test can push these two out of the page.
    ls = prefect_cli(prefect_server, home, "flow-run", "ls", "--flow-name",
                     "hello", "--flow-name", "fail", "--state-type",
                     "COMPLETED", "--state-type", "FAILED", "--limit", "50",
                     "-o", "json")
    assert ls.returncode == 0, ls.stdout + ls.stderr
    listed = {r["name"]: r for r in json.loads(ls.stdout)}
    assert listed[names[0]]["state"]["type"] == "COMPLETED"
    assert listed[names[0]]["parameters"] == {"name": "Listed"}
    assert listed[names[1]]["state"]["type"] == "FAILED"
    table = prefect_cli(prefect_server, home, "flow-run", "ls",
                        "--flow-name", "hello", "--state-type", "COMPLETED",
                        "--limit", "50")
    assert names[0] in table.stdout, table.stdout

    logs = prefect_cli(prefect_server, home, "flow-run", "logs",
                       listed[names[0]]["id"])
    assert logs.returncode == 0, logs.stdout + logs.stderr
    assert "Hello, Listed!" in logs.stdout, logs.stdout
    assert "Finished in state Completed()" in logs.stdout
    logs = prefect_cli(prefect_server, home, "flow-run", "logs",
                       listed[names[1]]["id"])
    assert "about to fail" in logs.stdout, logs.stdout


def test_prefect_profile_is_read_as_prefect_reads_it(client, prefect_server,
                                                    tmp_path):
    """`prefect config set PREFECT_API_URL=...` (Prefect's own CLI) writes
    the active profile of PREFECT_HOME; pfagent reads it as Prefect's
    client does, the environment still wins, and a profiles file that is
    not TOML is an error naming the file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    env["ASAN_OPTIONS"] = "handle_segv=0:detect_leaks=1"

    def prefect(*args):
        subprocess.run([str(VENV_BIN / "prefect"), *args], env=env,
                       check=True, capture_output=True, timeout=120)

    def pfagent_run(name, extra_env=None):
        return subprocess.run(
            [str(PFAGENT), "run", "flows/hello.c:hello", "--param",
             f"name={name}"], cwd=REPO_ROOT, env={**env, **(extra_env or {})},
            capture_output=True, text=True, timeout=120)

    def runs_named(greeting):
        logs = client.request("POST", "/logs/filter", json={
            "logs": {"level": {"ge_": 0}}, "limit": 200, "sort": "TIMESTAMP_DESC"})
        return [entry for entry in logs
                if f"Hello, {greeting}!" in entry["message"]]

    prefect("profile", "create", "pfagent-test")
    prefect("--profile", "pfagent-test", "config", "set",
            f"PREFECT_API_URL={prefect_server.api_url}")
    prefect("profile", "use", "pfagent-test")

    p = pfagent_run("FromProfile")
    assert p.returncode == 0, p.stderr
    assert len(runs_named("FromProfile")) == 1

    # The environment beats the profile: a dead URL in the profile is
    # never tried when PREFECT_API_URL is set.
    prefect("config", "set", "PREFECT_API_URL=http://127.0.0.1:9/api")
    p = pfagent_run("FromEnvironment",
                    {"PREFECT_API_URL": prefect_server.api_url})
    assert p.returncode == 0, p.stderr
    assert len(runs_named("FromEnvironment")) == 1

    profiles = tmp_path / "prefect-home" / "profiles.toml"
    profiles.write_text("active = [\n")
    p = pfagent_run("Broken")
    assert p.returncode == 2
    assert f"Prefect profiles {profiles}:" in p.stderr


def test_execute_help_prints_usage_and_runs_nothing():
    """`pfagent execute --help` says what the command is for and which
    variables it reads, and exits 0 without looking for a flow run; a
    stray argument is bad usage."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PREFECT")}
    p = subprocess.run([str(PFAGENT), "execute", "--help"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "pfagent start" in p.stdout
    for name in ("PREFECT__FLOW_RUN_ID", "PREFECT_API_URL", "PFAGENT_CLAIM",
                 "PFAGENT_STATE_DIR"):
        assert name in p.stdout, name
    assert "is not set" not in p.stderr
    bad = subprocess.run([str(PFAGENT), "execute", "now"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "'now'" in bad.stderr


DIES = [("tests/flows/crash.c:crash", -11), ("tests/flows/exits.c:exit0", 0),
        ("tests/flows/exits.c:exit3", 3)]


def test_local_run_whose_process_dies_exits_1():
    """No API: a flow that segfaults or calls exit() (0 or 3) ends the
    run Crashed, naming the exit status, and `pfagent run` exits 1."""
    for entrypoint, code in DIES:
        p = run(entrypoint)
        assert p.returncode == 1, (entrypoint, p.returncode, p.stderr)
        assert f"Crashed('Process exited with status code: {code}." in \
            p.stderr, p.stderr


def test_local_run_with_api_whose_process_dies_is_crashed(client,
                                                          prefect_server):
    """With an API: a flow that segfaults or calls exit() leaves its run
    Crashed, "Process exited with status code: N. ...", with that line in
    the run's logs (and, for exit(), the lines the flow logged before);
    `pfagent run` exits 1."""
    for entrypoint, code in DIES:
        p = run(entrypoint, api_url=prefect_server.api_url)
        assert p.returncode == 1, (entrypoint, p.returncode, p.stderr)
        name = p.stderr.split("Flow run '", 1)[1].split("'", 1)[0]
        runs = client.request("POST", "/flow_runs/filter", json={
            "flow_runs": {"name": {"any_": [name]}}})
        assert len(runs) == 1
        r = runs[0]
        assert r["state_type"] == "CRASHED", (entrypoint, r["state"])
        want = f"Process exited with status code: {code}."
        assert r["state"]["message"].startswith(want), r["state"]
        messages = [log["message"] for log in client.read_logs(r["id"])]
        assert any(m.startswith(want) for m in messages), messages
        if code != -11:
            assert f"about to exit {code}" in messages, messages
            assert any(m.startswith("Beginning flow run") for m in
                       messages), messages


class _Answer:
    """A loopback HTTP server answering one body to every request."""

    def __init__(self, status, body):
        import http.server
        import threading

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                n = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(n)
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = _answer

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_local_run_against_an_unexpected_answer_says_so():
    """An API answering `{"unexpected":[1]}` to everything: `pfagent run`
    exits 2 with a message saying what was missing, never an empty one."""
    peer = _Answer(200, '{"unexpected":[1]}')
    try:
        p = run("flows/hello.c:hello", api_url=f"{peer.url}/api")
    finally:
        peer.close()
    assert p.returncode == 2, p.stderr
    assert "pfagent run: creating flow 'hello': the API answered without " \
           "the flow's id" in p.stderr, p.stderr


def test_local_run_against_a_502_api_gives_up_with_a_message():
    """An API answering 502 to everything: `pfagent run` retries as
    Prefect's client does (5 retries, 2^n s apart), not for the 15
    minutes a flow run rides out, then exits 2 naming the answer."""
    peer = _Answer(502, "<html>502 Bad Gateway</html>")
    try:
        p = run("flows/hello.c:hello", api_url=f"{peer.url}/api")
    finally:
        peer.close()
    assert p.returncode == 2, p.stderr
    assert "pfagent run: creating flow 'hello': HTTP 502 <html>502 Bad " \
           "Gateway</html>" in p.stderr, p.stderr


def test_local_run_with_an_api_url_without_api_says_so(prefect_server):
    """PREFECT_API_URL without its /api (the server's root): the error
    says that Prefect's API is under /api."""
    root = prefect_server.api_url.removesuffix("/api")
    p = run("flows/hello.c:hello", api_url=root)
    assert p.returncode == 2, p.stderr
    assert "PREFECT_API_URL has no /api in its path" in p.stderr, p.stderr


def test_params_errors_name_their_position_and_params_file_works(tmp_path):
    """--params that is not JSON is refused naming line and column;
    --params-file reads the object from a file, and a missing file is
    named."""
    bad = run("flows/hello.c:hello", "--params", '{\n  "name": "x",,\n}')
    assert bad.returncode == 2
    assert "pfagent run: --params: invalid JSON at line 2, column" in \
        bad.stderr, bad.stderr
    f = tmp_path / "params.json"
    f.write_text('{"name": "FromFile"}')
    ok = run("flows/hello.c:hello", "--params-file", str(f))
    assert ok.returncode == 0 and "Hello, FromFile!" in ok.stderr, ok.stderr
    missing = run("flows/hello.c:hello", "--params-file",
                  str(tmp_path / "nope.json"))
    assert missing.returncode == 2
    assert "nope.json: No such file or directory" in missing.stderr


def test_half_megabyte_parameter_end_to_end(client, agent, pool_name,
                                            prefect_server, tmp_path):
    """A parameter of 500 KB (the server takes up to 512 KB) goes through
    the worker and the executor, and through a local run with the API,
    whole: the flow greets it byte for byte."""
    name = "".join(chr(ord("a") + i % 26) for i in range(500 * 1024))
    client.create_pool(pool_name)
    a = agent(pool_name, "--query-seconds", "1")
    dep = client.create_deployment(pool_name, "flows/hello.c:hello")
    r = client.create_flow_run(dep["id"], {"name": name})
    final = client.wait_for_run(r["id"], timeout=300, watch=[a])
    assert final["state_type"] == "COMPLETED", final["state"]
    assert any(l["message"] == f"Hello, {name}!"
               for l in client.read_logs(r["id"]))

    f = tmp_path / "big.json"
    f.write_text(json.dumps({"name": name}))
    p = run("flows/hello.c:hello", "--params-file", str(f),
            api_url=prefect_server.api_url)
    assert p.returncode == 0, p.stderr[-2000:]
    assert f"Hello, {name}!" in p.stderr
