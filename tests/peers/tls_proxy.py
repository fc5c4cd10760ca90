"""A TLS-terminating TCP proxy on 127.0.0.1, for testing the agent's TLS
settings against the real (plain HTTP) Prefect server behind it. Not a fake
API: every byte is relayed to the real server.
"""

import ssl
import subprocess
from pathlib import Path

from peers.relay import Relay


def make_self_signed(directory):
    """A self-signed certificate for 127.0.0.1; returns (cert, key)."""
    d = Path(directory)
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True)
    return cert, key


class TlsProxy(Relay):
    def __init__(self, cert, key, upstream_port):
        self.ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ctx.load_cert_chain(cert, key)
        self.handshake_failures = 0
        super().__init__(upstream_port)

    def serve(self, conn):
        try:
            tls = self.ctx.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            self.handshake_failures += 1
            conn.close()
            return
        self.relay(tls, self.upstream())
