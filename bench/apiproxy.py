"""A counting HTTP/1.1 proxy between a worker and the Prefect API, for
`make bench` (scripts/bench): every request a worker and its flow-run
processes send is forwarded unchanged and recorded with its start, end,
status and (optionally) the process that sent it, so both workers' API
calls per run are counted the same way, by the same code.

Each client connection gets its own upstream connection (keep-alive is
kept on both sides); a websocket upgrade (the event stream) is passed
through byte for byte after its 101. Request bodies are kept (the first
64 KiB) so a request can be attributed to the run it names.
"""

import os
import socket
import threading
import time

BODY_KEEP = 64 << 10


class Record:
    __slots__ = ("t0", "t1", "method", "path", "status", "body", "who",
                 "conn")

    def __init__(self, t0, method, path, body, who, conn):
        self.t0, self.t1 = t0, None
        self.method, self.path = method, path
        self.status = None
        self.body = body
        self.who = who
        self.conn = conn

    def as_dict(self):
        return {"t0": self.t0, "t1": self.t1, "method": self.method,
                "path": self.path, "status": self.status, "who": self.who,
                "conn": self.conn}


def _read_head(f):
    """The head (request or status line and headers) as bytes, or b""."""
    lines = []
    while True:
        line = f.readline(65537)
        if not line:
            return b""
        lines.append(line)
        if line in (b"\r\n", b"\n"):
            return b"".join(lines)


def _headers(head):
    out = {}
    for line in head.split(b"\r\n")[1:]:
        if b":" in line:
            k, v = line.split(b":", 1)
            out[k.strip().lower().decode("latin-1")] = \
                v.strip().decode("latin-1")
    return out


def _read_body(f, h, no_body=False):
    """The raw body bytes as framed (Content-Length or chunked)."""
    if no_body:
        return b""
    if "chunked" in h.get("transfer-encoding", "").lower():
        parts = []
        while True:
            size_line = f.readline(4096)
            parts.append(size_line)
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while True:  # trailers up to the blank line
                    t = f.readline(4096)
                    parts.append(t)
                    if t in (b"\r\n", b"\n", b""):
                        return b"".join(parts)
            parts.append(f.read(size + 2))
    n = int(h.get("content-length", "0") or 0)
    return f.read(n) if n else b""


def _socket_owner(port, pids):
    """The pid among pids holding the local TCP socket 127.0.0.1:port."""
    inode = None
    try:
        with open("/proc/net/tcp") as f:
            for line in f.readlines()[1:]:
                parts = line.split()
                if int(parts[1].split(":")[1], 16) == port:
                    inode = parts[9]
                    break
    except OSError:
        return None
    if inode is None or inode == "0":
        return None
    target = f"socket:[{inode}]"
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                        return pid
                except OSError:
                    pass
        except OSError:
            pass
    return None


class ApiProxy:
    """Listens on a free 127.0.0.1 port; forwards to upstream_port.

    who(port) -> str|None, when set, names the process behind a new
    client connection (before its first request is forwarded)."""

    def __init__(self, upstream_port, who=None):
        self.upstream_port = upstream_port
        self.who = who
        self.records = []
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.port = self.sock.getsockname()[1]
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self.closed = False
        self.conns = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass

    def since(self, t):
        with self.lock:
            return [r for r in self.records if r.t0 >= t]

    def _accept(self):
        while not self.closed:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns += 1
            threading.Thread(target=self._serve, args=(c, self.conns),
                             daemon=True).start()

    def _serve(self, c, conn_no):
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        who = None
        if self.who is not None:
            try:
                who = self.who(c.getpeername()[1])
            except OSError:
                pass
        try:
            up = socket.create_connection(("127.0.0.1", self.upstream_port))
        except OSError:
            c.close()
            return
        up.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        cf, uf = c.makefile("rb"), up.makefile("rb")
        try:
            self._relay(c, up, cf, uf, who, conn_no)
        except (OSError, ValueError):
            pass
        finally:
            for s in (c, up):
                try:
                    s.close()
                except OSError:
                    pass

    def _relay(self, c, up, cf, uf, who, conn_no):
        while True:
            head = _read_head(cf)
            if not head:
                return
            t0 = time.time()
            if who is None and self.who is not None:
                # a connection made before who() was set (the worker's
                # first requests): named at its next request
                try:
                    who = self.who(c.getpeername()[1])
                except OSError:
                    pass
            line = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            method, path = line[0], line[1] if len(line) > 1 else ""
            h = _headers(head)
            body = _read_body(cf, h)
            rec = Record(t0, method, path, body[:BODY_KEEP], who, conn_no)
            with self.lock:
                self.records.append(rec)
            up.sendall(head + body)
            rhead = _read_head(uf)
            if not rhead:
                return
            status = int(rhead.split(b" ", 2)[1])
            rec.status = status
            if status == 101:
                c.sendall(rhead)
                rec.t1 = time.time()
                self._splice(c, up, cf, uf)
                return
            rh = _headers(rhead)
            rbody = _read_body(uf, rh, no_body=(
                method == "HEAD" or status in (204, 304) or status < 200))
            c.sendall(rhead + rbody)
            rec.t1 = time.time()
            if "close" in rh.get("connection", "").lower() or \
                    "close" in h.get("connection", "").lower():
                return

    @staticmethod
    def _splice(c, up, cf, uf):
        def pump(src, dst):
            try:
                while True:
                    data = src.read1(65536)
                    if not data:
                        break
                    dst.sendall(data)
            except (OSError, ValueError):
                pass
            for s in (c, up):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        t = threading.Thread(target=pump, args=(uf, c), daemon=True)
        t.start()
        pump(cf, up)
        t.join()


def tree_owner(root_pid, children_of):
    """A who() for ApiProxy: 'worker' for root_pid, else the short name
    of the descendant process (by its command line)."""
    def who(port):
        pids = [root_pid] + children_of(root_pid)
        pid = _socket_owner(port, pids)
        if pid is None:
            return None
        if pid == root_pid:
            return "worker"
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            return "flow-run " + " ".join(
                a.decode(errors="replace").rsplit("/", 1)[-1]
                for a in argv[:3] if a)
        except OSError:
            return "flow-run"
    return who
