"""A virtual web: many hostnames served by one loopback server, for the demo and the tests.

The crawler reaches it through host rules (`MAP * 127.0.0.1:PORT`), so pages keep their real
hostnames while nothing leaves the machine. One port speaks both HTTP and HTTPS (the first byte
of a connection tells a TLS handshake apart); HTTPS uses a throw-away self-signed certificate,
which the crawler accepts and records as a certificate error.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import http.server
import itertools
import socket
import socketserver
import ssl
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


@dataclass
class Resource:
    """A response: body, content type, status and extra headers.

    For hostile pages: `stream` sends the body chunk by chunk as it is produced (chunked transfer
    coding after `body`, which goes first): a response that trickles forever, or one too large
    to hold; `websocket` accepts a WebSocket handshake and sends each message it produces as a text frame
    (what the client sends is not read)."""

    body: str | bytes = ""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    stream: Callable[[], Iterable[bytes]] | None = None
    websocket: Callable[[], Iterable[bytes]] | None = None


def trickle(chunk: bytes, every: float, times: int | None = None) -> Callable[[], Iterator[bytes]]:
    """A stream of `chunk` every `every` seconds, `times` times (None: until the client goes)."""
    def chunks() -> Iterator[bytes]:
        sent = 0
        while times is None or sent < times:
            threading.Event().wait(every)
            sent += 1
            yield chunk
    return chunks


def large(size: int, chunk: bytes = b"0" * 65536) -> Callable[[], Iterator[bytes]]:
    """A stream of `size` bytes (repeats of `chunk`), as fast as the client takes them."""
    def chunks() -> Iterator[bytes]:
        left = size
        while left > 0:
            yield chunk[:left]
            left -= len(chunk)
    return chunks


def redirect(location: str, status: int = 302) -> Resource:
    """An HTTP redirect to `location`."""
    return Resource(status=status, headers={"Location": location}, content_type="text/plain")


Handler = Callable[[str], Resource]
"""A dynamic resource: called with the request path (and query), returns the response."""


def html(body: str) -> Resource:
    return Resource(body=body)


def js(body: str) -> Resource:
    return Resource(body=body, content_type="application/javascript")


def css(body: str) -> Resource:
    return Resource(body=body, content_type="text/css")


# A 1x1 transparent GIF.
PIXEL = Resource(
    body=bytes.fromhex("47494638396101000100800000ffffff00000021f90401000000002c00000000010001000002024401003b"),
    content_type="image/gif",
)


class VirtualWeb:
    """Serve `sites[host][path]` on 127.0.0.1; unknown paths get 404, unknown hosts 421."""

    def __init__(self, sites: dict[str, dict[str, Resource | Handler]]):
        self.sites = sites
        self.requests: list[tuple[str, str, str, dict[str, str]]] = []  # method, host, path, headers
        self._server: _DualServer | None = None

    @property
    def hits(self) -> list[tuple[str, str]]:
        """(host, path) of every request served, in order."""
        return [(host, path) for _, host, path, _ in self.requests]

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return self._server.server_address[1]

    @property
    def host_rules(self) -> str:
        """Chromium --host-resolver-rules sending every hostname to this server."""
        return f"MAP * 127.0.0.1:{self.port}"

    def start(self) -> VirtualWeb:
        self._server = _DualServer(("127.0.0.1", 0), self._handler_class(), _tls_context())
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> VirtualWeb:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def resolve(self, host: str, path: str) -> Resource:
        site = self.sites.get(host)
        if site is None:
            return Resource(status=421, body="unknown host", content_type="text/plain")
        entry = site.get(path) or site.get(urlsplit(path).path)
        if entry is None:
            return Resource(status=404, body="not found", content_type="text/plain")
        return entry(path) if callable(entry) else entry

    def _handler_class(self) -> type[http.server.BaseHTTPRequestHandler]:
        web = self

        class RequestHandler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                host = (self.headers.get("Host") or "").split(":")[0].lower()
                web.requests.append((self.command, host, self.path, dict(self.headers)))
                resource = web.resolve(host, self.path)
                if resource.delay:
                    threading.Event().wait(resource.delay)
                if resource.websocket is not None and self.headers.get("Sec-WebSocket-Key"):
                    self._websocket(resource.websocket)
                    return
                body = resource.body.encode() if isinstance(resource.body, str) else resource.body
                self.server_header = resource.headers.get("Server", "hostpairs-virtualweb")
                self.send_response(resource.status)
                self.send_header("Content-Type", resource.content_type)
                if resource.stream is not None:
                    self.send_header("Transfer-Encoding", "chunked")
                else:
                    self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                for name, value in resource.headers.items():
                    if name != "Server":
                        self.send_header(name, value)
                self.end_headers()
                if self.command == "HEAD":
                    return
                if resource.stream is None:
                    self.wfile.write(body)
                    return
                try:
                    for chunk in itertools.chain([body], resource.stream()):
                        if chunk:
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                            self.wfile.flush()
                    self.wfile.write(b"0\r\n\r\n")
                except OSError:  # the client went away (a crawler that stopped reading)
                    self.close_connection = True

            do_POST = do_GET
            do_HEAD = do_GET

            def _websocket(self, messages: Callable[[], Iterable[bytes]]) -> None:
                key = self.headers["Sec-WebSocket-Key"].strip()
                accept = base64.b64encode(hashlib.sha1((key + _WEBSOCKET_GUID).encode()).digest()).decode()
                self.send_response(101, "Switching Protocols")
                self.send_header("Upgrade", "websocket")
                self.send_header("Connection", "Upgrade")
                self.send_header("Sec-WebSocket-Accept", accept)
                self.end_headers()
                self.close_connection = True
                try:
                    for message in messages():
                        size = len(message)
                        header = (bytes([0x81, size]) if size < 126 else bytes([0x81, 126]) + size.to_bytes(2, "big")
                                  if size < 65536 else bytes([0x81, 127]) + size.to_bytes(8, "big"))
                        self.wfile.write(header + message)
                        self.wfile.flush()
                except OSError:  # the client went away
                    pass

            def version_string(self) -> str:
                return getattr(self, "server_header", "hostpairs-virtualweb")

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        return RequestHandler


_WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class _DualServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    """HTTP and HTTPS on one port: a connection opening with a TLS record is wrapped in TLS."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type, tls: ssl.SSLContext):
        super().__init__(address, handler)
        self.tls = tls

    def finish_request(self, request: socket.socket, client_address: object) -> None:
        try:
            request.settimeout(10)
            first = request.recv(1, socket.MSG_PEEK)
            if first == b"\x16":
                request = self.tls.wrap_socket(request, server_side=True)
            super().finish_request(request, client_address)
        except (OSError, ssl.SSLError):
            pass


def write_self_signed(directory: Path, names: tuple[str, ...] = ()) -> tuple[Path, Path]:
    """A fresh self-signed certificate and its key as PEM files in `directory` (cert.pem,
    key.pem), valid for `names` (host names and IP addresses) when given."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hostpairs virtual web")])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
    )
    if names:
        def general_name(name: str) -> x509.GeneralName:
            try:
                return x509.IPAddress(ipaddress.ip_address(name))
            except ValueError:
                return x509.DNSName(name)

        builder = builder.add_extension(x509.SubjectAlternativeName([general_name(n) for n in names]), critical=False)
    cert = builder.sign(key, hashes.SHA256())
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _tls_context() -> ssl.SSLContext:
    """A server context with a fresh self-signed certificate (deliberately untrusted)."""
    with tempfile.TemporaryDirectory() as tmp:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*write_self_signed(Path(tmp)))
    return context
