"""Durable sinks for the event log: the database (always) and Redis Streams (several replicas)."""

from __future__ import annotations

from typing import Any

from server.db.jobs import JobRepository
from server.eventlog import Batch, JobEnd, LogEntry


class DatabaseSink:
    def __init__(self, jobs: JobRepository) -> None:
        self._jobs = jobs

    async def write(self, batch: Batch) -> None:
        # One idempotent transaction: a batch that failed (or half-failed) is simply rewritten.
        await self._jobs.write_batch(
            batch.created, [(j, e.seq, e.text) for j, e in batch.entries], batch.ends
        )

    async def load(self, job_id: str, since: int) -> tuple[list[LogEntry], JobEnd | None] | None:
        record = await self._jobs.get_any(job_id)
        if record is None:
            return None
        rows = await self._jobs.events(job_id, since)
        end = None
        if record.finished:
            end = JobEnd.stored(record.state, record.close_code, record.error)
        return [LogEntry(q, t) for q, t in rows], end


class RedisSink:
    """Each job is a stream `qubitz:job:<id>`.

    Entry ids are `<seq>-0`; the end marker is `<last seq>-1`, so ordering needs no extra field.
    """

    def __init__(
        self, redis: Any, *, ttl_seconds: int = 7 * 24 * 3600, prefix: str = "qubitz"
    ) -> None:
        self._redis = redis
        self._ttl = ttl_seconds
        self._prefix = prefix

    def _key(self, job_id: str) -> str:
        return f"{self._prefix}:job:{job_id}"

    async def write(self, batch: Batch) -> None:
        entries, ends = batch.entries, batch.ends
        if not entries and not ends:
            return
        pipe = self._redis.pipeline(transaction=False)
        touched: set[str] = set()
        last: dict[str, int] = {}
        for job_id, entry in entries:
            pipe.xadd(self._key(job_id), {"t": entry.text}, id=f"{entry.seq}-0")
            touched.add(job_id)
            last[job_id] = entry.seq
        for job_id, end in ends:
            seq = last.get(job_id)
            if seq is None:
                tail = await self._redis.xrevrange(self._key(job_id), count=1)
                seq = int(tail[0][0].decode().split("-")[0]) if tail else 0
            fields = {"end": end.state, "code": str(int(end.close_code)), "error": end.error or ""}
            pipe.xadd(self._key(job_id), fields, id=f"{seq}-1")
            touched.add(job_id)
        for job_id in touched:
            pipe.expire(self._key(job_id), self._ttl)
        await pipe.execute()

    async def load(self, job_id: str, since: int) -> tuple[list[LogEntry], JobEnd | None] | None:
        key = self._key(job_id)
        rows = await self._redis.xrange(key, min=f"({since}-0", max="+")
        if not rows and not await self._redis.exists(key):
            return None
        entries: list[LogEntry] = []
        end: JobEnd | None = None
        for raw_id, fields in rows:
            seq = int(raw_id.decode().split("-")[0])
            if b"end" in fields:
                end = JobEnd.stored(
                    fields[b"end"].decode(), int(fields[b"code"]), fields[b"error"].decode() or None
                )
            else:
                entries.append(LogEntry(seq, fields[b"t"].decode()))
        return entries, end

    async def publish_cancel(self, job_id: str) -> None:
        await self._redis.publish(f"{self._prefix}:cancel", job_id)
