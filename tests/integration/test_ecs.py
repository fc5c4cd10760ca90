"""pfagent as an ECS worker (`pfagent start --type ecs`), against moto's
ECS (in this process: tests/peers/moto_ecs.py, signatures checked) and a
real Prefect server. moto runs no containers: the tests play the ECS
container agent, running each task's command here with its overrides.

prefect-aws 0.7.12's own ECS worker and CLI come from a separate target
directory (PFAGENT_PREFECT_AWS, default .venv/prefect-aws, made by
scripts/setup from tests/requirements-prefect-aws.txt): its boto3 pins
differ from .venv's, so it is not installed there.
"""

import copy
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from peers.moto_ecs import (
    ContainerAgent, EcsPeer, REGION, plain_env, set_stopped)
from peers.prefect import REPO_ROOT, free_port, wait_for

HELLO = "flows/hello.c:hello"
PREFECT_AWS = Path(os.environ.get("PFAGENT_PREFECT_AWS",
                                  REPO_ROOT / ".venv" / "prefect-aws"))
PLAIN = REPO_ROOT / "build" / "pfagent"      # the played containers' binary
CLUSTER = "pf-cluster"


def prefect_aws_env(api_url, extra=None):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PREFECT_", "AWS_"))}
    env.update({"PYTHONPATH": str(PREFECT_AWS), "PREFECT_API_URL": api_url,
                "PREFECT_CLI_PROMPT": "false"})
    env.update(extra or {})
    return env


def prefect_cli(api_url, *args):
    return subprocess.run(
        [sys.executable, "-m", "prefect", *args],
        env=prefect_aws_env(api_url), capture_output=True, text=True,
        timeout=120)


@pytest.fixture
def ecs(tmp_path):
    """moto with an ECS cluster, its default VPC, a worker identity."""
    peer = EcsPeer(free_port()).start()
    ak, sk = peer.create_user("worker", ["ecs:*", "ec2:Describe*", "sqs:*",
                                         "logs:GetLogEvents"])
    # The awslogs driver's identity (the task execution role's rights).
    peer.awslogs_keys = peer.create_user("awslogs", [
        "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"])
    peer.client("ecs").create_cluster(clusterName=CLUSTER)
    # prefect-aws's worker always starts its crash observer, which reads
    # this (EventBridge-fed) queue; an empty one keeps it quiet.
    peer.client("sqs").create_queue(QueueName="prefect-ecs-tasks-events")
    ec2 = peer.client("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault",
                                      "Values": ["true"]}])["Vpcs"][0]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]]
    sg = ec2.describe_security_groups(Filters=[
        {"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["SecurityGroups"][0]
    peer.enable_auth()
    peer.vpc_id, peer.subnets, peer.sg = vpc["VpcId"], subnets, sg["GroupId"]
    peer.aws_env = {"AWS_ACCESS_KEY_ID": ak, "AWS_SECRET_ACCESS_KEY": sk,
                    "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
                    "AWS_ENDPOINT_URL": peer.url}
    yield peer
    peer.stop()


def job_variables(peer, **extra):
    """What the deployment sets: moto needs awsvpc's securityGroups, so
    the network is given (prefect-aws then checks the VPC's subnets)."""
    v = {"image": "pfagent:0.1.0", "cpu": 512, "memory": 1024,
         "env": {"GREETING_SOURCE": "ecs-test"},
         "command": "pfagent execute", "cluster": CLUSTER,
         "vpc_id": peer.vpc_id,
         "network_configuration": {"subnets": peer.subnets[:1],
                                   "securityGroups": [peer.sg],
                                   "assignPublicIp": "DISABLED"}}
    v.update(extra)
    return v


def fast_template(client, pool, **fixed):
    """The pool's template with fixed watch settings (prefect-aws 0.7.12
    fixes them at 0, meaning 5 s polls and a 300 s start timeout)."""
    p = client.read_pool(pool)
    t = copy.deepcopy(p["base_job_template"])
    t["job_configuration"].update(fixed)
    client.request("PATCH", f"/work_pools/{pool}",
                   json={"base_job_template": t})


def create_ecs_pool(client, pool):
    r = prefect_cli(client.api_url if hasattr(client, "api_url") else None,
                    "work-pool", "create", pool, "--type", "ecs")
    assert r.returncode == 0, r.stdout + r.stderr
    return client.read_pool(pool)


@pytest.fixture
def api_url(prefect_server):
    return prefect_server.api_url


def start_ecs_agent(agent, peer, pool, *args, **kw):
    env = dict(peer.aws_env)
    env.update(kw.pop("env", {}))
    return agent(pool, "--type", "ecs", "--query-seconds", "1", *args,
                 env=env, **kw)


def player(peer, decide=None, binary=PLAIN, output=None, initial=None):
    return ContainerAgent(peer, binary, REPO_ROOT, plain_env(),
                          decide=decide, output=output,
                          initial=initial).start()


def messages(logs):
    return [l["message"].strip() for l in logs]


# --------------------------------------------------------------------------

def test_ecs_pool_from_prefect_cli_runs_hello(client, agent, pool_name, ecs,
                                             api_url):
    """A pool made by `prefect work-pool create --type ecs` (prefect-aws
    0.7.12's template), served unmodified: the deployment's image, cpu,
    memory, env and command reach the task definition and RunTask; the
    played task runs hello, the run is Completed with its logs, and
    infrastructure_pid is <cluster>::<task ARN>."""
    r = prefect_cli(api_url, "work-pool", "create", pool_name, "--type",
                    "ecs")
    assert r.returncode == 0, r.stdout + r.stderr
    pool = client.read_pool(pool_name)
    assert pool["type"] == "ecs"
    dep = client.create_deployment(pool_name, HELLO,
                                   job_variables=job_variables(ecs))
    play = player(ecs)
    try:
        a = start_ecs_agent(agent, ecs, pool_name)
        run = client.create_flow_run(dep["id"], {"name": "ECS"})
        final = client.wait_for_run(run["id"], watch=[a], timeout=120)
        assert final["state_type"] == "COMPLETED", final["state"]
        wait_for(lambda: messages(client.read_logs(run["id"])),
                 what="the greeting", watch=[a],
                 until=lambda ms: "Hello, ECS!" in ms)
    finally:
        play.stop()
    assert client.read_pool(pool_name)["base_job_template"] == \
        pool["base_job_template"]
    (td,) = ecs.recorded("RegisterTaskDefinition")
    (rt,) = ecs.recorded("RunTask")
    assert td["containerDefinitions"] == [
        {"image": "pfagent:0.1.0", "name": "prefect"}]
    assert (td["cpu"], td["memory"]) == ("512", "1024")
    assert td["networkMode"] == "awsvpc"
    assert td["requiresCompatibilities"] == ["FARGATE"]
    (co,) = rt["overrides"]["containerOverrides"]
    assert co["command"] == ["pfagent", "execute"]
    env = {e["name"]: e["value"] for e in co["environment"]}
    assert env["PREFECT__FLOW_RUN_ID"] == run["id"]
    assert env["GREETING_SOURCE"] == "ecs-test"
    assert env["PREFECT_API_URL"] == api_url
    tags = {t["key"]: t["value"] for t in rt["tags"]}
    assert tags["prefect.io/flow-run-id"] == run["id"]
    assert tags["prefect.io/work-pool-name"] == pool_name
    assert rt["launchType"] == "FARGATE"
    assert rt["cluster"] == CLUSTER
    run_now = client.read_flow_run(run["id"])
    (task,) = ecs.tasks()
    assert run_now["infrastructure_pid"] == f"{CLUSTER}::{task.task_arn}"


def fast_pool(client, api_url, pool, **fixed):
    """An ECS pool made by Prefect's CLI, its watch settings fixed: the
    template of prefect-aws 0.7.12 pins them at 0 (5 s polls, 300 s
    start timeout), too slow for tests."""
    r = prefect_cli(api_url, "work-pool", "create", pool, "--type", "ecs")
    assert r.returncode == 0, r.stdout + r.stderr
    fixed.setdefault("task_watch_poll_interval", 0.5)
    fast_template(client, pool, **fixed)


def play_by_env(task, env):
    """The played container's fate, chosen by the run's PF_PLAY."""
    what = env.get("PF_PLAY", "run")
    if what == "oom":
        return lambda t: set_stopped(
            t, 137, reason="OutOfMemoryError: Container killed due to "
            "memory usage")
    if what == "stuck":
        return lambda t: None       # left as start_by_env made it
    return what


def start_by_env(task, env):
    """A stuck run's task is PROVISIONING from RunTask on, never seen
    RUNNING."""
    if env.get("PF_PLAY") == "stuck":
        task.last_status = "PROVISIONING"


def test_oom_and_stuck_tasks_crash_with_ecs_reasons(client, agent, pool_name,
                                                    ecs, api_url):
    """A task STOPPED with exit code 137 and OutOfMemoryError, and one
    left in PROVISIONING past task_start_timeout_seconds: both runs end
    Crashed with ECS's reasons in the message; the stuck task is stopped."""
    fast_pool(client, api_url, pool_name, task_start_timeout_seconds=3)
    oom = client.create_deployment(
        pool_name, HELLO, name=f"{pool_name}-oom",
        job_variables=job_variables(ecs, env={"PF_PLAY": "oom"}))
    stuck = client.create_deployment(
        pool_name, HELLO, name=f"{pool_name}-stuck",
        job_variables=job_variables(ecs, env={"PF_PLAY": "stuck"}))
    play = player(ecs, decide=play_by_env, initial=start_by_env)
    try:
        a = start_ecs_agent(agent, ecs, pool_name)
        r1 = client.create_flow_run(oom["id"])
        r2 = client.create_flow_run(stuck["id"])
        f1 = client.wait_for_run(r1["id"], watch=[a], timeout=90)
        f2 = client.wait_for_run(r2["id"], watch=[a], timeout=90)
    finally:
        play.stop()
    assert f1["state_type"] == "CRASHED", f1["state"]
    msg = f1["state"]["message"]
    assert "EssentialContainerExited" in msg, msg
    assert "exited with code 137" in msg and "OutOfMemoryError" in msg, msg
    assert f2["state_type"] == "CRASHED", f2["state"]
    msg = f2["state"]["message"]
    assert "did not reach RUNNING within 3 seconds" in msg, msg
    assert "PROVISIONING" in msg, msg
    stops = ecs.recorded("StopTask")
    assert len(stops) == 1 and stops[0]["task"] in msg


def test_cancel_from_prefect_cli_stops_the_task(client, agent, pool_name,
                                                ecs, api_url):
    """`prefect flow-run cancel`: the worker sends StopTask (reason
    "Stopped by Prefect worker"), the played container is stopped, and
    the run ends Cancelled."""
    fast_pool(client, api_url, pool_name)
    dep = client.create_deployment(pool_name, HELLO,
                                   job_variables=job_variables(ecs))
    play = player(ecs)
    try:
        a = start_ecs_agent(agent, ecs, pool_name)
        run = client.create_flow_run(dep["id"], {"sleep_seconds": 120})
        client.wait_for_run(run["id"], types=("RUNNING",), watch=[a])
        r = prefect_cli(api_url, "flow-run", "cancel", run["id"])
        assert r.returncode == 0, r.stdout + r.stderr
        final = client.wait_for_run(run["id"], watch=[a], timeout=90)
    finally:
        play.stop()
    assert final["state_type"] == "CANCELLED", final["state"]
    (stop,) = ecs.recorded("StopTask")
    assert stop["reason"] == "Stopped by Prefect worker"
    assert stop["cluster"] == CLUSTER
    (task,) = ecs.tasks()
    assert stop["task"] == task.task_arn


def test_fifty_runs_one_task_definition(client, agent, pool_name, ecs,
                                        api_url):
    """50 runs of one deployment: one RegisterTaskDefinition, 50 RunTask,
    and every DescribeTasks names at most 100 tasks."""
    fast_pool(client, api_url, pool_name)
    dep = client.create_deployment(pool_name, HELLO,
                                   job_variables=job_variables(ecs))
    play = player(ecs)
    try:
        a = start_ecs_agent(agent, ecs, pool_name)
        ids = [client.create_flow_run(dep["id"])["id"] for _ in range(50)]
        finals = client.wait_for_runs(ids, watch=[a], timeout=600)
    finally:
        play.stop()
    assert {r["state_type"] for r in finals} == {"COMPLETED"}
    assert len(ecs.recorded("RegisterTaskDefinition")) == 1
    assert len(ecs.recorded("RunTask")) == 50
    assert len({r["taskDefinition"] for r in ecs.recorded("RunTask")}) == 1
    assert max(len(d["tasks"]) for d in ecs.recorded("DescribeTasks")) <= 100


def test_new_worker_reattaches_after_kill_9(client, agent, pool_name, ecs,
                                            api_url, tmp_path):
    """kill -9 of the worker with 5 tasks running; a new worker on the
    same state directory re-attaches to all 5 from its journal, and when
    ECS stops them (exit 1, the flow never ran) every run ends Crashed
    through the new worker."""
    fast_pool(client, api_url, pool_name)
    dep = client.create_deployment(pool_name, HELLO,
                                   job_variables=job_variables(ecs))
    state = tmp_path / "state"
    play = player(ecs, decide=lambda task, env: "hold")
    try:
        a = start_ecs_agent(agent, ecs, pool_name, "--state-dir", state)
        ids = [client.create_flow_run(dep["id"])["id"] for _ in range(5)]
        wait_for(lambda: client.read_flow_runs(ids), watch=[a],
                 what="5 runs with an ECS task",
                 until=lambda rs: all((r.get("infrastructure_pid") or "")
                                      .startswith(CLUSTER + "::")
                                      for r in rs))
        wait_for(lambda: len(play.held), what="5 held tasks",
                 until=lambda n: n == 5)
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait(30)
        b = start_ecs_agent(agent, ecs, pool_name, "--state-dir", state)
        wait_for(lambda: b.log_text().count("re-attached to ECS task"),
                 what="5 re-attachments", watch=[b],
                 until=lambda n: n == 5)
        play.release(lambda t: set_stopped(t, 1))
        finals = client.wait_for_runs(ids, watch=[b], timeout=90)
    finally:
        play.stop()
    assert {r["state_type"] for r in finals} == {"CRASHED"}
    for r in finals:
        assert "exited with code 1" in r["state"]["message"]


def without(d, *keys):
    return {k: v for k, v in d.items() if k not in keys}


def run_with_prefect_aws(ecs, pool, api_url, tmp_path):
    """prefect-aws 0.7.12's worker, once: it claims and submits the run."""
    env = prefect_aws_env(api_url, ecs.aws_env)
    env["PREFECT_HOME"] = str(tmp_path / "prefect-aws-home")
    log = open(tmp_path / "prefect-aws-worker.log", "wb")
    p = subprocess.Popen(
        [sys.executable, "-m", "prefect", "worker", "start", "--pool", pool,
         "--type", "ecs", "--name", "prefect-aws-worker", "--run-once"],
        env=env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    return p


def test_requests_match_prefect_aws_worker(client, agent, pool_name, ecs,
                                           api_url, tmp_path):
    """The same deployment run once by pfagent and once by prefect-aws
    0.7.12's own ECS worker: RegisterTaskDefinition and RunTask carry the
    same fields and values, but for what names the run or the worker."""
    if not (PREFECT_AWS / "prefect_aws").is_dir():
        pytest.fail(f"prefect-aws not found in {PREFECT_AWS}: run "
                    f"scripts/setup venv (or set PFAGENT_PREFECT_AWS)")
    r = prefect_cli(api_url, "work-pool", "create", pool_name, "--type",
                    "ecs")
    assert r.returncode == 0, r.stdout + r.stderr
    dep = client.create_deployment(pool_name, HELLO,
                                   job_variables=job_variables(ecs))
    play = player(ecs)
    try:
        a = start_ecs_agent(agent, ecs, pool_name)
        ours = client.create_flow_run(dep["id"])
        client.wait_for_run(ours["id"], watch=[a])
        a.proc.send_signal(signal.SIGTERM)
        assert a.wait(60) == 0
        theirs = client.create_flow_run(dep["id"])
        p = run_with_prefect_aws(ecs, pool_name, api_url, tmp_path)
        try:
            client.wait_for_run(theirs["id"], timeout=180)
        finally:
            p.terminate()
            p.wait(30)
    finally:
        play.stop()
    tds = ecs.recorded("RegisterTaskDefinition")
    rts = ecs.recorded("RunTask")
    assert len(tds) == 2 and len(rts) == 2, (tds, rts)
    assert tds[0] == tds[1]
    ours_rt, theirs_rt = rts

    def env_of(rt):
        (co,) = rt["overrides"]["containerOverrides"]
        return {e["name"]: e["value"] for e in co["environment"]}

    def tags_of(rt):
        return {t["key"]: t["value"] for t in rt["tags"]}

    def job_env(env):
        # The worker's own Prefect settings (PREFECT_HOME, ...) are the
        # workers' and differ; PREFECT_API_URL is compared.
        return {k: v for k, v in env.items()
                if not k.startswith("PREFECT_") or k.startswith("PREFECT__")
                or k == "PREFECT_API_URL"}

    run_specific = ("PREFECT__FLOW_RUN_ID", "PREFECT__WORKER_NAME")
    e1, e2 = env_of(ours_rt), env_of(theirs_rt)
    assert e1["PREFECT__FLOW_RUN_ID"] == ours["id"]
    assert e2["PREFECT__FLOW_RUN_ID"] == theirs["id"]
    assert without(job_env(e1), *run_specific) == \
        without(job_env(e2), *run_specific)
    assert [k for k in e1 if k.startswith("PREFECT__")] == \
        [k for k in e2 if k.startswith("PREFECT__")]
    named = ("prefect.io/flow-run-id", "prefect.io/flow-run-name",
             "prefect.io/worker-name", "prefect.io/version")
    assert without(tags_of(ours_rt), *named) == \
        without(tags_of(theirs_rt), *named)
    assert set(tags_of(ours_rt)) == set(tags_of(theirs_rt))

    def rest(rt):
        rt = copy.deepcopy(rt)
        del rt["tags"]
        (co,) = rt["overrides"]["containerOverrides"]
        del co["environment"]
        rt["taskDefinition"] = rt["taskDefinition"].rsplit(":", 1)[0]
        assert len(rt.pop("clientToken")) == 36
        return rt
    assert rest(ours_rt) == rest(theirs_rt)


def test_sigterm_leaves_tasks_running_for_the_next_worker(
        client, agent, pool_name, ecs, api_url, tmp_path):
    """SIGTERM: the worker exits at once without StopTask, saying the
    task keeps running; the next worker re-attaches and the run
    completes. Its next run reuses the family's latest revision (equal
    content) instead of registering a second task definition."""
    fast_pool(client, api_url, pool_name)
    dep = client.create_deployment(pool_name, HELLO,
                                   job_variables=job_variables(ecs))
    state = tmp_path / "state"
    play = player(ecs, decide=lambda task, env: "hold")
    try:
        a = start_ecs_agent(agent, ecs, pool_name, "--state-dir", state,
                            env={"PFAGENT_DRAIN_SECONDS": "300"})
        run = client.create_flow_run(dep["id"])
        wait_for(lambda: len(play.held), what="a held task",
                 until=lambda n: n == 1)
        wait_for(lambda: client.read_flow_run(run["id"]),
                 what="the task recorded", watch=[a],
                 until=lambda r: (r["infrastructure_pid"] or "")
                 .startswith(CLUSTER + "::"))
        a.proc.send_signal(signal.SIGTERM)
        assert a.wait(60) == 0
        assert "keeps running without this worker" in a.log_text()
        assert ecs.recorded("StopTask") == []
        b = start_ecs_agent(agent, ecs, pool_name, "--state-dir", state)
        wait_for(lambda: b.log_text().count("re-attached to ECS task"),
                 what="the re-attachment", watch=[b], until=lambda n: n == 1)
        play.decide = lambda task, env: "run"
        for arn, task in list(play.held.items()):
            play.held.pop(arn)
            argv, env = play.overrides(task)
            play._play(task, argv, env)
        final = client.wait_for_run(run["id"], watch=[b])
        assert final["state_type"] == "COMPLETED", final["state"]
        second = client.create_flow_run(dep["id"])
        final = client.wait_for_run(second["id"], watch=[b])
        assert final["state_type"] == "COMPLETED", final["state"]
    finally:
        play.stop()
    assert len(ecs.recorded("RegisterTaskDefinition")) == 1
    assert len(ecs.recorded("RunTask")) == 2


def test_aws_credentials_block_reference(client, agent, pool_name, ecs,
                                         api_url):
    """aws_credentials given as a reference to an AwsCredentials block
    (saved by prefect-aws): the worker, without AWS settings of its own,
    signs with the block's keys, in its region, at its endpoint."""
    fast_pool(client, api_url, pool_name)
    code = (
        "from prefect_aws import AwsCredentials\n"
        "from prefect_aws.client_parameters import AwsClientParameters\n"
        f"b = AwsCredentials(aws_access_key_id={ecs.aws_env['AWS_ACCESS_KEY_ID']!r},"
        f" aws_secret_access_key={ecs.aws_env['AWS_SECRET_ACCESS_KEY']!r},"
        f" region_name={REGION!r}, aws_client_parameters="
        f"AwsClientParameters(endpoint_url={ecs.url!r}))\n"
        f"print(b.save({pool_name!r}))\n")
    r = subprocess.run([sys.executable, "-c", code],
                       env=prefect_aws_env(api_url), capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    block_id = r.stdout.strip().splitlines()[-1]
    # As Prefect's UI sets it: the pool variable's default (the server
    # refuses the reference in a deployment's job variables: it matches
    # both branches of the schema's oneOf).
    pool = client.read_pool(pool_name)
    t = copy.deepcopy(pool["base_job_template"])
    t["variables"]["properties"]["aws_credentials"]["default"] = {
        "$ref": {"block_document_id": block_id}}
    client.request("PATCH", f"/work_pools/{pool_name}",
                   json={"base_job_template": t})
    dep = client.create_deployment(pool_name, HELLO,
                                   job_variables=job_variables(ecs))
    play = player(ecs)
    try:
        a = agent(pool_name, "--type", "ecs", "--query-seconds", "1",
                  env={"AWS_CONFIG_FILE": "/nonexistent",
                       "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"})
        run = client.create_flow_run(dep["id"])
        final = client.wait_for_run(run["id"], watch=[a])
    finally:
        play.stop()
    assert final["state_type"] == "COMPLETED", final["state"]
    assert ecs.aws_env["AWS_SECRET_ACCESS_KEY"] not in a.log_text()


def awslogs_driver(peer, seen=None):
    """output= for the player: the container's lines into its CloudWatch
    Logs stream as ECS's awslogs driver names it (group and stream prefix
    from the registered task definition), making group and stream as
    awslogs-create-group does. With seen(line) -> bool, the first half is
    shipped while the task is RUNNING and the rest only once seen(last
    line of the first half) holds. Returns (output, {task ARN: lines})."""
    logs = peer.client("logs", *peer.awslogs_keys)
    shipped = {}

    def put(group, stream, lines, t0):
        logs.put_log_events(logGroupName=group, logStreamName=stream,
                            logEvents=[{"timestamp": t0 + i, "message": l}
                                       for i, l in enumerate(lines)])

    def output(task, text):
        (td,) = peer.recorded("RegisterTaskDefinition")
        (c,) = td["containerDefinitions"]
        opt = c["logConfiguration"]["options"]
        group = opt["awslogs-group"]
        stream = "/".join((opt["awslogs-stream-prefix"], c["name"],
                           task.task_arn.rsplit("/", 1)[-1]))
        lines = [l for l in text.splitlines() if l.strip()]
        shipped[task.task_arn] = lines
        try:
            logs.create_log_group(logGroupName=group)
        except logs.exceptions.ResourceAlreadyExistsException:
            pass
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        t0 = int(time.time() * 1000)
        half = len(lines) // 2 if seen else 0
        if half:
            put(group, stream, lines[:half], t0)
            wait_for(lambda: seen(lines[half - 1]),
                     what="the worker following the stream")
        put(group, stream, lines[half:], t0 + half)
    return output, shipped


def test_stream_output_follows_the_cloudwatch_stream(client, agent,
                                                     pool_name, ecs,
                                                     api_url):
    """stream_output (set in the pool's template) with
    configure_cloudwatch_logs: the worker reads the task's awslogs stream
    (GetLogEvents from the head, then its nextForwardToken) and writes each
    line of the container's output into its own output, prefixed with the
    flow run, in order and once: half the lines are shipped while the task
    runs (read by the watch's polls), the rest just before STOPPED (read by
    the last poll). The run ends Completed with its logs in Prefect, as
    without streaming."""
    # prefect-aws 0.7.12's template pins stream_output to false in its
    # job configuration (no variable): the pool's template turns it on.
    fast_pool(client, api_url, pool_name, stream_output=True)
    dep = client.create_deployment(pool_name, HELLO, job_variables=(
        job_variables(ecs, configure_cloudwatch_logs=True,
                      execution_role_arn="arn:aws:iam::123456789012:role/"
                                         "ecsTaskExecutionRole")))
    started = []

    def seen(line):
        return any(l.endswith("): " + line)
                   for l in started[0].log_text().splitlines())
    output, shipped = awslogs_driver(ecs, seen)
    play = player(ecs, output=output)
    try:
        a = start_ecs_agent(agent, ecs, pool_name)
        started.append(a)
        run = client.create_flow_run(dep["id"], {"name": "ECS"})
        final = client.wait_for_run(run["id"], watch=[a], timeout=120)
        assert final["state_type"] == "COMPLETED", final["state"]
        (task,) = ecs.tasks()
        # The worker's own line about the stopped task follows the drain.
        wait_for(a.log_text, what="the worker seeing the task stopped",
                 watch=[a], show=lambda t: t[-3000:],
                 until=lambda t: f"ECS task {task.task_arn} stopped" in t)
        wait_for(lambda: messages(client.read_logs(run["id"])),
                 what="the greeting", watch=[a],
                 until=lambda ms: "Hello, ECS!" in ms)
    finally:
        play.stop()
    lines = shipped[task.task_arn]
    assert lines, "the played container wrote nothing"
    prefix = f"flow run {run['id']} ({final['name']}): "
    streamed = [l.split(prefix, 1)[1] for l in a.log_text().splitlines()
                if prefix in l]
    assert [l for l in streamed if l in set(lines)] == lines, \
        (lines, streamed)
