"""An HTTP relay on 127.0.0.1 in front of a Snowflake peer that fails
every Nth request it receives (and the burst-1 after it), before the
peer sees it:

* mode "503": answers HTTP 503 with a gateway's page;
* mode "drop": reads the request and closes the connection without an
  answer (the client sees the connection dropped).

Every other request is relayed unchanged and its answer relayed back.
The failed request never reaches the peer, so a client that retries it
must send it again; the proxy records every request it received, so a
test can check a retried statement kept its requestId and said which
attempt it was (retryCount), which is what lets Snowflake run it once.

    proxy = FaultProxy(upstream_port, mode="503", every=3).start()
    proxy = FaultProxy(upstream_port, mode="drop", every=3, burst=2)
    proxy.host; proxy.received; proxy.failed; proxy.stop()
"""

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length",
        "proxy-connection", "upgrade", "te", "trailer"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _relay(self):
        proxy = self.server.proxy
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        with proxy.lock:
            proxy.received.append((self.command, self.path))
            proxy.count += 1
            if proxy.count % proxy.every == 0:
                proxy.left = proxy.burst
            fail = proxy.left > 0
            if fail:
                proxy.left -= 1
                proxy.failed.append((self.command, self.path))
        if fail and proxy.mode == "drop":
            self.close_connection = True
            return
        if fail:
            page = b"<html><body><h1>503 Service Unavailable</h1></body></html>"
            self.send_response(503)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)
            return
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

    do_GET = do_POST = _relay


class FaultProxy:
    def __init__(self, upstream_port, mode="503", every=3, burst=1):
        assert mode in ("503", "drop") and 0 < burst < every
        self.upstream_port = upstream_port
        self.mode = mode
        self.every = every
        self.burst = burst
        self.left = 0
        self.lock = threading.Lock()
        self.count = 0
        self.received = []   # (method, path) of every request
        self.failed = []     # those answered 503 or dropped
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.proxy = self
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
