"""A job's reading budget: how many pages and bytes its providers may still fetch.

One `ReadBudget` is made per job and handed to every provider (in `JobSources` and
`SourceQuery`); it also caches each page read so a URL found twice is fetched once per job.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ReadBudget:
    # Limits
    max_pages: int = 20
    max_bytes: int = 20 * 1024 * 1024
    # Counters
    pages: int = 0
    bytes: int = 0
    refused: int = 0  # pages not fetched because the budget was spent
    # Pages read (or being read) in this job, by canonical URL.
    cache: dict[str, asyncio.Future[Any]] = field(default_factory=dict)

    @property
    def bytes_left(self) -> int:
        return max(0, self.max_bytes - self.bytes)

    def reserve_page(self) -> bool:
        """Take one page from the budget; False (and counted) when it is spent."""
        if self.pages >= self.max_pages or self.bytes_left <= 0:
            self.refused += 1
            return False
        self.pages += 1
        return True

    def spend(self, size: int) -> None:
        self.bytes += size
