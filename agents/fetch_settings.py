"""The `fetch` settings group: outbound fetches of untrusted URLs (company pages, report URLs).

Research, chat and spec take the policies built here (agents/netsafe.py enforces them).
"""

from __future__ import annotations

from agents.netsafe import FetchPolicy
from agents.report_loader import ReportSourcePolicy
from agents.settings_model import Csv, SettingsGroup, env


class FetchSettings(SettingsGroup):
    allow_private: bool = env("QUBITZ_FETCH_ALLOW_PRIVATE", default=False)  # development only
    max_bytes: int = env("QUBITZ_FETCH_MAX_BYTES", default=5 * 1024 * 1024, ge=1)
    timeout: float = env("QUBITZ_FETCH_TIMEOUT", default=20.0, gt=0)
    max_redirects: int = env("QUBITZ_FETCH_MAX_REDIRECTS", default=5, ge=0)
    # Hosts a report URL may be fetched from besides this service's own artifacts
    report_hosts: Csv = env("QUBITZ_REPORT_HOSTS", default=())

    def policy(self) -> FetchPolicy:
        return FetchPolicy(
            allow_private=self.allow_private,
            max_bytes=self.max_bytes,
            timeout=self.timeout,
            max_redirects=self.max_redirects,
        )

    def report_policy(self) -> ReportSourcePolicy:
        return ReportSourcePolicy(allowed_hosts=frozenset(self.report_hosts), fetch=self.policy())
