"""A real HTTPS receiver for CloudFormation's ResponseURL, on 127.0.0.1.

Its certificate comes from a test CA made with trustme; point SSL_CERT_FILE at
`ca_file` and the handler trusts it exactly as it trusts S3's presigned URL in AWS.
It can fail the first N PUTs (HTTP 500) or be down, for the fault matrix."""

from __future__ import annotations

import json
import os
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)  # when it arrived

    def json(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


@dataclass
class ResponseReceiver:
    host: str = "127.0.0.1"
    port: int = 0
    received: list[Received] = field(default_factory=list)
    attempts: int = 0
    fail_next: int = 0  # answer this many PUTs with HTTP 500 before accepting
    ca_file: str = ""
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def url(self, path: str = "/cfn-response", signed_at: float | None = None) -> str:
        """A URL shaped like CloudFormation's presigned one, signed now (its
        X-Amz-Date, from which the handler counts the ServiceTimeout) or at `signed_at`."""
        import time

        date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if signed_at is None else signed_at))
        return (
            f"https://{self.address}{path}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date={date}"
            "&X-Amz-Signature=0123456789abcdef-presigned-signature"
        )

    def bodies(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.json() for r in self.received]

    def clear(self) -> None:
        with self._lock:
            self.received.clear()
            self.attempts = 0
            self.fail_next = 0

    def start(self, workdir: str | None = None) -> ResponseReceiver:
        import trustme

        ca = trustme.CA()
        certificate = ca.issue_cert("127.0.0.1", "localhost")
        directory = workdir or tempfile.mkdtemp(prefix="cfn-receiver-")
        self.ca_file = os.path.join(directory, "test-ca.pem")
        ca.cert_pem.write_to_path(self.ca_file)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        certificate.configure_cert(context)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def setup(self) -> None:
                # The TLS handshake in this connection's own thread, not in the one that
                # accepts: a fleet's responses arrive together.
                self.request = context.wrap_socket(self.request, server_side=True)
                super().setup()

            def do_PUT(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.attempts += 1
                    failing = receiver.fail_next > 0
                    if failing:
                        receiver.fail_next -= 1
                    else:
                        receiver.received.append(Received(self.path, dict(self.headers), body))
                self.send_response(500 if failing else 200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # the listen backlog: a fleet's responses arrive together

        server = Server((self.host, self.port), Handler)
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def environment(self) -> dict[str, str]:
        """What the handler's process needs to trust and reach this receiver."""
        return {"SSL_CERT_FILE": self.ca_file, "ALLOWED_RESPONSE_HOSTS": self.address}

