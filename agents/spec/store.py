"""The spec repository port: immutable, numbered versions per (workspace, project).

Every generate, update and rollback appends a version (1, 2, 3, ...); the latest is current. A
project's status is "deployed" when its current version is the one last marked deployed, else
"pending". Every method takes `workspace_id`; another workspace's projects do not exist for it
(same answer as a missing project, so nothing is revealed).

The SQL implementation is server/db/specs.py; tests may use it on SQLite in tmp_path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from agents.spec.schema import Architecture

SpecAction = Literal["generate", "update", "rollback"]
SpecStatus = Literal["pending", "deployed"]


@dataclass(frozen=True)
class SpecVersion:
    workspace_id: str
    project_id: str
    version: int
    created_at: datetime
    action: SpecAction
    instruction: str | None  # use case name / user_input / "rollback to version N"
    user_id: str
    spec_json: str  # canonical JSON (agents.spec.validation.canonical_json)
    deployed_version: int | None  # the project's deployed version, whichever this one is

    @property
    def status(self) -> SpecStatus:
        """ "deployed" when this very version is the one deployed, else "pending"."""
        return "deployed" if self.deployed_version == self.version else "pending"

    def spec_dict(self) -> dict[str, Any]:
        value = json.loads(self.spec_json)
        if not isinstance(value, dict):
            raise ValueError("stored spec is not a JSON object")
        return value

    def architecture(self) -> Architecture:
        return Architecture.model_validate(self.spec_dict())


class SpecStore(Protocol):
    async def append(
        self,
        workspace_id: str,
        project_id: str,
        *,
        user_id: str,
        action: SpecAction,
        instruction: str | None,
        spec_json: str,
        expected_latest: int | None = None,
    ) -> SpecVersion:
        """Store the next version (creating the project for this workspace if needed).

        With `expected_latest`, raise agents.errors.Conflict when the current version is no
        longer that number (someone else changed the spec meanwhile); 0 means "no version yet".
        """
        ...

    async def current(self, workspace_id: str, project_id: str) -> SpecVersion | None: ...

    async def get_version(
        self, workspace_id: str, project_id: str, version: int
    ) -> SpecVersion | None: ...

    async def history(self, workspace_id: str, project_id: str) -> list[SpecVersion]:
        """All versions, oldest first ([] when the project is unknown to this workspace)."""
        ...

    async def mark_deployed(self, workspace_id: str, project_id: str, version: int) -> None:
        """Record that `version` is now deployed; raise agents.errors.NotFound if it is not one."""
        ...
