"""The github+aws target against a GitHub REST double and moto's CloudFormation on loopback."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from github import Auth, Github
from moto.server import ThreadedMotoServer

from agents.deploy.progress import ProgressTracker
from agents.deploy.targets.base import DeployError, DeployJob, DeploymentRecord
from agents.deploy.targets.github_aws import GitHubAwsConfig, GitHubAwsTarget
from tests.deploy.github_double import GitHubDouble
from tests.deploy.support import write_runtime_repo

pytestmark = pytest.mark.anyio

BOUNDARY = "arn:aws:iam::123456789012:policy/qubitz-app-boundary"
ROLE = "arn:aws:iam::123456789012:role/qubitz-apps/qubitz-app-proj-abc123"
JOB = DeployJob(
    workspace_id="ws1",
    project_id="proj",
    app_name="proj-abc123",
    spec_version=3,
    github_username="alice",
)
ENDPOINT = "https://abc.execute-api.us-east-1.amazonaws.com/prod/invoke"


@pytest.fixture
def github_double() -> Iterator[GitHubDouble]:
    d = GitHubDouble(user="octocat", orgs=("Qubitz-202",))
    yield d
    d.close()


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def cfn(moto_url: str) -> Any:
    client = boto3.client(
        "cloudformation",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {
            "EndpointUrl": {"Value": ENDPOINT},
            "UsagePlanId": {"Value": "plan123"},
            "ApiId": {"Value": "abc"},
        },
    }
    client.create_stack(StackName=JOB.app_name, TemplateBody=json.dumps(template))
    yield client
    client.delete_stack(StackName=JOB.app_name)


def iam_client(cfn: Any) -> Any:
    return boto3.client(
        "iam",
        endpoint_url=cfn.meta.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def make_target(
    double: GitHubDouble, cfn: Any, *, org: str | None = "Qubitz-202", **cfg: Any
) -> GitHubAwsTarget:
    gh = Github(
        auth=Auth.Token("ghp_test"),
        base_url=double.url,
        retry=None,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )
    config = GitHubAwsConfig(
        permissions_boundary_arn=BOUNDARY,
        organization=org,
        poll_interval=0.0,
        find_run_timeout=5.0,
        **cfg,
    )
    return GitHubAwsTarget(config, github=gh, cloudformation=cfn, iam=iam_client(cfn))


def rendered(tmp_path: Path, version: str) -> Path:
    repo = write_runtime_repo(tmp_path / version, version)
    (repo / "documents").mkdir()
    (repo / "documents" / "logo.bin").write_bytes(bytes(range(256)))
    script = repo / "app.py"
    script.write_text("#!/usr/bin/env python3\n")
    script.chmod(0o755)
    return repo


async def test_publish_is_one_commit_of_all_files_with_settings(
    tmp_path: Path, github_double: GitHubDouble, cfn: Any
) -> None:
    """The org repo gets one commit with exactly the rendered files, the collaborator and vars."""
    target = make_target(github_double, cfn)
    published = await target.publish(JOB, rendered(tmp_path, "v1"))
    full = f"Qubitz-202/{JOB.app_name}"
    assert published.repo_url == f"https://github.com/{full}"
    assert published.display_name == full
    files = github_double.tree_files(full)
    assert set(files) == {
        "runtime/__init__.py",
        "runtime/serve.py",
        "VERSION",
        "README.md",
        "documents/logo.bin",
        "app.py",
    }
    assert files["documents/logo.bin"] == bytes(range(256))
    assert files["VERSION"] == b"v1\n"
    history = github_double.history(full)
    assert [c["message"] for c in history] == [
        f"Deploy {JOB.app_name} (spec v3)",
        "Initial commit",
    ]
    assert history[0]["sha"] == published.revision
    assert history[0]["author"]["name"] == "qubitz"
    repo = github_double.repos[full]
    assert repo.private
    assert repo.collaborators == {"alice": "pull"}
    assert repo.variables == {
        "AWS_ROLE_ARN": ROLE,
        "AWS_REGION": "us-east-1",
        "AWS_PERMISSIONS_BOUNDARY_ARN": BOUNDARY,
        "CDK_QUALIFIER": "hnb659fds",
    }
    mode = github_double.objects[github_double.objects[history[0]["sha"]]["tree"]]["entries"]
    assert mode["app.py"][0] == "100755"
    assert mode["VERSION"][0] == "100644"

    again = await target.publish(JOB, rendered(tmp_path, "v2"))
    assert len(github_double.history(full)) == 3
    assert github_double.tree_files(full)["VERSION"] == b"v2\n"
    assert again.revision != published.revision


async def test_publish_without_org_goes_to_the_user(
    tmp_path: Path, github_double: GitHubDouble, cfn: Any
) -> None:
    """With no organisation configured the repository is created for the token's user."""
    target = make_target(github_double, cfn, org=None)
    published = await target.publish(JOB, rendered(tmp_path, "v1"))
    assert published.display_name == f"octocat/{JOB.app_name}"
    assert ("POST", "/user/repos") in github_double.requests


async def test_run_reports_jobs_and_steps_then_endpoint_from_stack(
    tmp_path: Path, github_double: GitHubDouble, cfn: Any
) -> None:
    """Progress follows the dispatched run's jobs/steps; the endpoint is the stack's output."""
    target = make_target(github_double, cfn)
    published = await target.publish(JOB, rendered(tmp_path, "v1"))
    progress = [p async for p in target.run(JOB, published)]
    (run,) = github_double.runs.values()
    assert run.workflow == "deploy.yml"
    assert run.head_sha == published.revision
    messages = [f"{p.job} - {p.step}" for p in progress]
    assert "Build - Install" in messages
    assert "Deploy CDK - Deploy with CDK" in messages
    assert progress[-1].completed_steps == progress[-1].total_steps == 8
    tracker = ProgressTracker()
    percents = [tracker.observe(p).progress_percent for p in progress]
    assert percents == sorted(percents)
    endpoint = await target.endpoint(JOB, published)
    assert endpoint.url == ENDPOINT
    assert endpoint.usage_plan_id == "plan123"


async def test_failed_run_names_the_failing_step(
    tmp_path: Path, github_double: GitHubDouble, cfn: Any
) -> None:
    """A run that fails raises workflow_failed with "<job> - <step>: failure" in details."""
    github_double.fail_at = (1, 2)
    target = make_target(github_double, cfn)
    published = await target.publish(JOB, rendered(tmp_path, "v1"))
    with pytest.raises(DeployError) as info:
        async for _ in target.run(JOB, published):
            pass
    assert info.value.code == "workflow_failed"
    assert "Deploy CDK - Deploy with CDK: failure" in (info.value.details or [])


async def test_missing_stack_output_is_an_error(
    tmp_path: Path, github_double: GitHubDouble, cfn: Any
) -> None:
    """An endpoint read from a stack that does not exist fails with stack_unavailable."""
    target = make_target(github_double, cfn)
    published = await target.publish(JOB, rendered(tmp_path, "v1"))
    other = DeployJob("ws1", "other", "other-app", 1)
    with pytest.raises(DeployError) as info:
        await target.endpoint(other, published)
    assert info.value.code == "stack_unavailable"


async def test_destroy_dispatches_destroy_workflow(
    tmp_path: Path, github_double: GitHubDouble, cfn: Any
) -> None:
    """destroy() dispatches destroy.yml and follows it to completion."""
    target = make_target(github_double, cfn)
    published = await target.publish(JOB, rendered(tmp_path, "v1"))
    record = DeploymentRecord(
        "ws1", "proj", JOB.app_id, "github_aws", "deployed", repo_url=published.repo_url
    )
    progress = [p async for p in target.destroy(JOB, record)]
    assert [r.workflow for r in github_double.runs.values()] == ["destroy.yml"]
    assert progress[-1].status == "destroying"
    assert progress[-1].completed_steps == progress[-1].total_steps


async def test_bad_token_is_target_unavailable(
    tmp_path: Path, github_double: GitHubDouble, cfn: Any
) -> None:
    """GitHub's 401 is translated to TargetUnavailable (github_unauthorized)."""
    gh = Github(
        base_url=github_double.url,
        retry=None,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )
    target = GitHubAwsTarget(
        GitHubAwsConfig(permissions_boundary_arn=BOUNDARY, organization="Qubitz-202"),
        github=gh,
        cloudformation=cfn,
        iam=iam_client(cfn),
    )
    with pytest.raises(DeployError) as info:
        await target.publish(JOB, rendered(tmp_path, "v1"))
    assert info.value.code == "github_unauthorized"


async def test_pipeline_on_github_target_streams_reference_sequence(
    tmp_path: Path, github_double: GitHubDouble, moto_url: str
) -> None:
    """The whole /deploy stream on github_aws: repo URL first, then CI steps, then endpoint."""
    from agents.deploy.pipeline import DeployDeps, deploy_pipeline
    from agents.pipeline import JobContext
    from agents.protocol import DeployRequest, event_to_dict
    from agents.spec.validation import canonical_json
    from server.db.base import Base, make_engine, make_sessionmaker
    from server.db.deployments import SqlDeploymentStore
    from server.db.specs import SqlSpecStore
    from tests.deploy.test_pipeline import ARCH, SynthDouble, fake_render

    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    sessions = make_sessionmaker(engine)
    specs, deployments = SqlSpecStore(sessions), SqlDeploymentStore(sessions)
    app = await deployments.allocate_app("ws1", "proj")
    client = boto3.client(
        "cloudformation",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_stack(
        StackName=app,
        TemplateBody=json.dumps(
            {
                "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
                "Outputs": {"EndpointUrl": {"Value": ENDPOINT}, "UsagePlanId": {"Value": "plan9"}},
            }
        ),
    )
    await specs.append(
        "ws1",
        "proj",
        user_id="u1",
        action="generate",
        instruction="x",
        spec_json=canonical_json(ARCH),
    )
    deps = DeployDeps(
        specs=specs,
        deployments=deployments,
        targets={"github_aws": make_target(github_double, client)},
        default_target="github_aws",
        render=fake_render,
        synth_check=SynthDouble(),
        work_dir=tmp_path / "work",
    )
    try:
        req = DeployRequest(user_id="u1", project_id="proj", github_username="alice")
        ctx = JobContext(job_id="j", workspace_id="ws1", endpoint="deploy")
        events = [event_to_dict(e) async for e in deploy_pipeline(deps)(req, ctx)]
    finally:
        client.delete_stack(StackName=app)
        await engine.dispose()
    first, second = (e["data"] for e in events if e["type"] == "deployment_complete")
    assert first["github_repo"] == f"https://github.com/Qubitz-202/{app}"
    assert first["message"].startswith(f"Code pushed to Qubitz-202/{app}.")
    assert second["agent_endpoint"] == ENDPOINT
    statuses = [e["data"] for e in events if e["type"] == "status"]
    assert "Deploy CDK - Deploy with CDK" in [s["message"] for s in statuses]
    percents = [s["progress_percent"] for s in statuses]
    assert percents == sorted(percents)
    assert percents[-1] == 100
    live = await deployments.get_deployed("ws1", "proj")
    assert live is not None
    assert live.usage_plan_id == "plan9"
    assert live.target == "github_aws"


# -- run again after a failover (the deploy pipeline's durable steps) -------------------------


async def test_publishing_the_same_files_again_returns_the_pushed_revision(
    tmp_path: Path, github_double: GitHubDouble, cfn: Any
) -> None:
    target = make_target(github_double, cfn)
    first = await target.publish(JOB, rendered(tmp_path / "a", "v1"))
    again = await target.publish(JOB, rendered(tmp_path / "b", "v1"))
    full = f"Qubitz-202/{JOB.app_name}"
    assert again.revision == first.revision
    assert len(github_double.history(full)) == 2  # the initial commit and one deploy
    changed = await target.publish(JOB, rendered(tmp_path / "c", "v2"))
    assert changed.revision != first.revision
    assert len(github_double.history(full)) == 3


async def test_a_dispatched_run_is_followed_by_a_second_runner_without_a_new_dispatch(
    tmp_path: Path, github_double: GitHubDouble, cfn: Any
) -> None:
    target = make_target(github_double, cfn)
    published = await target.dispatch(JOB, await target.publish(JOB, rendered(tmp_path, "v1")))
    (run,) = github_double.runs.values()
    assert published.extra["run_id"] == str(run.id)
    interrupted = target.run(JOB, published)
    await anext(interrupted)  # the replica that died saw the run start
    progress = [p async for p in target.run(JOB, published)]  # the one that took over
    assert len(github_double.runs) == 1
    assert progress[-1].completed_steps == progress[-1].total_steps == 8
    assert not run.cancelled
    await interrupted.aclose()


async def test_a_dispatched_run_found_cancelled_is_dispatched_again(
    tmp_path: Path, github_double: GitHubDouble, cfn: Any
) -> None:
    """What a replica that shut down mid-run leaves: it cancelled the run it followed."""
    target = make_target(github_double, cfn)
    job = dataclasses.replace(JOB, github_username=None)
    published = await target.dispatch(job, await target.publish(job, rendered(tmp_path, "v1")))
    (first,) = github_double.runs.values()
    first.cancelled = True
    progress = [p async for p in target.run(job, published)]
    assert len(github_double.runs) == 2
    second = max(github_double.runs.values(), key=lambda r: r.id)
    assert second.finished and not second.cancelled
    assert progress[-1].completed_steps == progress[-1].total_steps == 8
