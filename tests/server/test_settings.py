"""Settings: environment read once, defaults, and errors that name the variable."""

from __future__ import annotations

import pytest

from server.settings import SettingsError, load_settings


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"QUBITZ_PORT": "x"}, "QUBITZ_PORT must be an integer, got 'x'"),
        ({"QUBITZ_LOG_JSON": "maybe"}, "QUBITZ_LOG_JSON must be true or false, got 'maybe'"),
        ({"QUBITZ_COALESCE_WINDOW": "fast"}, "QUBITZ_COALESCE_WINDOW must be a number, got 'fast'"),
        ({"QUBITZ_STORAGE": "s3"}, "QUBITZ_STORAGE=s3 needs QUBITZ_S3_BUCKET"),
        ({"QUBITZ_DEPLOY_TARGET": "moon"}, "QUBITZ_DEPLOY_TARGET must be local or github_aws"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("?", r"\?")):
        load_settings(env)


def test_values_parse_and_empty_means_default() -> None:
    s = load_settings({"QUBITZ_LOG_JSON": "yes", "QUBITZ_PORT": "9", "QUBITZ_COALESCE_WINDOW": ""})
    assert (s.log_json, s.port, s.coalesce_window) == (True, 9, 0.04)
    assert load_settings({"QUBITZ_LOG_JSON": "off"}, port=7).port == 7, "flags win over env"
