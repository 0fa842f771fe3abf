"""Key lookups for the gateway, cached in memory (implements agents.appkeys.ports.KeyCache).

Positive lookups are cached for `ttl` seconds. Deleting a key through the pipeline calls
`invalidate`, so in this process a deleted key stops working at once; other replicas stop
within `ttl`. An epoch counter keeps a lookup that raced with an invalidation from re-caching
the key it read before the delete.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from agents.appkeys.ports import ActiveKey, AppKeyRepository
from server.gateway.ratelimit import BucketRegistry


class GatewayKeyCache:
    def __init__(
        self,
        repo: AppKeyRepository,
        buckets: BucketRegistry,
        *,
        ttl: float = 5.0,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._repo = repo
        self._buckets = buckets
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._entries: dict[str, tuple[ActiveKey, float]] = {}
        self._epoch = 0

    async def lookup(self, workspace_id: str, project_id: str, key_hash: str) -> ActiveKey | None:
        now = self._clock()
        hit = self._entries.get(key_hash)
        if hit is not None and hit[1] > now:
            key = hit[0].key
            if key.workspace_id == workspace_id and key.project_id == project_id:
                return hit[0]
            return None
        epoch = self._epoch
        found = await self._repo.find_active_key(workspace_id, project_id, key_hash)
        if found is not None and epoch == self._epoch and self._ttl > 0:
            if len(self._entries) >= self._max:
                self._entries.clear()
            self._entries[key_hash] = (found, now + self._ttl)
        elif found is None:
            self._entries.pop(key_hash, None)
        return found

    def invalidate(self, key_hash: str) -> None:
        self._epoch += 1
        entry = self._entries.pop(key_hash, None)
        if entry is not None:
            self._buckets.forget(entry[0].key.key_id)
