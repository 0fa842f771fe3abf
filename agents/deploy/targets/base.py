"""Ports of the deploy pipeline: the target, the gateway router, and the deployment store.

Exception tree (all are `agents.errors.QubitzError`, so the runner maps them to error events):

DeployError (PipelineFailed, code "deploy_failed")   a target step failed; `step` names it
├── TargetUnavailable (code "target_unavailable")     the target's service refused or is missing
└── AppIdTaken (code "app_id_taken")                  an app id belongs to another project
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol

from agents.deploy.progress import Progress
from agents.errors import PipelineFailed

DeploymentStatus = Literal["deploying", "deployed", "failed", "destroying", "destroyed"]


class DeployError(PipelineFailed):
    code = "deploy_failed"


class TargetUnavailable(DeployError):
    code = "target_unavailable"


class AppIdTaken(DeployError):
    code = "app_id_taken"

    def __init__(self, app_id: str) -> None:
        super().__init__(f"app id {app_id!r} belongs to another project", step="allocate")
        self.app_id = app_id


@dataclass(frozen=True)
class AppOwner:
    workspace_id: str
    project_id: str


@dataclass(frozen=True)
class DeployJob:
    """Who and what is being deployed; built by the pipeline from the request."""

    workspace_id: str
    project_id: str
    app_name: str
    spec_version: int
    github_username: str | None = None
    description: str = ""

    @property
    def app_id(self) -> str:
        return self.app_name


@dataclass(frozen=True)
class PublishResult:
    """Where the code went: a URL the user can clone, and the revision that was pushed."""

    repo_url: str
    revision: str
    display_name: str = ""  # "owner/repo" for messages; the path for the local target
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AppEndpoint:
    """The live endpoint; `usage_plan_id` is the AWS usage plan the app's API keys join."""

    url: str
    usage_plan_id: str | None = None


class DeployTarget(Protocol):
    """publish → dispatch → run (progress) → endpoint; destroy tears an app down.

    Each may run again after a failover (the deploy pipeline's durable steps): publish of the
    files already at the branch head returns that revision; run of a dispatched result follows
    the run that dispatch started.
    """

    name: str

    async def publish(self, job: DeployJob, repo_dir: Path) -> PublishResult:
        """Commit every file under `repo_dir` as one commit (none when the branch head has
        exactly these files and message); return the clone URL and the revision."""
        ...

    async def dispatch(self, job: DeployJob, published: PublishResult) -> PublishResult:
        """Start the deploy workflow of `published`; the result names the run for `run`."""
        ...

    def run(self, job: DeployJob, published: PublishResult) -> AsyncIterator[Progress]:
        """Run (or follow the dispatched run of) the deploy workflow for `published`, yielding
        progress; raises DeployError."""
        ...

    async def endpoint(self, job: DeployJob, published: PublishResult) -> AppEndpoint:
        """The live agent endpoint once `run` has finished."""
        ...

    def destroy(self, job: DeployJob, record: DeploymentRecord) -> AsyncIterator[Progress]:
        """Tear the app down, yielding progress; raises DeployError."""
        ...


class AppRouter(Protocol):
    """The local gateway's routing table (implemented by server/gateway.py).

    `register` replaces any previous upstream of `app_id` atomically: requests already sent to
    the old upstream finish there, new ones go to the new upstream.
    """

    async def register(
        self, app_id: str, upstream_url: str, workspace_id: str, project_id: str
    ) -> None: ...

    async def unregister(self, app_id: str) -> None: ...


@dataclass(frozen=True)
class DeploymentRecord:
    workspace_id: str
    project_id: str
    app_id: str
    target: str
    status: DeploymentStatus
    repo_url: str | None = None
    endpoint: str | None = None
    spec_version: int | None = None
    revision: str | None = None
    usage_plan_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class DeploymentStore(Protocol):
    """One row per (workspace, project); every call is scoped to its workspace.

    App ids are allocated by the store under a unique constraint: `allocate_app` returns the
    project's id (the same one every time), and `save` raises AppIdTaken for an id allocated to
    any other (workspace, project).
    """

    async def allocate_app(self, workspace_id: str, project_id: str) -> str: ...

    async def app_owner(self, app_id: str) -> AppOwner | None: ...

    async def get(self, workspace_id: str, project_id: str) -> DeploymentRecord | None: ...

    async def get_deployed(self, workspace_id: str, project_id: str) -> DeploymentRecord | None:
        """The record when the project's app is live (status "deployed"), else None."""
        ...

    async def save(self, record: DeploymentRecord) -> DeploymentRecord:
        """Insert or update the (workspace, project) row; returns it with timestamps."""
        ...

    async def list_deployed(self, *, target: str) -> list[DeploymentRecord]:
        """Every live deployment on `target`, across workspaces: for restoring apps at start."""
        ...


_SLUG = re.compile(r"[^a-z0-9]+")
_SUFFIX_ALPHABET = string.ascii_lowercase + string.digits
SUFFIX_LENGTH = 8  # 36**8 ≈ 2.8e12; uniqueness itself comes from the database constraint


def new_app_id(project_id: str) -> str:
    """A fresh candidate app id: the project's slug plus a random suffix (never derived alone).

    Matches the renderer's rule (a lowercase letter, then 2-40 of [a-z0-9-]). The store inserts
    it under a unique constraint and draws again on a clash.
    """
    slug = _SLUG.sub("-", project_id.lower()).strip("-")
    if not slug[:1].isalpha():
        slug = f"app-{slug}".rstrip("-")
    slug = slug[:32].rstrip("-")
    suffix = "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(SUFFIX_LENGTH))
    return f"{slug}-{suffix}"
