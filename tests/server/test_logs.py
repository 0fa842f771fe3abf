"""JSON log lines carry the request id of the job they concern."""

from __future__ import annotations

import io
import json
import logging

from server.logs import JsonFormatter, RequestIdFilter, request_id


def test_json_lines_carry_the_request_id() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("qubitz.test.logs")
    logger.addHandler(handler)
    logger.propagate = False
    token = request_id.set("job_abc")
    try:
        logger.warning("hello %s", "world")
    finally:
        request_id.reset(token)
    logger.error("outside")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["request_id"] == "job_abc" and first["message"] == "hello world"
    assert first["level"] == "warning" and first["logger"] == "qubitz.test.logs"
    assert second["request_id"] == "-"
