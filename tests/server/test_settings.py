"""Settings: environment read once into groups, defaults, .env and *_FILE, and errors that name
the variable (in load_settings and as exit 2 of the CLI)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from server.settings import SettingsError, load_settings


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"QUBITZ_PORT": "x"}, "QUBITZ_PORT='x': Input should be a valid integer"),
        ({"QUBITZ_PORT": "70000"}, "QUBITZ_PORT='70000': Input should be less than or equal"),
        ({"QUBITZ_LOG_JSON": "maybe"}, "QUBITZ_LOG_JSON='maybe': Input should be a valid boolean"),
        ({"QUBITZ_COALESCE_WINDOW": "fast"}, "QUBITZ_COALESCE_WINDOW='fast': Input should be a"),
        ({"QUBITZ_COALESCE_WINDOW": "-1"}, "QUBITZ_COALESCE_WINDOW='-1': Input should be greater"),
        ({"QUBITZ_LOG_LEVEL": "loud"}, "QUBITZ_LOG_LEVEL='loud': Input should be 'debug'"),
        ({"QUBITZ_STORAGE": "s3"}, "QUBITZ_STORAGE=s3 needs QUBITZ_S3_BUCKET"),
        ({"QUBITZ_STORAGE": "tape"}, "QUBITZ_STORAGE='tape': Input should be 'local' or 's3'"),
        ({"QUBITZ_DEPLOY_TARGET": "moon"}, "QUBITZ_DEPLOY_TARGET='moon': Input should be 'local'"),
        ({"QUBITZ_MAX_RUNNING_JOBS": "0"}, "QUBITZ_MAX_RUNNING_JOBS='0': Input should be greater"),
        ({"QUBITZ_JOB_GLOBAL_CAP": "0"}, "QUBITZ_JOB_GLOBAL_CAP='0': Input should be greater"),
        ({"QUBITZ_S3_URL_STYLE": "cdn"}, "QUBITZ_S3_URL_STYLE='cdn'"),
        ({"QUBITZ_APPKEYS_DEFAULT_QUOTA_PERIOD": "year"}, "QUBITZ_APPKEYS_DEFAULT_QUOTA_PERIOD"),
        ({"QUBITZ_CHAT_TOKEN_LIMIT": "lots"}, "QUBITZ_CHAT_TOKEN_LIMIT='lots'"),
        ({"QUBITZ_LLM": "gpt"}, "QUBITZ_LLM='gpt': expected one of anthropic"),
        ({"QUBITZ_DENY_RULES": "re:("}, "QUBITZ_DENY_RULES: deny rules: bad pattern"),
        ({"QUBITZ_AWS_REGION": ""}, None),
    ],
)
def test_bad_values_are_refused_naming_the_variable(
    env: dict[str, str], message: str | None
) -> None:
    if message is None:  # an empty variable is the default, never an error
        assert load_settings(env).deploy.aws_region == "us-east-1"
        return
    with pytest.raises(SettingsError) as caught:
        load_settings(env)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_values_parse_and_empty_means_default() -> None:
    s = load_settings({"QUBITZ_LOG_JSON": "yes", "QUBITZ_PORT": "9", "QUBITZ_COALESCE_WINDOW": ""})
    assert (s.server.log_json, s.server.port, s.server.coalesce_window) == (True, 9, 0.04)
    assert load_settings({"QUBITZ_LOG_JSON": "off"}, port=7).server.port == 7, "flags win over env"


@pytest.mark.parametrize("level", ["INFO", "info", "Warning", "DEBUG"])
def test_log_level_is_accepted_in_any_case(level: str) -> None:
    """QUBITZ_LOG_LEVEL=INFO used to end in a KeyError traceback."""
    assert load_settings({"QUBITZ_LOG_LEVEL": level}).server.log_level == level.lower()


def test_groups_read_their_variables_and_fallbacks(tmp_path: Path) -> None:
    s = load_settings(
        {
            "QUBITZ_S3_BUCKET": "b",
            "AWS_REGION": "eu-west-1",
            "GITHUB_TOKEN": "ghp_x",
            "QUBITZ_DEPLOY_TARGET": "github_aws",
            "QUBITZ_SPEC_ALLOWED_MODELS": "a, b",
            "QUBITZ_WORKSPACE_DAILY_TOKENS": "0",
            "QUBITZ_CDK_CLI": "npx cdk",
        },
        data_dir=tmp_path,
    )
    assert s.storage.kind == "s3", "a bucket alone selects S3"
    assert (s.deploy.aws_region, s.deploy.github_token) == ("eu-west-1", "ghp_x")
    assert s.spec.allowed_models == ("a", "b")
    assert s.chat.workspace_daily_tokens is None, "0 means no daily limit"
    assert s.deploy.cdk_cli == ("npx", "cdk")
    assert s.llm.data_dir == tmp_path, "the local model's files live in the data dir"
    assert "ghp_x" not in repr(s)


def test_a_dotenv_file_is_read_below_the_environment(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("QUBITZ_PORT=9100\nQUBITZ_HOST=0.0.0.0\n")
    s = load_settings({"QUBITZ_HOST": "127.0.0.2"}, env_file=dotenv)
    assert (s.server.port, s.server.host) == (9100, "127.0.0.2")


def test_a_name_file_variable_supplies_the_value_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("ghp_from_file\n")
    s = load_settings({"QUBITZ_GITHUB_TOKEN_FILE": str(secret)})
    assert s.deploy.github_token == "ghp_from_file"
    direct = load_settings({"QUBITZ_GITHUB_TOKEN_FILE": str(secret), "QUBITZ_GITHUB_TOKEN": "t"})
    assert direct.deploy.github_token == "t", "the variable itself wins over its _FILE"
    with pytest.raises(SettingsError, match="ANTHROPIC_API_KEY_FILE="):
        load_settings({"ANTHROPIC_API_KEY_FILE": str(tmp_path / "missing")})


@pytest.mark.parametrize(
    ("command", "variable", "value"),
    [
        (["serve"], "QUBITZ_LOG_LEVEL", "loud"),
        (["serve"], "QUBITZ_PORT", "eighty"),
        (["serve"], "QUBITZ_IDLE_TIMEOUT", "-5"),
        (["db", "upgrade"], "QUBITZ_STORAGE", "tape"),
        (["serve"], "QUBITZ_LLM_TIMEOUT", "soon"),
    ],
)
def test_the_cli_exits_2_with_one_line_naming_the_variable(
    tmp_path: Path, command: list[str], variable: str, value: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", *command, "--data-dir", str(tmp_path)],
        env={"PATH": "/usr/bin:/bin", variable: value},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0], done.stderr
    assert "Traceback" not in done.stderr
