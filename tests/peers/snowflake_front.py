"""A loopback front for fakesnow that does what fakesnow does not:
Snowflake's authentication and session life, and result chunks.

fakesnow accepts any credentials, never expires a session and answers
every result inline. The front, on 127.0.0.1, answers like Snowflake
(its documented REST answers, as the Python connector reads them in
network.py and auth/_auth.py):

* `POST /session/v1/login-request`: a registered user's PASSWORD, or
  with AUTHENTICATOR SNOWFLAKE_JWT a TOKEN checked by PyJWT against the
  user's public key: RS256 signature, iss ACCOUNT.USER.SHA256:<base64
  SHA-256 of the DER SubjectPublicKeyInfo>, sub ACCOUNT.USER, iat and
  exp at most an hour apart. Wrong password: 390100 "Incorrect username
  or password was specified."; bad JWT: 390144 "JWT token is invalid.".
  On success it logs into fakesnow with the request's database and
  schema and hands out its own session and master tokens.
* `POST /session/token-request` (renewal with the master token), `POST
  /session/heartbeat`, `POST /session?delete=true`.
* Every other request is relayed to fakesnow with fakesnow's token in
  place of the front's; a session the test expired answers 390112
  "Your session has expired. Please login again." (HTTP 200), and with
  its master token expired too, renewal answers 390114.
* With `chunk_rows` set, an answer with more rows than that keeps them
  inline and moves the rest to result chunks, as Snowflake does for
  large results: `chunks[].url` on this server, gzip objects served
  without Content-Encoding (as cloud storage serves them), readable
  only with the SSE-C headers of the answer's `qrmk` (or its
  `chunkHeaders`, with `chunk_mode = "headers"`), else HTTP 400. Arrow
  chunks are whole IPC streams re-cut with pyarrow, JSON chunks rows
  without the enclosing brackets.

    front = SnowflakeFront(fakesnow_port).start()
    front.add_user("LOADER", password="...", public_key_pem=b"...")
    front.host; front.logins; front.requests; front.expire_sessions()
    front.stop()
"""

import base64
import gzip
import hashlib
import http.client
import json
import os
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

SESSION_EXPIRED = ("390112", "Your session has expired. Please login again.")
MASTER_EXPIRED = ("390114", "Authentication token has expired.  The user "
                  "must authenticate again.")
BAD_PASSWORD = ("390100", "Incorrect username or password was specified.")
BAD_JWT = ("390144", "JWT token is invalid.")
NO_SESSION = ("390104", "User must login again to access the service.")


def fingerprint(public_key):
    from cryptography.hazmat.primitives.serialization import (
        Encoding, PublicFormat)

    der = public_key.public_bytes(Encoding.DER,
                                  PublicFormat.SubjectPublicKeyInfo)
    return "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode()


def failure(code_message, data=None):
    code, message = code_message
    return {"data": data, "code": code, "message": message,
            "success": False, "headers": None}


class SnowflakeFront:
    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.lock = threading.Lock()
        self.users = {}       # LOGIN_NAME upper -> {"password", "key"}
        self.sessions = {}    # front token -> session dict
        self.masters = {}     # front master token -> session dict
        self.logins = []      # what each login sent, its secrets out
        self.requests = []    # (method, path) in order
        self.chunk_rows = None
        self.chunk_mode = "qrmk"
        self.chunks = {}      # id -> (gzip bytes, headers required)
        self.chunk_gets = []  # (id, status)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.front = self
        self.port = self.server.server_address[1]

    @property
    def host(self):
        return f"127.0.0.1:{self.port}"

    def start(self):
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def add_user(self, name, password=None, public_key_pem=None):
        key = None
        if public_key_pem is not None:
            from cryptography.hazmat.primitives.serialization import (
                load_pem_public_key)
            key = load_pem_public_key(public_key_pem)
        self.users[name.upper()] = {"password": password, "key": key}

    def expire_sessions(self, master=False):
        """Every session token handed out so far answers 390112 from now
        on; with master, renewals answer 390114 too (log in again)."""
        with self.lock:
            for s in self.sessions.values():
                s["expired"] = True
                s["master_expired"] = s["master_expired"] or master

    # -- what the handler calls ---------------------------------------

    def upstream(self, method, path, body=b"", headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.upstream_port,
                                          timeout=120)
        try:
            conn.request(method, path, body=body or None,
                         headers=headers or {})
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    def check_jwt(self, data, user):
        import jwt

        key = user["key"]
        if key is None:
            return None, "no public key registered"
        account = data.get("ACCOUNT_NAME", "").split(".")[0].upper()
        name = data.get("LOGIN_NAME", "").upper()
        try:
            claims = jwt.decode(data.get("TOKEN", ""), key,
                                algorithms=["RS256"],
                                options={"require": ["iss", "sub", "iat",
                                                     "exp"]})
        except jwt.PyJWTError as e:
            return None, str(e)
        if claims["sub"] != f"{account}.{name}":
            return None, f"sub {claims['sub']}"
        if claims["iss"] != f"{account}.{name}.{fingerprint(key)}":
            return None, f"iss {claims['iss']}"
        if not 0 < claims["exp"] - claims["iat"] <= 3600:
            return None, "lifetime"
        return claims, None

    def login(self, query, body):
        data = json.loads(body)["data"]
        user = self.users.get(str(data.get("LOGIN_NAME", "")).upper())
        jwt_login = data.get("AUTHENTICATOR") == "SNOWFLAKE_JWT"
        record = {k: v for k, v in data.items()
                  if k not in ("PASSWORD", "TOKEN")}
        record["query"] = query
        record["sent_password"] = "PASSWORD" in data
        record["sent_token"] = "TOKEN" in data
        claims = why = None
        if user is not None and jwt_login:
            claims, why = self.check_jwt(data, user)
            ok = claims is not None
        else:
            ok = (user is not None and user["password"] is not None and
                  data.get("PASSWORD") == user["password"])
        record.update(ok=ok, claims=claims, why=why)
        with self.lock:
            self.logins.append(record)
        if not ok:
            return failure(BAD_JWT if jwt_login else BAD_PASSWORD,
                           {"nextAction": "RETRY_LOGIN",
                            "authnMethod": "KEY_PAIR" if jwt_login
                            else "PASSWORD"})
        path = "/session/v1/login-request?" + urlencode(
            {k: v[0] for k, v in query.items()})
        up_body = json.dumps({"data": {"SESSION_PARAMETERS": data.get(
            "SESSION_PARAMETERS", {})}}).encode()
        status, answer = self.upstream("POST", path, up_body,
                                       {"Content-Type": "application/json"})
        up = json.loads(answer)
        if status != 200 or not up.get("success"):
            return up
        session = {"upstream": up["data"]["token"], "expired": False,
                   "master_expired": False,
                   "token": secrets.token_urlsafe(24),
                   "master": secrets.token_urlsafe(24)}
        with self.lock:
            self.sessions[session["token"]] = session
            self.masters[session["master"]] = session
        up["data"].update(token=session["token"],
                          masterToken=session["master"],
                          validityInSeconds=3600,
                          masterValidityInSeconds=14400,
                          sessionId=len(self.logins))
        return up

    def renew(self, master, body):
        old = json.loads(body).get("oldSessionToken")
        with self.lock:
            s = self.masters.get(master)
            if s is None or s["master_expired"] or s["token"] != old:
                return failure(MASTER_EXPIRED)
            del self.sessions[s["token"]]
            s["token"] = secrets.token_urlsafe(24)
            s["expired"] = False
            self.sessions[s["token"]] = s
            return {"data": {"sessionToken": s["token"],
                             "validityInSecondsST": 3600,
                             "masterToken": s["master"],
                             "validityInSecondsMT": 14400},
                    "code": None, "message": None, "success": True}

    def session_of(self, token):
        with self.lock:
            s = self.sessions.get(token)
        if s is None:
            return None, failure(NO_SESSION)
        if s["expired"]:
            return None, failure(SESSION_EXPIRED)
        return s, None

    def put_chunk(self, raw, required):
        cid = secrets.token_hex(8)
        gz = gzip.compress(raw)
        with self.lock:
            self.chunks[cid] = (gz, required)
        return {"url": f"http://127.0.0.1:{self.port}/chunks/{cid}",
                "uncompressedSize": len(raw), "compressedSize": len(gz)}

    def chunk_answer(self, answer):
        """Moves rows past chunk_rows into result chunks."""
        data = answer.get("data") or {}
        n = self.chunk_rows
        key = base64.b64encode(os.urandom(32)).decode()
        required = {
            "x-amz-server-side-encryption-customer-algorithm": "AES256",
            "x-amz-server-side-encryption-customer-key": key}
        chunks = []
        if data.get("queryResultFormat") == "json":
            rows = data.get("rowset") or []
            if len(rows) <= n:
                return answer
            data["rowset"] = rows[:n]
            for i in range(n, len(rows), max(n, 1)):
                part = rows[i:i + max(n, 1)]
                raw = ",".join(json.dumps(r) for r in part).encode()
                chunks.append(dict(self.put_chunk(raw, required),
                                   rowCount=len(part)))
        elif data.get("rowsetBase64"):
            import pyarrow as pa

            table = pa.ipc.open_stream(
                base64.b64decode(data["rowsetBase64"])).read_all()
            if table.num_rows <= n:
                return answer

            def ipc(t):
                sink = pa.BufferOutputStream()
                with pa.ipc.new_stream(sink, t.schema) as w:
                    w.write_table(t)
                return sink.getvalue().to_pybytes()

            data["rowsetBase64"] = (base64.b64encode(
                ipc(table.slice(0, n))).decode() if n else "")
            for i in range(n, table.num_rows, max(n, 1)):
                part = table.slice(i, max(n, 1))
                chunks.append(dict(self.put_chunk(ipc(part), required),
                                   rowCount=part.num_rows))
        else:
            return answer
        data["chunks"] = chunks
        if self.chunk_mode == "headers":
            data["chunkHeaders"] = required
        else:
            data["qrmk"] = key
        return answer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _send(self, status, body, ctype="application/json"):
        if isinstance(body, dict):
            body = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        if self.headers.get("Content-Encoding") == "gzip":
            return raw, gzip.decompress(raw)
        return raw, raw

    def _token(self):
        auth = self.headers.get("Authorization", "")
        prefix = 'Snowflake Token="'
        if auth.startswith(prefix) and auth.endswith('"'):
            return auth[len(prefix):-1]
        return None

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def _dispatch(self):
        front = self.server.front
        url = urlsplit(self.path)
        raw, body = self._body()
        with front.lock:
            front.requests.append((self.command, self.path))
        if url.path.startswith("/chunks/"):
            return self._chunk(url.path[len("/chunks/"):])
        if url.path == "/session/v1/login-request":
            return self._send(200, front.login(parse_qs(url.query), body))
        if url.path == "/session/token-request":
            return self._send(200, front.renew(self._token(), body))
        session, refusal = front.session_of(self._token())
        if refusal is not None:
            return self._send(200, refusal)
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() in ("content-type", "content-encoding",
                                    "accept")}
        headers["Authorization"] = f'Snowflake Token="{session["upstream"]}"'
        status, answer = front.upstream(self.command, self.path, raw,
                                        headers)
        if url.path == "/session" and "delete" in url.query:
            with front.lock:
                front.sessions.pop(session["token"], None)
        if status == 200 and front.chunk_rows is not None:
            answer = json.dumps(front.chunk_answer(json.loads(answer)))
            answer = answer.encode()
        self._send(status, answer)

    def _chunk(self, cid):
        front = self.server.front
        with front.lock:
            gz, required = front.chunks.get(cid, (None, {}))
        sent = {k.lower(): v for k, v in self.headers.items()}
        ok = gz is not None and all(sent.get(k) == v
                                    for k, v in required.items())
        with front.lock:
            front.chunk_gets.append((cid, 200 if ok else 400))
        if not ok:
            return self._send(400, b"<Error><Code>InvalidRequest</Code>"
                              b"<Message>The object was stored using a "
                              b"form of Server Side Encryption. The "
                              b"correct parameters must be provided to "
                              b"retrieve the object.</Message></Error>",
                              "application/xml")
        self._send(200, gz, "binary/octet-stream")
