"""Apply Alembic migrations (on start, or `qubitz db upgrade`).

Quiet when the schema is already at the newest revision (no Alembic output at all); one log line
naming the revisions when it changes something.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger("qubitz.db")
# Alembic logs at INFO even on import (plugin setup) and when there is nothing to do.
logging.getLogger("alembic").setLevel(logging.WARNING)


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def _heads(cfg: Config) -> set[str]:
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory.from_config(cfg).get_heads())


async def upgrade(engine: AsyncEngine) -> bool:
    """Bring the schema to the newest revision; True when a migration ran."""

    def _upgrade(sync_conn: Connection) -> bool:
        from alembic import command
        from alembic.runtime.migration import MigrationContext

        cfg = alembic_config(str(engine.url))
        current = set(MigrationContext.configure(sync_conn).get_current_heads())
        heads = _heads(cfg)
        if current == heads:
            return False
        cfg.attributes["connection"] = sync_conn
        command.upgrade(cfg, "head")
        log.info(
            "database migrated from %s to %s",
            ",".join(sorted(current)) or "an empty schema",
            ",".join(sorted(heads)),
        )
        return True

    async with engine.begin() as conn:
        return bool(await conn.run_sync(_upgrade))
