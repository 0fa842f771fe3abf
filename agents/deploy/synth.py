"""Check a rendered repository before it is pushed: compile, runtime tests, cdk synth, template.

Steps (reported through `on_step(name, percent)`, percent of the check itself):
  Check - Compile         every .py file compiles (in process, nothing written to the repo)
  Check - Runtime tests   `python -m unittest discover -s tests -t .` in the repo
  Check - CDK synth       `<cdk_cli> synth --app "<python> app.py"` into a temporary folder
  Check - Template        the template has the API, key-protected methods, usage plan, function,
                          a Bedrock policy limited to model ARNs, and the outputs
The CDK app runs with `python` (default: this interpreter), which must have aws-cdk-lib,
constructs and cdk-nag importable; the repository's own requirements.txt is not installed.
The subprocesses get an environment with telemetry, version checks, notices and the EC2
metadata lookup turned off, and no AWS credentials, so the check works offline.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.deploy.process import run_process
from agents.errors import PipelineFailed

TAIL_LINES = 60
OnStep = Callable[[str, int], Awaitable[None] | None]

STEP_COMPILE = "Check - Compile"
STEP_TESTS = "Check - Runtime tests"
STEP_SYNTH = "Check - CDK synth"
STEP_TEMPLATE = "Check - Template"

_PASS_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "NODE_PATH")
_QUIET_ENV = {
    "CDK_DISABLE_VERSION_CHECK": "true",
    "CDK_DISABLE_CLI_TELEMETRY": "true",
    "AWS_EC2_METADATA_DISABLED": "true",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "18,20,22,24",
    "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
    "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
    "NO_COLOR": "1",
}


class SynthCheckFailed(PipelineFailed):
    """A check step failed; `step` names it and `details` holds the tail of its output."""

    code = "synth_failed"


@dataclass(frozen=True)
class StepResult:
    name: str
    ok: bool
    output_tail: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TemplateSummary:
    stack: str
    resource_counts: dict[str, int]
    invoke_methods: int  # POST methods, all with ApiKeyRequired
    bedrock_resources: list[str]
    outputs: list[str]


@dataclass(frozen=True)
class SynthReport:
    ok: bool
    steps: list[StepResult]
    template: TemplateSummary


def _tail(text: str, lines: int = TAIL_LINES) -> list[str]:
    return [line for line in text.splitlines() if line.strip()][-lines:]


def check_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The subprocess environment: a few basics from `base`, quiet and offline CDK settings."""
    base = os.environ if base is None else base
    env = {k: base[k] for k in _PASS_ENV if k in base}
    env.update(_QUIET_ENV)
    return env


async def _notify(on_step: OnStep | None, name: str, percent: int) -> None:
    if on_step is None:
        return
    result = on_step(name, percent)
    if inspect.isawaitable(result):
        await result


async def _run(
    argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], limit: float, step: str
) -> str:
    """Run argv, return its combined output; raise SynthCheckFailed on failure or timeout."""
    try:
        done = await run_process(argv, cwd=cwd, env=env, time_limit=limit)
    except OSError as exc:
        raise SynthCheckFailed(
            f"{step}: cannot start {argv[0]}: {exc}", step=step, details=[str(exc)]
        ) from exc
    if done.timed_out:
        raise SynthCheckFailed(
            f"{step}: did not finish within {limit:g} s", step=step, details=done.tail(TAIL_LINES)
        )
    if done.returncode != 0:
        raise SynthCheckFailed(
            f"{step} failed (exit {done.returncode})", step=step, details=done.tail(TAIL_LINES)
        )
    return done.output


def _compile_all(repo_dir: Path) -> list[str]:
    errors: list[str] = []
    for path in sorted(repo_dir.rglob("*.py")):
        rel = path.relative_to(repo_dir)
        if rel.parts[0] in ("cdk.out", ".venv", "node_modules", ".git"):
            continue
        try:
            compile(path.read_bytes(), str(rel), "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as exc:
            errors.append(f"{rel}: {exc}")
    return errors


def _read_template(out_dir: Path) -> tuple[str, dict[str, Any]]:
    templates = sorted(out_dir.glob("*.template.json"))
    if len(templates) != 1:
        raise SynthCheckFailed(
            f"{STEP_TEMPLATE}: expected one stack template, found {len(templates)}",
            step=STEP_TEMPLATE,
            details=sorted(p.name for p in out_dir.iterdir()),
        )
    stack = templates[0].name.removesuffix(".template.json")
    return stack, json.loads(templates[0].read_text(encoding="utf-8"))


def _deadline_left(deadline: float) -> float:
    left = deadline - asyncio.get_running_loop().time()
    if left <= 0:
        raise SynthCheckFailed("the check ran out of time", step=STEP_SYNTH, details=[])
    return left


async def check_repository(
    repo_dir: Path,
    *,
    cdk_cli: Sequence[str],
    timeout: float = 300,  # noqa: ASYNC109 (the whole check's budget, spread over steps)
    on_step: OnStep | None = None,
    python: str = sys.executable,
    env: Mapping[str, str] | None = None,
) -> SynthReport:
    """Compile, test and synthesise the repository; raise SynthCheckFailed on the first failure.

    `cdk_cli` is the CDK CLI command (e.g. [".cache/cdk/node_modules/.bin/cdk"]); `timeout`
    bounds the whole check; `env` is the base environment (default os.environ) from which only
    PATH, HOME, locale and temp settings are passed on.
    """
    deadline = asyncio.get_running_loop().time() + timeout
    run_env = check_env(env)
    steps: list[StepResult] = []

    await _notify(on_step, STEP_COMPILE, 5)
    errors = await asyncio.to_thread(_compile_all, repo_dir)
    if errors:
        raise SynthCheckFailed(
            f"{STEP_COMPILE}: {len(errors)} file(s) do not compile",
            step=STEP_COMPILE,
            details=errors[-TAIL_LINES:],
        )
    steps.append(StepResult(STEP_COMPILE, True))

    await _notify(on_step, STEP_TESTS, 15)
    output = await _run(
        [python, "-m", "unittest", "discover", "-s", "tests", "-t", "."],
        cwd=repo_dir,
        env=run_env,
        limit=_deadline_left(deadline),
        step=STEP_TESTS,
    )
    steps.append(StepResult(STEP_TESTS, True, _tail(output, 5)))

    await _notify(on_step, STEP_SYNTH, 30)
    with tempfile.TemporaryDirectory(prefix="cdk-out-") as out_dir:
        output = await _run(
            [
                *cdk_cli,
                "synth",
                "--app",
                f"{python} app.py",
                "--output",
                out_dir,
                "--no-notices",
                "--no-version-reporting",
                "--no-lookups",
                "--quiet",
            ],
            cwd=repo_dir,
            env=run_env,
            limit=_deadline_left(deadline),
            step=STEP_SYNTH,
        )
        steps.append(StepResult(STEP_SYNTH, True, _tail(output, 10)))
        await _notify(on_step, STEP_TEMPLATE, 95)
        stack, template = await asyncio.to_thread(_read_template, Path(out_dir))
    summary = summarize_template(stack, template)
    steps.append(
        StepResult(STEP_TEMPLATE, True, [f"{k}: {v}" for k, v in summary.resource_counts.items()])
    )
    await _notify(on_step, STEP_TEMPLATE, 100)
    return SynthReport(ok=True, steps=steps, template=summary)


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _arn_text(resource: Any) -> str:
    """A resource ARN as text; Fn::Join pieces are joined with <token> placeholders."""
    if isinstance(resource, str):
        return resource
    if isinstance(resource, dict) and "Fn::Join" in resource:
        sep, parts = resource["Fn::Join"]
        return str(sep).join(p if isinstance(p, str) else "<token>" for p in parts)
    return json.dumps(resource, sort_keys=True)


REQUIRED_OUTPUTS = ("EndpointUrl", "ApiId", "UsagePlanId")


def summarize_template(stack: str, template: Mapping[str, Any]) -> TemplateSummary:
    """Assert the resources the deployment relies on; raise SynthCheckFailed listing problems."""
    resources: Mapping[str, Any] = template.get("Resources", {})
    counts: dict[str, int] = {}
    for resource in resources.values():
        counts[resource["Type"]] = counts.get(resource["Type"], 0) + 1
    problems: list[str] = []
    for kind in (
        "AWS::ApiGateway::RestApi",
        "AWS::ApiGateway::Method",
        "AWS::ApiGateway::UsagePlan",
        "AWS::Lambda::Function",
        "AWS::IAM::Policy",
    ):
        if kind not in counts:
            problems.append(f"no {kind} resource")
    methods = [
        r["Properties"] for r in resources.values() if r["Type"] == "AWS::ApiGateway::Method"
    ]
    posts = [m for m in methods if m.get("HttpMethod") == "POST"]
    if methods and not posts:
        problems.append("no POST method")
    problems += [
        f"{m.get('HttpMethod')} method without ApiKeyRequired"
        for m in methods
        if m.get("HttpMethod") != "OPTIONS" and m.get("ApiKeyRequired") is not True
    ]
    for plan in (r for r in resources.values() if r["Type"] == "AWS::ApiGateway::UsagePlan"):
        props = plan.get("Properties", {})
        if not props.get("Throttle") or not props.get("ApiStages"):
            problems.append("usage plan without throttling or API stage")
    bedrock: list[str] = []
    for policy in (r for r in resources.values() if r["Type"] == "AWS::IAM::Policy"):
        for statement in _statements(policy["Properties"]["PolicyDocument"]):
            actions = [str(a) for a in _as_list(statement.get("Action", []))]
            arns = [_arn_text(r) for r in _as_list(statement.get("Resource", []))]
            if any(a == "*" or (a.startswith("bedrock:") and a.endswith("*")) for a in actions):
                problems.append(f"wildcard action in {actions}")
            if not any(a.startswith("bedrock:") for a in actions):
                continue
            for arn in arns:
                if not arn.startswith("arn:aws:bedrock:") or not (
                    ":foundation-model/" in arn or ":inference-profile/" in arn
                ):
                    problems.append(f"Bedrock access not limited to model ARNs: {arn}")
                elif arn.endswith(("/*", "/")):
                    problems.append(f"Bedrock access to every model: {arn}")
            bedrock += arns
    outputs = sorted(template.get("Outputs", {}))
    problems += [f"no {name} output" for name in REQUIRED_OUTPUTS if name not in outputs]
    if problems:
        raise SynthCheckFailed(
            f"{STEP_TEMPLATE}: the synthesised template is missing what a deployment needs",
            step=STEP_TEMPLATE,
            details=problems,
        )
    return TemplateSummary(
        stack=stack,
        resource_counts=dict(sorted(counts.items())),
        invoke_methods=len(posts),
        bedrock_resources=sorted(bedrock),
        outputs=outputs,
    )
