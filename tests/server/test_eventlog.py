"""The event log numbers events, wakes subscribers, and persists to each sink exactly once."""

from __future__ import annotations

import orjson
import pytest

from agents.protocol import (
    ApiKeyCreated,
    ApiKeyCreatedData,
    ChatChunk,
    Event,
    MultiagentProgress,
    ResearchComplete,
    StatusEvent,
    TokenUsage,
    event_to_dict,
)
from server.eventlog import Batch, EventLog, JobEnd, JobMeta, LogEntry
from server.secretmask import mask_value

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


@pytest.mark.parametrize(
    "event",
    [
        StatusEvent(message='étape 1 ✓ "quoted"\n', session_id="s"),  # None fields left out
        MultiagentProgress(step="plan", session_id="s", progress_percent=50),
        ChatChunk(chunk="", is_final=True, session_id="s"),
        ResearchComplete(
            project_id="p",
            user_id="u",
            s3_deep_research_report_url="https://x/r.md",
            s3_deep_research_pdf_url="",
            s3_AI_discovery_report_url="",
            s3_AI_discovery_pdf_url="",
            s3_use_cases_pdf_url="",
            s3_use_cases_md_url="",
            all_s3_urls={"r": "https://x/r"},
            session_id="s",
            usage={"total": TokenUsage(input_tokens=3, cost_usd=0.1 + 0.2)},
        ),
    ],
)
async def test_an_event_model_is_stored_as_its_dict_would_be(event: Event) -> None:
    """append_event serialises the model straight to JSON; what it stores and sends must be the
    same JSON object, numbered the same way, as append makes of the event's dict."""
    log = EventLog([])
    log.create("j1")
    log.create("j2")
    by_dict = log.append("j1", event_to_dict(event))
    by_model = log.append_event("j2", event)
    assert orjson.loads(by_model.text) == {**orjson.loads(by_dict.text), "job_id": "j2"}
    assert list(orjson.loads(by_model.text))[-2:] == ["job_id", "seq"]
    assert by_model.seq == 1 and log.append_event("j2", event).seq == 2


async def test_an_event_model_with_a_secret_is_stored_masked() -> None:
    log = EventLog([])
    log.create("j1")
    data = ApiKeyCreatedData(
        api_key_value="qk_secret_value", api_key_id="k", usage_plan_id="p", api_endpoint="e"
    )
    entry = log.append_event("j1", ApiKeyCreated(data=data))
    assert orjson.loads(entry.text)["data"]["api_key_value"] == mask_value("qk_secret_value")
    assert entry.live is not None and "qk_secret_value" in entry.live
