"""The `jobs` settings group: durable jobs, failover, queues, retention (docs/configuration.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agents.settings_model import SettingsGroup, env

if TYPE_CHECKING:  # the engine (DBOS) loads only when the service starts, not for every command
    from server.durable.engine import Limits


class JobSettings(SettingsGroup):
    # jobs per process; with a queue, the jobs a replica takes from it at once
    max_running: int = env("QUBITZ_MAX_RUNNING_JOBS", default=64, ge=1)
    failover_seconds: float = env("QUBITZ_FAILOVER_SECONDS", default=30.0, gt=0)
    cancel_poll_seconds: float = env("QUBITZ_JOB_CANCEL_POLL_SECONDS", default=0.5, gt=0)
    retention_days: float = env("QUBITZ_JOB_RETENTION_DAYS", default=7.0, gt=0)
    # Cross-replica limits (either one set: jobs over it wait in the queue)
    global_cap: int | None = env("QUBITZ_JOB_GLOBAL_CAP", ge=1)
    workspace_quota: int | None = env("QUBITZ_JOB_WORKSPACE_QUOTA", ge=1)
    workspace_running: int = env("QUBITZ_JOB_WORKSPACE_RUNNING", default=16, ge=1)
    queue_max: int = env("QUBITZ_JOB_QUEUE_MAX", default=100, ge=0)
    queue_poll_seconds: float = env("QUBITZ_JOB_QUEUE_POLL_SECONDS", default=0.1, gt=0)

    @property
    def limits(self) -> Limits:
        from server.durable.engine import Limits

        return Limits(
            global_cap=self.global_cap,
            workspace_quota=self.workspace_quota,
            worker_cap=self.max_running,
            replica_workspace_cap=self.workspace_running,
            queue_max=self.queue_max,
            poll_seconds=self.queue_poll_seconds,
        )
