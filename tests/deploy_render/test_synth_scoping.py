"""A real offline `cdk synth` of the generated app with the operator's boundary set.

Every IAM role of the stack carries the boundary, every taggable resource the app's tag, and the
function's code is uploaded under the app's own prefix of the assets bucket: what the app's
deploy role (aws_policies.app_policy) is scoped to.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agents.deploy.render import render_repository
from tests.deploy_render.specs import architecture

ROOT = Path(__file__).resolve().parents[2]
CDK_CLI = Path(os.environ.get("QUBITZ_CDK_CLI") or ROOT / ".cache/cdk/node_modules/.bin/cdk")
BOUNDARY = "arn:aws:iam::123456789012:policy/qubitz-app-boundary"


@pytest.mark.slow
def test_synthesised_stack_stays_inside_the_app_scope(tmp_path: Path) -> None:
    if not CDK_CLI.exists() or shutil.which("node") is None:
        pytest.skip("CDK CLI not installed (make install-dev)")
    repo = tmp_path / "repo"
    render_repository(architecture(), app_name="scoped-app", out_dir=repo, spec_version=1)
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path),
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "AWS_PERMISSIONS_BOUNDARY_ARN": BOUNDARY,
        "CDK_QUALIFIER": "qbz1",
    }
    out = tmp_path / "out"
    done = subprocess.run(
        [str(CDK_CLI), "synth", "--no-notices", "-q", "-o", str(out)],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    template = json.loads((out / "scoped-app.template.json").read_text())
    resources = template["Resources"]
    roles = [r for r in resources.values() if r["Type"] == "AWS::IAM::Role"]
    assert roles and all(r["Properties"]["PermissionsBoundary"] == BOUNDARY for r in roles)
    for kind in ("AWS::IAM::Role", "AWS::ApiGateway::RestApi", "AWS::ApiGateway::UsagePlan"):
        for r in (r for r in resources.values() if r["Type"] == kind):
            assert {"Key": "qubitz:app", "Value": "scoped-app"} in r["Properties"]["Tags"], kind
    (function,) = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Function"]
    code = function["Properties"]["Code"]
    assert code["S3Key"].startswith("scoped-app/")
    assert "cdk-qbz1-assets-" in json.dumps(code["S3Bucket"])
