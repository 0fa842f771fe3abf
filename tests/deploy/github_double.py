"""A loopback double of the GitHub REST endpoints the github+aws target uses.

A real HTTP server (127.0.0.1, ephemeral port) answering with the shapes documented at
docs.github.com/en/rest: users/orgs, repositories (create with auto_init), the Git Data API
(blobs, trees, commits, refs — refused on an empty repository, as GitHub does), collaborators
(with `permission`), branch protection, environments and their deployment branch policies,
Actions variables, workflows, dispatches, runs and jobs. A dispatched run advances one step per
read of its jobs; the second job appears only when the first has finished, as on GitHub.

Tokens name users (`tokens`: token -> login; any other token is the double's own user, the
owner). Writes to a repository need push access (owner or a collaborator with push, maintain or
admin), and a protected branch accepts a ref update only from an admin when `enforce_admins` is
off: with required pull-request reviews, GitHub refuses direct pushes from everyone else.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

DEFAULT_JOBS: list[tuple[str, list[str]]] = [
    ("Build", ["Set up job", "Run actions/checkout@v4", "Install", "Runtime tests"]),
    ("Deploy CDK", ["Set up job", "CDK synth", "Deploy with CDK", "Smoke test"]),
]


@dataclass
class Run:
    id: int
    repo: str
    workflow: str
    head_sha: str
    branch: str
    created_at: str
    jobs: list[tuple[str, list[str]]]
    fail_at: tuple[int, int] | None = None  # (job, step) that fails
    cursor: int = 0  # steps completed so far across jobs
    cancelled: bool = False

    def flat(self) -> list[tuple[int, int]]:
        return [(j, s) for j, (_, steps) in enumerate(self.jobs) for s in range(len(steps))]

    @property
    def failed(self) -> bool:
        return self.fail_at is not None and self.cursor > self.flat().index(self.fail_at)

    @property
    def finished(self) -> bool:
        return self.cancelled or self.failed or self.cursor >= len(self.flat())


@dataclass
class RepoState:
    owner: str
    name: str
    private: bool
    empty: bool
    default_branch: str = "main"
    refs: dict[str, str] = field(default_factory=dict)
    collaborators: dict[str, str] = field(default_factory=dict)
    protection: dict[str, dict[str, Any]] = field(default_factory=dict)  # branch -> PUT body
    environments: dict[str, dict[str, Any]] = field(default_factory=dict)
    branch_policies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    workflows: dict[str, int] = field(default_factory=dict)


class GitHubDouble:
    def __init__(self, *, user: str = "octocat", orgs: tuple[str, ...] = ("Qubitz-202",)) -> None:
        self.user = user
        self.orgs = set(orgs)
        self.repos: dict[str, RepoState] = {}
        self.objects: dict[str, dict[str, Any]] = {}  # sha -> blob/tree/commit
        self.runs: dict[int, Run] = {}
        self.requests: list[tuple[str, str]] = []
        self.run_jobs = DEFAULT_JOBS
        self.fail_at: tuple[int, int] | None = None
        self.tokens: dict[str, str] = {}  # token -> login (others are `user`)
        self.protection_available = True  # False: the plan has no protected branches (403)
        self._ids = itertools.count(1000)
        self._lock = threading.Lock()
        double = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                parts = urlsplit(self.path)
                with double._lock:
                    double.requests.append((self.command, parts.path))
                    status, payload = double.route(
                        self.command,
                        parts.path,
                        parse_qs(parts.query),
                        body,
                        self.headers.get("authorization", ""),
                    )
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json; charset=utf-8")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- shapes --------------------------------------------------------------------------------

    def _account(self, login: str) -> dict[str, Any]:
        kind = "Organization" if login in self.orgs else "User"
        path = f"/orgs/{login}" if kind == "Organization" else f"/users/{login}"
        return {
            "login": login,
            "id": abs(hash(login)) % 10**6,
            "type": kind,
            "url": self.url + path,
            "html_url": f"https://github.com/{login}",
        }

    def _repo(self, r: RepoState) -> dict[str, Any]:
        full = f"{r.owner}/{r.name}"
        return {
            "id": abs(hash(full)) % 10**8,
            "name": r.name,
            "full_name": full,
            "owner": self._account(r.owner),
            "private": r.private,
            "html_url": f"https://github.com/{full}",
            "url": f"{self.url}/repos/{full}",
            "default_branch": r.default_branch,
            "size": 0 if r.empty else 1,
        }

    def _commit(self, full: str, sha: str) -> dict[str, Any]:
        c = self.objects[sha]
        base = f"{self.url}/repos/{full}/git"
        return {
            "sha": sha,
            "url": f"{base}/commits/{sha}",
            "message": c["message"],
            "author": c["author"],
            "committer": c["author"],
            "tree": {"sha": c["tree"], "url": f"{base}/trees/{c['tree']}"},
            "parents": [{"sha": p, "url": f"{base}/commits/{p}"} for p in c["parents"]],
        }

    def _ref(self, full: str, ref: str, sha: str) -> dict[str, Any]:
        base = f"{self.url}/repos/{full}/git"
        return {
            "ref": f"refs/{ref}",
            "url": f"{base}/refs/{ref}",
            "object": {"sha": sha, "type": "commit", "url": f"{base}/commits/{sha}"},
        }

    def _run(self, run: Run) -> dict[str, Any]:
        base = f"{self.url}/repos/{run.repo}/actions/runs/{run.id}"
        status = "completed" if run.finished else ("in_progress" if run.cursor else "queued")
        conclusion = (
            None
            if not run.finished
            else "cancelled"
            if run.cancelled
            else ("failure" if run.failed else "success")
        )
        return {
            "id": run.id,
            "name": run.workflow,
            "event": "workflow_dispatch",
            "status": status,
            "conclusion": conclusion,
            "head_sha": run.head_sha,
            "head_branch": run.branch,
            "created_at": run.created_at,
            "updated_at": run.created_at,
            "url": base,
            "jobs_url": f"{base}/jobs",
            "cancel_url": f"{base}/cancel",
            "rerun_url": f"{base}/rerun",
            "html_url": f"https://github.com/{run.repo}/actions/runs/{run.id}",
            "workflow_id": self.repos[run.repo].workflows[run.workflow],
        }

    def _jobs(self, run: Run) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        flat = run.flat()
        for j, (name, steps) in enumerate(run.jobs):
            first = flat.index((j, 0))
            if j > 0 and run.cursor < first:
                break  # a job appears once the previous one has finished
            step_objs = []
            for s, step_name in enumerate(steps):
                idx = first + s
                if idx < run.cursor:
                    failed = run.fail_at == (j, s)
                    st, concl = "completed", "failure" if failed else "success"
                elif idx == run.cursor and not run.finished:
                    st, concl = "in_progress", None
                else:
                    st, concl = ("completed", "skipped") if run.finished else ("queued", None)
                step_objs.append(
                    {"name": step_name, "status": st, "conclusion": concl, "number": s + 1}
                )
            done = all(x["status"] == "completed" for x in step_objs)
            out.append(
                {
                    "id": run.id * 10 + j,
                    "run_id": run.id,
                    "name": name,
                    "status": "completed" if done else "in_progress",
                    "conclusion": (
                        None
                        if not done
                        else "failure"
                        if any(x["conclusion"] == "failure" for x in step_objs)
                        else "success"
                    ),
                    "steps": step_objs,
                    "url": f"{self.url}/repos/{run.repo}/actions/jobs/{run.id * 10 + j}",
                }
            )
        return out

    # -- git objects ---------------------------------------------------------------------------

    def _store(self, kind: str, obj: dict[str, Any]) -> str:
        sha = hashlib.sha1(json.dumps([kind, obj], sort_keys=True).encode()).hexdigest()
        self.objects[sha] = {"kind": kind, **obj}
        return sha

    def _initial_commit(self, r: RepoState) -> None:
        blob = self._store("blob", {"content": base64.b64encode(f"# {r.name}\n".encode()).decode()})
        tree = self._store("tree", {"entries": {"README.md": ("100644", blob)}})
        author = {"name": r.owner, "email": "init@example.com", "date": "2025-01-01T00:00:00Z"}
        sha = self._store(
            "commit", {"message": "Initial commit", "tree": tree, "parents": [], "author": author}
        )
        r.refs[f"heads/{r.default_branch}"] = sha
        r.empty = False

    def tree_files(self, full: str) -> dict[str, bytes]:
        """The files at the head of the default branch (for assertions)."""
        r = self.repos[full]
        commit = self.objects[r.refs[f"heads/{r.default_branch}"]]
        entries = self.objects[commit["tree"]]["entries"]
        return {p: base64.b64decode(self.objects[b]["content"]) for p, (_, b) in entries.items()}

    def history(self, full: str) -> list[dict[str, Any]]:
        r = self.repos[full]
        sha: str | None = r.refs[f"heads/{r.default_branch}"]
        out = []
        while sha:
            c = self.objects[sha]
            out.append({"sha": sha, **c})
            sha = c["parents"][0] if c["parents"] else None
        return out

    # -- routing -------------------------------------------------------------------------------

    def route(
        self, method: str, path: str, query: dict[str, list[str]], body: Any, auth: str
    ) -> tuple[int, Any]:
        if not auth.lower().startswith(("token ", "bearer ")):
            return 401, {"message": "Requires authentication"}
        login = self.tokens.get(auth.split(" ", 1)[1].strip(), self.user)
        not_found = (
            404,
            {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"},
        )
        if method == "GET" and path == "/user":
            return 200, self._account(login)
        if method == "GET" and (m := re.fullmatch(r"/users/([^/]+)", path)):
            return 200, self._account(m[1])
        if m := re.fullmatch(r"/orgs/([^/]+)", path):
            return (200, self._account(m[1])) if m[1] in self.orgs else not_found
        if method == "POST" and (m := re.fullmatch(r"/orgs/([^/]+)/repos|/user/repos", path)):
            owner = m[1] or self.user
            full = f"{owner}/{body['name']}"
            if full in self.repos:
                return 422, {
                    "message": "Repository creation failed.",
                    "errors": [{"message": "name already exists on this account"}],
                }
            r = RepoState(owner, body["name"], bool(body.get("private")), empty=True)
            r.workflows = {"deploy.yml": next(self._ids), "destroy.yml": next(self._ids)}
            self.repos[full] = r
            if body.get("auto_init"):
                self._initial_commit(r)
            return 201, self._repo(r)
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)(/.*)?", path)
        if not m or f"{m[1]}/{m[2]}" not in self.repos:
            return not_found
        full, rest, r = f"{m[1]}/{m[2]}", m[3] or "", self.repos[f"{m[1]}/{m[2]}"]
        admin = login == r.owner or login == self.user or r.collaborators.get(login) == "admin"
        writer = admin or r.collaborators.get(login) in ("push", "maintain")
        if method != "GET" and not writer:
            return 403, {"message": f"Permission to {full}.git denied to {login}."}
        if method != "GET" and not admin and not rest.startswith("/git/"):
            return 403, {"message": "Must have admin rights to Repository."}
        if method == "PATCH" and (m := re.fullmatch(r"/git/refs/heads/(.+)", rest)):
            rule = r.protection.get(m[1])
            if rule is not None and (rule.get("enforce_admins") or not admin):
                return 422, {
                    "message": "Protected branch update failed for refs/heads/" + m[1],
                    "errors": ["Changes must be made through a pull request."],
                }
        if rest.startswith(("/branches/", "/environments/")):
            return self._settings_route(method, full, rest, r, body, not_found)
        return self._repo_route(method, full, rest, r, query, body, not_found)

    def _settings_route(
        self,
        method: str,
        full: str,
        rest: str,
        r: RepoState,
        body: Any,
        not_found: tuple[int, Any],
    ) -> tuple[int, Any]:
        """Branches, branch protection, environments and deployment branch policies."""
        if m := re.fullmatch(r"/branches/([^/]+)(/protection)?", rest):
            branch = m[1]
            sha = r.refs.get(f"heads/{branch}")
            if sha is None:
                return 404, {"message": "Branch not found"}
            if m[2] is None and method == "GET":
                return 200, {
                    "name": branch,
                    "commit": {"sha": sha, "url": f"{self.url}/repos/{full}/commits/{sha}"},
                    "protected": branch in r.protection,
                    "protection_url": f"{self.url}/repos/{full}/branches/{branch}/protection",
                }
            if m[2] and method == "PUT":
                return self._protect(full, r, branch, body)
            if m[2] and method == "GET":
                rule = r.protection.get(branch)
                return (
                    (200, {"url": f"{self.url}/repos/{full}/branches/{branch}/protection", **rule})
                    if rule
                    else (404, {"message": "Branch not protected"})
                )
            return not_found
        m = re.fullmatch(r"/environments/([^/]+)(/deployment-branch-policies)?(?:/(\d+))?", rest)
        if not m:
            return not_found
        env = m[1]
        if m[2] is None and method == "PUT":
            policy = (body or {}).get("deployment_branch_policy")
            if policy is not None and policy.get("protected_branches") == policy.get(
                "custom_branch_policies"
            ):
                return 422, {
                    "message": "Only one of protected_branches or custom_branch_policies may be "
                    "true"
                }
            r.environments[env] = dict(body or {})
            return 200, self._environment(full, r, env)
        if m[2] is None and method == "GET":
            return (200, self._environment(full, r, env)) if env in r.environments else not_found
        if env not in r.environments:
            return not_found
        policies = r.branch_policies.setdefault(env, [])
        if m[3] is None and method == "GET":
            return 200, {"total_count": len(policies), "branch_policies": policies}
        if m[3] is None and method == "POST":
            custom = (r.environments[env].get("deployment_branch_policy") or {}).get(
                "custom_branch_policies"
            )
            if not custom:
                return 404, {"message": "Custom deployment branch policies are not enabled"}
            policy = {
                "id": next(self._ids),
                "node_id": "MDE2OkdhdGVCcmFuY2hQb2xpY3kz",
                "name": body["name"],
                "type": body.get("type", "branch"),
            }
            policies.append(policy)
            return 200, policy
        if m[3] is not None and method == "DELETE":
            before = len(policies)
            policies[:] = [p for p in policies if p["id"] != int(m[3])]
            return (204, None) if len(policies) < before else not_found
        return not_found

    def _protect(self, full: str, r: RepoState, branch: str, body: Any) -> tuple[int, Any]:
        required = (
            "required_status_checks",
            "enforce_admins",
            "required_pull_request_reviews",
            "restrictions",
        )
        missing = [k for k in required if k not in (body or {})]
        if missing:
            return 422, {
                "message": "Invalid request.",
                "errors": [f"{k} is missing" for k in missing],
            }
        if r.private and not self.protection_available:
            return 403, {
                "message": "Upgrade to GitHub Pro or make this repository public to enable this "
                "feature."
            }
        if body["restrictions"] is not None and r.owner not in self.orgs:
            return 422, {
                "message": "Validation Failed",
                "errors": ["Only organization repositories can have users and team restrictions"],
            }
        r.protection[branch] = body
        return 200, self._protection(full, branch, body)

    def _protection(self, full: str, branch: str, body: dict[str, Any]) -> dict[str, Any]:
        """The documented response: flags become {"enabled": ...}, logins become accounts."""
        url = f"{self.url}/repos/{full}/branches/{branch}/protection"
        out: dict[str, Any] = {
            "url": url,
            "enforce_admins": {
                "url": f"{url}/enforce_admins",
                "enabled": bool(body["enforce_admins"]),
            },
        }
        if body["required_status_checks"] is not None:
            out["required_status_checks"] = body["required_status_checks"]
        reviews = body["required_pull_request_reviews"]
        if reviews is not None:
            out["required_pull_request_reviews"] = {
                "url": f"{url}/required_pull_request_reviews",
                **{k: v for k, v in reviews.items() if k != "dismissal_restrictions"},
            }
        restrictions = body["restrictions"]
        if restrictions is not None:
            out["restrictions"] = {
                "url": f"{url}/restrictions",
                "users_url": f"{url}/restrictions/users",
                "teams_url": f"{url}/restrictions/teams",
                "apps_url": f"{url}/restrictions/apps",
                "users": [self._account(u) for u in restrictions.get("users", [])],
                "teams": [],
                "apps": [],
            }
        for flag in ("allow_force_pushes", "allow_deletions", "required_linear_history"):
            if flag in body:
                out[flag] = {"enabled": bool(body[flag])}
        return out

    def _environment(self, full: str, r: RepoState, env: str) -> dict[str, Any]:
        body = r.environments[env]
        rules: list[dict[str, Any]] = []
        if body.get("reviewers"):
            rules.append(
                {
                    "id": 3755,
                    "node_id": "MDQ6R2F0ZTM3NTU=",
                    "prevent_self_review": bool(body.get("prevent_self_review")),
                    "type": "required_reviewers",
                    "reviewers": [
                        {"type": x["type"], "reviewer": {"id": x["id"], "login": f"user{x['id']}"}}
                        for x in body["reviewers"]
                    ],
                }
            )
        policy = body.get("deployment_branch_policy")
        if policy is not None:
            rules.append({"id": 3515, "node_id": "MDQ6R2F0ZTM1MTU=", "type": "branch_policy"})
        return {
            "id": abs(hash((full, env))) % 10**8,
            "node_id": "MDExOkVudmlyb25tZW50NTY3ODA0Mjg=",
            "name": env,
            "url": f"{self.url}/repos/{full}/environments/{env}",
            "html_url": f"https://github.com/{full}/deployments/activity_log?environments_filter={env}",
            "created_at": "2025-01-01T00:00:00Z",
            "updated_at": "2025-01-01T00:00:00Z",
            "protection_rules": rules,
            "deployment_branch_policy": policy,
        }

    def _repo_route(
        self,
        method: str,
        full: str,
        rest: str,
        r: RepoState,
        query: dict[str, list[str]],
        body: Any,
        not_found: tuple[int, Any],
    ) -> tuple[int, Any]:
        empty = (409, {"message": "Git Repository is empty."})
        if rest == "" and method == "GET":
            return 200, self._repo(r)
        if rest.startswith("/git/"):
            if r.empty:
                return empty
            return self._git_route(method, full, rest[4:], r, body, not_found)
        if method == "PUT" and (m := re.fullmatch(r"/collaborators/([^/]+)", rest)):
            permission = (body or {}).get("permission", "push")  # GitHub's documented default
            if permission not in ("pull", "triage", "push", "maintain", "admin"):
                return 422, {"message": f"Invalid permission {permission!r}"}
            r.collaborators[m[1]] = permission
            return 201, {
                "id": next(self._ids),
                "permissions": r.collaborators[m[1]],
                "invitee": self._account(m[1]),
                "repository": self._repo(r),
                "url": f"{self.url}/repos/{full}/invitations/1",
            }
        if rest == "/actions/variables" and method == "POST":
            if body["name"] in r.variables:
                return 409, {"message": "Already exists"}
            r.variables[body["name"]] = body["value"]
            return 201, {}
        if m := re.fullmatch(r"/actions/variables/([^/]+)", rest):
            if m[1] not in r.variables:
                return not_found
            if method == "PATCH":
                r.variables[m[1]] = body["value"]
                return 204, None
            return 200, {
                "name": m[1],
                "value": r.variables[m[1]],
                "created_at": "2025-01-01T00:00:00Z",
                "updated_at": "2025-01-01T00:00:00Z",
                "url": f"{self.url}/repos/{full}/actions/variables/{m[1]}",
            }
        if m := re.fullmatch(r"/actions/workflows/([^/]+)(/dispatches|/runs)?", rest):
            name = next((n for n, i in r.workflows.items() if m[1] in (n, str(i))), None)
            if name is None:
                return not_found
            wid = r.workflows[name]
            if m[2] is None:
                return 200, {
                    "id": wid,
                    "name": name,
                    "path": f".github/workflows/{name}",
                    "state": "active",
                    "url": f"{self.url}/repos/{full}/actions/workflows/{wid}",
                }
            if m[2] == "/dispatches" and method == "POST":
                branch = body["ref"]
                if f"heads/{branch}" not in r.refs:
                    return 422, {"message": f"No ref found for: {branch}"}
                run = Run(
                    next(self._ids),
                    full,
                    name,
                    r.refs[f"heads/{branch}"],
                    branch,
                    datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    self.run_jobs,
                    self.fail_at,
                )
                self.runs[run.id] = run
                return 204, None
            runs = [
                x
                for x in self.runs.values()
                if x.repo == full
                and x.workflow == name
                and all(
                    getattr(x, k) == v[0] for k, v in query.items() if k in ("branch", "head_sha")
                )
            ]
            runs.sort(key=lambda x: x.id, reverse=True)
            return 200, {"total_count": len(runs), "workflow_runs": [self._run(x) for x in runs]}
        if method == "POST" and (m := re.fullmatch(r"/actions/runs/(\d+)/cancel", rest)):
            run = self.runs.get(int(m[1]))
            if run is None or run.repo != full:
                return not_found
            if run.finished:
                return 409, {"message": "Cannot cancel a workflow run that is completed."}
            run.cancelled = True
            return 202, {}
        if m := re.fullmatch(r"/actions/runs/(\d+)(/jobs)?", rest):
            run = self.runs.get(int(m[1]))
            if run is None or run.repo != full:
                return not_found
            if m[2] is None:
                return 200, self._run(run)
            jobs = self._jobs(run)
            if not run.finished:
                run.cursor += 1  # the run advances one step per read of its jobs
            return 200, {"total_count": len(jobs), "jobs": jobs}
        return not_found

    def _git_route(
        self,
        method: str,
        full: str,
        rest: str,
        r: RepoState,
        body: Any,
        not_found: tuple[int, Any],
    ) -> tuple[int, Any]:
        base = f"{self.url}/repos/{full}/git"
        if rest == "/blobs" and method == "POST":
            raw = (
                base64.b64decode(body["content"])
                if body.get("encoding") == "base64"
                else body["content"].encode()
            )
            sha = self._store("blob", {"content": base64.b64encode(raw).decode()})
            return 201, {"sha": sha, "url": f"{base}/blobs/{sha}"}
        if rest == "/trees" and method == "POST":
            entries: dict[str, tuple[str, str]] = {}
            if "base_tree" in body:
                entries.update(self.objects[body["base_tree"]]["entries"])
            for e in body["tree"]:
                if self.objects.get(e["sha"], {}).get("kind") != "blob":
                    return 422, {"message": f"tree.sha {e['sha']} is not a valid blob"}
                entries[e["path"]] = (e["mode"], e["sha"])
            sha = self._store("tree", {"entries": entries})
            return 201, {
                "sha": sha,
                "url": f"{base}/trees/{sha}",
                "truncated": False,
                "tree": [
                    {"path": p, "mode": mo, "type": "blob", "sha": s}
                    for p, (mo, s) in sorted(entries.items())
                ],
            }
        if rest == "/commits" and method == "POST":
            if self.objects.get(body["tree"], {}).get("kind") != "tree":
                return 422, {"message": "Tree SHA does not exist"}
            if any(self.objects.get(p, {}).get("kind") != "commit" for p in body["parents"]):
                return 422, {"message": "Parent SHA does not exist"}
            author = {
                **body.get("author", {"name": "x", "email": "x"}),
                "date": "2025-01-01T00:00:00Z",
            }
            sha = self._store(
                "commit",
                {
                    "message": body["message"],
                    "tree": body["tree"],
                    "parents": body["parents"],
                    "author": author,
                },
            )
            return 201, self._commit(full, sha)
        if m := re.fullmatch(r"/commits/([0-9a-f]{40})", rest):
            return (200, self._commit(full, m[1])) if m[1] in self.objects else not_found
        if method == "GET" and (m := re.fullmatch(r"/ref/(.+)", rest)):
            sha = r.refs.get(m[1])
            return (200, self._ref(full, m[1], sha)) if sha else not_found
        if method == "PATCH" and (m := re.fullmatch(r"/refs/(.+)", rest)):
            old = r.refs.get(m[1])
            if old is None:
                return 422, {"message": "Reference does not exist"}
            new = body["sha"]
            if not body.get("force") and old not in {c["sha"] for c in self._ancestors(new)}:
                return 422, {"message": "Update is not a fast forward"}
            r.refs[m[1]] = new
            return 200, self._ref(full, m[1], new)
        return not_found

    def _ancestors(self, sha: str) -> list[dict[str, Any]]:
        out, todo = [], [sha]
        while todo:
            s = todo.pop()
            c = self.objects.get(s)
            if c and c["kind"] == "commit":
                out.append({"sha": s})
                todo.extend(c["parents"])
        return out
