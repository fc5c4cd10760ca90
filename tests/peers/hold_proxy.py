"""An HTTP relay on 127.0.0.1 in front of the real Prefect server that can
hold one chosen request until the test releases it. Not a fake API: every
request, held or not, is relayed unchanged to the real server and its
answer relayed back. Holding a request is how a test puts another
claimant's move between two steps of an agent, in a chosen order.

    proxy = HoldProxy(upstream_port)
    gate = proxy.hold(lambda m, path, body: ...)   # the first match waits
    ... agent(pool, api_url=proxy.api_url) ...
    gate.wait_held(60)       # the agent sent it; it has not reached the server
    ... the test or another agent acts ...
    gate.release()           # now it goes on to the server
"""

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length",
        "proxy-connection", "upgrade", "te", "trailer"}


class Gate:
    def __init__(self, match):
        self.match = match
        self.held = threading.Event()
        self.released = threading.Event()
        self.request = None  # (method, path, body) once held

    def wait_held(self, timeout):
        if not self.held.wait(timeout):
            raise AssertionError(f"no request matched the hold within "
                                 f"{timeout} s")
        return self.request

    def release(self):
        self.released.set()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _relay(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        proxy = self.server.proxy
        gate = proxy._take(self.command, self.path, body)
        if gate is not None:
            gate.released.wait()
        proxy._record(self.command, self.path, body)
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in _HOP}
        up = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port,
                                        timeout=120)
        try:
            up.request(self.command, self.path, body=body or None,
                       headers=headers)
            r = up.getresponse()
            data = r.read()
            self.send_response(r.status, r.reason)
            for k, v in r.getheaders():
                if k.lower() not in _HOP:
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True
        finally:
            up.close()

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _relay


class HoldProxy:
    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self._lock = threading.Lock()
        self._gates = []  # waiting for their request
        self._all = []    # every gate, so stop() releases them all
        self.requests = []  # (method, path, body) as relayed, in order
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.proxy = self
        self.port = self.server.server_address[1]
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()

    def hold(self, match):
        """The first request for which match(method, path, body: str) is
        true waits before it is relayed, until the gate is released."""
        gate = Gate(match)
        with self._lock:
            self._gates.append(gate)
            self._all.append(gate)
        return gate

    def _take(self, method, path, body):
        text = body.decode(errors="replace")
        with self._lock:
            for g in self._gates:
                if g.match(method, path, text):
                    self._gates.remove(g)
                    g.request = (method, path, text)
                    g.held.set()
                    return g
        return None

    def _record(self, method, path, body):
        with self._lock:
            self.requests.append((method, path, body.decode(
                errors="replace")))

    def relayed(self):
        with self._lock:
            return list(self.requests)

    def stop(self):
        with self._lock:
            for g in self._all:
                g.release()
        self.server.shutdown()
        self.server.server_close()
