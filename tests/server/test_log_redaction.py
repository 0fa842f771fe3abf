"""Service keys never appear in log lines, even though clients send them in the query string."""

from __future__ import annotations

import logging

import pytest

from agents.protocol import Scope
from server.serve import install_log_redaction
from tests.conftest import mint
from tests.support.server import RunningServer
from tests.support.wsclient import RESEARCH, run

pytestmark = pytest.mark.anyio


async def test_api_key_is_redacted_from_uvicorn_logs(
    server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    install_log_redaction()
    key = mint(server, Scope.UCT)
    with caplog.at_level(logging.INFO, logger="uvicorn.error"):
        logging.getLogger("uvicorn.error").setLevel(logging.INFO)
        await run(f"{server.ws}/research?api_key={key}", RESEARCH)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "WebSocket /research?api_key=***" in text
    assert key not in text
