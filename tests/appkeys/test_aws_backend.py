"""The API Gateway adapter end to end against moto's server on 127.0.0.1.

moto speaks the API Gateway key and usage-plan calls (it does not enforce keys). A small
throttling proxy in front of it answers 429 TooManyRequestsException, as API Gateway does when
its management API is called too fast, to check the adapter's backoff.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from agents.appkeys.aws import ApiGatewayError, AwsKeyBackend
from agents.appkeys.pipelines import create_api_key_pipeline, delete_api_key_pipeline
from agents.appkeys.ports import PlanLimits
from agents.deploy.targets.base import DeploymentRecord
from agents.errors import NotFound
from agents.pipeline import JobContext
from agents.protocol import (
    ApiKeyCreated,
    ApiKeyCreatedData,
    ApiKeyDeleted,
    CreateApiKeyRequest,
    DeleteApiKeyRequest,
)
from tests.gateway.support import Stack, stack

pytestmark = pytest.mark.anyio

REGION = "us-east-1"
WS, OTHER_WS, PROJECT, APP = "ws-a", "ws-b", "proj-aws", "proj-aws-app"
DEFAULTS = PlanLimits(rate_limit=10.0, burst_limit=20)


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def client(url: str) -> Any:
    # botocore's own retries are off so the adapter's backoff is what is exercised.
    return boto3.client(
        "apigateway",
        region_name=REGION,
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}),
    )


def app_usage_plan(apigw: Any) -> str:
    """What the deployed CDK app provides: a REST API, a prod stage, a usage plan on it."""
    api = apigw.create_rest_api(name=APP)
    root = apigw.get_resources(restApiId=api["id"])["items"][0]["id"]
    res = apigw.create_resource(restApiId=api["id"], parentId=root, pathPart="invoke")
    apigw.put_method(
        restApiId=api["id"],
        resourceId=res["id"],
        httpMethod="POST",
        authorizationType="NONE",
        apiKeyRequired=True,
    )
    apigw.put_integration(restApiId=api["id"], resourceId=res["id"], httpMethod="POST", type="MOCK")
    apigw.create_deployment(restApiId=api["id"], stageName="prod")
    plan = apigw.create_usage_plan(
        name=f"{APP}-plan",
        apiStages=[{"apiId": api["id"], "stage": "prod"}],
        throttle={"rateLimit": 100.0, "burstLimit": 200},
        quota={"limit": 100000, "period": "MONTH"},
    )
    return str(plan["id"])


async def deploy_aws(s: Stack, plan_id: str) -> None:
    await s.deployments.save(
        DeploymentRecord(
            workspace_id=WS,
            project_id=PROJECT,
            app_id=APP,
            target="aws",
            status="deployed",
            endpoint="https://abc123.execute-api.us-east-1.amazonaws.com/prod/invoke",
            usage_plan_id=plan_id,
        )
    )


async def create(s: Stack, **extra: Any) -> ApiKeyCreatedData:
    run = create_api_key_pipeline(s.deps)
    req = CreateApiKeyRequest(user_id="u1", project_id=PROJECT, **extra)
    events = [e async for e in run(req, JobContext("j", WS, "createapikey"))]
    assert isinstance(events[0], ApiKeyCreated)
    return events[0].data


async def delete(s: Stack, key_id: str, workspace: str = WS) -> None:
    run = delete_api_key_pipeline(s.deps)
    req = DeleteApiKeyRequest(user_id="u1", project_id=PROJECT, api_key_id=key_id)
    events = [e async for e in run(req, JobContext("j", workspace, "deleteapikey"))]
    assert isinstance(events[0], ApiKeyDeleted)


def aws_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


async def test_key_created_on_app_plan_and_deleted(tmp_path: Path, moto_url: str) -> None:
    """Create puts an enabled key on the app's plan; delete removes it; twice is key_not_found."""
    apigw = client(moto_url)
    plan_id = app_usage_plan(apigw)
    backend = AwsKeyBackend(client(moto_url), default_limits=DEFAULTS, calls_per_second=100)
    async with stack(tmp_path, extra_backends={"aws": backend}) as s:
        await deploy_aws(s, plan_id)
        created = await create(s, key_name="production-key")
        assert created.usage_plan_id == plan_id
        assert created.api_endpoint.endswith("/prod/invoke")
        key = apigw.get_api_key(apiKey=created.api_key_id, includeValue=True)
        assert (key["value"], key["enabled"], key["name"]) == (
            created.api_key_value,
            True,
            "production-key",
        )
        plan_keys = apigw.get_usage_plan_keys(usagePlanId=plan_id)["items"]
        assert [k["id"] for k in plan_keys] == [created.api_key_id]

        with pytest.raises(NotFound):
            await delete(s, created.api_key_id, workspace=OTHER_WS)
        assert apigw.get_api_key(apiKey=created.api_key_id)["id"] == created.api_key_id

        await delete(s, created.api_key_id)
        with pytest.raises(ClientError) as gone:
            apigw.get_api_key(apiKey=created.api_key_id)
        assert aws_code(gone) == "NotFoundException"
        assert apigw.get_usage_plan_keys(usagePlanId=plan_id)["items"] == []
        with pytest.raises(NotFound) as twice:
            await delete(s, created.api_key_id)
        assert twice.value.code == "key_not_found"


async def test_different_limits_get_a_dedicated_plan_on_the_same_stage(
    tmp_path: Path, moto_url: str
) -> None:
    """Requested limits: a plan with that throttle/quota on the app's stage, dropped on delete."""
    apigw = client(moto_url)
    plan_id = app_usage_plan(apigw)
    app_stages = apigw.get_usage_plan(usagePlanId=plan_id)["apiStages"]
    backend = AwsKeyBackend(client(moto_url), default_limits=DEFAULTS, calls_per_second=100)
    async with stack(tmp_path, extra_backends={"aws": backend}) as s:
        await deploy_aws(s, plan_id)
        created = await create(s, rate_limit=2.0, burst_limit=4, quota_limit=50, quota_period="DAY")
        assert created.usage_plan_id != plan_id
        plan = apigw.get_usage_plan(usagePlanId=created.usage_plan_id)
        assert plan["throttle"] == {"rateLimit": 2.0, "burstLimit": 4}
        assert (plan["quota"]["limit"], plan["quota"]["period"]) == (50, "DAY")
        assert [(st["apiId"], st["stage"]) for st in plan["apiStages"]] == [
            (st["apiId"], st["stage"]) for st in app_stages
        ]
        keys = apigw.get_usage_plan_keys(usagePlanId=created.usage_plan_id)["items"]
        assert [k["id"] for k in keys] == [created.api_key_id]

        await delete(s, created.api_key_id)
        with pytest.raises(ClientError) as gone:
            apigw.get_usage_plan(usagePlanId=created.usage_plan_id)
        assert aws_code(gone) == "NotFoundException"
        assert apigw.get_usage_plan(usagePlanId=plan_id)["id"] == plan_id


class ThrottlingProxy:
    """Forwards to moto, but answers the first `throttle` requests like a throttled API Gateway."""

    def __init__(self, upstream: str, throttle: int) -> None:
        self.upstream = upstream.removeprefix("http://")
        self.remaining = throttle
        self.seen: list[str] = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_one(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with proxy.lock:
                    proxy.seen.append(f"{self.command} {self.path}")
                    throttled = proxy.remaining > 0
                    proxy.remaining -= 1
                if throttled:
                    payload = b'{"message":"Too Many Requests"}'
                    self.send_response(429)
                    self.send_header("x-amzn-ErrorType", "TooManyRequestsException")
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                conn = http.client.HTTPConnection(proxy.upstream, timeout=10)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                conn.request(self.command, self.path, body=body or None, headers=headers)
                answer = conn.getresponse()
                data = answer.read()
                conn.close()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in {"transfer-encoding", "connection", "content-length"}:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = do_PATCH = handle_one

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ThrottlingProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


async def test_throttled_calls_are_retried_with_backoff(tmp_path: Path, moto_url: str) -> None:
    """Two 429 TooManyRequestsException answers are absorbed; the key is still created."""
    apigw = client(moto_url)
    plan_id = app_usage_plan(apigw)
    with ThrottlingProxy(moto_url, throttle=2) as proxy:
        backend = AwsKeyBackend(
            client(proxy.url), default_limits=DEFAULTS, calls_per_second=100, backoff_base=0.01
        )
        async with stack(tmp_path, extra_backends={"aws": backend}) as s:
            await deploy_aws(s, plan_id)
            created = await create(s)
    assert proxy.seen[:3] == [f"GET /usageplans/{plan_id}"] * 3
    assert apigw.get_api_key(apiKey=created.api_key_id)["enabled"] is True


async def test_persistent_throttling_is_a_clear_upstream_error(
    tmp_path: Path, moto_url: str
) -> None:
    """After max_attempts throttled answers the pipeline fails with api_gateway_error."""
    apigw = client(moto_url)
    plan_id = app_usage_plan(apigw)
    with ThrottlingProxy(moto_url, throttle=100) as proxy:
        backend = AwsKeyBackend(
            client(proxy.url),
            default_limits=DEFAULTS,
            calls_per_second=100,
            max_attempts=3,
            backoff_base=0.01,
        )
        async with stack(tmp_path, extra_backends={"aws": backend}) as s:
            await deploy_aws(s, plan_id)
            with pytest.raises(ApiGatewayError) as exc:
                await create(s)
            assert await s.keys.list_keys(WS, PROJECT) == []
    assert exc.value.code == "api_gateway_error"
    assert exc.value.aws_code == "TooManyRequestsException"
    assert len(proxy.seen) == 3
