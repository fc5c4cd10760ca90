"""This stand-in follows Snowflake's documented Snowpipe behaviour and is not Snowflake; no Snowpipe emulator exists, so the tests use this.

A loopback HTTP service for the lake tests (test_lake.py) that plays
Snowpipe over moto's S3 and fakesnow:

* the REST API (docs.snowflake.com, "Snowpipe REST API"):
  POST /v1/data/pipes/<pipe>/insertFiles?requestId=... with
  {"files": [{"path": ...}]} answers {"requestId", "responseCode":
  "SUCCESS"} and queues the files; GET /v1/data/pipes/<pipe>/
  insertReport?requestId=...[&beginMark=...] answers {"pipe",
  "completeResult", "nextBeginMark", "files": [{"path", "status",
  "rowsInserted", "rowsParsed", "errorsSeen", "firstError", ...}]};
  GET /v1/data/pipes/<pipe>/loadHistoryScan?startTimeInclusive=...
  the same entries of any pipe loaded since then (auto-ingest ones too).
  Every call must carry `Authorization: Bearer <JWT>` and
  `X-Snowflake-Authorization-Token-Type: KEYPAIR_JWT`; the JWT is
  checked with PyJWT against the registered public key (RS256, iss
  ACCOUNT.USER.SHA256:<fingerprint>, sub ACCOUNT.USER, not expired),
  else 401 {"code": "390144", "message": "JWT token is invalid."}.
* auto_ingest: consume(queue_url) polls an SQS queue that moto fills
  with the bucket's s3:ObjectCreated notifications (keys URL-encoded)
  and queues the files under an auto-ingest pipe's stage path.

A file is loaded as the pipe's COPY says, with what fakesnow supports:
downloaded from moto, PUT to an internal stage, COPY INTO a one-VARIANT
table, then the COPY's SELECT ($1:"col"::TYPE) run on that table into
the target. A file a pipe has loaded is not loaded again (Snowpipe's
load history). The DDL comes from `pfagent pipeline NAME snowpipe ddl`
(apply_ddl): CREATE STAGE and CREATE PIPE are recorded here, the rest
runs in fakesnow.

    sp = SnowpipeStandIn(fakesnow, "DLT", s3_client, "lake",
                         "TESTACCOUNT", "LOADER", public_pem).start()
    sp.apply_ddl(ddl_text); sp.url; sp.history; sp.stop()
"""

import base64
import datetime
import hashlib
import json
import os
import queue
import re
import tempfile
import threading
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives import serialization

STAGE_RE = re.compile(r"CREATE STAGE IF NOT EXISTS (\S+) URL = '([^']+)'")
PIPE_RE = re.compile(
    r"CREATE PIPE IF NOT EXISTS (\S+) AUTO_INGEST = (TRUE|FALSE) AS "
    r"COPY INTO (\S+) \((.*?)\) FROM \(SELECT (.*) FROM @(\S+?)/(\S*)\) "
    r"FILE_FORMAT")


def _parse_time(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _answer(self, status, doc):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _route(self, method):
        sp = self.server.standin
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query)
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        m = re.fullmatch(r"/v1/data/pipes/([^/]+)/"
                         r"(insertFiles|insertReport|loadHistoryScan)",
                         url.path)
        if not m:
            return self._answer(404, {"code": "404", "message": "no route"})
        if not sp.jwt_ok(self.headers):
            sp.rejected += 1
            return self._answer(401, {"code": "390144",
                                      "message": "JWT token is invalid."})
        pipe, op = urllib.parse.unquote(m.group(1)), m.group(2)
        if "requestId" not in q:
            return self._answer(400, {"code": "400",
                                      "message": "requestId is required"})
        if pipe.upper() not in sp.pipes:
            return self._answer(404, {
                "code": "390403", "message": "Specified object does not "
                "exist or not authorized. Pipe not found"})
        if op == "insertFiles" and method == "POST":
            files = [f["path"] for f in json.loads(body or b"{}")
                     .get("files", [])]
            for f in files:
                sp.work.put((pipe.upper(), f))
            return self._answer(200, {"requestId": q["requestId"][0],
                                      "responseCode": "SUCCESS"})
        if op == "insertReport" and method == "GET":
            mark = int(q.get("beginMark", ["0"])[0] or 0)
            with sp.lock:
                mine = [h for h in sp.history[mark:]
                        if h["pipe"] == pipe.upper()]
                nxt = len(sp.history)
            return self._answer(200, {
                "pipe": pipe, "completeResult": True,
                "nextBeginMark": str(nxt),
                "files": [{k: v for k, v in h.items() if k != "pipe"}
                          for h in mine],
                "statistics": {"activeFilesCount": sp.work.qsize()}})
        if op == "loadHistoryScan" and method == "GET":
            since = q.get("startTimeInclusive", [""])[0]
            if not since:
                return self._answer(400, {
                    "code": "400",
                    "message": "startTimeInclusive is required"})
            start = _parse_time(since)
            with sp.lock:
                mine = [h for h in sp.history if h["pipe"] == pipe.upper()
                        and _parse_time(h["lastInsertTime"]) >= start]
            return self._answer(200, {
                "pipe": pipe, "completeResult": True,
                "startTimeInclusive": since,
                "files": [{k: v for k, v in h.items() if k != "pipe"}
                          for h in mine]})
        return self._answer(405, {"code": "405", "message": "method"})

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")


class SnowpipeStandIn:
    def __init__(self, fakesnow, database, s3, bucket, account, user,
                 public_pem):
        self.fakesnow, self.database = fakesnow, database
        self.s3, self.bucket = s3, bucket
        self.account, self.user = account.upper(), user.upper()
        self.public_key = serialization.load_pem_public_key(public_pem)
        der = self.public_key.public_bytes(
            serialization.Encoding.DER,
            serialization.PublicFormat.SubjectPublicKeyInfo)
        self.fingerprint = "SHA256:" + base64.b64encode(
            hashlib.sha256(der).digest()).decode()
        self.stages, self.pipes = {}, {}
        self.history, self.loaded = [], set()
        self.rejected = 0
        self.lock = threading.Lock()
        self.work = queue.Queue()
        self.server = None
        self.threads = []
        self.tmp = tempfile.mkdtemp(prefix="snowpipe-")
        self.conn = None
        self._stop = threading.Event()

    @property
    def url(self):
        return f"127.0.0.1:{self.server.server_address[1]}"

    def jwt_ok(self, headers):
        auth = headers.get("Authorization", "")
        if (headers.get("X-Snowflake-Authorization-Token-Type") !=
                "KEYPAIR_JWT" or not auth.startswith("Bearer ")):
            return False
        try:
            claims = jwt.decode(auth[7:], self.public_key,
                                algorithms=["RS256"],
                                options={"require": ["iss", "sub", "iat",
                                                     "exp"]})
        except jwt.PyJWTError:
            return False
        who = f"{self.account}.{self.user}"
        return (claims["sub"] == who and
                claims["iss"] == f"{who}.{self.fingerprint}")

    def apply_ddl(self, ddl):
        """Runs the DDL's statements in fakesnow; stages and pipes are
        recorded here (fakesnow has neither external stages nor pipes)."""
        cur = self._connect().cursor()
        for line in ddl.splitlines():
            stmt = line.strip().rstrip(";")
            if not stmt or stmt.startswith("--"):
                continue
            if (m := STAGE_RE.match(stmt)):
                self.stages[m.group(1)] = m.group(2)
            elif (m := PIPE_RE.match(stmt)):
                name, auto, target, cols, sel, stage, path = m.groups()
                self.pipes[name.upper()] = {
                    "auto": auto == "TRUE", "target": target, "cols": cols,
                    "select": sel, "stage": stage, "path": path}
            else:
                cur.execute(stmt)

    def _connect(self):
        if self.conn is None:
            self.conn = self.fakesnow.connect(self.database, None)
        return self.conn

    def _load(self, pipe, path):
        """One file through the pipe's COPY: its history entry."""
        p = self.pipes[pipe]
        entry = {"pipe": pipe, "path": path, "fileSize": 0,
                 "rowsInserted": 0, "rowsParsed": 0, "errorsSeen": 0,
                 "errorLimit": 1, "complete": True, "status": "LOADED",
                 "lastInsertTime": datetime.datetime.now(
                     datetime.timezone.utc).isoformat()}
        if (pipe, path) in self.loaded:
            return None         # Snowpipe's load history: not again
        try:
            url = urllib.parse.urlsplit(self.stages[p["stage"]])
            key = url.path.lstrip("/") + path
            local = os.path.join(self.tmp, uuid.uuid4().hex)
            os.makedirs(local)
            name = os.path.join(local, os.path.basename(path))
            self.s3.download_file(url.netloc, key, name)
            entry["fileSize"] = os.path.getsize(name)
            schema = p["target"].split(".")[0]
            ingest = f"{schema}.\"_SNOWPIPE_INGEST\""
            raw = f"{schema}.\"_SNOWPIPE_RAW\""
            cur = self._connect().cursor()
            cur.execute(f"CREATE STAGE IF NOT EXISTS {ingest}")
            cur.execute(f"CREATE TABLE IF NOT EXISTS {raw} (V VARIANT)")
            cur.execute(f"DELETE FROM {raw}")
            sub = os.path.basename(local)
            cur.execute(f"PUT file://{name} @{ingest}/{sub}/ "
                        "AUTO_COMPRESS=FALSE")
            cur.execute(f"COPY INTO {raw} FROM @{ingest}/{sub}/ "
                        "FILE_FORMAT = (TYPE = JSON)")
            select = p["select"].replace("$1:", "V:")
            cur.execute(f"INSERT INTO {p['target']} ({p['cols']}) "
                        f"SELECT {select} FROM {raw}")
            n = cur.fetchone()[0]
            entry["rowsInserted"] = entry["rowsParsed"] = n
            self.loaded.add((pipe, path))
        except Exception as e:      # what Snowpipe reports, not raises
            entry.update(status="LOAD_FAILED", errorsSeen=1,
                         firstError=str(e).splitlines()[0][:300])
        return entry

    def _worker(self):
        while not self._stop.is_set():
            try:
                pipe, path = self.work.get(timeout=0.2)
            except queue.Empty:
                continue
            entry = self._load(pipe, path)
            if entry is not None:
                with self.lock:
                    self.history.append(entry)

    def consume(self, sqs, queue_url):
        """auto_ingest: the bucket's ObjectCreated notifications."""
        def run():
            while not self._stop.is_set():
                r = sqs.receive_message(QueueUrl=queue_url,
                                        MaxNumberOfMessages=10,
                                        WaitTimeSeconds=1)
                for m in r.get("Messages", []):
                    self._notified(json.loads(m["Body"]))
                    sqs.delete_message(QueueUrl=queue_url,
                                       ReceiptHandle=m["ReceiptHandle"])
        t = threading.Thread(target=run, daemon=True)
        t.start()
        self.threads.append(t)

    def _notified(self, doc):
        for rec in doc.get("Records", []):
            if not rec.get("eventName", "").startswith("ObjectCreated"):
                continue
            key = urllib.parse.unquote_plus(rec["s3"]["object"]["key"])
            bucket = rec["s3"]["bucket"]["name"]
            for name, p in self.pipes.items():
                url = urllib.parse.urlsplit(self.stages[p["stage"]])
                root = url.path.lstrip("/")
                if (p["auto"] and url.netloc == bucket and
                        key.startswith(root + p["path"])):
                    self.work.put((name, key[len(root):]))

    def start(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.standin = self
        for target in (self.server.serve_forever, self._worker):
            t = threading.Thread(target=target, daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def stop(self):
        self._stop.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        for t in self.threads:
            t.join(10)
        if self.conn is not None:
            self.conn.close()
