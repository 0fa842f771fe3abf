"""docs/configuration.md lists every variable the settings groups declare, and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

from server.settings import variables

ROOT = Path(__file__).resolve().parents[2]
CLIENT_SIDE = {"QUBITZ_URL", "QUBITZ_API_KEY", "QUBITZ_USER_ID"}  # server/cli_follow.py
# Read by the environment of the process rather than by qubitz (PATH: for deploys' tools).
NOT_LISTED = {"PATH"}
# OpenTelemetry's own variables: server/tracing.py switches on them, the SDK reads the rest
# (server/otel.py); they reach it through Settings.env, not through a settings group.
OPENTELEMETRY = {
    "OTEL_EXPORTER_OTLP_ENDPOINT": "server/tracing.py",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "server/tracing.py",
    "OTEL_SDK_DISABLED": "server/tracing.py",
    "OTEL_SERVICE_NAME": "server/otel.py",
}


def documented(*, column: int | None = 1) -> set[str]:
    """Names in the tables' first column (None: in any column, e.g. fallbacks like AWS_REGION)."""
    doc = (ROOT / "docs/configuration.md").read_text()
    rows = [line for line in doc.splitlines() if line.startswith("| `")]
    cells = [row if column is None else row.split("|")[column] for row in rows]
    return {name for cell in cells for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", cell)}


def test_every_variable_is_documented() -> None:
    read = set(variables()) - NOT_LISTED
    listed = documented(column=None)
    per_role = {v for v in read if re.fullmatch(r"QUBITZ_(LLM|MODEL)_[A-Z]+", v)}
    depths = {v for v in read if v.startswith("QUBITZ_RESEARCH_DEPTH_")}
    missing = sorted(read - listed - per_role - depths)
    assert not missing, f"undocumented: {missing}"
    assert "`QUBITZ_LLM_<ROLE>`" in (ROOT / "docs/configuration.md").read_text()
    assert len(read) > 60


def test_every_documented_variable_is_read() -> None:
    stale = sorted(documented() - set(variables()) - CLIENT_SIDE - set(OPENTELEMETRY))
    assert not stale, f"documented but not read by any settings group: {stale}"
    client = (ROOT / "server/cli_follow.py").read_text()
    assert all(f'"{name}"' in client for name in CLIENT_SIDE)
    for name, module in OPENTELEMETRY.items():
        assert name in (ROOT / module).read_text(), f"{module} no longer names {name}"
