"""WebSocket close codes of the protocol: the only place they are numbers.

Each member's description is what the AsyncAPI document (server/asyncapi.py) and docs/protocol.md
say about it. Which failure ends in which code is decided in one place, server/failures.py.
"""

from __future__ import annotations

from enum import IntEnum


class CloseCode(IntEnum):
    description: str

    def __new__(cls, value: int, description: str = "") -> CloseCode:
        member = int.__new__(cls, value)
        member._value_ = value
        member.description = description
        return member

    NORMAL = 1000, "job finished (after its terminal event, its own error event included)"
    GOING_AWAY = 1001, "server going away; reconnect with job_id and since to resume"
    INVALID_PAYLOAD = 1007, "payload is not JSON, fails validation, or names an unknown job"
    POLICY_VIOLATION = 1008, "api_key missing, invalid, revoked, or lacking the endpoint's scope"
    MESSAGE_TOO_BIG = 1009, "message larger than the configured limit"
    INTERNAL_ERROR = 1011, "internal error (details in the server log, not the event)"
    TRY_AGAIN_LATER = 1013, "server overloaded or per-key connection rate exceeded"
