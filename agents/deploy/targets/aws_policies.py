"""The IAM documents of the github_aws target, rendered from one place (pure functions).

Who may do what in the operator's AWS account:

- `trust_policy`: who may assume an app's deploy role — GitHub's OIDC provider, only for a job
  of exactly one repository running in exactly one GitHub environment
  (`repo:<owner>/<app>:environment:<env>`, StringEquals, never a wildcard).
- `app_policy`: what that role may do — the resources of its own CloudFormation stack (the
  stack is named after the app, and CloudFormation names the stack's resources after the stack),
  the app's prefix of the CDK assets bucket, and nothing of any other app.
- `boundary_policy`: the operator's permission boundary, attached to every app role and to every
  role an app's stack creates: the union of what apps may ever do, and explicit denies for
  touching the deploy roles, lifting a boundary, or creating a role without it.
- `service_policy`: what the qubitz service's own AWS principal needs: create and update roles
  under the app-role path, only with the boundary attached, and read stacks.

`python -m agents.deploy.targets.aws_policies boundary --account 123456789012` prints a document.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from typing import Any

OIDC_HOST = "token.actions.githubusercontent.com"
ROLE_PATH = "/qubitz-apps/"
CDK_QUALIFIER = "hnb659fds"  # the CDK's default bootstrap qualifier
DEPLOY_ENVIRONMENT = "production"
Policy = dict[str, Any]

_ACCOUNT = re.compile(r"^\d{12}$")
_ARN_ACCOUNT = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):")


def account_of(arn: str) -> str:
    """The 12-digit account of an IAM ARN (e.g. the permission boundary's)."""
    m = _ARN_ACCOUNT.match(arn)
    if not m:
        raise ValueError(f"not an IAM ARN with an account: {arn!r}")
    return m[1]


def oidc_provider_arn(account: str) -> str:
    return f"arn:aws:iam::{account}:oidc-provider/{OIDC_HOST}"


def role_name(app: str) -> str:
    return f"qubitz-app-{app}"


def role_arn(account: str, app: str) -> str:
    return f"arn:aws:iam::{account}:role{ROLE_PATH}{role_name(app)}"


def assets_bucket(account: str, region: str, qualifier: str = CDK_QUALIFIER) -> str:
    return f"cdk-{qualifier}-assets-{account}-{region}"


def subject(owner: str, repo: str, environment: str = DEPLOY_ENVIRONMENT) -> str:
    """The OIDC `sub` of a job of `owner/repo` that runs in `environment`."""
    for part, what in ((owner, "owner"), (repo, "repository"), (environment, "environment")):
        if not part or any(c in part for c in "*?/:") or part != part.strip():
            raise ValueError(f"{what} {part!r} cannot be pinned in a trust policy")
    return f"repo:{owner}/{repo}:environment:{environment}"


def trust_policy(
    *, account: str, owner: str, repo: str, environment: str = DEPLOY_ENVIRONMENT
) -> Policy:
    if not _ACCOUNT.match(account):
        raise ValueError(f"not an AWS account id: {account!r}")
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "GitHubOidcOneRepositoryOneEnvironment",
                "Effect": "Allow",
                "Principal": {"Federated": oidc_provider_arn(account)},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{OIDC_HOST}:aud": "sts.amazonaws.com",
                        f"{OIDC_HOST}:sub": subject(owner, repo, environment),
                    }
                },
            }
        ],
    }


def app_policy(
    *, app: str, account: str, region: str, boundary_arn: str, qualifier: str = CDK_QUALIFIER
) -> Policy:
    """The app role's inline policy: its own stack and the resources named after it."""
    stack = f"arn:aws:cloudformation:{region}:{account}:stack/{app}/*"
    bucket = assets_bucket(account, region, qualifier)
    own_roles = f"arn:aws:iam::{account}:role/{app}-*"
    apigw = f"arn:aws:apigateway:{region}::"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OwnStack",
                "Effect": "Allow",
                "Action": [
                    "cloudformation:CreateChangeSet",
                    "cloudformation:CreateStack",
                    "cloudformation:DeleteChangeSet",
                    "cloudformation:DeleteStack",
                    "cloudformation:DescribeChangeSet",
                    "cloudformation:DescribeStackEvents",
                    "cloudformation:DescribeStacks",
                    "cloudformation:ExecuteChangeSet",
                    "cloudformation:GetTemplate",
                    "cloudformation:UpdateStack",
                ],
                "Resource": [stack, f"arn:aws:cloudformation:{region}:{account}:changeSet/*"],
            },
            {
                "Sid": "TemplateChecks",
                "Effect": "Allow",
                "Action": ["cloudformation:GetTemplateSummary", "cloudformation:ValidateTemplate"],
                "Resource": "*",
            },
            {
                "Sid": "OwnAssets",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": f"arn:aws:s3:::{bucket}/{app}/*",
            },
            {
                "Sid": "AssetsBucket",
                "Effect": "Allow",
                "Action": ["s3:GetBucketLocation", "s3:ListBucket"],
                "Resource": f"arn:aws:s3:::{bucket}",
                "Condition": {"StringLike": {"s3:prefix": [f"{app}/*"]}},
            },
            {
                "Sid": "BootstrapVersion",
                "Effect": "Allow",
                "Action": ["ssm:GetParameter", "ssm:GetParameters"],
                "Resource": f"arn:aws:ssm:{region}:{account}:parameter/cdk-bootstrap/{qualifier}/*",
            },
            {
                "Sid": "OwnFunctions",
                "Effect": "Allow",
                "Action": "lambda:*",
                "Resource": f"arn:aws:lambda:{region}:{account}:function:{app}-*",
            },
            {
                "Sid": "OwnLogs",
                "Effect": "Allow",
                "Action": "logs:*",
                "Resource": [
                    f"arn:aws:logs:{region}:{account}:log-group:{app}-*",
                    f"arn:aws:logs:{region}:{account}:log-group:/aws/lambda/{app}-*",
                ],
            },
            {
                "Sid": "OwnRolesOnlyWithTheBoundary",
                "Effect": "Allow",
                "Action": ["iam:CreateRole", "iam:PutRolePermissionsBoundary"],
                "Resource": own_roles,
                "Condition": {"StringEquals": {"iam:PermissionsBoundary": boundary_arn}},
            },
            {
                "Sid": "OwnRoles",
                "Effect": "Allow",
                "Action": [
                    "iam:AttachRolePolicy",
                    "iam:DeleteRole",
                    "iam:DeleteRolePolicy",
                    "iam:DetachRolePolicy",
                    "iam:GetRole",
                    "iam:GetRolePolicy",
                    "iam:PassRole",
                    "iam:PutRolePolicy",
                    "iam:TagRole",
                    "iam:UntagRole",
                ],
                "Resource": own_roles,
            },
            {
                "Sid": "CreateOwnApiTagged",
                "Effect": "Allow",
                "Action": ["apigateway:POST", "apigateway:PUT"],
                "Resource": [f"{apigw}/restapis", f"{apigw}/usageplans", f"{apigw}/tags/*"],
                "Condition": {"StringEquals": {"aws:RequestTag/qubitz:app": app}},
            },
            {
                "Sid": "OwnApiByTag",
                "Effect": "Allow",
                "Action": [
                    "apigateway:DELETE",
                    "apigateway:GET",
                    "apigateway:PATCH",
                    "apigateway:POST",
                    "apigateway:PUT",
                ],
                "Resource": [f"{apigw}/restapis/*", f"{apigw}/usageplans/*"],
                "Condition": {"StringEquals": {"aws:ResourceTag/qubitz:app": app}},
            },
            {
                "Sid": "ApiGatewayAccountLogging",
                "Effect": "Allow",
                "Action": ["apigateway:GET", "apigateway:PATCH"],
                "Resource": f"{apigw}/account",
            },
        ],
    }


def boundary_policy(*, boundary_arn: str, qualifier: str = CDK_QUALIFIER) -> Policy:
    """The operator's permission boundary (one managed policy, named by `boundary_arn`)."""
    account, boundary = account_of(boundary_arn), boundary_arn
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "WhatAnAppMayEverDo",
                "Effect": "Allow",
                "Action": [
                    "apigateway:*",
                    "bedrock:InvokeModel",
                    "bedrock:InvokeModelWithResponseStream",
                    "cloudformation:*",
                    "iam:*Role*",
                    "lambda:*",
                    "logs:*",
                    "s3:GetBucketLocation",
                    "s3:GetObject",
                    "s3:ListBucket",
                    "s3:PutObject",
                    "ssm:GetParameter",
                    "ssm:GetParameters",
                    "sts:GetCallerIdentity",
                ],
                "Resource": "*",
            },
            {
                "Sid": "NeverTheDeployRoles",
                "Effect": "Deny",
                "Action": "iam:*",
                "Resource": f"arn:aws:iam::{account}:role{ROLE_PATH}*",
            },
            {
                "Sid": "NeverTheBootstrapRoles",
                "Effect": "Deny",
                "Action": ["iam:*", "sts:AssumeRole"],
                "Resource": f"arn:aws:iam::{account}:role/cdk-{qualifier}-*",
            },
            {
                "Sid": "NeverLiftTheBoundary",
                "Effect": "Deny",
                "Action": ["iam:DeleteRolePermissionsBoundary"],
                "Resource": "*",
            },
            {
                "Sid": "NoRoleWithoutTheBoundary",
                "Effect": "Deny",
                "Action": ["iam:CreateRole", "iam:PutRolePermissionsBoundary"],
                "Resource": "*",
                "Condition": {"StringNotEquals": {"iam:PermissionsBoundary": boundary}},
            },
            {
                "Sid": "NeverChangeTheBoundary",
                "Effect": "Deny",
                "Action": [
                    "iam:CreatePolicyVersion",
                    "iam:DeletePolicy",
                    "iam:DeletePolicyVersion",
                    "iam:SetDefaultPolicyVersion",
                ],
                "Resource": boundary,
            },
        ],
    }


def service_policy(*, account: str, boundary_arn: str) -> Policy:
    """What the qubitz service's AWS principal needs for the github_aws target."""
    roles = f"arn:aws:iam::{account}:role{ROLE_PATH}*"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CreateAppRolesOnlyWithTheBoundary",
                "Effect": "Allow",
                "Action": ["iam:CreateRole"],
                "Resource": roles,
                "Condition": {"StringEquals": {"iam:PermissionsBoundary": boundary_arn}},
            },
            {
                "Sid": "ManageAppRoles",
                "Effect": "Allow",
                "Action": [
                    "iam:DeleteRole",
                    "iam:DeleteRolePolicy",
                    "iam:GetRole",
                    "iam:PutRolePolicy",
                    "iam:TagRole",
                    "iam:UpdateAssumeRolePolicy",
                ],
                "Resource": roles,
            },
            {
                "Sid": "ReadStacks",
                "Effect": "Allow",
                "Action": ["cloudformation:DescribeStacks"],
                "Resource": "*",
            },
        ],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("document", choices=["boundary", "service", "trust", "app"])
    parser.add_argument("--account", required=True)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--owner", default="ORG")
    parser.add_argument("--app", default="APP")
    parser.add_argument("--qualifier", default=CDK_QUALIFIER)
    args = parser.parse_args(argv)
    boundary = f"arn:aws:iam::{args.account}:policy/qubitz-app-boundary"
    doc: Policy
    if args.document == "boundary":
        doc = boundary_policy(boundary_arn=boundary, qualifier=args.qualifier)
    elif args.document == "service":
        doc = service_policy(account=args.account, boundary_arn=boundary)
    elif args.document == "trust":
        doc = trust_policy(account=args.account, owner=args.owner, repo=args.app)
    else:
        doc = app_policy(
            app=args.app,
            account=args.account,
            region=args.region,
            boundary_arn=boundary,
            qualifier=args.qualifier,
        )
    json.dump(doc, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
