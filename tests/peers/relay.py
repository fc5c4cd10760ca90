"""The TCP relay MuteRelay and TlsProxy are made of: a listener on
127.0.0.1 whose accept loop hands each connection to the subclass's
serve(conn), and pipe(), which copies one socket into another until
either side ends, then shuts both down.
"""

import socket
import threading


class Relay:
    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def serve(self, conn):
        raise NotImplementedError

    def _accept(self):
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,),
                             daemon=True).start()

    def upstream(self):
        return socket.create_connection(("127.0.0.1", self.upstream_port))

    @staticmethod
    def pipe(a, b, forward=lambda data: True):
        """Copies a into b; forward(data) False swallows a chunk."""
        try:
            while data := a.recv(65536):
                if forward(data):
                    b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def relay(self, client, up, forward_up=lambda data: True,
              forward_down=lambda data: True):
        """Both directions: upstream's answers on a thread, the client's
        bytes on this one."""
        threading.Thread(target=self.pipe, args=(up, client, forward_down),
                         daemon=True).start()
        self.pipe(client, up, forward_up)

    def close(self):
        self.closed = True
        self.sock.close()
