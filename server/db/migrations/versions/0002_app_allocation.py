"""app id allocation: the apps table

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 11:30:00

Backfills one row per existing deployment. Deployments whose app id collided with an earlier
workspace's (the old name rule was a 24-bit hash) keep the earlier owner; the later one gets a
fresh id, so its next deploy publishes a new repository and route.
"""

from __future__ import annotations

import secrets
import string

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ALPHABET = string.ascii_lowercase + string.digits


def upgrade() -> None:
    op.create_table(
        "apps",
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("workspace_id", sa.String(length=200), nullable=False),
        sa.Column("project_id", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("app_id", name=op.f("pk_apps")),
        sa.UniqueConstraint("workspace_id", "project_id", name="apps_workspace_project"),
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT id, workspace_id, project_id, app_id, created_at FROM deployments "
            "ORDER BY created_at, id"
        )
    ).fetchall()
    taken: set[str] = set()
    for dep_id, workspace_id, project_id, app_id, created_at in rows:
        if app_id in taken:
            stem = app_id.rsplit("-", 1)[0][:32].rstrip("-") or "app"
            while app_id in taken:
                app_id = f"{stem}-{''.join(secrets.choice(_ALPHABET) for _ in range(8))}"
            conn.execute(
                sa.text("UPDATE deployments SET app_id = :app, status = 'failed' WHERE id = :id"),
                {"app": app_id, "id": dep_id},
            )
        taken.add(app_id)
        conn.execute(
            sa.text(
                "INSERT INTO apps (app_id, workspace_id, project_id, created_at) "
                "VALUES (:app, :ws, :project, :at)"
            ),
            {"app": app_id, "ws": workspace_id, "project": project_id, "at": created_at},
        )


def downgrade() -> None:
    op.drop_table("apps")
