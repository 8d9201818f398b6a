"""Real receivers for notification tests: an HTTP server on 127.0.0.1 that records what it
is sent and answers as scripted, and an SMTP server (aiosmtpd) that keeps the mail."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() on receipt


class WebhookReceiver:
    """Answers each request with the next scripted reply: an HTTP status, or ("hang", s) to
    answer only after s seconds (a timeout for a sender waiting less). Then 200."""

    def __init__(self, *script: int | tuple[str, float]) -> None:
        self.script = list(script)
        self.received: list[Received] = []
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.arrived:
                    reply = receiver.script.pop(0) if receiver.script else 200
                    receiver.received.append(
                        Received(self.path, dict(self.headers), body, time.monotonic())
                    )
                    receiver.arrived.notify_all()
                if isinstance(reply, tuple):
                    time.sleep(reply[1])
                    reply = 200
                try:
                    self.send_response(reply)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up waiting: the point of a scripted hang

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        """Block until `count` requests arrived (awaited, not slept)."""
        with self.arrived:
            ok = self.arrived.wait_for(lambda: len(self.received) >= count, timeout)
        assert ok, f"expected {count} requests, got {len(self.received)}"
        return list(self.received)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def webhook_receiver(*script: int | tuple[str, float]) -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(*script)
    try:
        yield receiver
    finally:
        receiver.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class SmtpReceiver:
    """aiosmtpd on 127.0.0.1, with STARTTLS offered (and required) under a self-signed
    certificate, or TLS from the first byte (`implicit_tls`), and a login accepted for one
    user and password."""

    def __init__(self, user: str, password: str, *, implicit_tls: bool = False) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.messages: list[Message] = []
        self.arrived = threading.Condition()
        self._dir = tempfile.TemporaryDirectory()
        cert, key = self_signed(Path(self._dir.name))
        server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_tls.load_cert_chain(cert, key)
        self.client_tls = ssl.create_default_context(cafile=str(cert))
        receiver = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                with receiver.arrived:
                    receiver.messages.append(message_from_bytes(envelope.content))
                    receiver.arrived.notify_all()
                return "250 OK"

        def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth: Any):
            good = auth.login == user.encode() and auth.password == password.encode()
            return AuthResult(success=good, handled=False)

        self.port = free_port()
        tls: dict[str, Any] = (
            {"ssl_context": server_tls}
            if implicit_tls
            else {"tls_context": server_tls, "require_starttls": True}
        )
        self.controller = Controller(
            Handler(),
            hostname="127.0.0.1",
            port=self.port,
            authenticator=authenticate,
            auth_require_tls=not implicit_tls,
            **tls,
        )
        self.controller.start()

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Message]:
        with self.arrived:
            ok = self.arrived.wait_for(lambda: len(self.messages) >= count, timeout)
        assert ok, f"expected {count} messages, got {len(self.messages)}"
        return list(self.messages)

    def close(self) -> None:
        self.controller.stop()
        self._dir.cleanup()
