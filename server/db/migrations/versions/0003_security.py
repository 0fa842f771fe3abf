"""security: aggregated key audit rows, revocation poll index, per-workspace daily token usage

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_key_audit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("count", sa.Integer(), server_default="1", nullable=False))
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_keys_revoked_at"), ["revoked_at"], unique=False)
    op.create_table(
        "workspace_token_usage",
        sa.Column("workspace_id", sa.String(length=200), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("tokens", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "day", name=op.f("pk_workspace_token_usage")),
    )


def downgrade() -> None:
    op.drop_table("workspace_token_usage")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_revoked_at"))
    with op.batch_alter_table("api_key_audit", schema=None) as batch_op:
        batch_op.drop_column("count")
