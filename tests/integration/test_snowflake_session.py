"""snowflake/session.h, the Snowflake REST wire protocol client, against
fakesnow 0.12.1 (tests/peers/fakesnow.py), through sf_client
(tests/integration/sf_client.c, one statement per line).

What the C client wrote is read back with snowflake-connector-python,
a client nobody here wrote, connected to fakesnow directly. Logins that
must be checked (passwords, key-pair JWTs verified by PyJWT), session
expiry and result chunks go through tests/peers/snowflake_front.py, in
front of fakesnow; a 503 on every third request and dropped
connections through tests/peers/fault_proxy.py.

fakesnow's own limits the tests keep to: a typed bind of NULL (but
TEXT, REAL and ANY) and a FIXED bind with a fraction crash its binding
code (HTTP 500), so the NULL row is bound as ANY (what the connector
sends for None) and NUMBER(10,2) gets TEXT; it reports TIMESTAMP_LTZ
columns as timestamp_tz and keeps a TIMESTAMP_TZ's instant but not its
offset (DuckDB's TIMESTAMPTZ); its NULL timestamp is a valid struct
with null children, which the connector reads as 1970-01-01.
"""

import base64
import datetime
import decimal
import json
import os
import re
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from peers.fakesnow import FakesnowServer
from peers.fault_proxy import FaultProxy
from peers.prefect import PFAGENT, REPO_ROOT, SANITIZER_RE
from peers.snowflake_front import SnowflakeFront
from peers.tls_proxy import TlsProxy, make_self_signed

SF_CLIENT = PFAGENT.parent / "tests" / "integration" / "sf_client"
PASSWORD = "pw-Sn0w-" + base64.b16encode(os.urandom(6)).decode()
PASSPHRASE = "key-Phrase-" + base64.b16encode(os.urandom(6)).decode()


@pytest.fixture(scope="module", autouse=True)
def sf_client_built():
    rel = SF_CLIENT.relative_to(REPO_ROOT)
    p = subprocess.run(["make", "-s", str(rel)], cwd=REPO_ROOT,
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.fixture(scope="module")
def fakesnow(tmp_path_factory):
    server = FakesnowServer(tmp_path_factory.mktemp("fakesnow") / "log")
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def front(fakesnow):
    f = SnowflakeFront(fakesnow.port).start()
    try:
        yield f
    finally:
        f.stop()


class Client:
    """sf_client with a session open (or its login refused)."""

    def __init__(self, tmp_path, host, **conf):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("SF_")}
        env["ASAN_OPTIONS"] = "detect_leaks=1"
        env["SF_LOG"] = "debug"
        env.pop("SSL_CERT_FILE", None)
        env.update(SF_HOST=host, SF_PROTOCOL="http", SF_USER="loader")
        env.update({k if k.isupper() else f"SF_{k.upper()}": v
                    for k, v in conf.items() if v is not None})
        self.log_path = tmp_path / f"sf_client-{os.urandom(3).hex()}.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [str(SF_CLIENT)], env=env, cwd=REPO_ROOT, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log)
        self.out = []
        self.opened = self._read()

    def _read(self):
        line = self.proc.stdout.readline()
        assert line, f"sf_client ended; its log:\n{self.stderr()}"
        self.out.append(line)
        return json.loads(line)

    def cmd(self, **command):
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def sql(self, sql, binds=None, ok=True):
        r = self.cmd(sql=sql, binds=binds or [])
        if ok:
            assert r["ok"], r["error"]
        return r

    def stderr(self):
        self.log.flush()
        return self.log_path.read_text()

    def close(self):
        """Ends the session (end of input); returns everything printed."""
        if self.proc.stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()
        rest = self.proc.stdout.read()
        rc = self.proc.wait(120)
        self.log.close()
        text = "".join(self.out) + rest + self.log_path.read_text()
        assert not SANITIZER_RE.search(text), text
        return rc, text


@pytest.fixture
def clients(tmp_path):
    started = []

    def make(host, **conf):
        c = Client(tmp_path, host, **conf)
        started.append(c)
        return c
    try:
        yield make
    finally:
        for c in started:
            if c.proc.poll() is None:
                c.proc.kill()
                c.proc.wait(30)


def schema_name():
    return "S_" + os.urandom(4).hex().upper()


def count(fakesnow, schema, table="T"):
    with fakesnow.connect("DB", schema) as conn:
        return conn.cursor().execute(
            f"select count(*) from {table}").fetchone()[0]


def no_secret(text, *secrets):
    for s in secrets:
        assert s not in text, f"a secret ({s[:4]}...) leaked"


# ------------------------------------------------ values, every wire type

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)

# (column, column type, bind type, values as the wire writes them)
COLUMNS = [
    ("N", "NUMBER(38,0)", "FIXED", ["1", "-2", "9007199254740993"]),
    ("D", "NUMBER(10,2)", "TEXT", ["12.34", "-0.50", "0"]),
    ("R", "FLOAT", "REAL", ["1.5", "-0.0025", "1e+16"]),
    ("T", "VARCHAR", "TEXT", ["h\u00e9llo", "a\"b,c\nd", ""]),
    ("B", "BOOLEAN", "BOOLEAN", ["true", "false", "true"]),
    ("DT", "DATE", "DATE", ["1577923200000", "-86400000", "0"]),
    ("TM", "TIME", "TIME", ["3723456789000", "0", "86399999999000"]),
    ("NTZ", "TIMESTAMP_NTZ", "TIMESTAMP_NTZ",
     ["1577934245678901000", "-500000000", "0"]),
    ("LTZ", "TIMESTAMP_LTZ", "TIMESTAMP_LTZ",
     ["1577934245000000000", "86400123456000", "0"]),
    ("TZ", "TIMESTAMP_TZ", "TIMESTAMP_TZ",
     ["1577934245000000000 1560", "1577934245123456000 1440", "0 1380"]),
    ("BIN", "BINARY", "BINARY", ["01ff", "", "deadbeef"]),
]


def ns_instant(ns, aware):
    """Epoch nanoseconds as a datetime (microseconds, as Python has)."""
    t = EPOCH + datetime.timedelta(microseconds=ns // 1000)
    return t if aware else t.replace(tzinfo=None)


def bound(bind_type, v):
    """A bound wire value as the Python value it stands for."""
    if bind_type == "FIXED":
        return int(v)
    if bind_type == "REAL":
        return float(v)
    if bind_type == "BOOLEAN":
        return v == "true"
    if bind_type == "DATE":
        return (EPOCH + datetime.timedelta(milliseconds=int(v))).date()
    if bind_type == "TIME":
        return (datetime.datetime.min + datetime.timedelta(
            microseconds=int(v) // 1000)).time()
    if bind_type in ("TIMESTAMP_NTZ", "TIMESTAMP_LTZ"):
        return ns_instant(int(v), bind_type == "TIMESTAMP_LTZ")
    if bind_type == "TIMESTAMP_TZ":
        ns, minutes = v.split(" ")
        tz = datetime.timezone(datetime.timedelta(minutes=int(minutes) -
                                                  1440))
        return ns_instant(int(ns), True).astimezone(tz)
    if bind_type == "BINARY":
        return bytes.fromhex(v)
    return v


def from_rowset(col, s):
    """A JSON-rowset value (snowflake/arrow.h) as the connector's type."""
    if s is None:
        return None
    t, scale = col["type"], col.get("scale") or 0
    if t == "fixed":
        return int(s) if scale == 0 else decimal.Decimal(s)
    if t == "real":
        return float(s)
    if t == "boolean":
        return s == "1"
    if t == "date":
        return datetime.date(1970, 1, 1) + datetime.timedelta(days=int(s))
    if t == "binary":
        return bytes.fromhex(s)
    if t != "time" and not t.startswith("timestamp"):
        return s
    secs = decimal.Decimal(s.split(" ")[0])
    micros = int(secs * 1000000)
    if t == "time":
        return (datetime.datetime.min +
                datetime.timedelta(microseconds=micros)).time()
    if t.startswith("timestamp"):
        at = EPOCH + datetime.timedelta(microseconds=micros)
        if t == "timestamp_ntz":
            return at.replace(tzinfo=None)
        minutes = int(s.split(" ")[1]) if " " in s else 1440
        return at.astimezone(datetime.timezone(
            datetime.timedelta(minutes=minutes - 1440)))


def comparable(v):
    return bytes(v) if isinstance(v, bytearray) else v


def test_every_wire_type_round_trip(fakesnow, clients):
    """Array binds in every wire type and a row of NULLs bound as ANY,
    then a SELECT answered in Arrow: the C client reads the values it
    bound, and so does snowflake-connector-python."""
    schema = schema_name()
    c = clients(fakesnow.host, password=PASSWORD, database="DB",
                schema=schema, timezone="UTC")
    assert c.opened == {"ok": True}
    cols = ", ".join(f"{n} {t}" for n, t, _, _ in COLUMNS)
    c.sql(f"create or replace table W ({cols})")
    marks = ", ".join("?" for _ in COLUMNS)
    r = c.sql(f"insert into W values ({marks})",
              [{"type": b, "values": v} for _, _, b, v in COLUMNS])
    assert r["changed"] == 3
    r = c.sql(f"insert into W values ({marks})",
              [{"type": "ANY", "values": [None]} for _ in COLUMNS])
    assert r["changed"] == 1
    r = c.sql("select * from W order by N nulls last")
    names = [col["name"] for col in r["rowtype"]]
    assert names == [n for n, _, _, _ in COLUMNS]
    ours = [tuple(from_rowset(col, v) for col, v in zip(r["rowtype"], row))
            for row in r["rows"]]
    assert r["rows"][0][:3] == ["-2", "-0.50", "-0.0025"]
    assert r["rows"][2][0] == "9007199254740993"
    assert r["rows"][1][10] == "01FF"

    with fakesnow.connect("DB", schema) as conn:
        theirs = [tuple(comparable(v) for v in row) for row in
                  conn.cursor().execute(
                      "select * from W order by N nulls last").fetchall()]
    # fakesnow's NULL timestamp is a valid struct with null children,
    # which the connector reads as the epoch; the C reader as NULL.
    assert ours[:3] == theirs[:3]
    assert [v for v, (_, t, _, _) in zip(theirs[3], COLUMNS)
            if not t.startswith("TIMESTAMP")] == [None] * 8
    by_n = sorted(range(3), key=lambda i: int(COLUMNS[0][3][i]))
    want = [tuple(decimal.Decimal(v[i]) if n == "D" else bound(b, v[i])
                  for n, _, b, v in COLUMNS) for i in by_n]
    want.append((None,) * len(COLUMNS))
    assert ours == want
    rc, text = c.close()
    assert rc == 0
    no_secret(text, PASSWORD)


def test_statement_error_and_session_kept(fakesnow, clients):
    """A statement Snowflake refuses: its code, SQL state and message;
    the session goes on."""
    c = clients(fakesnow.host, password=PASSWORD, database="DB",
                schema=schema_name())
    r = c.sql("select * from NO_SUCH_TABLE", ok=False)
    assert r["error"].startswith("Snowflake error 002003 (42S02): ")
    assert "NO_SUCH_TABLE" in r["error"]
    assert c.sql("select 1 as X")["rows"] == [["1"]]
    assert c.cmd(heartbeat=True) == {"ok": True}
    assert c.close()[0] == 0


def test_tls_verified(fakesnow, clients, tmp_path):
    """protocol https: a certificate nobody vouches for is refused at
    once (no retry); with its CA named in SSL_CERT_FILE, the session
    runs over TLS."""
    cert, key = make_self_signed(tmp_path)
    proxy = TlsProxy(cert, key, fakesnow.port)
    try:
        c = clients(f"127.0.0.1:{proxy.port}", protocol="https",
                    password=PASSWORD)
        assert not c.opened["ok"]
        assert "certificate" in c.opened["error"]
        assert c.close()[0] == 1
        assert proxy.handshake_failures == 1
        c = clients(f"127.0.0.1:{proxy.port}", protocol="https",
                    password=PASSWORD, database="DB", schema=schema_name(),
                    SSL_CERT_FILE=str(cert))
        assert c.opened == {"ok": True}
        assert c.sql("select 1 as X")["rows"] == [["1"]]
        assert c.close()[0] == 0
    finally:
        proxy.close()


# ------------------------------------------------------------ logins

def rsa_key(passphrase=None):
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives import serialization as ser

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    enc = (ser.BestAvailableEncryption(passphrase.encode()) if passphrase
           else ser.NoEncryption())
    private = key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8,
                                enc)
    public = key.public_key().public_bytes(
        ser.Encoding.PEM, ser.PublicFormat.SubjectPublicKeyInfo)
    return private, public


def test_key_pair_login_checked_by_pyjwt(front, fakesnow, clients,
                                          tmp_path):
    """An encrypted PKCS#8 key: the JWT the login sends verifies with
    PyJWT against the user's public key, with the connector's claims;
    a key that is not the user's gets Snowflake's 390144."""
    private, public = rsa_key(PASSPHRASE)
    key_file = tmp_path / "rsa_key.p8"
    key_file.write_bytes(private)
    front.add_user("LOADER", public_key_pem=public)
    schema = schema_name()
    c = clients(f"localhost:{front.port}", private_key_file=str(key_file),
                private_key_passphrase=PASSPHRASE,
                authenticator="snowflake_jwt", database="DB", schema=schema,
                warehouse="WH", role="LOADER_ROLE")
    assert c.opened == {"ok": True}, c.opened
    login = front.logins[-1]
    assert login["ok"], login["why"]
    assert login["AUTHENTICATOR"] == "SNOWFLAKE_JWT"
    assert login["sent_token"] and not login["sent_password"]
    assert login["CLIENT_APP_ID"] == "pfagent"
    assert login["ACCOUNT_NAME"] == "localhost"
    assert login["LOGIN_NAME"] == "loader"
    assert login["claims"]["sub"] == "LOCALHOST.LOADER"
    assert login["claims"]["iss"].startswith("LOCALHOST.LOADER.SHA256:")
    assert login["claims"]["exp"] - login["claims"]["iat"] == 60
    assert login["query"]["databaseName"] == ["DB"]
    assert login["query"]["schemaName"] == [schema]
    assert login["query"]["warehouse"] == ["WH"]
    assert login["query"]["roleName"] == ["LOADER_ROLE"]
    assert "request_id" in login["query"]
    c.sql("create or replace table T (A int)")
    c.sql("insert into T values (?)", [{"type": "FIXED",
                                        "values": ["7"]}])
    assert count(fakesnow, schema) == 1
    rc, text = c.close()
    assert rc == 0
    no_secret(text, PASSPHRASE, private.decode().splitlines()[1])

    other, _ = rsa_key()
    bad = clients(f"localhost:{front.port}", private_key=other.decode(),
                  database="DB", schema=schema)
    assert bad.opened == {"ok": False, "error": (
        f"login as loader to localhost:{front.port} failed: Snowflake "
        "error 390144: JWT token is invalid.")}
    assert front.logins[-1]["why"] == "Signature verification failed"
    rc, text = bad.close()
    assert rc == 1
    no_secret(text, other.decode().splitlines()[1])


def test_key_errors_before_any_request(front, clients, tmp_path):
    """A wrong passphrase or none for an encrypted key: a clear error,
    no login sent, no secret shown."""
    private, public = rsa_key(PASSPHRASE)
    front.add_user("LOADER", public_key_pem=public)
    for phrase, says in (("Wr0ng-" + PASSPHRASE, "wrong passphrase"),
                         (None, "private_key_passphrase is needed")):
        c = clients(front.host, private_key=private.decode(),
                    private_key_passphrase=phrase)
        assert not c.opened["ok"] and says in c.opened["error"]
        rc, text = c.close()
        assert rc == 1
        no_secret(text, PASSPHRASE, private.decode().splitlines()[1])
    assert front.logins == []


def test_wrong_password(front, clients):
    """Snowflake's 390100, once (a refused login is not retried), and
    the password nowhere."""
    front.add_user("LOADER", password=PASSWORD)
    wrong = "Wr0ng-" + PASSWORD
    c = clients(front.host, password=wrong, database="DB")
    assert c.opened == {"ok": False, "error": (
        f"login as loader to {front.host} failed: Snowflake error 390100: "
        "Incorrect username or password was specified.")}
    rc, text = c.close()
    assert rc == 1
    no_secret(text, wrong)
    assert len(front.logins) == 1
    login = front.logins[0]
    assert login["sent_password"] and "AUTHENTICATOR" not in login
    assert set(login) >= {"CLIENT_APP_ID", "CLIENT_APP_VERSION",
                          "ACCOUNT_NAME", "LOGIN_NAME",
                          "CLIENT_ENVIRONMENT", "SESSION_PARAMETERS"}


# ------------------------------------------------- sessions that end

def test_expired_session_renewed_then_logged_in_again(front, fakesnow,
                                                      clients):
    """390112: renewed with the master token and the statement asked
    again; with the master token expired too, a new login. Each
    statement runs once."""
    front.add_user("LOADER", password=PASSWORD)
    schema = schema_name()
    c = clients(front.host, password=PASSWORD, database="DB", schema=schema)
    c.sql("create or replace table T (A int)")
    one = [{"type": "FIXED", "values": ["1"]}]
    c.sql("insert into T values (?)", one)
    front.expire_sessions()
    assert c.sql("insert into T values (?)", one)["changed"] == 1
    assert any(p.startswith("/session/token-request") for _, p in
               front.requests)
    assert len(front.logins) == 1
    front.expire_sessions(master=True)
    assert c.cmd(heartbeat=True) == {"ok": True}
    assert len(front.logins) == 2
    front.expire_sessions(master=True)
    assert c.sql("insert into T values (?)", one)["changed"] == 1
    assert len(front.logins) == 3
    assert count(fakesnow, schema) == 3
    tokens = [s["token"] for s in front.sessions.values()]
    tokens += [s["master"] for s in front.sessions.values()]
    rc, text = c.close()
    assert rc == 0
    no_secret(text, PASSWORD, *tokens)
    assert any(p.startswith("/session?delete=true")
               for _, p in front.requests)


def test_fakesnow_killed_and_restarted_mid_load(clients, tmp_path):
    """The server dies between two statements and comes back on the same
    port (its sessions lost, its tables on files): 390104, a new login,
    the statement runs once."""
    fs = FakesnowServer(tmp_path / "fakesnow.log", tmp_path / "db")
    (tmp_path / "db").mkdir()
    try:
        fs.start()
        c = clients(fs.host, password=PASSWORD, database="DB", schema="S")
        c.sql("create or replace table T (A int)")
        c.sql("insert into T values (?)",
              [{"type": "FIXED", "values": ["1", "2"]}])
        fs.kill()
        fs.start()
        r = c.sql("insert into T values (?)",
                  [{"type": "FIXED", "values": ["3", "4"]}])
        assert r["changed"] == 2
        assert "gone (390104): logging in again" in c.stderr()
        assert c.sql("select A from T order by A")["rows"] == [
            ["1"], ["2"], ["3"], ["4"]]
        assert c.close()[0] == 0
        assert count(fs, "S") == 4
    finally:
        fs.stop()


# ------------------------------------------------------------ faults

def query_params(path):
    q = parse_qs(urlsplit(path).query)
    return {k: v[0] for k, v in q.items()}


@pytest.mark.parametrize("mode", ["503", "drop"])
def test_faults_retried_with_the_same_request_id(fakesnow, clients, mode):
    """Every third request fails before fakesnow sees it (503; or the
    connection dropped, twice in a row, since libcurl resends a request
    once at once when a kept-alive connection turns out dead): each
    statement is retried with its requestId and retryCount and runs
    exactly once."""
    proxy = FaultProxy(fakesnow.port, mode=mode, every=3,
                       burst=1 if mode == "503" else 2).start()
    try:
        schema = schema_name()
        c = clients(proxy.host, password=PASSWORD, database="DB",
                    schema=schema)
        assert c.opened == {"ok": True}
        c.sql("create or replace table T (A int, B varchar)")
        for i in range(6):
            c.sql("insert into T values (?, ?)", [
                {"type": "FIXED", "values": [str(2 * i), str(2 * i + 1)]},
                {"type": "TEXT", "values": [f"r{i}a", f"r{i}b"]}])
        assert c.sql("select count(*) from T")["rows"] == [["12"]]
        assert c.close()[0] == 0
    finally:
        proxy.stop()
    assert count(fakesnow, schema) == 12
    with fakesnow.connect("DB", schema) as conn:
        assert sorted(r[0] for r in conn.cursor().execute(
            "select A from T").fetchall()) == list(range(12))
    queries = [p for _, p in proxy.received
               if p.startswith("/queries/v1/query-request")]
    failed = [p for _, p in proxy.failed
              if p.startswith("/queries/v1/query-request")]
    assert failed, proxy.failed
    for f in failed:
        rid = query_params(f)["requestId"]
        tries = [query_params(p) for p in queries
                 if query_params(p)["requestId"] == rid]
        assert 2 <= len(tries) <= 3, tries
        assert all("retryCount" not in t for t in tries[:-1])
        assert tries[-1]["retryCount"] == "1"
        assert tries[-1]["retryReason"] == ("503" if mode == "503" else "0")
        assert tries[0]["request_guid"] != tries[-1]["request_guid"]


# ------------------------------------------------------------ chunks

@pytest.mark.parametrize("mode", ["qrmk", "headers"])
def test_result_chunks(front, fakesnow, clients, mode):
    """A result cut into chunks (Arrow streams, gzip objects readable
    only with the answer's SSE-C key): every row, in order, as the
    Python connector reads them from fakesnow directly."""
    front.add_user("LOADER", password=PASSWORD)
    schema = schema_name()
    c = clients(front.host, password=PASSWORD, database="DB", schema=schema)
    c.sql("create or replace table T (A int, B varchar, C timestamp_ntz)")
    n = 1000
    c.sql("insert into T values (?, ?, ?)", [
        {"type": "FIXED", "values": [str(i) for i in range(n)]},
        {"type": "TEXT", "values": [f"row {i}" for i in range(n)]},
        {"type": "TIMESTAMP_NTZ",
         "values": [str(i * 1_000_000_123) for i in range(n)]}])
    front.chunk_rows = 128
    front.chunk_mode = mode
    r = c.sql("select * from T order by A")
    assert len(front.chunk_gets) == 7
    assert all(status == 200 for _, status in front.chunk_gets)
    ours = [tuple(from_rowset(col, v) for col, v in zip(r["rowtype"], row))
            for row in r["rows"]]
    with fakesnow.connect("DB", schema) as conn:
        theirs = conn.cursor().execute(
            "select * from T order by A").fetchall()
    assert ours == theirs and len(ours) == n

    # JSON chunks: a DML answer's rowset, all of it in one chunk.
    front.chunk_rows = 0
    r = c.sql("insert into T (A) values (?)",
              [{"type": "FIXED", "values": ["-1", "-2"]}])
    assert r["changed"] == 2 and r["rows"] == [["2"]]
    assert len(front.chunk_gets) == 8
    assert c.close()[0] == 0


def test_chunk_store_refuses_without_the_key(front, fakesnow, clients):
    """The peer's own check: a chunk asked for without the SSE-C headers
    is refused, so the test above proves the client sends them."""
    import urllib.error
    import urllib.request

    front.add_user("LOADER", password=PASSWORD)
    c = clients(front.host, password=PASSWORD, database="DB",
                schema=schema_name())
    front.chunk_rows = 0
    c.sql("select 1 as X")
    assert c.close()[0] == 0
    cid = next(iter(front.chunks))
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"http://{front.host}/chunks/{cid}",
                               timeout=10)
    assert e.value.code == 400
