"""Tenant identifiers: the one place that says what a workspace id is and who owns a key.

A workspace id is `[a-z0-9][a-z0-9-]{0,62}`: lowercase letters, digits and hyphens, at most 63
characters, starting with a letter or digit. It never contains `/`, `.` or `_`, so it is a
single path segment, a single folder name, a DNS label and a valid artifact key segment; two
different ids can never map to the same folder or prefix. Ids are checked when a key is minted
(server/auth.py) and when a key is used, and compared exactly everywhere.
"""

from __future__ import annotations

import re

WORKSPACE_ID_PATTERN = r"[a-z0-9][a-z0-9-]{0,62}"
_WORKSPACE_ID = re.compile(WORKSPACE_ID_PATTERN)


class InvalidWorkspaceId(ValueError):
    """A workspace id outside WORKSPACE_ID_PATTERN."""


def is_workspace_id(value: object) -> bool:
    return isinstance(value, str) and _WORKSPACE_ID.fullmatch(value) is not None


def validate_workspace_id(value: str) -> str:
    if not is_workspace_id(value):
        raise InvalidWorkspaceId(
            f"invalid workspace id {value[:80]!r}: use 1-63 lowercase letters, digits and "
            "hyphens, starting with a letter or digit"
        )
    return value


def owns_key(key: str, workspace_id: str) -> bool:
    """True when artifact `key` (`<workspace>/<...>`) belongs to `workspace_id`, exactly.

    An invalid workspace id owns nothing (so a legacy id like `a/b` can never claim the keys
    of workspace `a`, nor `a` those of `a/b`).
    """
    if not is_workspace_id(workspace_id):
        return False
    head, sep, rest = key.partition("/")
    return bool(sep) and bool(rest) and head == workspace_id
