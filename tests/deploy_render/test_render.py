"""render_repository: deterministic, valid app names only, compilable code, sound workflows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from agents.deploy.render import render_repository
from agents.errors import InvalidRequest
from agents.spec.schema import Architecture
from tests.deploy_render.specs import architecture


def _read_all(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_rendering_twice_gives_identical_files(tmp_path: Path) -> None:
    """The same spec renders byte-identical repositories with the same digest."""
    first = render_repository(
        architecture(), app_name="demo-app", out_dir=tmp_path / "a", spec_version=2
    )
    second = render_repository(
        architecture(), app_name="demo-app", out_dir=tmp_path / "b", spec_version=2
    )
    assert first.files == second.files == tuple(sorted(first.files))
    assert first.digest == second.digest
    assert _read_all(tmp_path / "a") == _read_all(tmp_path / "b")
    assert set(_read_all(tmp_path / "a")) == set(first.files)


def test_a_changed_spec_changes_the_digest(tmp_path: Path) -> None:
    """A different spec or version gives a different digest."""
    base = render_repository(
        architecture(), app_name="demo-app", out_dir=tmp_path / "a", spec_version=2
    )
    other = render_repository(
        architecture("supervisor"), app_name="demo-app", out_dir=tmp_path / "b", spec_version=2
    )
    bumped = render_repository(
        architecture(), app_name="demo-app", out_dir=tmp_path / "c", spec_version=3
    )
    assert len({base.digest, other.digest, bumped.digest}) == 3


@pytest.mark.parametrize("name", ["Demo", "ab", "1app", "my_app", "a" * 42, "app!", ""])
def test_invalid_app_names_are_refused(tmp_path: Path, name: str) -> None:
    """App names must match ^[a-z][a-z0-9-]{2,40}$."""
    with pytest.raises(InvalidRequest, match="app name"):
        render_repository(architecture(), app_name=name, out_dir=tmp_path, spec_version=1)
    assert not any(tmp_path.iterdir())


def test_generated_python_compiles_and_spec_round_trips(tmp_path: Path) -> None:
    """Every generated .py file compiles; spec.json validates back to the same architecture."""
    arch = architecture()
    repo = render_repository(arch, app_name="demo-app", out_dir=tmp_path, spec_version=1)
    python_files = [f for f in repo.files if f.endswith(".py")]
    assert {"app.py", "runtime/handler.py", "runtime/serve.py", "stack/agent_stack.py"} <= set(
        python_files
    )
    for rel in python_files:
        compile((tmp_path / rel).read_bytes(), rel, "exec")
    again = Architecture.model_validate(json.loads((tmp_path / "spec.json").read_text()))
    assert again == arch


def test_repository_layout_and_documents(tmp_path: Path) -> None:
    """The repo has the CDK app, runtime, tests, workflows; documents land in documents/."""
    repo = render_repository(
        architecture(),
        app_name="demo-app",
        out_dir=tmp_path,
        spec_version=1,
        description="Answers questions about refunds.",
        documents={"policy.md": b"Refunds take 14 days."},
    )
    for expected in (
        ".github/workflows/deploy.yml",
        ".github/workflows/destroy.yml",
        ".gitignore",
        "README.md",
        "cdk.json",
        "requirements.txt",
        "runtime/requirements.txt",
        "tests/test_tools.py",
        "documents/policy.md",
        "agent-spec.json",
        "agent-card.json",
    ):
        assert expected in repo.files
    readme = (tmp_path / "README.md").read_text()
    assert "Answers questions about refunds." in readme
    assert "`POST /analyse`" in readme
    requirements = (tmp_path / "requirements.txt").read_text()
    assert "aws-cdk-lib==" in requirements and "cdk-nag==" in requirements
    with pytest.raises(InvalidRequest):
        render_repository(
            architecture(),
            app_name="demo-app",
            out_dir=tmp_path / "x",
            spec_version=1,
            documents={"../escape.md": b"x"},
        )


def test_deploy_workflow_uses_oidc_and_never_overlaps(tmp_path: Path) -> None:
    """deploy.yml: push + manual, OIDC role from vars.AWS_ROLE_ARN, pinned CLI, smoke test."""
    render_repository(
        architecture(), app_name="demo-app", out_dir=tmp_path, spec_version=1, region="eu-west-1"
    )
    text = (tmp_path / ".github/workflows/deploy.yml").read_text()
    workflow = yaml.safe_load(text)
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as a boolean
    assert "workflow_dispatch" in triggers and triggers["push"]["branches"] == ["main"]
    assert workflow["permissions"]["id-token"] == "write"
    assert workflow["concurrency"] == {"group": "deploy-demo-app", "cancel-in-progress": False}
    steps = workflow["jobs"]["deploy"]["steps"]
    creds = next(
        s
        for s in steps
        if str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials")
    )
    assert creds["with"]["role-to-assume"] == "${{ vars.AWS_ROLE_ARN }}"
    assert "aws-access-key-id" not in text and "secrets." not in text
    runs = "\n".join(str(s.get("run", "")) for s in steps)
    assert "npm install -g aws-cdk@2.1148" in runs
    assert (
        "cdk deploy --no-notices --require-approval never --outputs-file cdk-outputs.json" in runs
    )
    assert "python -m unittest discover -s tests" in runs
    assert "scripts/smoke_test.py cdk-outputs.json demo-app" in runs
    assert "'eu-west-1'" in workflow["env"]["AWS_REGION"]
    destroy = yaml.safe_load((tmp_path / ".github/workflows/destroy.yml").read_text())
    assert list(destroy[True]) == ["workflow_dispatch"]
    assert "cdk destroy --no-notices --force" in "\n".join(
        str(s.get("run", "")) for s in destroy["jobs"]["destroy"]["steps"]
    )


def test_bad_region_and_long_description_are_refused(tmp_path: Path) -> None:
    """Region must look like an AWS region; descriptions are bounded."""
    with pytest.raises(InvalidRequest, match="region"):
        render_repository(
            architecture(), app_name="demo-app", out_dir=tmp_path, spec_version=1, region="moon"
        )
    with pytest.raises(InvalidRequest, match="description"):
        render_repository(
            architecture(),
            app_name="demo-app",
            out_dir=tmp_path,
            spec_version=1,
            description="x" * 1001,
        )


def test_agent_card_and_open_agent_spec_are_rendered(tmp_path: Path) -> None:
    """agent-card.json names the endpoint and API-key scheme; agent-spec.json names the agents."""
    render_repository(
        architecture(),
        app_name="demo-app",
        out_dir=tmp_path,
        spec_version=4,
        endpoint_url="https://abc.execute-api.us-east-1.amazonaws.com/prod/invoke",
    )
    card = json.loads((tmp_path / "agent-card.json").read_text())
    assert card["url"] == "https://abc.execute-api.us-east-1.amazonaws.com/prod/invoke"
    assert card["version"] == "4" and card["name"] == "demo-app"
    assert {s["id"] for s in card["skills"]} == {"planner", "analyst", "writer"}
    oas = (tmp_path / "agent-spec.json").read_text()
    assert all(name in oas for name in ("Planner", "Analyst", "Writer"))


def test_workflows_run_in_the_production_environment_without_bootstrap(tmp_path: Path) -> None:
    """Both jobs use `environment: production` (the OIDC subject the app role trusts); the
    app role cannot bootstrap, so no workflow does; the boundary is handed to the CDK app."""
    render_repository(architecture(), app_name="demo-app", out_dir=tmp_path, spec_version=1)
    for name, job in (("deploy", "deploy"), ("destroy", "destroy")):
        workflow = yaml.safe_load((tmp_path / f".github/workflows/{name}.yml").read_text())
        assert workflow["jobs"][job]["environment"] == "production", name
        runs = "\n".join(str(s.get("run", "")) for s in workflow["jobs"][job]["steps"])
        assert "cdk bootstrap" not in runs
        assert workflow["env"]["AWS_PERMISSIONS_BOUNDARY_ARN"] == (
            "${{ vars.AWS_PERMISSIONS_BOUNDARY_ARN }}"
        )
    app = (tmp_path / "app.py").read_text()
    assert "cdk.CliCredentialsStackSynthesizer(" in app
    assert 'bucket_prefix=f"{APP_NAME}/"' in app
    assert "iam.PermissionsBoundary.of(stack).apply(" in app
    assert 'cdk.Tags.of(stack).add("qubitz:app", APP_NAME)' in app


def test_container_runs_as_an_unprivileged_user(tmp_path: Path) -> None:
    """The generated Dockerfile switches to a numeric non-root user before its command."""
    repo = render_repository(architecture(), app_name="demo-app", out_dir=tmp_path, spec_version=1)
    assert "Dockerfile" in repo.files and ".dockerignore" in repo.files
    lines = [
        line.split(None, 1)
        for line in (tmp_path / "Dockerfile").read_text().splitlines()
        if line and not line.startswith((" ", "#"))
    ]
    users = [arg.strip() for word, *rest in lines if word == "USER" for arg in rest]
    assert users == ["10001:10001"]
    order = [word for word, *_ in lines]
    assert order.index("USER") > max(i for i, w in enumerate(order) if w in ("RUN", "COPY"))
    assert order[-1] == "CMD"
    assert "chmod -R a-w" in (tmp_path / "Dockerfile").read_text()
