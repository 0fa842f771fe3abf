"""The event log numbers events, wakes subscribers, and persists to each sink exactly once."""

from __future__ import annotations

import pytest

from server.eventlog import Batch, EventLog, JobEnd, JobMeta, LogEntry

pytestmark = pytest.mark.anyio


class RecordingSink:
    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.seen: list[tuple[str, int]] = []
        self.created: list[str] = []
        self.ends: list[str] = []

    async def write(self, batch: Batch) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("sink down")
        self.created += [m.job_id for m in batch.created]
        self.seen += [(j, e.seq) for j, e in batch.entries]
        self.ends += [j for j, _ in batch.ends]

    async def load(self, job_id: str, since: int) -> tuple[list[LogEntry], JobEnd | None] | None:
        return None


async def test_a_failing_sink_retries_alone_and_no_sink_sees_duplicates() -> None:
    healthy, flaky = RecordingSink(), RecordingSink(failures=1)
    log = EventLog([healthy, flaky])
    log.create("j1", JobMeta("j1", "ws", "research", "r1"))
    log.append("j1", {"type": "status"})
    with pytest.raises(ConnectionError):
        await log.flush()
    log.append("j1", {"type": "status"})
    log.finish("j1", JobEnd("succeeded", 1000))
    await log.flush()
    assert healthy.seen == flaky.seen == [("j1", 1), ("j1", 2)]
    assert healthy.created == flaky.created == ["j1"]
    assert healthy.ends == flaky.ends == ["j1"]


async def test_events_are_numbered_and_carry_the_job_id() -> None:
    log = EventLog([])
    log.create("j1")
    first = log.append("j1", {"type": "a"})
    second = log.append("j1", {"type": "b"})
    assert (first.seq, second.seq) == (1, 2)
    assert first.text == '{"type":"a","job_id":"j1","seq":1}'
    await log.flush()
    sub = log.subscribe("j1", since=1)
    batch = await sub.next()
    assert isinstance(batch, list) and [e.seq for e in batch] == [2]
    log.finish("j1", JobEnd("succeeded", 1000))
    await log.flush()
    assert await sub.next() == JobEnd("succeeded", 1000)


async def test_subscribers_see_only_what_every_sink_has() -> None:
    flaky = RecordingSink(failures=1)
    log = EventLog([flaky])
    log.create("j1", JobMeta("j1", "ws", "research", "r1"))
    log.append("j1", {"type": "status"})
    with pytest.raises(ConnectionError):
        await log.flush()
    stream = await log.stream("j1")
    assert stream is not None and stream.committed == 0, "not visible before it is durable"
    await log.flush()
    assert stream.committed == 1
    sub = log.subscribe("j1", since=0)
    batch = await sub.next()
    assert isinstance(batch, list) and [e.seq for e in batch] == [1]
