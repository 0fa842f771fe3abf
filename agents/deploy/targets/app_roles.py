"""One IAM role per app for the github_aws target (boto3, blocking: call from a thread).

`ensure` creates `qubitz-app-<app>` under the app-role path with the operator's permission
boundary, a trust policy that admits only `repo:<owner>/<app>:environment:<env>`, and the inline
policy of `aws_policies.app_policy`; on a redeploy it rewrites both documents. `delete` removes
the role after a teardown. A role found with another boundary is refused, never reused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from agents.deploy.targets import aws_policies as policies
from agents.deploy.targets.base import DeployError

INLINE_POLICY = "app-stack"


@dataclass(frozen=True)
class AppRoleConfig:
    boundary_arn: str
    region: str = "us-east-1"
    environment: str = policies.DEPLOY_ENVIRONMENT
    qualifier: str = policies.CDK_QUALIFIER

    @property
    def account(self) -> str:
        return policies.account_of(self.boundary_arn)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class AppRoles:
    def __init__(self, config: AppRoleConfig, *, iam: Any) -> None:
        self._cfg = config
        self._iam = iam

    def documents(self, app: str, owner: str) -> tuple[policies.Policy, policies.Policy]:
        """(trust policy, inline policy) of the app's role."""
        cfg = self._cfg
        trust = policies.trust_policy(
            account=cfg.account, owner=owner, repo=app, environment=cfg.environment
        )
        inline = policies.app_policy(
            app=app,
            account=cfg.account,
            region=cfg.region,
            boundary_arn=cfg.boundary_arn,
            qualifier=cfg.qualifier,
        )
        return trust, inline

    def ensure(self, app: str, owner: str) -> str:
        """Create or update the app's role; return its ARN."""
        trust, inline = self.documents(app, owner)
        name = policies.role_name(app)
        try:
            role = self._existing(name)
            if role is None:
                role = self._iam.create_role(
                    Path=policies.ROLE_PATH,
                    RoleName=name,
                    AssumeRolePolicyDocument=json.dumps(trust),
                    PermissionsBoundary=self._cfg.boundary_arn,
                    Description=f"qubitz: deploys the stack {app} from {owner}/{app} only",
                    MaxSessionDuration=3600,
                    Tags=[{"Key": "qubitz:app", "Value": app}],
                )["Role"]
            else:
                bound = (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
                if bound != self._cfg.boundary_arn or role.get("Path") != policies.ROLE_PATH:
                    raise DeployError(
                        f"the IAM role {name} exists without the configured permission boundary",
                        step="app role",
                        code="app_role_refused",
                    )
                self._iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))
            self._iam.put_role_policy(
                RoleName=name, PolicyName=INLINE_POLICY, PolicyDocument=json.dumps(inline)
            )
        except (ClientError, BotoCoreError) as exc:
            raise DeployError(
                f"could not set up the IAM role {name}: {exc}", step="app role", code="aws_error"
            ) from exc
        return str(role["Arn"])

    def _existing(self, name: str) -> dict[str, Any] | None:
        try:
            role: dict[str, Any] = self._iam.get_role(RoleName=name)["Role"]
        except ClientError as exc:
            if _code(exc) == "NoSuchEntity":
                return None
            raise
        return role

    def delete(self, app: str) -> None:
        """Remove the app's role (after its stack is gone); absent is fine."""
        name = policies.role_name(app)
        try:
            try:
                self._iam.delete_role_policy(RoleName=name, PolicyName=INLINE_POLICY)
            except ClientError as exc:
                if _code(exc) != "NoSuchEntity":
                    raise
            try:
                self._iam.delete_role(RoleName=name)
            except ClientError as exc:
                if _code(exc) != "NoSuchEntity":
                    raise
        except (ClientError, BotoCoreError) as exc:
            raise DeployError(
                f"could not remove the IAM role {name}: {exc}", step="app role", code="aws_error"
            ) from exc
