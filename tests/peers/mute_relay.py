"""A TCP relay on 127.0.0.1 in front of the real Prefect server that can
go silent on its websocket connections: after mute(), the bytes of the
event streams open then are swallowed both ways, with the sockets left
open, as a server host that vanished without a FIN looks to the agent.
Not a fake API: everything else is relayed unchanged.

    relay = MuteRelay(upstream_port)
    ... agent(pool, api_url=relay.api_url) ...
    relay.mute()     # the streams open now hear nothing more
"""

import threading

from peers.relay import Relay


class MuteRelay(Relay):
    def __init__(self, upstream_port):
        self.lock = threading.Lock()
        self.streams = []       # [muted flag holder] per websocket
        super().__init__(upstream_port)
        self.api_url = f"http://127.0.0.1:{self.port}/api"

    def mute(self):
        """Swallows, from now on, the bytes of every stream open now."""
        with self.lock:
            for s in self.streams:
                s["muted"] = True
            return len(self.streams)

    def serve(self, conn):
        try:
            up = self.upstream()
        except OSError:
            conn.close()
            return
        state = {"muted": False, "first": True}

        def forward_up(data):
            if state["first"] and b" /api/events/out " in data[:200]:
                with self.lock:
                    self.streams.append(state)
            state["first"] = False
            return not state["muted"]

        self.relay(conn, up, forward_up, lambda data: not state["muted"])
