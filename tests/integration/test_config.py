"""Configuration the dlt way: `pfagent config`, `profile`, `workspace` and
`start --profile`, against real peers.

Secrets Manager is moto's server with signature checking on (an IAM user's
key made in moto, a policy allowing GetSecretValue); the AWS credentials
reach pfagent only through a loopback ECS container credentials endpoint
(tests/peers/ecs_credentials.py, the documented protocol). Each test gets a
workspace of its own in a temporary directory: .dlt/.workspace, config
files per profile, no AWS variables and an empty HOME.
"""

import os
import re
import subprocess

import pytest

from peers.ecs_credentials import EcsCredentialsServer
from peers.moto import MotoServer
from peers.prefect import PFAGENT, wait_for

OXR_SECRET = "dlt/open-exchange-rates"
OXR_KEY = "oxr-key-from-aws-7f3a"
LOCAL_SECRET = "local-secret-value-123"

CONFIG_TOML = f"""
[sources.open_exchange_rates]
base_url = "https://openexchangerates.org/api"

[normalize]
max_table_nesting = 1

[providers.aws_secrets.secret_map]
"sources.open_exchange_rates" = "{OXR_SECRET}"

[providers.aws_secrets.credentials]
region_name = "us-east-1"
"""

DEV_CONFIG = """
[destination.warehouse]
destination_type = "duckdb"
"""

PROD_CONFIG = """
[destination.warehouse]
destination_type = "snowflake"

[providers]
enable_aws_secrets = true
"""


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    """moto with a user allowed GetSecretValue, two secrets, auth on."""
    m = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log").start()
    try:
        m.access_key, m.secret_key = m.create_user(
            "pfagent-task", ["secretsmanager:GetSecretValue"])
        m.create_secret(OXR_SECRET, '{"api_key": "%s", "timeout": 30}'
                        % OXR_KEY)
        m.create_secret("dlt/plain-token", "plain-token-value")
        m.enable_auth()
        yield m
    finally:
        m.stop()


@pytest.fixture
def ecs(moto):
    """The container endpoint handing out moto's key (as an ECS task role)."""
    srv = EcsCredentialsServer(moto.access_key, moto.secret_key).start()
    yield srv
    srv.stop()


@pytest.fixture
def ws(tmp_path, moto):
    """A workspace whose prod profile reads secrets from moto."""
    root = tmp_path / "ws"
    (root / ".dlt").mkdir(parents=True)
    (root / "home").mkdir()
    (root / ".dlt" / ".workspace").write_text("")
    (root / ".dlt" / "config.toml").write_text(
        CONFIG_TOML + f'endpoint_url = "{moto.url}"\n')
    (root / ".dlt" / "dev.config.toml").write_text(DEV_CONFIG)
    (root / ".dlt" / "prod.config.toml").write_text(PROD_CONFIG)
    return root


def run(ws, *args, env=None, input=None):
    """pfagent in the workspace with a clean environment."""
    full = {k: v for k, v in os.environ.items()
            if not k.startswith(("AWS_", "WORKSPACE__", "DLT_", "SOURCES__",
                                 "DESTINATION__", "PREFECT_"))}
    full.update({"HOME": str(ws / "home"),
                 "ASAN_OPTIONS": "handle_segv=0:detect_leaks=1",
                 "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"})
    full.update(env or {})
    p = subprocess.run([str(PFAGENT), *args], cwd=ws, env=full,
                       capture_output=True, text=True, timeout=120,
                       input=input if input is not None else "")
    assert "Sanitizer" not in p.stderr, p.stderr
    return p


def prod(ecs, **more):
    return {"WORKSPACE__PROFILE": "prod", **ecs.env(), **more}


def test_secret_from_secrets_manager_with_container_credentials(ws, ecs):
    """prod reads sources.open_exchange_rates.* from the mapped secret,
    signed with credentials from the container endpoint; the secret is
    masked unless asked for, and one process fetches it once."""
    p = run(ws, "config", "get", "sources.open_exchange_rates.api_key",
            env=prod(ecs))
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == [
        "sources.open_exchange_rates.api_key = ****",
        f"provider: AWS Secrets Manager, key: {OXR_SECRET}:api_key, "
        f"location: {OXR_SECRET}"]
    assert OXR_KEY not in p.stdout + p.stderr
    assert len(ecs.requests) == 1 and ecs.requests[0]["authorized"]

    p = run(ws, "config", "get", "sources.open_exchange_rates.api_key",
            "sources.open_exchange_rates.timeout", "--type", "int",
            "--show-secrets", "--value",
            env=prod(ecs, PFAGENT_LOG_LEVEL="debug"))
    assert p.returncode == 1, p.stdout + p.stderr   # api_key is not an int
    p = run(ws, "config", "get", "sources.open_exchange_rates.api_key",
            "sources.open_exchange_rates.timeout", "--show-secrets",
            "--value", env=prod(ecs, PFAGENT_LOG_LEVEL="debug"))
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == [OXR_KEY, "30"]
    fetches = re.findall(r"will make a request for (\S+)", p.stderr)
    assert fetches == [OXR_SECRET], p.stderr
    assert len(ecs.requests) == 3   # one per process


def test_earlier_providers_win_without_asking_aws(ws, ecs):
    """An environment variable beats Secrets Manager; AWS is not even
    asked (no credential request), and dev never enables the vault."""
    p = run(ws, "config", "get", "sources.open_exchange_rates.api_key",
            "--show-secrets", env=prod(
                ecs, SOURCES__OPEN_EXCHANGE_RATES__API_KEY="from-env"))
    assert p.returncode == 0, p.stderr
    assert "= from-env" in p.stdout
    assert "provider: Environment Variables, key: " \
           "SOURCES__OPEN_EXCHANGE_RATES__API_KEY" in p.stdout
    p = run(ws, "config", "get", "sources.open_exchange_rates.base_url",
            env=prod(ecs))
    assert "provider: config.toml" in p.stdout
    p = run(ws, "config", "get", "sources.open_exchange_rates.api_key",
            env=ecs.env())
    assert p.returncode == 1
    assert "AWS Secrets Manager" not in p.stderr
    assert ecs.requests == []


def test_wrong_secret_key_is_refused_and_not_shown(ws, moto):
    """Credentials with a wrong secret key: moto refuses the signature and
    the error says so, naming where the credentials came from, without
    printing any key. A session token the service does not know is one of
    dlt's "warn and treat as missing" cases: a warning, then the missing
    value, and the token is not shown either."""
    wrong = "WRONG" + moto.secret_key[5:]
    bad = EcsCredentialsServer(moto.access_key, wrong).start()
    try:
        p = run(ws, "config", "get", "sources.open_exchange_rates.api_key",
                env=prod(bad))
    finally:
        bad.stop()
    assert p.returncode == 1
    err = p.stderr
    assert "AWS Secrets Manager" in err and "SignatureDoesNotMatch" in err
    assert f"GetSecretValue {OXR_SECRET}" in err
    assert "container credentials endpoint http://127.0.0.1:" in err
    for leaked in (wrong, moto.secret_key, OXR_KEY):
        assert leaked not in err + p.stdout

    odd = EcsCredentialsServer(moto.access_key, moto.secret_key,
                               token="session-token-xyz").start()
    try:
        p = run(ws, "config", "get", "sources.open_exchange_rates.api_key",
                env=prod(odd))
    finally:
        odd.stop()
    assert p.returncode == 1
    assert "InvalidClientTokenId" in p.stderr
    assert "Missing 1 field(s)" in p.stderr
    for leaked in ("session-token-xyz", moto.secret_key, OXR_KEY):
        assert leaked not in p.stderr + p.stdout


def test_missing_value_lists_every_place_and_the_profile(ws, ecs):
    """A secret nobody has: every (provider, key) in dlt's order, the
    vault's names included, then the active profile and the files."""
    p = run(ws, "config", "get", "sources.open_exchange_rates.account_key",
            "--secret", env=prod(ecs))
    assert p.returncode == 1
    tried = re.findall(r"^  \((.*)\)$", p.stderr, re.M)
    assert tried == [
        "Environment Variables, SOURCES__OPEN_EXCHANGE_RATES__ACCOUNT_KEY",
        "Environment Variables, SOURCES__ACCOUNT_KEY",
        "Environment Variables, ACCOUNT_KEY",
        f"AWS Secrets Manager, {OXR_SECRET}:account_key",
        "AWS Secrets Manager, sources/account_key",
        "AWS Secrets Manager, account_key",
    ], p.stderr
    assert "Active profile: `prod`" in p.stderr
    assert f"\t- {ws}/.dlt/prod.config.toml\n" in p.stderr
    assert f"\t- {ws}/.dlt/prod.secrets.toml\n" in p.stderr


def test_secret_in_config_toml_is_refused(ws):
    (ws / ".dlt" / "dev.config.toml").write_text(
        DEV_CONFIG + 'password = "not-here-please"\n')
    p = run(ws, "config", "get", "destination.warehouse.password")
    assert p.returncode == 1
    assert "Provider `config.toml` cannot hold secret values but key " \
           "`destination.warehouse.password` with secret value is present" \
           in p.stderr
    assert "not-here-please" not in p.stderr


def test_pin_switches_profile_and_unpin_returns_to_dev(ws):
    """`profile prod pin` makes resolution use prod's files; removing
    .dlt/profile-name returns to dev; WORKSPACE__PROFILE beats the pin."""
    key = ("config", "get", "destination.warehouse.destination_type",
           "--value")
    assert run(ws, *key).stdout == "duckdb\n"
    p = run(ws, "profile", "prod", "pin")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "Will pin the profile prod to current Workspace.\n"
    assert (ws / ".dlt" / "profile-name").read_text() == "prod"
    assert run(ws, *key).stdout == "snowflake\n"
    info = run(ws, "profile").stdout
    assert info.startswith("Settings for profile prod:\n")
    assert f"  Pipelines and other working data: {ws}/.dlt/state/prod\n" \
           in info
    assert f"  Locally loaded data: {ws}/.dlt/data/prod\n" in info
    assert "  Profile is pinned\n" in info
    listing = run(ws, "profile", "list").stdout.splitlines()
    assert listing[0] == "Available profiles:"
    assert listing[1] == "* dev (local) (configured) - dev profile, " \
                         "workspace default"
    assert listing[2] == "* prod (current) (configured) - production " \
                         "profile, assumed by pipelines deployed in Runtime"
    assert [l.split()[1] for l in listing[1:]] == \
        ["dev", "prod", "tests", "access"]
    assert run(ws, *key, env={"WORKSPACE__PROFILE": "tests"}).returncode == 1
    assert run(ws, "profile", "pin").stdout == \
        "Currently pinned profile is: prod. To unpin remove " \
        ".dlt/profile-name file.\n"
    (ws / ".dlt" / "profile-name").unlink()
    assert run(ws, *key).stdout == "duckdb\n"
    assert run(ws, "profile").stdout.startswith("Settings for profile dev:")


def test_workspace_show_masks_secrets(ws, ecs):
    (ws / ".dlt" / "secrets.toml").write_text(
        f'[sources.open_exchange_rates]\napi_key = "{LOCAL_SECRET}"\n')
    env = {"DESTINATION__WAREHOUSE__CREDENTIALS__PASSWORD": "env-pass-456",
           **ecs.env()}
    p = run(ws, "workspace", "show", env=env)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert out.startswith(f"Workspace ws:\nWorkspace dir: {ws}\n")
    assert "Settings for profile dev:" in out
    assert f"    {ws}/.dlt/secrets.toml\n" in out
    assert f"    {ws}/.dlt/dev.secrets.toml (profile: dev, not found)\n" \
           in out
    assert "  sources.open_exchange_rates.api_key = ****  (secrets.toml" \
           in out
    assert "  destination.warehouse.credentials.password = ****  " \
           "(Environment Variables)" in out
    assert "  destination.warehouse.destination_type = duckdb  " \
           "(config.toml" in out
    assert "  normalize.max_table_nesting = 1  (config.toml" in out
    assert f"  sources.open_exchange_rates -> {OXR_SECRET}" in out
    assert LOCAL_SECRET not in out and "env-pass-456" not in out
    assert ecs.requests == []
    shown = run(ws, "workspace", "show", "--show-secrets", env=env).stdout
    assert LOCAL_SECRET in shown and "env-pass-456" in shown


def test_workspace_clean_removes_only_the_active_profile(ws):
    files = [".dlt/data/dev/warehouse.duckdb",
             ".dlt/state/dev/pipelines/exchange_rates/state.json",
             ".dlt/data/prod/warehouse.duckdb",
             ".dlt/state/prod/pipelines/exchange_rates/state.json"]
    for f in files:
        (ws / f).parent.mkdir(parents=True, exist_ok=True)
        (ws / f).write_text("x")
    p = run(ws, "workspace", "clean")           # no terminal, no --yes
    assert p.returncode == 0
    assert "nothing deleted" in p.stdout
    assert all((ws / f).exists() for f in files)
    p = run(ws, "workspace", "clean", "--yes")
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == [
        "Local pipelines data will be removed. Remote destinations are not "
        "affected.",
        "The following dirs will be deleted:",
        "- .dlt/data/dev (locally loaded data)",
        "- .dlt/state/dev (pipeline working folders)",
        "Do you want to proceed? [y/N]: y",
        "Deleting .dlt/data/dev",
        "Deleting .dlt/state/dev"]
    assert not (ws / files[0]).exists() and not (ws / files[1]).exists()
    assert (ws / ".dlt/data/dev").is_dir() and (ws / ".dlt/state/dev").is_dir()
    assert (ws / files[2]).exists() and (ws / files[3]).exists()


def test_commands_need_a_workspace(tmp_path):
    (tmp_path / ".dlt").mkdir()
    p = run(tmp_path, "profile")
    assert p.returncode == 1
    assert "Workspace could not be found in" in p.stderr
    assert "create an empty file with the name `.workspace` in `.dlt`" \
           in p.stderr


def test_start_profile_reaches_flow_runs(client, agent, pool_name, tmp_path):
    """`pfagent start --profile prod`: flow runs get WORKSPACE__PROFILE=prod,
    over the deployment's own env (so an ECS task runs prod)."""
    out = tmp_path / "profile.txt"
    a = agent(pool_name, "--query-seconds", "1", "--profile", "prod")
    wait_for(lambda: client.read_pool(pool_name), what="the agent's pool",
             watch=[a], until=lambda p: p is not None)
    dep = client.create_deployment(
        pool_name, "flows/hello.c:hello", job_variables={
            "command": f"/bin/sh -c 'printf %s \"$WORKSPACE__PROFILE\" "
                       f"> {out}'",
            "env": {"WORKSPACE__PROFILE": "dev"}})
    client.create_flow_run(dep["id"])
    wait_for(lambda: out.read_text() if out.exists() else None,
             what="the flow run's WORKSPACE__PROFILE", watch=[a],
             until=lambda v: v == "prod")
    bad = subprocess.run([str(PFAGENT), "start", "--pool", "x", "--profile",
                          "../prod"], capture_output=True, text=True,
                         timeout=30)
    assert bad.returncode == 2 and "--profile" in bad.stderr
