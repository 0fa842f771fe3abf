"""Settings of durable jobs, read once from the service's environment (docs/configuration.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from server.durable.engine import Limits
from server.settings import SettingsError, _float, _int


def _optional_int(env: Mapping[str, str], name: str) -> int | None:
    if not env.get(name):
        return None
    value = _int(env, name, 0)
    if value < 1:
        raise SettingsError(f"{name} must be at least 1, got {value}")
    return value


@dataclass(frozen=True)
class JobSettings:
    failover_seconds: float = 30.0
    cancel_poll_seconds: float = 0.5
    retention_days: float = 7.0
    limits: Limits = field(default_factory=Limits)

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, worker_cap: int) -> JobSettings:
        return cls(
            failover_seconds=_float(env, "QUBITZ_FAILOVER_SECONDS", 30.0),
            cancel_poll_seconds=_float(env, "QUBITZ_JOB_CANCEL_POLL_SECONDS", 0.5),
            retention_days=_float(env, "QUBITZ_JOB_RETENTION_DAYS", 7.0),
            limits=Limits(
                global_cap=_optional_int(env, "QUBITZ_JOB_GLOBAL_CAP"),
                workspace_quota=_optional_int(env, "QUBITZ_JOB_WORKSPACE_QUOTA"),
                worker_cap=worker_cap,
                replica_workspace_cap=_optional_int(env, "QUBITZ_JOB_WORKSPACE_RUNNING") or 16,
                queue_max=_int(env, "QUBITZ_JOB_QUEUE_MAX", 100),
                poll_seconds=_float(env, "QUBITZ_JOB_QUEUE_POLL_SECONDS", 0.1),
            ),
        )
