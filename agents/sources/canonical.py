"""Canonical URLs and near-duplicate detection, so one page is one source.

`canonical_url` lower-cases scheme and host, drops default ports, fragments, tracking
parameters and a trailing slash, and sorts the query. `dedupe_key` also folds `www.`.
`near_duplicate` compares word 5-shingles (Jaccard similarity ≥ `threshold`).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "hsa_")
_TRACKING = frozenset({"gclid", "fbclid", "msclkid", "yclid", "dclid", "igshid", "ref", "ref_src"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def canonical_url(url: str) -> str:
    """`url` in one spelling per page (unparsable input is returned stripped)."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if not scheme or not host:
        return url
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc += f":{port}"
    path = re.sub(r"/{2,}", "/", parts.path or "/")
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/")
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith(_TRACKING_PREFIXES) and k.lower() not in _TRACKING
    ]
    return urlunsplit((scheme, netloc, path, urlencode(sorted(query)), ""))


def dedupe_key(url: str) -> str:
    """The canonical URL with `www.` removed and http/https folded (for duplicate checks)."""
    canon = canonical_url(url)
    parts = urlsplit(canon)
    host = parts.netloc.removeprefix("www.")
    return urlunsplit(("https" if parts.scheme in ("http", "https") else parts.scheme, host,
                       parts.path, parts.query, ""))  # fmt: skip


def site_of(url: str) -> str:
    """The host of `url` without `www.` ('' when it has none)."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.removeprefix("www.")


def same_site(url: str, other: str) -> bool:
    a, b = site_of(url), site_of(other)
    return bool(a) and (a == b or a.endswith("." + b) or b.endswith("." + a))


def shingles(text: str, *, size: int = 5, max_words: int = 3000) -> frozenset[int]:
    words = _WORD.findall(text.lower())[:max_words]
    if len(words) < size:
        return frozenset({hash(" ".join(words))}) if words else frozenset()
    return frozenset(hash(" ".join(words[i : i + size])) for i in range(len(words) - size + 1))


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def near_duplicate(a: str, b: str, *, threshold: float = 0.8) -> bool:
    return jaccard(shingles(a), shingles(b)) >= threshold
