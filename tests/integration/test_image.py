"""pfagent's image (container/Containerfile, built by `make image` into
build/pfagent-image.tar) in action, and its ECS task definition and
service (container/ecs/) against moto's ECS.

The image is unpacked and run as a container runtime runs it
(tests/peers/container.py): its entrypoint as PID 1 of its own PID and
mount namespaces, as the image's non-root user, with the image's
environment and working directory, the state dir a bind mount at the
declared volume (EFS on ECS), on the host's network, against the suite's
Prefect server on loopback. The flows come from a git repository bound
into the container (a copy of this repository's Makefile, SDK headers,
flows and dlt configuration) through a git_clone pull step and are built
in the checkout by the image's compiler (tcc: the image has no gcc).
Skipped, with the reason, when there is no image (`make image`, which
needs `scripts/setup image-tools`) or no root (namespaces, mounts).
The ECS tests need neither.
"""

import io
import json
import os
import re
import shutil
import subprocess
import tarfile

import duckdb
import pytest

from peers.container import Container, Image, user_ids
from peers.git_http import git
from peers.oxr import CURRENCIES, OxrServer
from peers.prefect import REPO_ROOT, free_port, wait_for

# The archive under test: $PFAGENT_IMAGE, else make image's.
ARCHIVE = REPO_ROOT / os.environ.get("PFAGENT_IMAGE",
                                     "build/pfagent-image.tar")
CONTAINERFILE = REPO_ROOT / "container" / "Containerfile"
ECS = REPO_ROOT / "container" / "ecs"
VERSION = re.search(r"^VERSION\s*=\s*(\S+)", (REPO_ROOT / "Makefile")
                    .read_text(), re.M).group(1)
APP_ID = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
FAST = ("--query-seconds", "1")


def _why_not():
    if os.geteuid() != 0:
        return "needs root (PID and mount namespaces, the image's owners)"
    for tool in ("unshare", "nsenter", "mount"):
        if shutil.which(tool) is None:
            return f"needs {tool} (util-linux)"
    if not ARCHIVE.exists():
        return (f"no image at {ARCHIVE}: run `make image` (its tools: "
                f"scripts/setup image-tools)")
    return None


# Decided at collection, before the session's Prefect server starts.
needs_image = pytest.mark.skipif(_why_not() is not None,
                                 reason=str(_why_not()))


@pytest.fixture(scope="module")
def image():
    return Image(ARCHIVE)


@pytest.fixture(scope="module")
def rootfs(image, tmp_path_factory):
    return image.unpack(tmp_path_factory.mktemp("image") / "rootfs")


@pytest.fixture(scope="module")
def uid(image, rootfs):
    """The image's user's uid (its group has the same id)."""
    return user_ids(image, rootfs)[0]


@pytest.fixture(scope="module")
def repos(uid, tmp_path_factory):
    """/repos/flows.git in the container: this repository's Makefile, SDK
    headers, flows, test flows and dlt configuration (no secrets, no local
    data), owned by the image's user as a checkout of theirs would be."""
    work = tmp_path_factory.mktemp("flows-work")
    for d in ("include", "flows", "tests/flows"):
        shutil.copytree(REPO_ROOT / d, work / d)
    shutil.copy(REPO_ROOT / "Makefile", work)
    shutil.copytree(REPO_ROOT / ".dlt", work / ".dlt", ignore=shutil.
                    ignore_patterns("secrets.toml", "*.secrets.toml",
                                    "data", "state", "profile-name", ".var"))
    git(work, "init", "-q")
    git(work, "add", ".")
    git(work, "commit", "-qm", "flows")
    root = tmp_path_factory.mktemp("repos")
    git(root, "clone", "-q", "--bare", str(work), "flows.git")
    for d, _, files in os.walk(root):
        for p in [d, *(os.path.join(d, f) for f in files)]:
            os.chown(p, uid, uid)
    return root


@pytest.fixture
def container(image, rootfs, uid, repos, prefect_server, tmp_path):
    """Factory: container(pool, *args, env=..., entrypoint=...) starts the
    image's entrypoint with `--pool POOL --name NAME ARGS`; returns the
    Container with .state (the host side of its state volume) and
    .health_port. Teardown stops each as `docker stop -t 120` does and
    fails the test when one had to be killed."""
    started = []

    def start(pool, *args, env=None, entrypoint=None):
        n = len(started) + 1
        state = tmp_path / f"state-{n}"
        state.mkdir()
        os.chown(state, uid, uid)
        port = free_port()
        c = Container(
            image, rootfs,
            ["--pool", pool, "--name", f"image-{pool}-{n}", *args],
            env={"PREFECT_API_URL": prefect_server.api_url,
                 "PFAGENT_HEALTH_PORT": str(port), **(env or {})},
            binds={image.volumes[0]: state, "/repos": repos},
            log=tmp_path / f"container-{n}.log", entrypoint=entrypoint)
        c.state, c.health_port = state, port
        started.append(c)
        return c

    yield start
    problems = []
    for c in started:
        if c.stop(120) is None:
            problems.append(f"container {c.log_path} ignored SIGTERM for "
                            f"120 s:\n{c.log_text()[-3000:]}")
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def wait_online(client, pool, c):
    return wait_for(lambda: client.read_workers(pool), timeout=60,
                    what=f"a worker ONLINE in {pool}", watch=[c],
                    until=lambda ws: any(w["status"] == "ONLINE"
                                         for w in ws))


def deploy(client, pool, entrypoint, env=None, name=None):
    flow = client.request("POST", "/flows/", json={
        "name": entrypoint.rsplit(":", 1)[1]})
    return client.request("POST", "/deployments/", json={
        "name": name or pool, "flow_id": flow["id"],
        "work_pool_name": pool, "entrypoint": entrypoint,
        "enforce_parameter_schema": False,
        "job_variables": {"env": env or {}},
        "pull_steps": [{"prefect.deployments.steps.git_clone": {
            "repository": "file:///repos/flows.git"}}]})


def run(client, dep, c, params=None):
    fr = client.create_flow_run(dep["id"], params or {})
    got = client.wait_for_run(fr["id"], timeout=180, watch=[c])
    assert got["state_type"] == "COMPLETED", (got["state"], c.log_text())
    return got


def healthcheck_command():
    """The shell command of the Containerfile's HEALTHCHECK (an OCI
    image config has no field for it: the archive does not carry it)."""
    text = CONTAINERFILE.read_text().replace("\\\n", " ")
    m = re.search(r"^HEALTHCHECK .*? CMD (.*)$", text, re.M)
    return " ".join(m.group(1).split())


# --------------------------------------------------------------------------
# the image

@needs_image
def test_image_is_what_ecs_and_docker_expect(image, rootfs):
    """Non-root user, working dir, the state dir a declared volume,
    SIGTERM, dumb-init then `pfagent start` as the entrypoint, the OCI
    labels (the version is pfagent's own), every library pfagent and
    pfagent-flow link present (git only in pfagent-flow), tcc as the
    image's C compiler, no gcc."""
    passwd = {p.split(":")[0]: p.split(":")
              for p in (rootfs / "etc" / "passwd").read_text().splitlines()}
    assert image.user == "pfagent" and passwd["pfagent"][2] != "0"
    assert image.workdir == "/home/pfagent" == passwd["pfagent"][5]
    assert image.volumes == ["/var/lib/pfagent"]
    assert image.env["PFAGENT_STATE_DIR"] == "/var/lib/pfagent"
    state = rootfs / "var" / "lib" / "pfagent"
    assert state.stat().st_uid == int(passwd["pfagent"][2])
    assert image.stop_signal == "SIGTERM"
    assert image.entrypoint[0] == "dumb-init"
    assert image.entrypoint[-2:] == ["pfagent", "start"]
    labels = image.labels
    assert labels["org.opencontainers.image.version"] == VERSION
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT,
                          capture_output=True, text=True).stdout.strip()
    assert labels["org.opencontainers.image.revision"].split("-")[0] == \
        head, "the image is not of this commit: run `make image`"
    assert "org.opencontainers.image.source" in labels
    assert not (rootfs / "usr" / "bin" / "gcc").exists()
    assert os.path.realpath(rootfs / "etc" / "alternatives" / "cc") == \
        "/usr/bin/tcc"

    def inside(*argv):
        c = Container(image, rootfs, [], entrypoint=list(argv),
                      log=rootfs.parent / "one-off.log")
        assert c.wait(60) == 0, c.log_text()
        return c.log_text()
    assert inside("pfagent", "version").strip() == f"pfagent {VERSION}"
    # The worker maps only what it uses; the flow side, beside it, the rest.
    ldd = inside("ldd", "/usr/local/bin/pfagent")
    assert "not found" not in ldd and "libgit2" not in ldd, ldd
    ldd = inside("ldd", "/usr/local/bin/pfagent-flow")
    assert "not found" not in ldd and "libgit2" in ldd, ldd
    assert "libpq" in ldd and "libyaml" in ldd, ldd
    assert "not found" not in inside("ldd", "/usr/local/lib/libduckdb.so")


@needs_image
def test_online_healthy_and_unprivileged(image, container, client,
                                         pool_name):
    """The worker is ONLINE, the Containerfile's health check (the task
    definition's too) passes inside the container, dumb-init is PID 1 with
    pfagent its child, and nothing runs as root."""
    client.create_pool(pool_name)
    c = container(pool_name, *FAST)
    wait_online(client, pool_name, c)
    # As a runtime checks: it may fail within the start period (the first
    # poll not yet done), then must pass.
    wait_for(lambda: c.exec(["/bin/sh", "-c", healthcheck_command()]),
             timeout=120, what="the health check to pass", watch=[c],
             until=lambda p: p.returncode == 0,
             show=lambda p: p.stdout + p.stderr)
    procs = c.processes()
    assert procs[1]["Name"] == "dumb-init", procs
    kids = [s for s in procs.values() if s["PPid"] == procs[1]["Pid"]]
    assert [s["Name"] for s in kids] == ["pfagent"], procs
    for st in procs.values():
        assert st["Uid"].split()[0] != "0", st


@needs_image
def test_git_clone_builds_with_the_image_compiler(container, client,
                                                  pool_name, rootfs):
    """A deployment whose git_clone pull step clones the bound repository:
    its flow is built in the checkout by `make` with tcc and the run ends
    Completed with its log line; the module is tcc's (no GCC .comment)."""
    client.create_pool(pool_name)
    c = container(pool_name, *FAST)
    dep = deploy(client, pool_name, "flows/hello.c:hello")
    fr = run(client, dep, c, {"name": "image"})
    assert "Hello, image!" in [m["message"] for m in
                               client.read_logs(fr["id"])]
    mods = list(c.state.rglob("build/flows/hello.so"))
    assert mods, sorted(str(p) for p in c.state.rglob("*"))[:50]
    assert b"GCC: (" not in mods[0].read_bytes()


@needs_image
def test_currencies_dev_profile_loads_duckdb(container, client, pool_name):
    """currencies from the cloned repository in the dev profile (the
    default: no WORKSPACE__PROFILE) against the Open Exchange Rates fixture
    on loopback: Completed, and the fixture's currencies are in the dev
    warehouse, a DuckDB file under the state volume."""
    oxr = OxrServer(app_ids={APP_ID}).start()
    try:
        client.create_pool(pool_name)
        c = container(pool_name, *FAST)
        dep = deploy(client, pool_name, "flows/currencies.c:currencies", {
            "SOURCES__OPEN_EXCHANGE_RATES__BASE_URL": oxr.base_url,
            "SOURCES__OPEN_EXCHANGE_RATES__API_KEY": APP_ID})
        run(client, dep, c)
    finally:
        oxr.stop()
    dbs = list(c.state.rglob("warehouse.duckdb"))
    assert [p.parent.name for p in dbs] == ["dev"], dbs
    con = duckdb.connect(str(dbs[0]), read_only=True)
    try:
        got = con.sql("select code, name from open_exchange_rates."
                      "currencies order by code").fetchall()
    finally:
        con.close()
    assert got == sorted(CURRENCIES.items())


@needs_image
def test_sigterm_drains_within_the_stop_timeout(container, client,
                                                pool_name):
    """`docker stop -t 120` (ECS's stopTimeout) with a run in flight: the
    signal reaches pfagent through dumb-init, the run finishes during the
    drain and ends Completed, and the container exits 0 by itself."""
    client.create_pool(pool_name)
    c = container(pool_name, *FAST)
    dep = deploy(client, pool_name, "flows/hello.c:hello")
    fr = client.create_flow_run(dep["id"], {"name": "drain",
                                            "sleep_seconds": 5})
    client.wait_for_runs([fr["id"]], types=("RUNNING",), watch=[c])
    assert c.stop(120) == 0, c.log_text()
    assert "no more claims; draining 1 flow run(s)" in c.log_text()
    got = client.read_flow_runs([fr["id"]])[0]
    assert got["state_type"] == "COMPLETED", got["state"]


def orphan_of(client, fr):
    lines = [m["message"] for m in client.read_logs(fr["id"])]
    m = next(re.match(r"left orphan (\d+)$", s) for s in lines
             if s.startswith("left orphan"))
    return int(m.group(1))


@needs_image
def test_orphans_are_reaped(container, client, pool_name):
    """A flow leaves a grandchild that is re-parented to PID 1 and exits:
    dumb-init reaps it (it leaves the PID namespace), and no process in
    the container is a zombie."""
    client.create_pool(pool_name)
    c = container(pool_name, *FAST)
    dep = deploy(client, pool_name, "tests/flows/orphan.c:orphan")
    gc = orphan_of(client, run(client, dep, c))
    wait_for(c.processes, timeout=30, what=f"orphan {gc} reaped",
             until=lambda ps: gc not in ps,
             show=lambda ps: {p: s["State"] for p, s in ps.items()})
    zombies = {p: s["Name"] for p, s in c.processes().items()
               if s["State"].startswith("Z")}
    assert zombies == {}


@needs_image
def test_without_an_init_the_orphan_stays_a_zombie(container, client,
                                                   pool_name):
    """Why the image runs dumb-init: with `pfagent start` itself as PID 1
    the same orphan, once it exits, stays a zombie (pfagent waits for its
    own flow runs only)."""
    client.create_pool(pool_name)
    c = container(pool_name, *FAST, entrypoint=["pfagent", "start"])
    dep = deploy(client, pool_name, "tests/flows/orphan.c:orphan")
    gc = orphan_of(client, run(client, dep, c))
    procs = wait_for(c.processes, timeout=30, what=f"orphan {gc} a zombie",
                     until=lambda ps: ps.get(gc, {}).get(
                         "State", "").startswith("Z"))
    assert procs[gc]["PPid"] == procs[1]["Pid"]	# host pids
    assert procs[1]["Name"] == "pfagent"


def secret_values():
    """Values that must never be in the image: this machine's environment
    variables named like secrets, and the values in this repository's
    .dlt secrets files (which .dockerignore keeps out of the context)."""
    out = {v for k, v in os.environ.items()
           if re.search(r"KEY|SECRET|TOKEN|PASSWORD|CREDENTIAL", k)
           and len(v) >= 8}
    for f in (REPO_ROOT / ".dlt").glob("*secrets.toml"):
        out |= {m for m in re.findall(r'=\s*"([^"]{8,})"', f.read_text())}
    return out


@needs_image
def test_no_secret_in_history_or_layers(image):
    """The build context is a whitelist (.dockerignore) that lets in no
    dlt secrets, local data, venv or build output. No file that holds
    secrets (dlt secrets files, git or AWS credentials, SSH keys) in any
    layer; no private key, AWS key id or Prefect API key in a file that
    is not a program (libraries carry their self-test keys) nor in the
    config and history; none of this machine's secret values anywhere."""
    ignore = [line.strip() for line in (REPO_ROOT / ".dockerignore")
              .read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    assert ignore[0] == "*"
    let_in = [p[1:] for p in ignore[1:]]
    assert all(p.startswith("!") for p in ignore[1:])
    assert not [p for p in let_in if p.split("/")[0] in (
        ".dlt", "_local", ".venv", "build", ".git", "tests")]
    values = [v.encode() for v in secret_values()]
    patterns = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----|"
                          rb"AKIA[0-9A-Z]{16}|PREFECT_API_KEY=\S")
    banned = re.compile(r"(^|/)([\w.-]*secrets\.toml|\.git-credentials|"
                        r"\.netrc|\.aws/credentials|id_rsa|id_ed25519|"
                        r"\.env)$")
    meta = json.dumps(image.config).encode()
    assert not patterns.search(meta)
    assert [v for v in values if v in meta] == []
    found = []
    for data in image.layers():
        with tarfile.open(fileobj=io.BytesIO(data)) as t:
            for m in t:
                if banned.search(m.name):
                    found.append(m.name)
                if not m.isfile():
                    continue
                body = t.extractfile(m).read()
                if not body.startswith(b"\x7fELF") and patterns.search(body):
                    found.append(f"{m.name}: {patterns.search(body)[0]}")
                found += [f"{m.name}: a secret value" for v in values
                          if v in body]
    assert found == []


# --------------------------------------------------------------------------
# ECS: container/ecs/ against moto's ECS, IAM, STS and Secrets Manager,
# signature checking on (tests/peers/moto.py). moto runs no containers
# and does not check a role's trust policy; it does evaluate the
# policies of an assumed role's credentials.

REGION = "eu-west-2"		# the region of the files' ARNs


def ecs_json(name):
    return json.loads((ECS / name).read_text())


@pytest.fixture(scope="module")
def aws(tmp_path_factory):
    """moto with the task and execution roles of container/ecs/, a
    deployer allowed ECS and PassRole, a dlt secret, Prefect's API key and
    an unrelated secret; then auth on. Yields (moto, client factory)."""
    from peers.moto import MotoServer
    import boto3
    m = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log").start()

    def client(service, creds=("setup", "setup", None)):
        return boto3.client(service, endpoint_url=m.url, region_name=REGION,
                            aws_access_key_id=creds[0],
                            aws_secret_access_key=creds[1],
                            aws_session_token=creds[2])
    try:
        iam = client("iam")
        key, secret = m.create_user("deployer", [
            "ecs:*", "iam:PassRole", "iam:GetRolePolicy", "sts:AssumeRole",
            "ec2:Describe*", "secretsmanager:ListSecrets"])
        # The deployer stands in for ECS assuming the roles: moto 5.2.5
        # fails on a trust policy's Service principal (ecs-tasks, as in
        # task-role-trust.json), so here the roles trust the deployer.
        deployer = iam.get_user(UserName="deployer")["User"]["Arn"]
        trust = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": deployer},
            "Action": "sts:AssumeRole"}]})
        for role, policy in (("pfagent-worker-task", "task-role-policy.json"),
                             ("pfagent-worker-execution",
                              "execution-role-policy.json")):
            iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)
            iam.put_role_policy(RoleName=role, PolicyName="pfagent",
                                PolicyDocument=(ECS / policy).read_text())
        sm = client("secretsmanager")
        for name in ("dlt/snowflake-credentials", "prefect-api-key",
                     "billing/db-password"):
            sm.create_secret(Name=name, SecretString=f"value of {name}")
        ec2 = client("ec2")	# the network service.json names
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        m.network = {
            "subnet-0123456789abcdef0": ec2.create_subnet(
                VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"],
            "sg-0123456789abcdef0": ec2.create_security_group(
                VpcId=vpc, GroupName="pfagent", Description="pfagent")[
                "GroupId"]}
        m.enable_auth()
        yield m, client, (key, secret, None)
    finally:
        m.stop()


def test_task_definition_and_service_register_in_ecs(aws):
    """RegisterTaskDefinition and CreateService take the files as they are;
    ECS then holds what the switch depends on: our image at this version,
    stopTimeout 120 (above the drain, 90 s, + 10), the awslogs driver,
    PREFECT_API_KEY from Secrets Manager and never in the plain
    environment, PREFECT_API_URL, the Containerfile's health check, the
    state volume on EFS at the image's volume, the two roles."""
    _, client, deployer = aws
    ecs = client("ecs", deployer)
    ecs.create_cluster(clusterName="prefect")
    td = ecs.register_task_definition(**ecs_json("task-definition.json"))[
        "taskDefinition"]
    service = ecs_json("service.json")
    net = service["networkConfiguration"]["awsvpcConfiguration"]
    for k in ("subnets", "securityGroups"):	# the user's own, in moto
        net[k] = [aws[0].network[x] for x in net[k]]
    svc = ecs.create_service(**service)["service"]

    got = ecs.describe_task_definition(taskDefinition="pfagent-worker")[
        "taskDefinition"]
    assert got["taskDefinitionArn"] == td["taskDefinitionArn"]
    c, = got["containerDefinitions"]
    assert c["image"].endswith(f"/pfagent:{VERSION}")
    assert c["essential"] is True
    assert c["stopTimeout"] == 120
    assert c["logConfiguration"]["logDriver"] == "awslogs"
    assert {"awslogs-group", "awslogs-region", "awslogs-stream-prefix"} <= \
        set(c["logConfiguration"]["options"])
    assert c["logConfiguration"]["options"]["awslogs-region"] == REGION
    assert [s["name"] for s in c["secrets"]] == ["PREFECT_API_KEY"]
    assert c["secrets"][0]["valueFrom"].startswith(
        f"arn:aws:secretsmanager:{REGION}:")
    env = {e["name"]: e["value"] for e in c["environment"]}
    assert "PREFECT_API_KEY" not in env
    assert env["PREFECT_API_URL"].startswith("https://")
    assert c["healthCheck"]["command"] == ["CMD-SHELL", healthcheck_command()]
    assert c["command"][:1] == ["--pool"]
    volume = re.search(r'^VOLUME \["([^"]+)"\]', CONTAINERFILE.read_text(),
                       re.M).group(1)
    mount, = c["mountPoints"]
    assert mount["containerPath"] == volume and not mount["readOnly"]
    vol, = got["volumes"]
    assert vol["name"] == mount["sourceVolume"]
    assert vol["efsVolumeConfiguration"]["transitEncryption"] == "ENABLED"
    assert got["taskRoleArn"].endswith(":role/pfagent-worker-task")
    assert got["executionRoleArn"].endswith(":role/pfagent-worker-execution")

    assert svc["taskDefinition"] == td["taskDefinitionArn"]
    assert svc["desiredCount"] == 1 and svc["launchType"] == "FARGATE"
    listed = ecs.describe_services(cluster="prefect",
                                   services=["pfagent-worker"])["services"]
    assert [s["status"] for s in listed] == ["ACTIVE"]


def allowed(policy, action, arn):
    """Whether an identity policy's Allow statements grant action on arn,
    by IAM's matching (* and ? wildcards, case-sensitive resources)."""
    import fnmatch

    def listed(v):
        return v if isinstance(v, list) else [v]
    return any(st["Effect"] == "Allow" and
               any(fnmatch.fnmatchcase(action, a) for a in
                   listed(st["Action"])) and
               any(fnmatch.fnmatchcase(arn, r) for r in
                   listed(st["Resource"]))
               for st in policy["Statement"])


def test_roles_read_only_their_secrets(aws):
    """The two roles' policies, accepted by IAM (moto validates them on
    PutRolePolicy), scoped by the secrets' real ARNs (moto's, with Secrets
    Manager's random suffix): the task role (pfagent and its flows) may
    read the dlt/* secrets and nothing else, not even Prefect's API key;
    the execution role (ECS injecting the task's secrets) Prefect's API key
    and nothing else. moto authorizes a Secrets Manager call against
    Resource "*", so the ARNs are matched here, by IAM's rules."""
    m, client, deployer = aws
    iam = client("iam", deployer)
    arns = {s["Name"]: s["ARN"] for s in
            client("secretsmanager", deployer).list_secrets()["SecretList"]}
    task = iam.get_role_policy(RoleName="pfagent-worker-task",
                               PolicyName="pfagent")["PolicyDocument"]
    execution = iam.get_role_policy(RoleName="pfagent-worker-execution",
                                    PolicyName="pfagent")["PolicyDocument"]
    get = "secretsmanager:GetSecretValue"
    assert {n for n, a in arns.items() if allowed(task, get, a)} == \
        {"dlt/snowflake-credentials"}
    assert {n for n, a in arns.items() if allowed(execution, get, a)} == \
        {"prefect-api-key"}
    td = ecs_json("task-definition.json")
    key_arn = td["containerDefinitions"][0]["secrets"][0]["valueFrom"]
    assert allowed(execution, get, key_arn + "-AbCdEf")
    # An assumed role's credentials work against moto's signature checks.
    creds = client("sts", deployer).assume_role(
        RoleArn=td["taskRoleArn"], RoleSessionName="pfagent")["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    trust, = ecs_json("task-role-trust.json")["Statement"]
    assert trust["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    assert trust["Action"] == "sts:AssumeRole"
