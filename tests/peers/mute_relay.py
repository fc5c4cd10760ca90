"""A TCP relay on 127.0.0.1 in front of the real Prefect server that can
go silent on its websocket connections: after mute(), the bytes of the
event streams open then are swallowed both ways, with the sockets left
open, as a server host that vanished without a FIN looks to the agent.
Not a fake API: everything else is relayed unchanged.

    relay = MuteRelay(upstream_port)
    ... agent(pool, api_url=relay.api_url) ...
    relay.mute()     # the streams open now hear nothing more
"""

import socket
import threading


class MuteRelay:
    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self.lock = threading.Lock()
        self.streams = []       # [muted flag holder] per websocket
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def mute(self):
        """Swallows, from now on, the bytes of every stream open now."""
        with self.lock:
            for s in self.streams:
                s["muted"] = True
            return len(self.streams)

    def _accept(self):
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,),
                             daemon=True).start()

    def _serve(self, conn):
        try:
            up = socket.create_connection(("127.0.0.1", self.upstream_port))
        except OSError:
            conn.close()
            return
        state = {"muted": False}

        def pipe(a, b, first):
            try:
                while True:
                    data = a.recv(65536)
                    if not data:
                        break
                    if first and b" /api/events/out " in data[:200]:
                        with self.lock:
                            self.streams.append(state)
                    first = False
                    if not state["muted"]:
                        b.sendall(data)
            except OSError:
                pass
            finally:
                for s in (a, b):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        threading.Thread(target=pipe, args=(up, conn, False),
                         daemon=True).start()
        pipe(conn, up, True)

    def close(self):
        self.closed = True
        self.sock.close()
