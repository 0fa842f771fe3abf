"""SSRF-safe fetching of user-supplied URLs.

`fetch_url(client, url, policy=...)` GETs a URL the way an untrusted caller may ask for it:

- only the schemes in `policy.allowed_schemes` (http, https by default);
- the host is resolved off the event loop and *every* address it resolves to must be public:
  private, loopback, link-local, multicast, reserved, unspecified, shared (CGNAT) and other
  non-global ranges are refused, for IPv4 and IPv6 alike, including IPv4 embedded in IPv6
  (IPv4-mapped, 6to4, Teredo, NAT64). `policy.allow_private` or an allow-listed host lifts this;
- the connection goes to the vetted IP itself (the URL's host is replaced by the address while
  the `Host` header and TLS SNI/certificate check keep the original name), so a second DNS answer
  cannot switch the target (DNS rebinding). Each pinned request asks for `Connection: close`
  so no connection bound to one name is left in the pool for another;
- redirects are followed by hand, at most `policy.max_redirects`, each hop vetted again;
- the body is streamed and abandoned past `policy.max_bytes` (decoded size: a compressed bomb is
  cut off too); the whole fetch, all hops included, must finish within `policy.timeout` seconds.

Errors (both `agents.errors.QubitzError`):

FetchBlocked (InvalidRequest)   the URL or an address it leads to is not allowed
FetchFailed (UpstreamError)     network failure, timeout, too large, too many redirects

Pass a client built for fetching (`trust_env=False`, no base URL, no auth): this module sets
`follow_redirects=False` per request and never adds credentials.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import Message

import httpx

from agents.errors import InvalidRequest, UpstreamError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class FetchBlocked(InvalidRequest):
    """The URL (or a redirect or address it leads to) is not allowed by the fetch policy."""

    code = "fetch_blocked"


class FetchFailed(UpstreamError):
    """The fetch was allowed but did not succeed (network, timeout, size, redirects)."""

    code = "fetch_failed"


@dataclass(frozen=True)
class FetchPolicy:
    # What may be fetched
    allowed_schemes: frozenset[str] = frozenset({"http", "https"})
    allow_private: bool = False
    # Hosts exempt from the address check ("name" exact, "*.name" any subdomain of name).
    allowed_hosts: frozenset[str] = frozenset()
    # Limits
    max_bytes: int = 10 * 1024 * 1024
    timeout: float = 20.0
    max_redirects: int = 5
    user_agent: str = "qubitz-fetch/0.1"
    accept: str = field(default="text/markdown, text/plain, text/html;q=0.9, */*;q=0.5")


@dataclass(frozen=True)
class FetchedDocument:
    url: str
    final_url: str
    status: int
    content_type: str
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def charset(self) -> str:
        msg = Message()
        msg["content-type"] = self.content_type or "application/octet-stream"
        return msg.get_content_charset() or "utf-8"

    @property
    def text(self) -> str:
        try:
            return self.body.decode(self.charset, errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")


def host_matches(host: str, patterns: Iterable[str]) -> bool:
    """True when `host` is one of `patterns` ("name" exact or "*.name" for subdomains)."""
    host = host.lower().rstrip(".")
    for pattern in patterns:
        p = pattern.lower().strip().rstrip(".")
        if not p:
            continue
        if p.startswith("*."):
            if host.endswith(p[1:]) and host != p[2:]:
                return True
        elif host == p:
            return True
    return False


def is_public_address(ip: IPAddress) -> bool:
    """False for every address a server-side fetch must not reach (see module docstring)."""
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
        if any(not is_public_address(v4) for v4 in embedded):
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


async def resolve(host: str, port: int) -> list[IPAddress]:
    """The addresses `host` resolves to (an IP literal is returned as is); resolved off-loop."""
    literal = _ip_literal(host)
    if literal is not None:
        return [literal]
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchFailed(f"cannot resolve host {host!r}: {exc}") from exc
    seen: list[IPAddress] = []
    for family, _type, _proto, _canon, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if ip not in seen:
            seen.append(ip)
    if not seen:
        raise FetchFailed(f"host {host!r} has no IPv4/IPv6 address")
    return seen


async def vet_url(url: httpx.URL, policy: FetchPolicy) -> list[IPAddress]:
    """Check scheme and host; return the addresses that may be connected to (never empty)."""
    scheme = url.scheme.lower()
    if scheme not in policy.allowed_schemes:
        raise FetchBlocked(f"URL scheme {scheme or '(none)'!r} is not allowed; use http or https")
    host = url.host
    if not host:
        raise FetchBlocked("URL has no host")
    port = url.port or (443 if scheme == "https" else 80)
    addresses = await resolve(host, port)
    if policy.allow_private or host_matches(host, policy.allowed_hosts):
        return addresses
    blocked = [ip for ip in addresses if not is_public_address(ip)]
    if blocked:
        raise FetchBlocked(
            f"host {host!r} resolves to a non-public address ({blocked[0]}); "
            "private, loopback, link-local and reserved addresses are not fetched"
        )
    return addresses


async def fetch_url(client: httpx.AsyncClient, url: str, *, policy: FetchPolicy) -> FetchedDocument:
    """GET `url` under `policy` (see module docstring). Any final status is returned as is."""
    try:
        start = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise FetchBlocked(f"not a valid URL: {exc}") from exc
    try:
        async with asyncio.timeout(policy.timeout):
            return await _follow(client, url, start, policy)
    except TimeoutError as exc:
        raise FetchFailed(f"fetching {url} took longer than {policy.timeout:g} s") from exc


async def _follow(
    client: httpx.AsyncClient, original: str, current: httpx.URL, policy: FetchPolicy
) -> FetchedDocument:
    for _hop in range(policy.max_redirects + 1):
        addresses = await vet_url(current, policy)
        response = await _open(client, current, addresses, policy)
        try:
            if response.status_code in _REDIRECTS:
                location = response.headers.get("location")
                if not location:
                    raise FetchFailed(f"redirect from {current} without a Location header")
                try:
                    current = current.join(location)
                except httpx.InvalidURL as exc:
                    raise FetchBlocked(f"redirect to an invalid URL: {exc}") from exc
                continue
            body = await _read_limited(response, policy.max_bytes, current)
            return FetchedDocument(
                url=original,
                final_url=str(current),
                status=response.status_code,
                content_type=response.headers.get("content-type", ""),
                body=body,
            )
        finally:
            await response.aclose()
    raise FetchFailed(f"more than {policy.max_redirects} redirects fetching {original}")


async def _open(
    client: httpx.AsyncClient, url: httpx.URL, addresses: list[IPAddress], policy: FetchPolicy
) -> httpx.Response:
    """Send the GET to the first vetted address that accepts a connection."""
    host = url.host
    headers = {
        "Host": url.netloc.decode("ascii"),
        "User-Agent": policy.user_agent,
        "Accept": policy.accept,
        "Connection": "close",
    }
    extensions = {"sni_hostname": host} if url.scheme == "https" else {}
    last: Exception | None = None
    for ip in addresses:
        pinned = url.copy_with(host=str(ip))
        request = client.build_request(
            "GET", pinned, headers=headers, extensions=extensions, timeout=policy.timeout
        )
        try:
            return await client.send(request, stream=True, follow_redirects=False)
        except httpx.ConnectError as exc:
            last = exc
            continue
        except httpx.TimeoutException as exc:
            raise FetchFailed(f"timed out fetching {url}") from exc
        except httpx.HTTPError as exc:
            raise FetchFailed(f"fetching {url} failed: {type(exc).__name__}: {exc}") from exc
    raise FetchFailed(f"cannot connect to {host}: {last}")


async def _read_limited(response: httpx.Response, max_bytes: int, url: httpx.URL) -> bytes:
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise FetchFailed(f"{url} is {declared} bytes, more than the {max_bytes}-byte limit")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise FetchFailed(f"{url} is larger than the {max_bytes}-byte limit")
            chunks.append(chunk)
    except httpx.TimeoutException as exc:
        raise FetchFailed(f"timed out reading {url}") from exc
    except httpx.HTTPError as exc:
        raise FetchFailed(f"reading {url} failed: {type(exc).__name__}: {exc}") from exc
    return b"".join(chunks)


def _ip_literal(host: str) -> IPAddress | None:
    try:
        # "127.0.0.1." is the same address as "127.0.0.1" to many resolvers
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0].rstrip("."))
    except ValueError:
        return None
