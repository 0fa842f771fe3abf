"""The no-network-models plugin (tests/support/no_network_models.py) refuses what it should."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.support.no_network_models import is_loopback, is_model_request

pytest_plugins = ["pytester"]


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.9.9.9", True),
        ("::1", True),
        ("localhost", True),
        ("10.0.0.1", False),
        ("8.8.8.8", False),
        ("api.anthropic.com", False),
    ],
)
def test_only_loopback_addresses_count_as_loopback(host: str, loopback: bool) -> None:
    """Private and public addresses and names are not loopback."""
    assert is_loopback(host) is loopback


def test_model_api_requests_are_recognised() -> None:
    """Anthropic, OpenAI-style and Bedrock paths, and cloud model hosts, are model requests."""
    assert is_model_request("127.0.0.1", "/v1/messages")
    assert is_model_request("127.0.0.1", "/v1/chat/completions")
    assert is_model_request("127.0.0.1", "/model/anthropic.claude-x-v1%3A0/converse-stream")
    assert is_model_request("api.anthropic.com", "/")
    assert not is_model_request("127.0.0.1", "/v1/models")
    assert not is_model_request("127.0.0.1", "/artifacts/report.pdf")


def test_unmarked_test_cannot_call_a_model_even_on_loopback(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the marker a model request fails the test; with it the request goes through."""
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[2]))
    pytester.makeconftest('pytest_plugins = ["tests.support.no_network_models"]')
    pytester.makepyfile(
        textwrap.dedent(
            """
            import httpx, pytest

            def test_unmarked():
                with pytest.raises(Exception):
                    httpx.post("http://127.0.0.1:9/v1/messages", json={})

            @pytest.mark.allow_model_requests
            def test_marked():
                with pytest.raises(httpx.ConnectError):  # nothing listens on port 9
                    httpx.post("http://127.0.0.1:9/v1/messages", json={})
            """
        )
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)  # the unmarked one errors at teardown
    result.stdout.fnmatch_lines(["*blocked network use: model request to 127.0.0.1/v1/messages*"])
