"""The search backends' exception tree (translated from httpx and HTTP statuses here only).

SourceError (agents.sources.base)
└── SearchError            a search API call failed; `provider` names the backend
    ├── SearchAuthError     401/403: the API key is missing, wrong or not allowed
    ├── SearchRateLimited   429 (and Tavily's plan limits); `retry_after` in seconds, if given
    ├── SearchUnavailable   5xx, connection failure, timeout
    └── SearchBadResponse   not JSON, not the documented shape, or another 4xx

The pipeline reports any of these as a status event and goes on with the other providers.
"""

from __future__ import annotations

from agents.sources.base import SourceError


class SearchError(SourceError):
    def __init__(self, provider: str, message: str) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider
        self.message = f"{provider}: {message}"


class SearchAuthError(SearchError):
    """The API refused the key (401/403)."""


class SearchRateLimited(SearchError):
    """The API asked us to slow down (429); `retry_after` seconds when it said so."""

    def __init__(self, provider: str, message: str, *, retry_after: float | None) -> None:
        super().__init__(provider, message)
        self.retry_after = retry_after


class SearchUnavailable(SearchError):
    """The API is down, overloaded or did not answer in time."""


class SearchBadResponse(SearchError):
    """The API answered with something that is not its documented format."""
