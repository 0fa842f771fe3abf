"""SSRF-safe HTTP GET: resolve first, refuse non-public addresses, connect to the vetted address.

The connection goes to the address that was checked (not a second DNS lookup), redirects are
followed by hand and re-checked, and the body is capped in bytes and time.
"""

from __future__ import annotations

import html.parser
import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit


class FetchError(ValueError):
    """The URL was refused or the fetch failed."""


@dataclass(frozen=True)
class FetchLimits:
    timeout: float = 10.0
    max_bytes: int = 1_000_000
    max_redirects: int = 3
    max_chars: int = 20_000


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def is_public_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True only for globally routable addresses (the same rule as the qubitz server's fetch).

    Refused: private, loopback, link-local (cloud metadata), CGNAT 100.64.0.0/10, multicast,
    reserved, documentation and benchmark ranges, and IPv6 addresses that embed any of them
    (IPv4-mapped, 6to4, Teredo, NAT64).
    """
    if isinstance(ip, ipaddress.IPv6Address):
        embedded: list[ipaddress.IPv4Address] = []
        if ip.ipv4_mapped is not None:
            embedded.append(ip.ipv4_mapped)
        if ip.sixtofour is not None:
            embedded.append(ip.sixtofour)
        if ip.teredo is not None:
            embedded.extend(ip.teredo)
        if ip in _NAT64:
            embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if any(not is_public_ip(v4) for v4 in embedded):
            return False
        if ip.ipv4_mapped is not None:
            return True
    if (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    ):
        return False
    return ip.is_global


def _is_public(address: str) -> bool:
    return is_public_ip(ipaddress.ip_address(address.split("%", 1)[0]))


def resolve(host: str, port: int, *, allow_private: bool) -> str:
    """Return one address for host; raise FetchError if any resolved address is not public."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchError(f"cannot resolve {host}: {exc}") from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise FetchError(f"cannot resolve {host}")
    if not allow_private:
        refused = [a for a in addresses if not _is_public(a)]
        if refused:
            raise FetchError(f"refused: {host} resolves to a non-public address ({refused[0]})")
    return addresses[0]


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address
        self._context = ssl.create_default_context()

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)


class _TextExtractor(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "noscript"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "noscript") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def html_to_text(markup: str) -> str:
    parser = _TextExtractor()
    parser.feed(markup)
    return "\n".join(parser.parts)


def _read_capped(response: http.client.HTTPResponse, limits: FetchLimits) -> bytes:
    deadline = time.monotonic() + limits.timeout
    chunks: list[bytes] = []
    size = 0
    while size <= limits.max_bytes:
        if time.monotonic() > deadline:
            raise FetchError(f"body not received within {limits.timeout} s")
        chunk = response.read(min(65536, limits.max_bytes + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def fetch_text(url: str, *, limits: FetchLimits, allow_private: bool = False) -> str:
    for _ in range(limits.max_redirects + 1):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError("only absolute http(s) URLs can be fetched")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = resolve(parts.hostname, port, allow_private=allow_private)
        cls = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
        connection = cls(parts.hostname, port, address, limits.timeout)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request("GET", target, headers={"User-Agent": "agent-runtime/1.0"})
            response = connection.getresponse()
            if response.status in (301, 302, 303, 307, 308) and response.getheader("Location"):
                url = urljoin(url, response.getheader("Location", ""))
                continue
            body = _read_capped(response, limits)
            content_type = response.getheader("Content-Type", "")
            status = response.status
        except (OSError, http.client.HTTPException) as exc:
            raise FetchError(f"fetch failed: {exc}") from None
        finally:
            connection.close()
        if status >= 400:
            raise FetchError(f"{url} answered HTTP {status}")
        truncated = len(body) > limits.max_bytes
        charset = "utf-8"
        if "charset=" in content_type:
            charset = content_type.split("charset=", 1)[1].split(";")[0].strip() or "utf-8"
        try:
            text = body[: limits.max_bytes].decode(charset, errors="replace")
        except LookupError:
            text = body[: limits.max_bytes].decode("utf-8", errors="replace")
        if "html" in content_type.lower():
            text = html_to_text(text)
        if truncated or len(text) > limits.max_chars:
            text = text[: limits.max_chars] + "\n[truncated]"
        return text
    raise FetchError(f"more than {limits.max_redirects} redirects")
