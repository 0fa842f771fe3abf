"""Token estimates used before a model has reported real numbers.

Deliberately on the high side (about 3 characters per token, where English averages ~4) so that
a prompt judged to fit the context window or the session budget really does.
"""

from __future__ import annotations

CHARS_PER_TOKEN = 3


def estimate_tokens(text: str) -> int:
    return len(text) // CHARS_PER_TOKEN + 1
