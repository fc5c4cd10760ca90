"""A thin HTTP server around the real `git http-backend` (CGI), not a fake.

It serves the bare repositories under a root directory over git's smart
HTTP protocol on 127.0.0.1, and demands HTTP Basic auth whose user name or
password equals a given token (401 with WWW-Authenticate: Basic otherwise),
so clients can be tested for how they send credentials.  Every request is
appended to an access log file ("METHOD path?query status auth", auth
showing how credentials came, the token masked: "oauth2:***", "***:", "-")
and counted in memory, so a test can prove that a cached run made no
request at all.  It also answers absolute-form request lines, so it can
stand in as an HTTP proxy for any host name.

As a module:
    git(cwd, "init", ...)    # the git CLI as the tests use it
    srv = GitHttpServer(root, token, log_path)
    srv.start(); ... srv.port, srv.requests ...; srv.stop()
As a script (prints the port, serves until SIGTERM/SIGINT):
    python3 tests/peers/git_http.py --root DIR --token T --port 0 --log FILE
"""

import argparse
import base64
import os
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive, as real git servers

    def log_message(self, fmt, *args):  # the access log is ours, below
        pass

    def do_GET(self):
        self._serve()

    def do_POST(self):
        self._serve()

    def _body(self):
        """The request body, de-chunked (libgit2 streams large POSTs)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass        # trailers
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()   # CRLF after each chunk
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _basic(self):
        """(user, password) from Basic auth, or None."""
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Basic "):
            return None
        try:
            user, _, password = base64.b64decode(
                auth[6:]).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        return user, password

    def _authorized(self):
        token = self.server.token
        if token is None:
            return True
        cred = self._basic()
        return cred is not None and token in cred

    def _auth_shape(self):
        """How the client sent credentials, with the token masked:
        "oauth2:***", "***:" (token as user name), "-" for none."""
        cred = self._basic()
        if cred is None:
            return "-"
        tok = self.server.token
        return ":".join("***" if tok and v == tok else v for v in cred)

    def _reply(self, status, headers, body):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        # Absolute-form targets (through a proxy) are logged as paths.
        url = urlsplit(self.path)
        path = url.path + ("?" + url.query if url.query else "")
        self.server.record(self.command, path, status, self._auth_shape())

    def _serve(self):
        body = self._body()     # read even when refused: keep-alive
        if not self._authorized():
            self._reply(401, [("WWW-Authenticate", 'Basic realm="git"'),
                              ("Content-Type", "text/plain")],
                        b"authentication required\n")
            return
        url = urlsplit(self.path)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": self.server.root,
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": unquote(url.path),
            "QUERY_STRING": url.query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": self.client_address[0],
            "REMOTE_USER": "git",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
        }
        for h, var in (("Content-Encoding", "HTTP_CONTENT_ENCODING"),
                       ("Git-Protocol", "GIT_PROTOCOL")):
            if self.headers.get(h):
                env[var] = self.headers[h]
        proc = subprocess.run(["git", "http-backend"], input=body, env=env,
                              capture_output=True, check=False)
        out = proc.stdout
        head, sep, payload = out.partition(b"\r\n\r\n")
        if not sep:
            head, sep, payload = out.partition(b"\n\n")
        status, headers = 200, []
        for line in head.decode("latin-1").splitlines():
            k, _, v = line.partition(":")
            if k.lower() == "status":
                status = int(v.split()[0])
            elif k:
                headers.append((k, v.strip()))
        if not sep:     # the backend failed before any header
            status, headers, payload = 500, [], proc.stderr
        self._reply(status, headers, payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, addr, root, token, log_path):
        super().__init__(addr, _Handler)
        self.root = os.path.abspath(root)
        self.token = token
        self.log_path = log_path
        self.requests = []
        self.lock = threading.Lock()

    def record(self, method, path, status, auth):
        with self.lock:
            self.requests.append((method, path, status))
            if self.log_path:
                with open(self.log_path, "a", encoding="utf-8") as f:
                    f.write(f"{method} {path} {status} {auth}\n")


class GitHttpServer:
    """Serves root's bare repositories on 127.0.0.1 (port 0: any free)."""

    def __init__(self, root, token=None, log_path=None, port=0):
        self._srv = _Server(("127.0.0.1", port), root, token, log_path)
        self.port = self._srv.server_address[1]
        self._thread = None

    @property
    def requests(self):
        """(method, path with query, status) of every request so far."""
        with self._srv.lock:
            return list(self._srv.requests)

    def start(self):
        self._thread = threading.Thread(target=self._srv.serve_forever,
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._srv.shutdown()
        self._srv.server_close()


def git(cwd, *args):
    """Runs the git CLI in cwd as a test's author, with no system or user
    configuration (HOME is cwd) and file:// submodules allowed; its
    stdout, stripped. Fails the test when git does."""
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t",
               GIT_CONFIG_NOSYSTEM="1", HOME=str(cwd))
    out = subprocess.run(["git", "-c", "protocol.file.allow=always",
                          "-c", "init.defaultBranch=main", *args],
                         cwd=cwd, env=env, capture_output=True, text=True)
    assert out.returncode == 0, (args, out.stderr)
    return out.stdout.strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", required=True,
                    help="folder holding the bare repositories")
    ap.add_argument("--token", help="required in Basic auth (user or "
                    "password); none: no auth")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log", help="access log file to append to")
    a = ap.parse_args()
    srv = GitHttpServer(a.root, a.token, a.log, a.port)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    srv.start()
    try:
        print(srv.port, flush=True)
        # The reader may close the pipe once it has the port: nothing
        # else goes to stdout, and a late flush at exit must not fail.
        sys.stdout = open(os.devnull, "w")
    except BrokenPipeError:
        pass
    stop.wait()
    srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
