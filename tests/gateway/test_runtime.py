"""The lifespan helper wires the gateway, both key backends and the pipelines' deps."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from moto.server import ThreadedMotoServer
from starlette.applications import Starlette

from agents.appkeys.aws import AwsKeyBackend
from agents.appkeys.local import LocalKeyBackend
from agents.appkeys.pipelines import create_key
from agents.appkeys.ports import PlanLimits
from agents.deploy.targets.base import DeploymentRecord
from agents.protocol import CreateApiKeyRequest
from server.db.base import Base, make_engine, make_sessionmaker
from server.db.deployments import SqlDeploymentStore
from server.gateway.runtime import AppKeysOptions, app_keys_runtime
from tests.gateway.support import serve_asgi
from tests.gateway.upstream import make_upstream

pytestmark = pytest.mark.anyio


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Dummy credentials and a moto server, so the real boto3 client can be built."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    }.items():
        monkeypatch.setenv(name, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def test_default_limits_from_options() -> None:
    """A quota of 0/None means no quota; otherwise the period applies."""
    assert AppKeysOptions().default_limits() == PlanLimits(rate_limit=10.0, burst_limit=20)
    limits = AppKeysOptions(default_quota=100, default_quota_period="day").default_limits()
    assert (limits.quota_limit, limits.quota_period) == (100, "DAY")
    with pytest.raises(ValueError, match="quota period"):
        AppKeysOptions(default_quota=1, default_quota_period="YEAR").default_limits()


async def test_runtime_serves_keys_created_through_its_deps(tmp_path: Path, aws_env: str) -> None:
    """Keys made with runtime.deps open the runtime's gateway; AWS targets get the boto3 backend."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'q.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    sessions = make_sessionmaker(engine)
    deployments = SqlDeploymentStore(sessions)
    options = AppKeysOptions(aws_enabled=True, aws_endpoint_url=aws_env)
    try:
        async with (
            app_keys_runtime(sessions=sessions, deployments=deployments, options=options) as rt,
            serve_asgi(Starlette(routes=rt.gateway.routes())) as gw,
            serve_asgi(make_upstream("A")) as upstream,
        ):
            assert isinstance(rt.deps.backends["local"], LocalKeyBackend)
            assert isinstance(rt.deps.backends["github_aws"], AwsKeyBackend)
            await rt.gateway.router.register("app1", upstream, "ws", "p1")
            await deployments.save(
                DeploymentRecord(
                    workspace_id="ws",
                    project_id="p1",
                    app_id="app1",
                    target="local",
                    status="deployed",
                    endpoint=f"{gw}/apps/app1/invoke",
                )
            )
            created = await create_key(
                rt.deps, "ws", CreateApiKeyRequest(user_id="u", project_id="p1")
            )
            async with httpx.AsyncClient() as client:
                r = await client.post(
                    created.api_endpoint, headers={"x-api-key": created.api_key_value}
                )
            assert r.status_code == 200
            assert r.json()["key_id"] == created.api_key_id
    finally:
        await engine.dispose()
