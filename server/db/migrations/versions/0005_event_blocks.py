"""event blocks: a job's events stored as runs of consecutive seqs, one row per flush

Revision ID: 0005
Revises: 0004

`job_events` (one row per event) becomes `job_event_blocks` (one row per job per event-log
flush, the events' texts one per line). Stored events are carried over as blocks of one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_event_blocks",
        sa.Column("job_id", sa.String(length=40), nullable=False),
        sa.Column("first_seq", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["jobs.id"],
            name=op.f("fk_job_event_blocks_job_id_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", "first_seq", name=op.f("pk_job_event_blocks")),
    )
    op.execute(
        "INSERT INTO job_event_blocks (job_id, first_seq, last_seq, payload) "
        "SELECT job_id, seq, seq, payload FROM job_events"
    )
    op.drop_table("job_events")


def downgrade() -> None:
    op.create_table(
        "job_events",
        sa.Column("job_id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_job_events_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("job_id", "seq", name=op.f("pk_job_events")),
    )
    conn = op.get_bind()
    blocks = conn.execute(
        sa.text(
            "SELECT job_id, first_seq, payload FROM job_event_blocks ORDER BY job_id, first_seq"
        )
    )
    rows = [
        {"job_id": job_id, "seq": first + offset, "payload": text}
        for job_id, first, payload in blocks
        for offset, text in enumerate(payload.split("\n"))
    ]
    if rows:
        conn.execute(
            sa.text(
                "INSERT INTO job_events (job_id, seq, payload) VALUES (:job_id, :seq, :payload) "
                "ON CONFLICT (job_id, seq) DO NOTHING"
            ),
            rows,
        )
    op.drop_table("job_event_blocks")
