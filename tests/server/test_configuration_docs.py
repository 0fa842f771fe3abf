"""docs/configuration.md lists every environment variable the service reads."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    "server/settings.py",
    "agents/llm/config.py",
    "server/cli_client.py",
    "server/durable/settings.py",
]


def test_every_variable_is_documented() -> None:
    doc = (ROOT / "docs/configuration.md").read_text()
    read: set[str] = set()
    for source in SOURCES:
        read |= set(re.findall(r'"(QUBITZ_[A-Z0-9_]*[A-Z0-9])"', (ROOT / source).read_text()))
    missing = sorted(v for v in read if f"`{v}" not in doc)
    assert not missing, f"undocumented: {missing}"
    assert len(read) > 60
