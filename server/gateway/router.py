"""The local gateway's routing table: app id -> upstream (implements the deploy area's AppRouter).

`register` replaces an app's route in one dict assignment. A request resolves its route once,
when it arrives, and keeps that snapshot (and the shared HTTP client) until it ends, so requests
already on the old upstream finish there while new ones go to the new upstream.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AppRoute:
    app_id: str
    upstream_url: str
    workspace_id: str
    project_id: str


class LocalAppRouter:
    def __init__(self) -> None:
        self._routes: dict[str, AppRoute] = {}

    async def register(
        self, app_id: str, upstream_url: str, workspace_id: str, project_id: str
    ) -> None:
        self._routes[app_id] = AppRoute(
            app_id=app_id,
            upstream_url=upstream_url.rstrip("/"),
            workspace_id=workspace_id,
            project_id=project_id,
        )

    async def unregister(self, app_id: str) -> None:
        self._routes.pop(app_id, None)

    def resolve(self, app_id: str) -> AppRoute | None:
        return self._routes.get(app_id)

    def apps(self) -> list[AppRoute]:
        return list(self._routes.values())
