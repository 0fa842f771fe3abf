"""check_repository: broken repositories fail with their output; a good one synthesises."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agents.deploy.render import render_repository
from agents.deploy.synth import (
    STEP_COMPILE,
    STEP_SYNTH,
    STEP_TEMPLATE,
    STEP_TESTS,
    SynthCheckFailed,
    check_repository,
    summarize_template,
)
from agents.errors import QubitzError
from tests.deploy_render.specs import architecture

ROOT = Path(__file__).resolve().parents[2]
CDK_CLI = ROOT / ".cache" / "cdk" / "node_modules" / ".bin" / "cdk"
INSTALL = "npm install --prefix .cache/cdk aws-cdk@2.1148"


def _repo(tmp_path: Path) -> Path:
    render_repository(
        architecture(), app_name="demo-app", out_dir=tmp_path / "repo", spec_version=1
    )
    return tmp_path / "repo"


@pytest.mark.anyio
async def test_a_syntax_error_fails_the_compile_step(tmp_path: Path) -> None:
    """A template that renders invalid Python fails before any subprocess, naming the file."""
    repo = _repo(tmp_path)
    (repo / "stack" / "agent_stack.py").write_text("class Broken(:\n")
    steps: list[tuple[str, int]] = []

    async def on_step(name: str, percent: int) -> None:
        steps.append((name, percent))

    with pytest.raises(SynthCheckFailed) as failure:
        await check_repository(repo, cdk_cli=["cdk-not-needed"], on_step=on_step)
    assert isinstance(failure.value, QubitzError)
    assert failure.value.code == "synth_failed" and failure.value.step == STEP_COMPILE
    assert failure.value.details and failure.value.details[0].startswith("stack/agent_stack.py")
    assert steps == [(STEP_COMPILE, 5)]


@pytest.mark.anyio
async def test_a_failing_runtime_test_fails_with_its_output(tmp_path: Path) -> None:
    """A runtime that breaks its own tests fails the check with the unittest output."""
    repo = _repo(tmp_path)
    tools = repo / "runtime" / "tools.py"
    tools.write_text(
        tools.read_text()
        .replace('"-": operator.sub', '"-": operator.add')
        .replace("ast.Sub: operator.sub", "ast.Sub: operator.add")
    )
    names: list[str] = []
    with pytest.raises(SynthCheckFailed) as failure:
        await check_repository(
            repo, cdk_cli=["cdk-not-needed"], on_step=lambda n, p: names.append(n)
        )
    assert failure.value.step == STEP_TESTS
    details = "\n".join(failure.value.details or [])
    assert "FAILED" in details and "test_calculator_evaluates_arithmetic" in details
    assert names == [STEP_COMPILE, STEP_TESTS]


@pytest.mark.anyio
async def test_a_missing_cdk_cli_fails_the_synth_step(tmp_path: Path) -> None:
    """An unavailable CDK CLI is a synth failure with a message, not a crash."""
    with pytest.raises(SynthCheckFailed, match="cannot start") as failure:
        await check_repository(_repo(tmp_path), cdk_cli=[str(tmp_path / "no-cdk")])
    assert failure.value.step == STEP_SYNTH


def _template(**overrides: object) -> dict[str, object]:
    template: dict[str, object] = {
        "Resources": {
            "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {}},
            "Post": {
                "Type": "AWS::ApiGateway::Method",
                "Properties": {"HttpMethod": "POST", "ApiKeyRequired": True},
            },
            "Plan": {
                "Type": "AWS::ApiGateway::UsagePlan",
                "Properties": {"Throttle": {"RateLimit": 1}, "ApiStages": [{}]},
            },
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {}},
            "Policy": {
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "PolicyDocument": {
                        "Statement": [
                            {
                                "Action": ["bedrock:InvokeModel"],
                                "Resource": "arn:aws:bedrock:us-east-1::foundation-model/m",
                            }
                        ]
                    }
                },
            },
        },
        "Outputs": {"EndpointUrl": {}, "ApiId": {}, "UsagePlanId": {}},
    }
    template.update(overrides)
    return template


def test_template_checks_catch_open_methods_and_wide_policies() -> None:
    """An open method, a Bedrock wildcard and a missing output are all reported."""
    assert summarize_template("s", _template()).invoke_methods == 1
    bad = _template(Outputs={"ApiId": {}, "UsagePlanId": {}})
    resources = bad["Resources"]
    assert isinstance(resources, dict)
    resources["Post"]["Properties"]["ApiKeyRequired"] = False
    resources["Policy"]["Properties"]["PolicyDocument"]["Statement"][0]["Resource"] = "*"
    with pytest.raises(SynthCheckFailed) as failure:
        summarize_template("s", bad)
    assert failure.value.step == STEP_TEMPLATE
    assert failure.value.details == [
        "POST method without ApiKeyRequired",
        "Bedrock access not limited to model ARNs: *",
        "no EndpointUrl output",
    ]


@pytest.mark.slow
@pytest.mark.anyio
async def test_full_check_synthesises_the_expected_stack(tmp_path: Path) -> None:
    """Compile, runtime tests and a real offline `cdk synth` (cdk-nag included) pass."""
    if not CDK_CLI.exists() or shutil.which("node") is None:
        pytest.skip(f"CDK CLI not installed; run: {INSTALL}")
    repo = _repo(tmp_path)
    steps: list[str] = []
    report = await check_repository(
        repo, cdk_cli=[str(CDK_CLI)], on_step=lambda n, p: steps.append(n)
    )
    assert report.ok and steps == [
        STEP_COMPILE,
        STEP_TESTS,
        STEP_SYNTH,
        STEP_TEMPLATE,
        STEP_TEMPLATE,
    ]
    summary = report.template
    assert summary.stack == "demo-app"
    assert summary.invoke_methods == 2  # /invoke and /analyse
    for kind in (
        "AWS::ApiGateway::RestApi",
        "AWS::ApiGateway::UsagePlan",
        "AWS::Lambda::Function",
        "AWS::IAM::Policy",
    ):
        assert summary.resource_counts[kind] == 1
    assert summary.bedrock_resources == [
        "arn:aws:bedrock:*::foundation-model/anthropic.claude-sonnet-4-20250514-v1:0",
        "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0",
        "arn:aws:bedrock:us-east-1:<token>:inference-profile/us.anthropic.claude-sonnet-4-20250514-v1:0",
    ]
    assert {"EndpointUrl", "ApiId", "UsagePlanId"} <= set(summary.outputs)
    assert not (repo / "cdk.out").exists() and not list(repo.rglob("__pycache__"))
