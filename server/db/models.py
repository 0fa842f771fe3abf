"""Imports every table module so `metadata` is complete (for Alembic and create_all)."""

from __future__ import annotations

import importlib
import pkgutil

import server.db as _db_pkg
from server.db.base import Base

_SKIP = {"base", "models", "migrate"}

for _mod in pkgutil.iter_modules(_db_pkg.__path__):
    if _mod.name not in _SKIP and not _mod.ispkg:
        importlib.import_module(f"server.db.{_mod.name}")

metadata = Base.metadata
