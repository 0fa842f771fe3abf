"""Hardening of a generated GitHub repository (PyGithub, blocking: call from a thread).

Done before a collaborator is added or a role is named, on every publish:

- the default branch is protected (PUT /repos/{o}/{r}/branches/{b}/protection): pull-request
  reviews required, no force pushes or deletions, and on organisation repositories pushes
  restricted to the service's own account; `enforce_admins` stays off so the service (the
  repository's admin) is the one account whose commits land directly;
- the deploy environment exists (PUT /repos/{o}/{r}/environments/{env}) with custom branch
  policies, the only policy being the default branch (POST .../deployment-branch-policies),
  and the operator's reviewers (prevent_self_review when there are any);
- the collaborator gets the operator's permission (PUT /repos/{o}/{r}/collaborators/{u} with
  `permission`), read by default.

Any refusal (for example a plan without protected branches for private repositories) fails the
publish: the service never runs a deploy from an unprotected repository.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence
from typing import Any

from github import Github
from github.EnvironmentDeploymentBranchPolicy import EnvironmentDeploymentBranchPolicyParams
from github.EnvironmentProtectionRuleReviewer import ReviewerParams
from github.Repository import Repository

COLLABORATOR_PERMISSIONS = ("pull", "triage", "push")


def protect_branch(repo: Repository, branch: str, *, pusher: str | None) -> None:
    """Protect `branch`; `pusher` (organisation repositories only) is the only account to push."""
    kwargs: dict[str, Any] = {}
    if pusher is not None:
        kwargs.update(user_push_restrictions=[pusher], team_push_restrictions=[])
    repo.get_branch(branch).edit_protection(
        enforce_admins=False,
        required_approving_review_count=1,
        dismiss_stale_reviews=True,
        require_last_push_approval=True,
        allow_force_pushes=False,
        allow_deletions=False,
        **kwargs,
    )


def ensure_environment(
    gh: Github, repo: Repository, name: str, *, branch: str, reviewers: Sequence[str]
) -> None:
    """The deploy environment: deployable from `branch` only, reviewed by `reviewers`."""
    reviewer_params = [ReviewerParams("User", int(gh.get_user(login).id)) for login in reviewers]
    repo.create_environment(
        name,
        reviewers=reviewer_params,
        prevent_self_review=bool(reviewer_params),
        deployment_branch_policy=EnvironmentDeploymentBranchPolicyParams(
            protected_branches=False, custom_branch_policies=True
        ),
    )
    base = f"{repo.url}/environments/{urllib.parse.quote(name, safe='')}"
    _, listed = gh.requester.requestJsonAndCheck("GET", f"{base}/deployment-branch-policies")
    policies = listed.get("branch_policies", []) if isinstance(listed, dict) else []
    for policy in policies:
        if policy.get("name") != branch or policy.get("type", "branch") != "branch":
            gh.requester.requestJsonAndCheck(
                "DELETE", f"{base}/deployment-branch-policies/{int(policy['id'])}"
            )
    if not any(p.get("name") == branch and p.get("type", "branch") == "branch" for p in policies):
        gh.requester.requestJsonAndCheck(
            "POST", f"{base}/deployment-branch-policies", input={"name": branch, "type": "branch"}
        )


def add_collaborator(repo: Repository, login: str, permission: str) -> None:
    if permission not in COLLABORATOR_PERMISSIONS:
        raise ValueError(f"collaborator permission must be one of {COLLABORATOR_PERMISSIONS}")
    repo.add_to_collaborators(login, permission=permission)
