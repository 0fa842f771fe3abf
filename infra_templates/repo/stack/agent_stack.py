"""API Gateway (REST, API keys, usage plan) in front of one Lambda function running the agents.

Everything agent-specific comes from spec.json: the Bedrock models the function may call, the
gateway paths, and the usage plan's throttling.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from .bedrock import BEDROCK_ACTIONS, PROFILE, model_arns, spec_models

ROOT = Path(__file__).resolve().parent.parent
INVOKE_PATH = "/invoke"
# The function's code is the runtime, spec.json and documents/; everything else stays out.
CODE_PATTERNS = ["/*", "!/runtime", "!/spec.json", "!/documents", "__pycache__"]


def gateway_paths(spec: dict[str, Any]) -> list[str]:
    targets = spec.get("gateway_config", {}).get("targets", [])
    return sorted({INVOKE_PATH, *(t["path"] for t in targets)})


class AgentStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: dict[str, Any],
        app_name: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        throttling = spec.get("gateway_config", {}).get("throttling", {})

        function_logs = logs.LogGroup(
            self,
            "FunctionLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        role = iam.Role(
            self,
            "FunctionRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{app_name}: write its own logs, invoke the spec's Bedrock models",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[function_logs.log_group_arn],
            )
        )
        arns = model_arns(spec_models(spec), region=self.region, account=self.account)
        if arns:
            role.add_to_policy(iam.PolicyStatement(actions=list(BEDROCK_ACTIONS), resources=arns))

        function = lambda_.Function(
            self,
            "AgentFunction",
            description=f"{app_name} agent runtime",
            runtime=lambda_.Runtime.PYTHON_3_12,
            architecture=lambda_.Architecture.ARM_64,
            handler="runtime.handler.handler",
            code=lambda_.Code.from_asset(
                str(ROOT), exclude=CODE_PATTERNS, ignore_mode=cdk.IgnoreMode.GIT
            ),
            role=role,
            memory_size=512,
            timeout=cdk.Duration.seconds(60),
            log_group=function_logs,
            environment={"MEMORY_BUFFER_TURNS": "10"},
        )

        access_logs = logs.LogGroup(
            self,
            "ApiAccessLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        api = apigw.RestApi(
            self,
            "AgentApi",
            rest_api_name=app_name,
            description=f"{app_name} agents (API key required)",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=True,
            deploy_options=apigw.StageOptions(
                stage_name="prod",
                logging_level=apigw.MethodLoggingLevel.ERROR,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=False,
                ),
            ),
        )
        validator = api.add_request_validator(
            "RequestValidator", validate_request_body=True, validate_request_parameters=True
        )
        request_model = api.add_model(
            "InvokeRequest",
            content_type="application/json",
            schema=apigw.JsonSchema(
                schema=apigw.JsonSchemaVersion.DRAFT4,
                type=apigw.JsonSchemaType.OBJECT,
                required=["input"],
                additional_properties=False,
                properties={
                    "input": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, min_length=1),
                    "session_id": apigw.JsonSchema(
                        type=apigw.JsonSchemaType.STRING, pattern="^[A-Za-z0-9_.:-]{1,128}$"
                    ),
                },
            ),
        )
        api.add_gateway_response(
            "BadRequestBody",
            type=apigw.ResponseType.BAD_REQUEST_BODY,
            templates={"application/json": '{"error": "$context.error.validationErrorString"}'},
        )
        integration = apigw.LambdaIntegration(function)
        for path in gateway_paths(spec):
            api.root.resource_for_path(path).add_method(
                "POST",
                integration,
                api_key_required=True,
                request_validator=validator,
                request_models={"application/json": request_model},
            )

        quota = throttling.get("quota_limit")
        plan = api.add_usage_plan(
            "DefaultUsagePlan",
            name=f"{app_name}-default",
            description="Default plan for keys created with /createapikey",
            throttle=apigw.ThrottleSettings(
                rate_limit=float(throttling.get("rate_limit", 10)),
                burst_limit=int(throttling.get("burst_limit", 20)),
            ),
            quota=apigw.QuotaSettings(
                limit=int(quota), period=apigw.Period[throttling.get("quota_period", "MONTH")]
            )
            if quota
            else None,
        )
        plan.add_api_stage(stage=api.deployment_stage)

        cdk.CfnOutput(self, "EndpointUrl", value=api.url_for_path(INVOKE_PATH))
        cdk.CfnOutput(self, "ApiUrl", value=api.url)
        cdk.CfnOutput(self, "ApiId", value=api.rest_api_id)
        cdk.CfnOutput(self, "UsagePlanId", value=plan.usage_plan_id)
        cdk.CfnOutput(self, "StageName", value=api.deployment_stage.stage_name)
        cdk.CfnOutput(self, "FunctionName", value=function.function_name)

        self._acknowledge(role, api, spec_models(spec))

    def _acknowledge(self, role: iam.Role, api: apigw.RestApi, models: list[str]) -> None:
        """cdk-nag AwsSolutions findings accepted on purpose, each with its reason."""
        _ack(
            self,
            "AwsSolutions-APIG3",
            "No WAF by default: access is API-key gated and throttled by the usage plan; attach a "
            "web ACL to the stage if the endpoint needs one.",
        )
        _ack(
            self, "AwsSolutions-APIG4", "Callers authenticate with API keys bound to a usage plan."
        )
        _ack(self, "AwsSolutions-COG4", "No Cognito: callers use API keys bound to a usage plan.")
        _ack(
            self,
            "AwsSolutions-L1",
            "The runtime is pinned to Python 3.12, the version it is tested on.",
        )
        for model in models:
            profile = PROFILE.match(model)
            if profile:
                _ack(
                    role,
                    f"AwsSolutions-IAM5[Resource::arn:aws:bedrock:*::foundation-model/{profile.group(2)}]",
                    "A cross-region inference profile may route to any region of its geography; "
                    "the grant names the one model.",
                )
        _ack(
            api,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs]",
            "API Gateway's account-level CloudWatch role uses the AWS managed policy.",
        )


def _ack(scope: Construct, rule: str, reason: str) -> None:
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=rule, reason=reason))
