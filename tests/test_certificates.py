"""Static mode's certificate check: why a server's certificate is untrusted, against a local CA."""

from __future__ import annotations

import datetime
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hostpairs.crawler.middlewares import certificate_error

NOW = datetime.datetime.now(datetime.timezone.utc)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _issue(ca_key: ec.EllipticCurvePrivateKey, ca_name: x509.Name, host: str, expired: bool = False,
           ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    not_after = NOW - datetime.timedelta(days=1) if expired else NOW + datetime.timedelta(days=30)
    cert = (x509.CertificateBuilder().subject_name(_name(host)).issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(NOW - datetime.timedelta(days=10))
            .not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return cert, key


def _serve(tmp: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> int:
    """A TLS server on loopback that completes handshakes with `cert`; returns its port."""
    (tmp / "leaf.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp / "leaf.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp / "leaf.pem", tmp / "leaf.key")
    listener = socket.create_server(("127.0.0.1", 0))

    def accept() -> None:
        while True:
            connection, _ = listener.accept()
            try:
                with context.wrap_socket(connection, server_side=True):
                    pass
            except (OSError, ssl.SSLError):
                pass

    threading.Thread(target=accept, daemon=True).start()
    return listener.getsockname()[1]


@pytest.fixture
def trusted_ca(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ec.EllipticCurvePrivateKey, x509.Name]]:
    key, name = ec.generate_private_key(ec.SECP256R1()), _name("hostpairs test CA")
    ca = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(NOW - datetime.timedelta(days=10))
          .not_valid_after(NOW + datetime.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(key, hashes.SHA256()))
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    yield key, name


def test_a_trusted_certificate_has_no_error(trusted_ca: tuple, tmp_path: Path) -> None:
    port = _serve(tmp_path, *_issue(*trusted_ca, "shop-a.com"))
    assert certificate_error("shop-a.com", "127.0.0.1", port) is None


def test_the_reason_a_certificate_is_untrusted_is_named(trusted_ca: tuple, tmp_path: Path) -> None:
    mismatch = _serve(tmp_path, *_issue(*trusted_ca, "shop-a.com"))
    assert "mismatch" in certificate_error("evil-b.net", "127.0.0.1", mismatch).lower()
    expired = _serve(tmp_path, *_issue(*trusted_ca, "old-c.org", expired=True))
    assert certificate_error("old-c.org", "127.0.0.1", expired) == "untrusted certificate (certificate has expired)"
    stranger_key, stranger = ec.generate_private_key(ec.SECP256R1()), _name("someone else's CA")
    unknown = _serve(tmp_path, *_issue(stranger_key, stranger, "phish-d.com"))
    assert certificate_error("phish-d.com", "127.0.0.1", unknown).startswith("untrusted certificate (unable to get")


def test_no_verdict_when_the_handshake_cannot_happen() -> None:
    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]
    assert certificate_error("gone-e.com", "127.0.0.1", port, timeout=2) is None
