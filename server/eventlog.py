"""Per-job event logs: seq numbering, live fan-out to sockets, durable persistence.

`EventLog.append` is synchronous: it numbers the event, serialises it once (with `job_id` and
`seq`) and queues the entry for the durable sinks (database, and Redis Streams when several
replicas share work). A background flusher writes queued entries in batches (group commit: the
next batch is whatever arrived while the previous one was written). An entry becomes visible to
subscribers only once every sink has it ("committed"), so a client never sees an event that a
replica dying a moment later would lose: after a failover, the job continues from the last
committed seq and no client holds a seq the log does not have.

Subscribers read from memory; a job that is no longer in memory (finished long ago, or running
on another replica) is loaded from the durable sink and, while it runs elsewhere, followed by
polling it. A follower gives up when the job's engine says it is no longer alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import orjson

from agents.errors import InternalError, JobLost
from agents.protocol import Event, event_to_dict
from server.failures import JobEnd as JobEnd
from server.failures import outcome
from server.secretmask import SECRET_EVENT_TYPES, masked_for_storage

log = logging.getLogger("qubitz.eventlog")


class LogEntry(NamedTuple):  # a tuple: built once per event, at a third of a dataclass's cost
    seq: int
    text: str  # the event as stored and replayed: JSON with job_id and seq (secrets masked)
    live: str | None = None  # in memory only: the unmasked text for sockets subscribed live
    appended: float | None = None  # in memory only: time.monotonic() of the append (send lag)


# LogEntry(seq, text, live, appended) without NamedTuple's Python-level __new__ (a third of
# the entry's cost): tuple.__new__ of the class and the four fields, in order.
_new_entry: Callable[[type[LogEntry], tuple[int, str, str | None, float | None]], LogEntry] = (
    tuple.__new__
)


class Keepalive:
    """Returned by `Subscription.next` when the scheduler found the socket quiet."""


KEEPALIVE = Keepalive()


@dataclass(eq=False)
class JobStream:
    job_id: str
    entries: list[LogEntry] = field(default_factory=list)
    end: JobEnd | None = None  # committed end (what subscribers see)
    waiters: set[asyncio.Future[Keepalive | None]] = field(default_factory=set)
    finished_at: float | None = None
    committed: int = 0  # entries[:committed] are in every sink, and visible
    closing: JobEnd | None = None  # end appended here, not yet committed
    follower: asyncio.Task[None] | None = None  # set while the job runs elsewhere
    # what follows an event's own fields in its stored JSON: `,"job_id":"…","seq":` (+ seq})
    tail: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.tail = ',"job_id":' + orjson.dumps(self.job_id).decode() + ',"seq":'

    @property
    def ended(self) -> bool:
        return self.end is not None or self.closing is not None

    def wake(self) -> None:
        for fut in self.waiters:
            if not fut.done():
                fut.set_result(None)
        self.waiters.clear()


@dataclass(frozen=True, slots=True)
class JobMeta:
    job_id: str
    workspace_id: str
    endpoint: str
    owner: str
    idempotency_key: str | None = None


@dataclass
class Batch:
    """What one flush hands to a sink: new jobs first, then events, then ends."""

    created: list[JobMeta] = field(default_factory=list)
    entries: list[tuple[str, LogEntry]] = field(default_factory=list)
    ends: list[tuple[str, JobEnd]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.created or self.entries or self.ends)

    def extend(self, other: Batch) -> None:
        self.created += other.created
        self.entries += other.entries
        self.ends += other.ends


class DurableSink(Protocol):
    """Where entries go to survive the process (database, Redis Streams)."""

    async def write(self, batch: Batch) -> None: ...

    async def load(
        self, job_id: str, since: int
    ) -> tuple[list[LogEntry], JobEnd | None] | None: ...


class Subscription:
    """One socket's position in one job's log."""

    __slots__ = (
        "_current",
        "_live_from",
        "_log",
        "cursor",
        "job_id",
        "last_activity",
        "last_event",
    )

    def __init__(self, log: EventLog, job_id: str, since: int, live_from: int = 0) -> None:
        self._log = log
        self.job_id = job_id
        self.cursor = since
        self._live_from = live_from  # entries from this index on happened while subscribed
        self._current: asyncio.Future[Keepalive | None] | None = None
        # last_activity: an event or a keepalive went out (keepalive pacing);
        # last_event: a job event went out (the idle timeout; keepalives do not count).
        self.last_activity = self.last_event = time.monotonic()

    async def next(self) -> list[LogEntry] | JobEnd | Keepalive:
        while True:
            stream = await self._log.stream(self.job_id)
            if stream is None:
                return outcome(InternalError("The job's log is gone.", code="job_log_gone")).end
            if self.cursor < stream.committed:
                start = self.cursor
                batch = [
                    LogEntry(e.seq, e.live, appended=e.appended)
                    if e.live is not None and start + i >= self._live_from
                    else e
                    for i, e in enumerate(stream.entries[start : stream.committed])
                ]  # fmt: skip
                self.cursor = stream.committed
                self.last_activity = self.last_event = time.monotonic()
                return batch
            if stream.end is not None:
                return stream.end
            fut: asyncio.Future[Keepalive | None] = asyncio.get_running_loop().create_future()
            stream.waiters.add(fut)
            self._current = fut
            try:
                result = await fut
            finally:
                self._current = None
                stream.waiters.discard(fut)
            if result is KEEPALIVE:
                self.last_activity = time.monotonic()
                return KEEPALIVE

    def poke(self) -> None:
        """Called by the keepalive scheduler: make a waiting `next()` return KEEPALIVE."""
        fut = self._current
        if fut is not None and not fut.done():
            fut.set_result(KEEPALIVE)


class EventLog:
    def __init__(
        self,
        sinks: list[DurableSink],
        *,
        flush_interval: float = 0.0,
        retain_finished: float = 600.0,
        on_persist_error: Callable[[Exception], None] | None = None,
        follow_interval: float = 0.1,
        follow_idle: float = 120.0,
    ) -> None:
        self._streams: dict[str, JobStream] = {}
        self._sinks = sinks
        self._pending = Batch()
        # Each sink keeps its own backlog, so one failing sink never makes another see the
        # same entries twice.
        self._backlogs: list[Batch] = [Batch() for _ in sinks]
        self._flush_interval = flush_interval
        self._retain = retain_finished
        self._flusher: asyncio.Task[None] | None = None
        self._kick = asyncio.Event()
        self._flush_lock = asyncio.Lock()
        self._loading: dict[str, asyncio.Future[JobStream | None]] = {}
        self._on_persist_error = on_persist_error
        self._followers: set[asyncio.Task[None]] = set()
        self._closing = False
        self._follow_interval = follow_interval
        self._follow_idle = follow_idle
        # what the batches handed to the sinks since the last fully successful flush contain
        self._unconfirmed: dict[str, tuple[int, JobEnd | None]] = {}
        # asks the job engine whether a job followed from elsewhere can still make progress
        self.liveness: Callable[[str], Awaitable[bool]] | None = None

    # -- writing -----------------------------------------------------------------------------

    def create(self, job_id: str, meta: JobMeta | None = None) -> None:
        self._streams[job_id] = JobStream(job_id)
        if meta is not None:
            self._pending.created.append(meta)
            self._kick.set()

    async def adopt(self, meta: JobMeta) -> JobStream:
        """Become the writer of a job that started (or ran) elsewhere: a recovered or dequeued
        workflow. Its committed entries are loaded so numbering continues after them."""
        stream = self._streams.get(meta.job_id)
        if stream is not None and stream.follower is None and stream.end is None:
            return stream  # submitted here and not yet written by anyone else
        if stream is not None and stream.follower is not None:
            stream.follower.cancel()
            stream.follower = None
        loaded: tuple[list[LogEntry], JobEnd | None] | None = None
        for sink in self._sinks:
            loaded = await sink.load(meta.job_id, 0)
            if loaded is not None:
                break
        entries, end = loaded if loaded is not None else ([], None)
        if stream is None:
            stream = JobStream(meta.job_id)
            self._streams[meta.job_id] = stream
        stream.entries = list(entries)
        stream.committed = len(entries)
        stream.end = end
        stream.closing = None
        stream.finished_at = time.monotonic() if end else None
        if loaded is None:
            self._pending.created.append(meta)
            self._kick.set()
        stream.wake()
        return stream

    def append(self, job_id: str, event: dict[str, Any]) -> LogEntry:
        stream = self._writable(job_id)
        seq = len(stream.entries) + 1
        event["job_id"] = job_id
        event["seq"] = seq
        stored = masked_for_storage(event)  # server/secretmask.py: secrets go out live only
        now = time.monotonic()
        if stored is None:
            entry = LogEntry(seq, orjson.dumps(event).decode(), appended=now)
        else:
            entry = LogEntry(
                seq, orjson.dumps(stored).decode(), orjson.dumps(event).decode(), appended=now
            )
        return self._add(stream, entry)

    def append_event(self, job_id: str, event: Event) -> LogEntry:
        """`append` for a pipeline's event model: serialised once, by pydantic straight to JSON,
        with `job_id` and `seq` written after its fields (the same JSON as `append` makes of
        its dict, without the dict). Events that may carry a secret take `append`'s path."""
        if event.type in SECRET_EVENT_TYPES:
            return self.append(job_id, event_to_dict(event))
        stream = self._streams[job_id]
        if stream.end is not None or stream.closing is not None or stream.follower is not None:
            self._writable(job_id)  # raises
        entries = stream.entries
        seq = len(entries) + 1
        body = event.model_dump_json(exclude_none=True)  # '{"type":…}': never empty
        # `_add` inlined, and the tuple built without NamedTuple's Python-level __new__: this
        # runs once per event (docs/benchmarks.md, "The per-event path").
        entry: LogEntry = _new_entry(
            LogEntry, (seq, f"{body[:-1]}{stream.tail}{seq}}}", None, time.monotonic())
        )
        entries.append(entry)
        self._pending.entries.append((job_id, entry))
        self._kick.set()
        return entry

    def _writable(self, job_id: str) -> JobStream:
        stream = self._streams[job_id]
        if stream.ended or stream.follower is not None:
            raise RuntimeError(f"job {job_id} has ended or is written elsewhere; cannot append")
        return stream

    def _add(self, stream: JobStream, entry: LogEntry) -> LogEntry:
        stream.entries.append(entry)
        self._pending.entries.append((stream.job_id, entry))
        self._kick.set()
        return entry

    def finish(self, job_id: str, end: JobEnd) -> None:
        stream = self._streams[job_id]
        stream.closing = end
        self._pending.ends.append((job_id, end))
        self._kick.set()

    def last_seq(self, job_id: str) -> int:
        stream = self._streams.get(job_id)
        return len(stream.entries) if stream else 0

    async def commit(self, job_id: str) -> None:
        """Return once everything appended to `job_id` so far is in every sink (retrying)."""
        stream = self._streams[job_id]
        target = len(stream.entries)
        while stream.committed < target or (stream.closing is not None and stream.end is None):
            try:
                await self.flush()
            except Exception:
                log.warning("commit of job %s failed; retrying", job_id, exc_info=True)
                await asyncio.sleep(0.5)

    # -- reading -----------------------------------------------------------------------------

    def subscribe(self, job_id: str, since: int) -> Subscription:
        stream = self._streams.get(job_id)
        return Subscription(self, job_id, since, len(stream.entries) if stream else 0)

    async def stream(self, job_id: str) -> JobStream | None:
        stream = self._streams.get(job_id)
        if stream is not None:
            return stream
        pending = self._loading.get(job_id)
        if pending is not None:
            return await pending
        fut: asyncio.Future[JobStream | None] = asyncio.get_running_loop().create_future()
        self._loading[job_id] = fut
        try:
            loaded = await self._load(job_id)
            fut.set_result(loaded)
            return loaded
        except BaseException as exc:
            fut.set_exception(exc)
            raise
        finally:
            del self._loading[job_id]

    async def _load(self, job_id: str) -> JobStream | None:
        for sink in self._sinks:
            got = await sink.load(job_id, 0)
            if got is None:
                continue
            entries, end = got
            stream = JobStream(
                job_id,
                entries=entries,
                end=end,
                finished_at=time.monotonic() if end else None,
                committed=len(entries),
            )
            if end is None:
                return await self._follow_remote(stream, sink)
            self._streams[job_id] = stream
            return stream
        return None

    async def _follow_remote(self, stream: JobStream, sink: DurableSink) -> JobStream:
        """A job running elsewhere (another replica): mirror it by polling the sink.

        Polling ends with the job, when nobody has watched it for `follow_idle` seconds, or when
        the engine says the job can no longer make progress (then the stream ends `job_lost`)."""
        stream.committed = len(stream.entries)
        self._streams[stream.job_id] = stream

        async def follow() -> None:
            polls = 0
            unwatched_since: float | None = None
            while stream.end is None:
                await asyncio.sleep(self._follow_interval)
                polls += 1
                got = await sink.load(stream.job_id, len(stream.entries))
                entries, end = got if got is not None else ([], None)
                fresh = [e for e in entries if e.seq > len(stream.entries)]
                stream.entries.extend(fresh)
                stream.committed = len(stream.entries)
                if end is not None:
                    stream.end = end
                    stream.finished_at = time.monotonic()
                if fresh or end is not None:
                    stream.wake()
                    continue
                now = time.monotonic()
                unwatched_since = None if stream.waiters else (unwatched_since or now)
                if unwatched_since is not None and now - unwatched_since > self._follow_idle:
                    self._streams.pop(stream.job_id, None)
                    return
                if polls % 20 == 0 and await self._lost(stream, sink):
                    stream.end = outcome(JobLost()).end
                    stream.finished_at = now
                    stream.wake()
                    return

        task = asyncio.create_task(follow())
        stream.follower = task
        self._followers.add(task)
        task.add_done_callback(self._followers.discard)
        return stream

    async def _lost(self, stream: JobStream, sink: DurableSink) -> bool:
        """The engine says the job cannot progress, and the log got nothing new meanwhile."""
        if self.liveness is None or await self.liveness(stream.job_id):
            return False
        got = await sink.load(stream.job_id, len(stream.entries))
        return got is None or (not got[0] and got[1] is None)

    # -- durability --------------------------------------------------------------------------

    async def start(self) -> None:
        self._flusher = asyncio.create_task(self._flush_loop(), name="eventlog-flusher")

    async def _flush_loop(self) -> None:
        while not self._closing:
            await self._kick.wait()
            self._kick.clear()
            if not self._closing and self._flush_interval:
                await asyncio.sleep(self._flush_interval)  # let a batch build up
            try:
                await self.flush()
            except Exception as exc:  # keep flushing; the entries stay queued
                log.exception("event persistence failed; will retry")
                if self._on_persist_error:
                    self._on_persist_error(exc)
                if not self._closing:
                    await asyncio.sleep(1.0)
                self._kick.set()
            self._evict()

    async def flush(self) -> None:
        async with self._flush_lock:
            batch, self._pending = self._pending, Batch()
            if batch:
                for backlog in self._backlogs:
                    backlog.extend(batch)
                last: dict[str, int] = {}  # each job's last seq in the batch
                for job_id, entry in batch.entries:
                    last[job_id] = entry.seq
                for job_id, seq in last.items():
                    _seq, end = self._unconfirmed.get(job_id, (0, None))
                    self._unconfirmed[job_id] = (seq, end)
                for job_id, end_ in batch.ends:
                    seq, _end = self._unconfirmed.get(job_id, (0, None))
                    self._unconfirmed[job_id] = (seq, end_)
            # The sinks are written at once (Redis and the database: one round trip of wait,
            # not two); each keeps its backlog until it has written it.
            writing = [i for i, backlog in enumerate(self._backlogs) if backlog]
            if len(writing) == 1:
                await self._write(writing[0])  # no task to start for the usual single sink
            elif writing:
                results = await asyncio.gather(
                    *(self._write(i) for i in writing), return_exceptions=True
                )
                for result in results:
                    if isinstance(result, BaseException):
                        raise result
            confirmed, self._unconfirmed = self._unconfirmed, {}
            self._publish(confirmed)

    async def _write(self, index: int) -> None:
        """Hand sink `index` its backlog; it is emptied once written (kept on failure)."""
        await self._sinks[index].write(self._backlogs[index])
        self._backlogs[index] = Batch()

    def _publish(self, confirmed: dict[str, tuple[int, JobEnd | None]]) -> None:
        """Every sink has these entries and ends now: make them visible."""
        now = time.monotonic()
        for job_id, (seq, end) in confirmed.items():
            stream = self._streams.get(job_id)
            if stream is None or stream.follower is not None:
                continue
            stream.committed = max(stream.committed, min(seq, len(stream.entries)))
            if end is not None and stream.end is None:
                stream.committed = len(stream.entries)
                stream.end = end
                stream.finished_at = now
            stream.wake()

    def _evict(self) -> None:
        now = time.monotonic()
        old = [
            j
            for j, s in self._streams.items()
            if s.finished_at is not None and now - s.finished_at > self._retain and not s.waiters
        ]
        for job_id in old:
            del self._streams[job_id]

    async def close(self) -> None:
        for task in list(self._followers):
            task.cancel()
        # Stop the flusher between batches, never in the middle of a write.
        self._closing = True
        self._kick.set()
        if self._flusher is not None:
            try:
                await asyncio.wait_for(self._flusher, timeout=30)
            except (TimeoutError, asyncio.CancelledError):
                self._flusher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._flusher
        await self.flush()
