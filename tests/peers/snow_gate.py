"""A relay on 127.0.0.1 in front of fakesnow (tests/peers/fakesnow.py)
for the destination's tests: it keeps what the loader sent and lets a
test step in; the credentials checks and the 503s are
tests/peers/snowflake_front.py's and tests/peers/fault_proxy.py's.
Every request is relayed unchanged (Host included, so the presigned
upload URLs fakesnow hands out lead back through here) and the answer
relayed back.

- statements(): the sqlText of every query request, in order, to
  compare the DDL pfagent ran with dlt's.
- hold(match): the first request whose (method, path, body text, the
  body gunzipped) matches waits before it is relayed until released
  (tests/peers/hold_proxy.py's Gate), so a test can act in between,
  e.g. kill and restart fakesnow in the middle of a package.
- unsupported_as_error: fakesnow answers a statement it cannot run (an
  unsupported feature, or its own bug: "Unhandled exception") with HTTP
  500, which Snowflake's drivers retry for minutes as a server fault.
  With this set such an answer is passed on as Snowflake answers a
  statement it refuses: HTTP 200, success false, fakesnow's own code
  (261000) and message.

    gate = SnowGate(fakesnow.port)
    gate.host            "127.0.0.1:<port>" for the credentials
    gate.requests        [(method, path, status)] in order
    gate.stop()
"""

import gzip
import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from peers.hold_proxy import Gate

_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length",
        "proxy-connection", "upgrade", "te", "trailer"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _relay(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        gate = self.server.gate
        raw = body
        if self.headers.get("Content-Encoding") == "gzip" and body:
            raw = gzip.decompress(body)
        text = raw.decode(errors="replace")
        query = self.path.startswith("/queries/v1/query-request")
        if query:
            try:
                gate.record_sql(json.loads(text)["sqlText"])
            except (ValueError, KeyError, TypeError):
                pass
        held = gate._take(self.command, self.path, text)
        if held is not None:
            held.released.wait()
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in _HOP}
        up = http.client.HTTPConnection("127.0.0.1", gate.upstream_port,
                                        timeout=300)
        try:
            up.request(self.command, self.path, body=body or None,
                       headers=headers)
            r = up.getresponse()
            data = r.read()
            gate.record(self.command, self.path, r.status)
            if r.status == 500 and query and gate.unsupported_as_error:
                try:
                    answer = json.loads(data)
                except ValueError:
                    answer = None
                if answer and answer.get("success") is False:
                    self._answer(200, answer)
                    return
            self.send_response(r.status, r.reason)
            for k, v in r.getheaders():
                if k.lower() not in _HOP:
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            gate.record(self.command, self.path, 0)
            self.close_connection = True
        finally:
            up.close()

    do_GET = do_POST = do_PUT = do_DELETE = _relay


class SnowGate:
    def __init__(self, upstream_port, unsupported_as_error=False):
        self.upstream_port = upstream_port
        self.unsupported_as_error = unsupported_as_error
        self.lock = threading.Lock()
        self.requests = []
        self._gates = []
        self._all = []
        self._sql = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.gate = self
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()

    @property
    def host(self):
        return f"127.0.0.1:{self.port}"

    def hold(self, match):
        """The first request for which match(method, path, text) is true
        waits before it is relayed, until the returned gate is released."""
        gate = Gate(match)
        with self.lock:
            self._gates.append(gate)
            self._all.append(gate)
        return gate

    def _take(self, method, path, text):
        with self.lock:
            for g in self._gates:
                if g.match(method, path, text):
                    self._gates.remove(g)
                    g.request = (method, path, text)
                    g.held.set()
                    return g
        return None

    def record_sql(self, text):
        with self.lock:
            self._sql.append(text)

    def statements(self):
        """Every statement sent through, in order (retries included)."""
        with self.lock:
            return list(self._sql)

    def record(self, method, path, status):
        with self.lock:
            self.requests.append((method, path, status))

    def stop(self):
        with self.lock:
            for g in self._all:
                g.release()
        self.server.shutdown()
        self.server.server_close()
