"""The `deploy` settings group: the deploy target, the synth check, local runs, GitHub + AWS."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import model_validator

from agents.deploy.targets.aws_policies import CDK_QUALIFIER
from agents.settings_model import Csv, SettingsGroup, Words, env

if TYPE_CHECKING:
    from agents.deploy.targets.github_aws import GitHubAwsConfig
    from agents.deploy.targets.local import LocalTargetConfig

DeployTargetName = Literal["local", "github_aws"]


class DeploySettings(SettingsGroup):
    target: DeployTargetName = env("QUBITZ_DEPLOY_TARGET", default="local")
    # The synth check (empty command: the CLI `make` installs, else `cdk` on PATH)
    cdk_cli: Words = env("QUBITZ_CDK_CLI", default=())
    synth_timeout: float = env("QUBITZ_DEPLOY_SYNTH_TIMEOUT", default=300.0, gt=0)
    path: str = env("PATH", default="/usr/local/bin:/usr/bin:/bin")  # for the CDK CLI and apps
    # Locally deployed apps: the model they call (default: this service's /v1, one token per app)
    model_base_url: str | None = env("QUBITZ_DEPLOY_MODEL_BASE_URL")
    model_name: str = env("QUBITZ_DEPLOY_MODEL_NAME", default="qubitz")
    model_api_key: str | None = env("QUBITZ_DEPLOY_MODEL_API_KEY", repr=False)
    run_tests: bool = env("QUBITZ_DEPLOY_RUN_TESTS", default=True)
    swap_grace: float = env("QUBITZ_DEPLOY_SWAP_GRACE_SECONDS", default=5.0, ge=0)
    health_timeout: float = env("QUBITZ_DEPLOY_HEALTH_TIMEOUT", default=30.0, gt=0)
    # GitHub + AWS
    poll_seconds: float = env("QUBITZ_DEPLOY_POLL_SECONDS", default=5.0, gt=0)
    github_token: str | None = env("QUBITZ_GITHUB_TOKEN", "GITHUB_TOKEN", repr=False)
    github_org: str | None = env("QUBITZ_GITHUB_ORG")
    github_api_url: str = env("QUBITZ_GITHUB_API_URL", default="https://api.github.com")
    aws_role_arn: str | None = env("QUBITZ_AWS_ROLE_ARN")  # no longer used: one role per app
    aws_permissions_boundary_arn: str | None = env("QUBITZ_AWS_PERMISSIONS_BOUNDARY_ARN")
    github_collaborator_permission: Literal["pull", "triage", "push"] = env(
        "QUBITZ_GITHUB_COLLABORATOR_PERMISSION", default="pull"
    )
    github_environment_reviewers: Csv = env("QUBITZ_GITHUB_ENVIRONMENT_REVIEWERS", default=())
    cdk_qualifier: str = env("QUBITZ_CDK_QUALIFIER", default=CDK_QUALIFIER)
    aws_region: str = env("QUBITZ_AWS_REGION", "AWS_REGION", default="us-east-1")
    aws_endpoint_url: str | None = env("QUBITZ_AWS_ENDPOINT_URL")

    @model_validator(mode="after")
    def _check(self) -> DeploySettings:
        if self.target == "github_aws" and not self.github_token:
            raise ValueError("QUBITZ_DEPLOY_TARGET=github_aws needs QUBITZ_GITHUB_TOKEN")
        return self

    def local_target_config(
        self,
        *,
        data_dir: Path,
        public_url: str,
        python: str,
        model_base_url: str,
        model_api_key_for: Callable[[str, str], str] | None,
    ) -> LocalTargetConfig:
        """The local target's configuration; the model endpoint is this service's own `/v1`
        (with one token per app, `model_api_key_for`) unless QUBITZ_DEPLOY_MODEL_BASE_URL is set."""
        from agents.deploy.targets.local import LocalTargetConfig

        return LocalTargetConfig(
            data_dir=data_dir,
            public_url=public_url,
            python=python,
            model_base_url=model_base_url,
            model_name=self.model_name,
            model_api_key=None if model_api_key_for else self.model_api_key,
            model_api_key_for=model_api_key_for,
            run_tests=self.run_tests,
            swap_grace_seconds=self.swap_grace,
        )

    def github_aws_config(self) -> GitHubAwsConfig:
        from agents.deploy.targets.github_aws import GitHubAwsConfig

        if not self.aws_permissions_boundary_arn:
            raise ValueError(
                "QUBITZ_DEPLOY_TARGET=github_aws needs QUBITZ_AWS_PERMISSIONS_BOUNDARY_ARN (each "
                "app gets its own role under it; the shared QUBITZ_AWS_ROLE_ARN is no longer used)"
            )
        return GitHubAwsConfig(
            permissions_boundary_arn=self.aws_permissions_boundary_arn,
            organization=self.github_org,
            region=self.aws_region,
            poll_interval=self.poll_seconds,
            collaborator_permission=self.github_collaborator_permission,
            environment_reviewers=self.github_environment_reviewers,
            cdk_qualifier=self.cdk_qualifier,
        )
