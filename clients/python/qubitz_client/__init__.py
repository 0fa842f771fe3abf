"""Async client for the qubitz WebSocket API."""

from qubitz_client.client import Backoff, JobStream, QubitzClient
from qubitz_client.errors import (
    AuthError,
    Cancelled,
    ConnectionLost,
    JobFailed,
    MessageTooLarge,
    Overloaded,
    QubitzClientError,
    TokenLimitExceeded,
    ValidationError,
)
from qubitz_client.events import Event

__all__ = [
    "AuthError",
    "Backoff",
    "Cancelled",
    "ConnectionLost",
    "Event",
    "JobFailed",
    "JobStream",
    "MessageTooLarge",
    "Overloaded",
    "QubitzClient",
    "QubitzClientError",
    "TokenLimitExceeded",
    "ValidationError",
]
