"""HTTPS through a pinned address: SNI and certificate checks still use the URL's host name."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from agents.netsafe import FetchFailed, FetchPolicy, fetch_url

pytestmark = pytest.mark.anyio

POLICY = FetchPolicy(allow_private=True, timeout=5.0)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _make_pki(tmp: Path, server_name: str) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for `server_name` signed by it."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("test ca"))
        .issuer_name(_name("test ca"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(server_name))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(server_name)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = tmp / "ca.pem", tmp / "cert.pem", tmp / "key.pem"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_path, cert_path, key_path


async def _serve_tls(cert: Path, key: Path, seen_sni: list[str | None]) -> asyncio.Server:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)

    def record_sni(sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        seen_sni.append(name)

    ctx.sni_callback = record_sni  # type: ignore[assignment]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            raw = await reader.readuntil(b"\r\n\r\n")
            host = next(
                (
                    line.split(":", 1)[1].strip()
                    for line in raw.decode("latin-1").split("\r\n")
                    if line.lower().startswith("host:")
                ),
                "",
            )
            body = host.encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: "
                + str(len(body)).encode()
                + b"\r\n\r\n"
                + body
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx)


@pytest.fixture
async def tls_client(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Path, Path]]:
    ca, cert, key = _make_pki(tmp_path, "localhost")
    verify = ssl.create_default_context(cafile=str(ca))
    async with httpx.AsyncClient(verify=verify, trust_env=False) as client:
        yield client, cert, key


async def test_https_to_a_pinned_address_verifies_the_certificate_for_the_host_name(
    tls_client: tuple[httpx.AsyncClient, Path, Path],
) -> None:
    """Connecting to the resolved IP, the TLS handshake still sends SNI 'localhost' and
    verifies the certificate for it; the server sees the original Host header."""
    client, cert, key = tls_client
    seen: list[str | None] = []
    server = await _serve_tls(cert, key, seen)
    port = server.sockets[0].getsockname()[1]
    try:
        doc = await fetch_url(client, f"https://localhost:{port}/", policy=POLICY)
    finally:
        server.close()
        await server.wait_closed()
    assert doc.status == 200
    assert doc.text == f"localhost:{port}"
    assert seen == ["localhost"]


async def test_https_certificate_for_another_name_is_rejected(tmp_path: Path) -> None:
    """A certificate that does not name the URL's host fails the fetch (no silent IP trust)."""
    ca, cert, key = _make_pki(tmp_path, "other.test")
    verify = ssl.create_default_context(cafile=str(ca))
    server = await _serve_tls(cert, key, [])
    port = server.sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient(verify=verify, trust_env=False) as client:
            with pytest.raises(FetchFailed):
                await fetch_url(client, f"https://localhost:{port}/", policy=POLICY)
    finally:
        server.close()
        await server.wait_closed()
