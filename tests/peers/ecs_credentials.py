"""A loopback ECS container credentials endpoint that follows AWS's documented protocol, because no real ECS endpoint runs here.

The protocol (AWS SDKs and Tools reference, "Container credential
provider"; Amazon ECS developer guide, "Task IAM role"): the SDK sends
`GET` to http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, or
to $AWS_CONTAINER_CREDENTIALS_FULL_URI (loopback http allowed) with the
header `Authorization: <token>` taken from
$AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or $AWS_CONTAINER_AUTHORIZATION_TOKEN.
The answer is `200` with the JSON object

    {"AccessKeyId": "...", "SecretAccessKey": "...", "Token": "...",
     "Expiration": "2026-11-21T12:00:00Z", "RoleArn": "..."}

This server answers exactly that on one path, refuses a missing or wrong
authorization token with 401 (as the EKS Pod Identity agent does) and any
other path with 404, and records every request so a test can count them.
The credentials it hands out are real ones for the peer the client then
talks to (an IAM user's key made in moto), not fakes.

    srv = EcsCredentialsServer(access_key, secret_key, token=None,
                               auth_token="t")
    srv.start(); srv.full_uri; srv.requests; srv.stop()
"""

import datetime
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _send(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        srv = self.server.owner
        auth = self.headers.get("Authorization")
        with srv.lock:
            srv.requests.append({"path": self.path,
                                 "authorized": auth == srv.auth_token})
        if self.path != srv.path:
            self._send(404, {"code": "NotFound", "message": "no such path"})
            return
        if srv.auth_token is not None and auth != srv.auth_token:
            self._send(401, {"code": "AccessDenied",
                             "message": "invalid authorization token"})
            return
        expires = (datetime.datetime.now(datetime.timezone.utc) +
                   datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        answer = {"AccessKeyId": srv.access_key,
                  "SecretAccessKey": srv.secret_key,
                  "Expiration": expires,
                  "RoleArn": "arn:aws:iam::123456789012:role/pfagent-task"}
        if srv.token is not None:
            answer["Token"] = srv.token
        self._send(200, answer)


class EcsCredentialsServer:
    def __init__(self, access_key, secret_key, token=None,
                 auth_token="ecs-auth-token"):
        self.access_key = access_key
        self.secret_key = secret_key
        self.token = token
        self.auth_token = auth_token
        self.path = f"/v2/credentials/{uuid.uuid4()}"
        self.requests = []
        self.lock = threading.Lock()
        self._httpd = None
        self._thread = None

    def start(self):
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        daemon=True)
        self._thread.start()
        return self

    @property
    def port(self):
        return self._httpd.server_address[1]

    @property
    def full_uri(self):
        return f"http://127.0.0.1:{self.port}{self.path}"

    def env(self):
        """What an ECS agent puts in the task's environment (FULL_URI form)."""
        e = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": self.full_uri}
        if self.auth_token is not None:
            e["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = self.auth_token
        return e

    def stop(self):
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
