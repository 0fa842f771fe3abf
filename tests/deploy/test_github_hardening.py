"""A deploy collaborator cannot reach the operator's AWS account (issue 12, item 1).

Against the GitHub REST double and moto's IAM on loopback: the collaborator is read-only unless
the operator opts in, main is protected so only the service's commits land, the deploy
environment deploys from main only (with the operator's reviewers), and the app's own role
trusts exactly one repository and environment, under the permission boundary.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from github import Auth, Github, GithubException
from moto.server import ThreadedMotoServer

from agents.deploy.targets import aws_policies
from agents.deploy.targets.base import DeployError, DeployJob, DeploymentRecord
from agents.deploy.targets.github_aws import GitHubAwsConfig, GitHubAwsTarget
from tests.deploy.github_double import GitHubDouble
from tests.deploy.support import write_runtime_repo

pytestmark = pytest.mark.anyio

ACCOUNT = "123456789012"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/qubitz-app-boundary"
ORG = "Qubitz-202"
JOB = DeployJob("ws1", "proj", "proj-k3x9q2ab", 1, github_username="alice")
FULL = f"{ORG}/{JOB.app_name}"


@pytest.fixture
def github_double() -> Iterator[GitHubDouble]:
    d = GitHubDouble(user="qubitz-bot", orgs=(ORG,))
    d.tokens["ghp_alice"] = "alice"
    yield d
    d.close()


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _client(kind: str, url: str) -> Any:
    return boto3.client(
        kind,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def iam(moto_url: str) -> Iterator[Any]:
    client = _client("iam", moto_url)
    yield client
    name = aws_policies.role_name(JOB.app_name)
    for call in (
        lambda: client.delete_role_policy(RoleName=name, PolicyName="app-stack"),
        lambda: client.delete_role(RoleName=name),
    ):
        with contextlib.suppress(client.exceptions.NoSuchEntityException):
            call()


def _gh(double: GitHubDouble, token: str = "ghp_service") -> Github:
    return Github(
        auth=Auth.Token(token),
        base_url=double.url,
        retry=None,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )


def make_target(
    double: GitHubDouble, iam: Any, moto_url: str, *, org: str | None = ORG, **cfg: Any
) -> GitHubAwsTarget:
    config = GitHubAwsConfig(
        permissions_boundary_arn=BOUNDARY,
        organization=org,
        poll_interval=0.0,
        find_run_timeout=5.0,
        **cfg,
    )
    return GitHubAwsTarget(
        config, github=_gh(double), cloudformation=_client("cloudformation", moto_url), iam=iam
    )


def _repo_dir(tmp_path: Path) -> Path:
    return write_runtime_repo(tmp_path / "repo", "v1")


async def test_collaborator_is_read_only_and_main_is_protected(
    tmp_path: Path, github_double: GitHubDouble, iam: Any, moto_url: str
) -> None:
    """Default: alice may read; main requires reviews, no force pushes, pushes by the service."""
    await make_target(github_double, iam, moto_url).publish(JOB, _repo_dir(tmp_path))
    repo = github_double.repos[FULL]
    assert repo.collaborators == {"alice": "pull"}
    rule = repo.protection["main"]
    assert rule["required_pull_request_reviews"]["required_approving_review_count"] >= 1
    assert rule["required_pull_request_reviews"]["dismiss_stale_reviews"] is True
    assert rule["allow_force_pushes"] is False and rule["allow_deletions"] is False
    assert rule["restrictions"]["users"] == ["qubitz-bot"]
    assert rule["enforce_admins"] is False  # the service (admin) is the one account pushing


async def test_environment_deploys_from_main_only_with_reviewers(
    tmp_path: Path, github_double: GitHubDouble, iam: Any, moto_url: str
) -> None:
    """The production environment: custom branch policy `main` only, the operator's reviewers."""
    target = make_target(github_double, iam, moto_url, environment_reviewers=("carol",))
    await target.publish(JOB, _repo_dir(tmp_path))
    await target.publish(JOB, _repo_dir(tmp_path))  # idempotent on redeploy
    repo = github_double.repos[FULL]
    env = repo.environments["production"]
    assert env["deployment_branch_policy"] == {
        "protected_branches": False,
        "custom_branch_policies": True,
    }
    assert [(p["name"], p["type"]) for p in repo.branch_policies["production"]] == [
        ("main", "branch")
    ]
    carol_id = github_double._account("carol")["id"]
    assert env["reviewers"] == [{"type": "User", "id": carol_id}]
    assert env["prevent_self_review"] is True


async def test_a_collaborator_cannot_land_a_commit_on_main(
    tmp_path: Path, github_double: GitHubDouble, iam: Any, moto_url: str
) -> None:
    """Even with push opted in, alice's direct update of main is refused; the head is unchanged."""
    target = make_target(github_double, iam, moto_url, collaborator_permission="push")
    published = await target.publish(JOB, _repo_dir(tmp_path))
    assert github_double.repos[FULL].collaborators == {"alice": "push"}
    alice_repo = _gh(github_double, "ghp_alice").get_repo(FULL)
    head = alice_repo.get_git_commit(published.revision)
    tree = alice_repo.create_git_tree([], base_tree=head.tree)
    evil = alice_repo.create_git_commit("add a workflow that assumes the role", tree, [head])
    with pytest.raises(GithubException) as refused:
        alice_repo.get_git_ref("heads/main").edit(evil.sha)
    assert refused.value.status == 422
    assert github_double.repos[FULL].refs["heads/main"] == published.revision


async def test_a_read_only_collaborator_cannot_write_at_all(
    tmp_path: Path, github_double: GitHubDouble, iam: Any, moto_url: str
) -> None:
    """By default alice cannot create objects, branches or workflows in the repository."""
    await make_target(github_double, iam, moto_url).publish(JOB, _repo_dir(tmp_path))
    alice_repo = _gh(github_double, "ghp_alice").get_repo(FULL)
    with pytest.raises(GithubException) as refused:
        alice_repo.create_git_blob("on: push", "utf-8")
    assert refused.value.status == 403


def test_push_is_never_the_default_and_unknown_permissions_are_refused(
    github_double: GitHubDouble, iam: Any, moto_url: str
) -> None:
    """The default collaborator permission is pull; `admin` or `maintain` cannot be configured."""
    assert GitHubAwsConfig(permissions_boundary_arn=BOUNDARY).collaborator_permission == "pull"
    for permission in ("admin", "maintain", "write"):
        with pytest.raises(ValueError, match="collaborator permission"):
            make_target(github_double, iam, moto_url, collaborator_permission=permission)


async def test_the_app_role_trusts_exactly_one_repository_and_environment(
    tmp_path: Path, github_double: GitHubDouble, iam: Any, moto_url: str
) -> None:
    """AWS_ROLE_ARN is the app's own role: boundary attached, trust pinned, policy scoped."""
    await make_target(github_double, iam, moto_url).publish(JOB, _repo_dir(tmp_path))
    variables = github_double.repos[FULL].variables
    name = aws_policies.role_name(JOB.app_name)
    assert variables["AWS_ROLE_ARN"] == f"arn:aws:iam::{ACCOUNT}:role/qubitz-apps/{name}"
    role = iam.get_role(RoleName=name)["Role"]
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == BOUNDARY
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {
        "Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
    }
    assert statement["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": f"repo:{FULL}:environment:production",
        }
    }
    assert "*" not in json.dumps(trust)
    inline = iam.get_role_policy(RoleName=name, PolicyName="app-stack")["PolicyDocument"]
    inline = json.loads(inline) if isinstance(inline, str) else inline
    stack = next(s for s in inline["Statement"] if s["Sid"] == "OwnStack")
    assert f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/{JOB.app_name}/*" in stack["Resource"]


async def test_destroy_removes_the_app_role(
    tmp_path: Path, github_double: GitHubDouble, iam: Any, moto_url: str
) -> None:
    """After the destroy workflow the app's role is deleted: nothing is left to assume."""
    target = make_target(github_double, iam, moto_url)
    published = await target.publish(JOB, _repo_dir(tmp_path))
    record = DeploymentRecord(
        "ws1", "proj", JOB.app_id, "github_aws", "deployed", published.repo_url
    )
    [p async for p in target.destroy(JOB, record)]
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role(RoleName=aws_policies.role_name(JOB.app_name))


async def test_an_unprotectable_repository_fails_closed(
    tmp_path: Path, github_double: GitHubDouble, iam: Any, moto_url: str
) -> None:
    """When GitHub refuses branch protection, nothing else happens: no collaborator, no role."""
    github_double.protection_available = False
    with pytest.raises(DeployError) as failed:
        await make_target(github_double, iam, moto_url).publish(JOB, _repo_dir(tmp_path))
    assert "Upgrade to GitHub Pro" in str(failed.value)
    repo = github_double.repos[FULL]
    assert repo.collaborators == {} and repo.variables == {}
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role(RoleName=aws_policies.role_name(JOB.app_name))


async def test_a_role_without_the_boundary_is_refused(
    tmp_path: Path, github_double: GitHubDouble, iam: Any, moto_url: str
) -> None:
    """A pre-existing role of that name without the boundary is never reused."""
    iam.create_role(
        Path="/qubitz-apps/",
        RoleName=aws_policies.role_name(JOB.app_name),
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )
    with pytest.raises(DeployError) as refused:
        await make_target(github_double, iam, moto_url).publish(JOB, _repo_dir(tmp_path))
    assert refused.value.code == "app_role_refused"
    assert github_double.repos[FULL].collaborators == {}


def test_trust_policy_refuses_wildcards() -> None:
    """A trust subject is one repository and one environment: wildcards cannot be rendered."""
    for owner, repo, env in [
        ("org", "*", "production"),
        ("*", "app", "production"),
        ("org", "app", "*"),
        ("org", "a/b", "production"),
    ]:
        with pytest.raises(ValueError, match="cannot be pinned"):
            aws_policies.trust_policy(account=ACCOUNT, owner=owner, repo=repo, environment=env)


def test_app_policy_names_only_its_own_app() -> None:
    """Each statement names the app's own resources, or is conditioned on the app's tag."""
    app = "alpha-1234abcd"
    doc = aws_policies.app_policy(
        app=app, account=ACCOUNT, region="eu-west-1", boundary_arn=BOUNDARY
    )
    shared = {
        "TemplateChecks": ["*"],  # GetTemplateSummary / ValidateTemplate take no resource
        "AssetsBucket": [f"arn:aws:s3:::cdk-hnb659fds-assets-{ACCOUNT}-eu-west-1"],
        "BootstrapVersion": [
            f"arn:aws:ssm:eu-west-1:{ACCOUNT}:parameter/cdk-bootstrap/hnb659fds/*"
        ],
        "ApiGatewayAccountLogging": ["arn:aws:apigateway:eu-west-1::/account"],
    }
    for statement in doc["Statement"]:
        sid, resources = statement["Sid"], statement["Resource"]
        resources = [resources] if isinstance(resources, str) else resources
        condition = json.dumps(statement.get("Condition", {}))
        if sid in shared:
            assert resources == shared[sid], sid
        elif sid.endswith("Tagged") or sid.endswith("ByTag"):
            assert f'"qubitz:app": "{app}"' in condition.replace("aws:RequestTag/", "").replace(
                "aws:ResourceTag/", ""
            ), sid
        else:
            assert all(app in r or r.endswith(":changeSet/*") for r in resources), (sid, resources)
    assets = next(s for s in doc["Statement"] if s["Sid"] == "AssetsBucket")
    assert assets["Condition"] == {"StringLike": {"s3:prefix": [f"{app}/*"]}}
    roles = next(s for s in doc["Statement"] if s["Sid"] == "OwnRolesOnlyWithTheBoundary")
    assert roles["Condition"] == {"StringEquals": {"iam:PermissionsBoundary": BOUNDARY}}


def test_boundary_denies_touching_deploy_roles_and_roles_without_it() -> None:
    """The boundary's explicit denies: deploy roles, bootstrap roles, lifting the boundary."""
    doc = aws_policies.boundary_policy(boundary_arn=BOUNDARY)
    denies = {s["Sid"]: s for s in doc["Statement"] if s["Effect"] == "Deny"}
    assert denies["NeverTheDeployRoles"]["Resource"] == f"arn:aws:iam::{ACCOUNT}:role/qubitz-apps/*"
    assert denies["NoRoleWithoutTheBoundary"]["Condition"] == {
        "StringNotEquals": {"iam:PermissionsBoundary": BOUNDARY}
    }
    assert "sts:AssumeRole" in denies["NeverTheBootstrapRoles"]["Action"]


async def test_a_cancelled_follow_cancels_the_workflow_run(
    tmp_path: Path, github_double: GitHubDouble, iam: Any, moto_url: str
) -> None:
    """Closing the run's progress early (a cancelled /deploy) cancels the GitHub run too."""
    target = make_target(github_double, iam, moto_url)
    published = await target.publish(JOB, _repo_dir(tmp_path))
    steps = target.run(JOB, published)
    first = await steps.__anext__()
    assert first.completed_steps == 0
    await steps.aclose()  # type: ignore[attr-defined]
    (run,) = github_double.runs.values()
    assert run.cancelled and run.finished


def test_the_documents_print_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    """`python -m agents.deploy.targets.aws_policies trust ...` prints the pinned document."""
    assert aws_policies.main(["trust", "--account", ACCOUNT, "--owner", ORG, "--app", "a-1"]) == 0
    doc = json.loads(capsys.readouterr().out)
    condition = doc["Statement"][0]["Condition"]["StringEquals"]
    assert condition["token.actions.githubusercontent.com:sub"] == (
        f"repo:{ORG}/a-1:environment:production"
    )


def test_settings_default_to_read_only_and_refuse_other_permissions(tmp_path: Path) -> None:
    """QUBITZ_GITHUB_COLLABORATOR_PERMISSION is pull unless set; admin/maintain are refused."""
    from server.settings import SettingsError, load_settings

    settings = load_settings({}, data_dir=tmp_path)
    assert settings.deploy.github_collaborator_permission == "pull"
    assert settings.deploy.aws_permissions_boundary_arn is None
    opted = load_settings(
        {
            "QUBITZ_GITHUB_COLLABORATOR_PERMISSION": "push",
            "QUBITZ_GITHUB_ENVIRONMENT_REVIEWERS": "carol, dave",
            "QUBITZ_AWS_PERMISSIONS_BOUNDARY_ARN": BOUNDARY,
        },
        data_dir=tmp_path,
    )
    assert opted.deploy.github_collaborator_permission == "push"
    assert opted.deploy.github_environment_reviewers == ("carol", "dave")
    assert opted.deploy.aws_permissions_boundary_arn == BOUNDARY
    for bad in ("admin", "maintain", "write"):
        with pytest.raises(SettingsError, match="COLLABORATOR_PERMISSION"):
            load_settings({"QUBITZ_GITHUB_COLLABORATOR_PERMISSION": bad}, data_dir=tmp_path)


def test_the_service_refuses_github_aws_without_a_boundary(tmp_path: Path) -> None:
    """The shared role is gone: without QUBITZ_AWS_PERMISSIONS_BOUNDARY_ARN nothing is wired."""
    from server.settings import load_settings
    from server.wiring import _github_target

    env = {
        "QUBITZ_DEPLOY_TARGET": "github_aws",
        "QUBITZ_GITHUB_TOKEN": "ghp_x",
        "QUBITZ_AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/shared-deploy",
    }
    with pytest.raises(ValueError, match="QUBITZ_AWS_PERMISSIONS_BOUNDARY_ARN"):
        _github_target(load_settings(env, data_dir=tmp_path).deploy)
