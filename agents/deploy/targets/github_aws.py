"""The GitHub + AWS target: a GitHub repository, GitHub Actions, and AWS CDK.

publish: create the repository (in an organisation, or the token's user) initialised with a
README; protect its default branch and create the deploy environment (github_guard.py); create
or update the app's own IAM role (app_roles.py: trust pinned to this repository and environment,
scoped to this app's stack, under the operator's permission boundary) and store its ARN as the
Actions variable AWS_ROLE_ARN (with AWS_REGION, AWS_PERMISSIONS_BOUNDARY_ARN, CDK_QUALIFIER);
then ONE commit of every rendered file through the Git Data API (blobs → tree → commit → ref
update; the tree replaces the initial README); add the collaborator last, read-only by default.
run: dispatch deploy.yml and follow the run's jobs and steps. endpoint: the CloudFormation stack's
outputs. destroy: dispatch destroy.yml, follow it, then delete the app's role.

PyGithub and boto3 block, so every call runs in a worker thread. Their errors are translated
here: GithubException → DeployError / TargetUnavailable; botocore errors → DeployError.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError
from github import Github, GithubException, InputGitAuthor, InputGitTreeElement
from github.Repository import Repository
from github.WorkflowRun import WorkflowRun

from agents.deploy.progress import Progress
from agents.deploy.targets import github_guard
from agents.deploy.targets.app_roles import AppRoleConfig, AppRoles
from agents.deploy.targets.aws_policies import CDK_QUALIFIER, DEPLOY_ENVIRONMENT
from agents.deploy.targets.base import (
    AppEndpoint,
    DeployError,
    DeployJob,
    DeploymentRecord,
    PublishResult,
    TargetUnavailable,
)
from agents.deploy.targets.git import AUTHOR_EMAIL, AUTHOR_NAME, EXCLUDES

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient

T = TypeVar("T")
_SKIP_DIRS = frozenset(e.rstrip("/") for e in EXCLUDES if e.endswith("/")) | {".git"}


@dataclass(frozen=True)
class GitHubAwsConfig:
    permissions_boundary_arn: str  # the operator's boundary; each app's role is created under it
    organization: str | None = None  # None: repositories go to the token's user
    region: str = "us-east-1"
    private: bool = True
    deploy_workflow: str = "deploy.yml"
    destroy_workflow: str = "destroy.yml"
    stack_name: str = "{app}"  # CloudFormation stack name; {app} is the app name
    endpoint_output: str = "EndpointUrl"
    usage_plan_output: str = "UsagePlanId"
    # Access (see docs/deploy.md): what a /deploy github_username gets, who approves deploys
    collaborator_permission: str = "pull"  # pull | triage | push (push only when opted in)
    environment_reviewers: tuple[str, ...] = ()
    cdk_qualifier: str = CDK_QUALIFIER
    # Timeouts
    poll_interval: float = 5.0
    find_run_timeout: float = 120.0
    run_timeout: float = 3600.0
    ref_ready_timeout: float = 30.0


def repo_files(repo_dir: Path) -> list[tuple[str, bytes, bool]]:
    """(posix path, content, executable) of every file to commit, sorted, build output skipped."""
    out: list[tuple[str, bytes, bool]] = []
    for dirpath, dirnames, filenames in os.walk(repo_dir):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for name in filenames:
            if name.endswith(".pyc"):
                continue
            path = Path(dirpath) / name
            rel = path.relative_to(repo_dir).as_posix()
            out.append((rel, path.read_bytes(), os.access(path, os.X_OK)))
    return sorted(out)


def _gh_error(exc: GithubException, what: str) -> DeployError:
    message = exc.data.get("message") if isinstance(exc.data, dict) else None
    text = f"GitHub refused to {what}: {exc.status} {message or ''}".strip()
    if exc.status in (401, 403):
        return TargetUnavailable(text, step=what, code="github_unauthorized")
    return DeployError(text, step=what, code="github_error")


def run_progress(run: WorkflowRun, jobs: list[Any]) -> Progress:
    """Progress of a workflow run from its jobs' steps: "<job> - <step>" of the running step."""
    total = completed = 0
    current: tuple[str, str] | None = None
    last_done: tuple[str, str] | None = None
    for job in jobs:
        for step in job.steps:
            total += 1
            if step.status == "completed":
                completed += 1
                last_done = (job.name, step.name)
            elif step.status == "in_progress" and current is None:
                current = (job.name, step.name)
        if not job.steps and current is None and job.status != "completed":
            current = (job.name, "Waiting for a runner")
    job_name, step_name = current or last_done or ("GitHub Actions", f"Run {run.status}")
    return Progress(job_name, step_name, completed_steps=completed, total_steps=total)


def _failure_details(run: WorkflowRun, jobs: list[Any]) -> list[str]:
    lines = [
        f"{job.name} - {step.name}: {step.conclusion}"
        for job in jobs
        for step in job.steps
        if step.conclusion not in (None, "success", "skipped")
    ]
    return [*lines, f"run: {run.html_url}"]


class GitHubAwsTarget:
    name = "github_aws"

    def __init__(
        self,
        config: GitHubAwsConfig,
        *,
        github: Github,
        cloudformation: CloudFormationClient,
        iam: Any,
    ) -> None:
        if config.collaborator_permission not in github_guard.COLLABORATOR_PERMISSIONS:
            raise ValueError(
                "collaborator permission must be one of "
                f"{github_guard.COLLABORATOR_PERMISSIONS}, got {config.collaborator_permission!r}"
            )
        self._cfg = config
        self._gh = github
        self._cfn = cloudformation
        self._roles = AppRoles(
            AppRoleConfig(
                boundary_arn=config.permissions_boundary_arn,
                region=config.region,
                environment=DEPLOY_ENVIRONMENT,
                qualifier=config.cdk_qualifier,
            ),
            iam=iam,
        )

    async def _call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return await asyncio.to_thread(fn)
        except GithubException as exc:
            raise _gh_error(exc, what) from exc

    # -- publish -------------------------------------------------------------------------------

    def _owner_login(self) -> str:
        if self._cfg.organization:
            return self._cfg.organization
        return str(self._gh.get_user().login)

    def _ensure_repo(self, job: DeployJob) -> Repository:
        full_name = f"{self._owner_login()}/{job.app_name}"
        try:
            return self._gh.get_repo(full_name)
        except GithubException as exc:
            if exc.status != 404:
                raise
        owner = (
            self._gh.get_organization(self._cfg.organization)
            if self._cfg.organization
            else self._gh.get_user()
        )
        # auto_init: the Git Data API refuses to write to an empty repository.
        return owner.create_repo(
            job.app_name,
            private=self._cfg.private,
            auto_init=True,
            description=(job.description or f"qubitz app {job.app_name}")[:300],
        )

    def _head_sha(self, repo: Repository) -> str:
        deadline = datetime.now(UTC) + timedelta(seconds=self._cfg.ref_ready_timeout)
        while True:
            try:
                return str(repo.get_git_ref(f"heads/{repo.default_branch}").object.sha)
            except GithubException as exc:
                # A freshly created repository's initial commit can take a moment to appear.
                if exc.status not in (404, 409) or datetime.now(UTC) >= deadline:
                    raise
            time.sleep(0.5)

    def _publish_sync(self, job: DeployJob, files: list[tuple[str, bytes, bool]]) -> PublishResult:
        repo = self._ensure_repo(job)
        branch = repo.default_branch
        owner = repo.owner.login
        pusher = str(self._gh.get_user().login) if self._cfg.organization else None
        github_guard.protect_branch(repo, branch, pusher=pusher)
        github_guard.ensure_environment(
            self._gh,
            repo,
            DEPLOY_ENVIRONMENT,
            branch=branch,
            reviewers=self._cfg.environment_reviewers,
        )
        # The role and variables exist before the push: the push itself starts a deploy run.
        role_arn = self._roles.ensure(job.app_name, owner)
        self._set_variable(repo, "AWS_ROLE_ARN", role_arn)
        self._set_variable(repo, "AWS_REGION", self._cfg.region)
        self._set_variable(repo, "AWS_PERMISSIONS_BOUNDARY_ARN", self._cfg.permissions_boundary_arn)
        self._set_variable(repo, "CDK_QUALIFIER", self._cfg.cdk_qualifier)
        parent = repo.get_git_commit(self._head_sha(repo))
        elements: list[InputGitTreeElement] = []
        for path, data, executable in files:
            try:
                blob = repo.create_git_blob(data.decode("utf-8"), "utf-8")
            except UnicodeDecodeError:
                blob = repo.create_git_blob(base64.b64encode(data).decode(), "base64")
            mode = "100755" if executable else "100644"
            elements.append(InputGitTreeElement(path, mode, "blob", sha=blob.sha))
        tree = repo.create_git_tree(elements)  # no base_tree: exactly the rendered files
        message = f"Deploy {job.app_name} (spec v{job.spec_version})"
        if parent.tree.sha == tree.sha and parent.message.strip() == message:
            sha = parent.sha  # pushed already (a re-run after a failover): no second commit
        else:
            author = InputGitAuthor(AUTHOR_NAME, AUTHOR_EMAIL)
            commit = repo.create_git_commit(
                message, tree, [parent], author=author, committer=author
            )
            repo.get_git_ref(f"heads/{branch}").edit(commit.sha, force=False)
            sha = commit.sha
        if job.github_username:
            github_guard.add_collaborator(
                repo, job.github_username, self._cfg.collaborator_permission
            )
        return PublishResult(
            repo_url=repo.html_url,
            revision=sha,
            display_name=repo.full_name,
            extra={"full_name": repo.full_name, "branch": branch},
        )

    @staticmethod
    def _set_variable(repo: Repository, name: str, value: str) -> None:
        try:
            repo.create_variable(name, value)
        except GithubException as exc:
            if exc.status != 409:
                raise
            repo.get_variable(name).edit(value)

    async def publish(self, job: DeployJob, repo_dir: Path) -> PublishResult:
        files = await asyncio.to_thread(repo_files, repo_dir)
        return await self._call("publish the repository", lambda: self._publish_sync(job, files))

    # -- runs ----------------------------------------------------------------------------------

    def _dispatch_sync(self, full_name: str, workflow: str) -> tuple[Repository, int]:
        repo = self._gh.get_repo(full_name)
        branch = repo.default_branch
        head = self._head_sha(repo)
        wf = repo.get_workflow(workflow)
        since = datetime.now(UTC) - timedelta(minutes=2)
        if not wf.create_dispatch(ref=branch):
            raise DeployError(f"GitHub did not accept the dispatch of {workflow}", step="dispatch")
        deadline = datetime.now(UTC) + timedelta(seconds=self._cfg.find_run_timeout)
        while True:
            for run in wf.get_runs(branch=branch, event="workflow_dispatch", head_sha=head):
                if run.created_at >= since:
                    return repo, run.id
                break
            if datetime.now(UTC) >= deadline:
                raise DeployError(f"no run of {workflow} appeared after dispatch", step="dispatch")
            time.sleep(min(self._cfg.poll_interval, 2.0))

    def _poll_sync(self, repo: Repository, run_id: int) -> tuple[WorkflowRun, list[Any]]:
        run = repo.get_workflow_run(run_id)
        return run, list(run.jobs())

    @staticmethod
    def _cancel_run_sync(repo: Repository, run_id: int) -> None:
        # Already finished, or GitHub refused: there is nothing more to stop.
        with contextlib.suppress(GithubException):
            repo.get_workflow_run(run_id).cancel()

    async def _follow(self, full_name: str, workflow: str, status: str) -> AsyncIterator[Progress]:
        repo, run_id = await self._call(
            f"dispatch {workflow}", lambda: self._dispatch_sync(full_name, workflow)
        )
        try:
            async for progress in self._watch(repo, run_id, workflow, status):
                yield progress
        except DeployError:
            raise
        except BaseException:  # cancelled or closed: the run must not go on deploying unseen
            await asyncio.shield(asyncio.to_thread(self._cancel_run_sync, repo, run_id))
            raise

    async def _watch(
        self, repo: Repository, run_id: int, workflow: str, status: str
    ) -> AsyncIterator[Progress]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._cfg.run_timeout
        last: Progress | None = None
        while True:
            run, jobs = await self._call(
                "read the workflow run", lambda: self._poll_sync(repo, run_id)
            )
            progress = run_progress(run, jobs)
            progress = Progress(
                progress.job,
                progress.step,
                progress.completed_steps,
                progress.total_steps,
                status=status,
            )
            if progress != last:
                yield progress
                last = progress
            if run.status == "completed":
                if run.conclusion != "success":
                    raise DeployError(
                        f"the {workflow} run ended with {run.conclusion}",
                        step=workflow,
                        code="workflow_failed",
                        details=_failure_details(run, jobs),
                    )
                return
            if loop.time() >= deadline:
                raise DeployError(
                    f"the {workflow} run did not finish in time",
                    step=workflow,
                    code="workflow_timeout",
                    details=[f"run: {run.html_url}"],
                )
            await asyncio.sleep(self._cfg.poll_interval)

    async def dispatch(self, job: DeployJob, published: PublishResult) -> PublishResult:
        """Dispatch deploy.yml; the result carries the run's id (`run` follows that run)."""
        full_name = published.extra.get("full_name") or published.display_name
        workflow = self._cfg.deploy_workflow
        _repo, run_id = await self._call(
            f"dispatch {workflow}", lambda: self._dispatch_sync(full_name, workflow)
        )
        return replace(published, extra={**published.extra, "run_id": str(run_id)})

    def run(self, job: DeployJob, published: PublishResult) -> AsyncIterator[Progress]:
        full_name = published.extra.get("full_name") or published.display_name
        run_id = published.extra.get("run_id")
        if run_id is None:
            return self._follow(full_name, self._cfg.deploy_workflow, "deploying")
        return self._resume(full_name, int(run_id))

    async def _resume(self, full_name: str, run_id: int) -> AsyncIterator[Progress]:
        """Follow a dispatched run; one found cancelled (the replica that followed it shut down
        and stopped it) is dispatched again, once."""
        workflow = self._cfg.deploy_workflow
        repo = await self._call("read the repository", lambda: self._gh.get_repo(full_name))
        run = await self._call("read the workflow run", lambda: repo.get_workflow_run(run_id))
        if run.status == "completed" and run.conclusion == "cancelled":
            async for progress in self._follow(full_name, workflow, "deploying"):
                yield progress
            return
        try:
            async for progress in self._watch(repo, run_id, workflow, "deploying"):
                yield progress
        except DeployError:
            raise
        except BaseException:  # cancelled or closed: the run must not go on deploying unseen
            await asyncio.shield(asyncio.to_thread(self._cancel_run_sync, repo, run_id))
            raise

    # -- endpoint ------------------------------------------------------------------------------

    def _outputs_sync(self, stack: str) -> dict[str, str]:
        stacks = self._cfn.describe_stacks(StackName=stack)["Stacks"]
        if not stacks:
            return {}
        return {
            o["OutputKey"]: o["OutputValue"]
            for o in stacks[0].get("Outputs", [])
            if "OutputKey" in o and "OutputValue" in o
        }

    async def endpoint(self, job: DeployJob, published: PublishResult) -> AppEndpoint:
        stack = self._cfg.stack_name.format(app=job.app_name)
        try:
            outputs = await asyncio.to_thread(self._outputs_sync, stack)
        except (ClientError, BotoCoreError) as exc:
            raise DeployError(
                f"could not read stack {stack}: {exc}", step="endpoint", code="stack_unavailable"
            ) from exc
        url = outputs.get(self._cfg.endpoint_output)
        if not url:
            raise DeployError(
                f"stack {stack} has no {self._cfg.endpoint_output} output",
                step="endpoint",
                code="stack_unavailable",
                details=sorted(outputs),
            )
        return AppEndpoint(url=url, usage_plan_id=outputs.get(self._cfg.usage_plan_output))

    # -- destroy -------------------------------------------------------------------------------

    def destroy(self, job: DeployJob, record: DeploymentRecord) -> AsyncIterator[Progress]:
        return self._destroy(job)

    async def _destroy(self, job: DeployJob) -> AsyncIterator[Progress]:
        owner = await self._call("read the repository owner", self._owner_login)
        async for progress in self._follow(
            f"{owner}/{job.app_name}", self._cfg.destroy_workflow, "destroying"
        ):
            yield progress
        await asyncio.to_thread(self._roles.delete, job.app_name)
