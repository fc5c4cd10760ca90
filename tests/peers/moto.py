"""moto's server (moto[server], pinned in tests/requirements.txt) as a real
AWS peer for Secrets Manager, with SigV4 signature checking switched on.

moto checks signatures only after INITIAL_NO_AUTH_ACTION_COUNT
authenticated actions (default: infinity, i.e. never). The
switch for server mode is `POST /moto-api/reset-auth` with the new count
as the body (moto/core/authorization.py, moto/moto_api/_internal/
responses.py `reset_auth_response`, also what moto's own
`set_initial_no_auth_action_count` decorator does in server mode): the
harness sets things up with checking off, then posts `0`, after which
every request must be signed with a key that exists in moto's IAM and
whose user's policy allows the action (test-peers.md section 1).

    m = MotoServer(log_path).start()
    ak, sk = m.create_user("ci", ["secretsmanager:GetSecretValue"])
    m.create_secret("dlt/x", '{"api_key": "..."}')
    m.enable_auth()
    ... m.url ...
    m.stop()
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

VENV_PYTHON = Path(sys.executable)
REGION = "us-east-1"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MotoClients:
    """boto3 clients and IAM users of a moto server at self.url (shared by
    MotoServer and moto_ecs.EcsPeer)."""

    def client(self, service, access_key="setup", secret_key="setup"):
        import boto3
        return boto3.client(service, endpoint_url=self.url,
                            region_name=REGION,
                            aws_access_key_id=access_key,
                            aws_secret_access_key=secret_key)

    def create_user(self, name, actions):
        """An IAM user allowed `actions` on every resource: (key id, secret)."""
        iam = self.client("iam")
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="allow",
                            PolicyDocument=json.dumps({
                                "Version": "2012-10-17",
                                "Statement": [{"Effect": "Allow",
                                               "Action": actions,
                                               "Resource": "*"}]}))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]


class MotoServer(MotoClients):
    def __init__(self, log_path):
        self.log_path = Path(log_path)
        self.proc = None
        self.port = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def _post(self, path, data=b""):
        # Not form-encoded: moto reads the raw body (werkzeug's .data).
        req = urllib.request.Request(self.url + path, data=data,
                                     method="POST",
                                     headers={"Content-Type": "text/plain"})
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read()

    def start(self, attempts=3):
        """Starts `python -m moto.server` on a free loopback port."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AWS_") and k != "MOTO_PORT"}
        for _ in range(attempts):
            self.port = _free_port()
            log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(
                [str(VENV_PYTHON), "-m", "moto.server", "-H", "127.0.0.1",
                 "-p", str(self.port)],
                env=env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)
            log.close()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    if self._post("/moto-api/reset")[0] == 200:
                        return self
                except OSError:
                    time.sleep(0.1)
            self.stop()     # port taken under us, or a slow start: retry
        raise RuntimeError(f"moto server did not start; see {self.log_path}")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def create_secret(self, name, value):
        self.client("secretsmanager").create_secret(Name=name,
                                                    SecretString=value)

    def enable_auth(self):
        """From now on every request must carry a valid signature."""
        status, body = self._post("/moto-api/reset-auth", b"0")
        assert status == 200, body
