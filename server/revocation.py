"""Key revocation reaches every replica within a second and closes the key's open sockets.

Three paths lead to `RevocationHub.revoked(key_id)` on each replica:

- in process: `KeyService.revoke` on this replica calls it at once;
- Redis pub/sub (when Redis is configured): the revoking replica publishes the key id on
  `<prefix>:revoked`; every replica's subscriber hears it within milliseconds;
- the database: every replica polls `api_keys.revoked_at` every `poll_interval` seconds
  (default 0.5 s), which also covers `qubitz keys revoke` run from the CLI and deployments
  without Redis.

`revoked` drops the key from the authentication cache and calls every watcher registered for
that key: each open socket authenticated with it then sends its error event and closes
POLICY_VIOLATION.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from server.db.base import utcnow
from server.db.keys import KeyRepository

log = logging.getLogger("qubitz.revocation")

Watcher = Callable[[], None]


class RevocationHub:
    def __init__(
        self,
        repo: KeyRepository,
        *,
        forget: Callable[[str], None],
        redis: Any = None,
        channel: str = "qubitz:revoked",
        poll_interval: float = 0.5,
    ) -> None:
        self._repo = repo
        self._forget = forget
        self._redis = redis
        self._channel = channel
        self._poll_interval = poll_interval
        self._watchers: dict[str, set[Watcher]] = {}
        self._seen: dict[str, datetime] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._since = utcnow() - timedelta(seconds=5)

    # -- sockets -----------------------------------------------------------------------------

    def watch(self, key_id: str, watcher: Watcher) -> Callable[[], None]:
        """Call `watcher` when `key_id` is revoked; returns the function that stops watching."""
        self._watchers.setdefault(key_id, set()).add(watcher)

        def unwatch() -> None:
            watchers = self._watchers.get(key_id)
            if watchers is not None:
                watchers.discard(watcher)
                if not watchers:
                    del self._watchers[key_id]

        return unwatch

    def watching(self, key_id: str) -> int:
        return len(self._watchers.get(key_id, ()))

    # -- events ------------------------------------------------------------------------------

    def revoked(self, key_id: str) -> None:
        """`key_id` is revoked (heard from any path): forget it and close its sockets."""
        self._forget(key_id)
        for watcher in list(self._watchers.get(key_id, ())):
            watcher()

    async def announce(self, key_id: str) -> None:
        """This replica revoked `key_id`: act here, and tell the others over Redis."""
        self.revoked(key_id)
        if self._redis is not None:
            try:
                await self._redis.publish(self._channel, key_id)
            except Exception:  # the database poll still reaches the other replicas
                log.warning("could not publish the revocation of %s on Redis", key_id)

    # -- background --------------------------------------------------------------------------

    async def start(self) -> None:
        self._since = utcnow() - timedelta(seconds=5)
        self._tasks.append(asyncio.create_task(self._poll(), name="revocation-poll"))
        if self._redis is not None:
            pubsub = self._redis.pubsub()
            await pubsub.subscribe(self._channel)
            self._tasks.append(asyncio.create_task(self._listen(pubsub), name="revocation-sub"))

    async def poll_once(self) -> None:
        rows = await self._repo.revoked_since(self._since)
        for key_id, at in rows:
            if key_id in self._seen:
                continue
            self._seen[key_id] = at
            self.revoked(key_id)
        if rows:
            newest = max(at for _, at in rows)
            # Clocks of replicas differ a little: look back 2 s, the `seen` set deduplicates.
            self._since = max(self._since, newest - timedelta(seconds=2))
            horizon = self._since - timedelta(seconds=60)
            self._seen = {k: at for k, at in self._seen.items() if at >= horizon}

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._poll_interval)
            try:
                await self.poll_once()
            except Exception:
                log.warning("revocation poll failed; retrying", exc_info=True)

    async def _listen(self, pubsub: Any) -> None:
        try:
            while True:
                try:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                except Exception:  # Redis away: the database poll covers until it is back
                    log.warning("revocation subscriber lost Redis; retrying", exc_info=True)
                    await asyncio.sleep(1.0)
                    continue
                if message is None:
                    continue
                data = message.get("data")
                key_id = data.decode() if isinstance(data, bytes) else str(data)
                self.revoked(key_id)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
