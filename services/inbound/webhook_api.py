"""The webhook REST API: POST /v1/webhooks/{provider} writes straight to the provider's queue (or,
for Slack, its ingress workflow); no Lambda in the ingest path."""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from services.inbound.handshakes import MetaVerification, SlackIngress
from services.inbound.provider_ingest import Route
from services.inbound.settings import InboundSettings
from services.inbound.templates import (
    CHALLENGE_RESPONSE,
    ERROR_TEMPLATE,
    SLACK_RESPONSE,
    request_template,
    sync_execution_template,
    verification_template,
)

STAGE_NAME = "live"
_REQUEST_ID = {"method.response.header.X-Request-Id": "context.requestId"}
_UNAVAILABLE = {"application/json": '{"message":"temporarily unavailable"}'}


def webhook_api(
    scope: Construct,
    *,
    key: kms.IKey,
    settings: InboundSettings,
    routes: Mapping[str, Route],
    retention: logs.RetentionDays,
    removal_policy: RemovalPolicy,
) -> apigw.RestApi:
    """Create the API (`Api`, its `ApiAccessLogs` and `Validator`) in `scope`, with one route per
    entry of `routes`; each route's integration role is created in that route's construct."""
    access_logs = logs.LogGroup(
        scope,
        "ApiAccessLogs",
        encryption_key=key,
        retention=retention,
        removal_policy=removal_policy,
    )
    api = apigw.RestApi(
        scope,
        "Api",
        description="Provider webhooks: each route writes straight to its provider's queue",
        endpoint_types=[apigw.EndpointType.REGIONAL],
        # AWS::ApiGateway::Account is one setting per account and region: the role API Gateway
        # logs with. Off where a landing zone already manages it (logging needs it set).
        cloud_watch_role=settings.manage_account_logging_role,
        cloud_watch_role_removal_policy=(
            RemovalPolicy.RETAIN if settings.manage_account_logging_role else None
        ),
        deploy_options=_stage_options(settings, routes, access_logs),
    )
    # An unknown provider has no resource: answer 404, not API Gateway's default 403.
    api.add_gateway_response(
        "UnknownRoute",
        type=apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN,
        status_code="404",
        templates={"application/json": '{"message":"no such webhook route"}'},
    )
    validator = apigw.RequestValidator(
        scope, "Validator", rest_api=api, validate_request_parameters=True
    )
    webhooks = api.root.add_resource("v1").add_resource("webhooks")
    for name, route in routes.items():
        _add_route(webhooks.add_resource(name), name, route, key=key, validator=validator)
    return api


def _stage_options(
    settings: InboundSettings, routes: Mapping[str, Route], access_logs: logs.ILogGroup
) -> apigw.StageOptions:
    """The `live` stage: traced, access-logged, throttled per stage and per route."""
    s = settings
    method_options = {}
    for name in routes:
        throttle = s.route_throttle_overrides.get(name, s.route_throttle)
        method_options[f"/v1/webhooks/{name}/POST"] = apigw.MethodDeploymentOptions(
            throttling_rate_limit=throttle.rate_limit,
            throttling_burst_limit=throttle.burst_limit,
        )
    return apigw.StageOptions(
        stage_name=STAGE_NAME,
        tracing_enabled=True,
        logging_level=apigw.MethodLoggingLevel.ERROR,
        data_trace_enabled=False,
        metrics_enabled=True,
        throttling_rate_limit=s.stage_throttle.rate_limit,
        throttling_burst_limit=s.stage_throttle.burst_limit,
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
        method_options=method_options,
    )


def _add_route(
    resource: apigw.Resource,
    name: str,
    route: Route,
    *,
    key: kms.IKey,
    validator: apigw.RequestValidator,
) -> None:
    """POST (and Meta's GET handshake) on `resource`, through a role that reaches only this
    provider's queue or workflow."""
    provider = route.provider
    role = iam.Role(
        route,
        "IntegrationRole",
        assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
        description=f"Lets the {name} webhook routes reach their queue or workflow only",
    )
    handshake = route.handshake
    if isinstance(handshake, SlackIngress):
        sm = handshake.state_machine
        sm.grant_start_sync_execution(role)
        integration = _sync_execution(
            role,
            {
                t: sync_execution_template(provider, sm.state_machine_arn)
                for t in provider.content_types
            },
            response_template=SLACK_RESPONSE,
            content_type=provider.success_content_type,
        )
    else:
        integration = _send_to_queue(role, route, key=key)
    resource.add_method(
        "POST",
        integration,
        request_validator=validator,
        request_parameters={"method.request.header.Content-Type": True},
        method_responses=_method_responses("200", "413", "503"),
    )
    if isinstance(handshake, MetaVerification):
        sm = handshake.state_machine
        sm.grant_start_sync_execution(role)
        resource.add_method(
            "GET",
            _sync_execution(
                role,
                {"application/json": verification_template(sm.state_machine_arn)},
                response_template=CHALLENGE_RESPONSE,
                content_type="text/plain",
            ),
            request_validator=validator,
            request_parameters={
                "method.request.querystring.hub.mode": True,
                "method.request.querystring.hub.verify_token": True,
                "method.request.querystring.hub.challenge": True,
            },
            method_responses=_method_responses("200", "403", "503"),
        )


def _method_responses(*codes: str) -> list[apigw.MethodResponse]:
    return [
        apigw.MethodResponse(
            status_code=code,
            response_parameters={
                "method.response.header.Content-Type": True,
                "method.response.header.X-Request-Id": True,
            },
        )
        for code in codes
    ]


def _send_to_queue(role: iam.Role, route: Route, *, key: kms.IKey) -> apigw.AwsIntegration:
    """SQS SendMessage (Query API) with the raw body and the signature metadata."""
    queue, provider = route.queue, route.provider
    # Written out rather than grant_send_messages(), which adds kms:GenerateDataKey*.
    role.add_to_policy(
        iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[queue.queue_arn])
    )
    role.add_to_policy(
        iam.PolicyStatement(actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[key.key_arn])
    )
    return apigw.AwsIntegration(
        service="sqs",
        path=f"{cdk.Stack.of(route).account}/{queue.queue_name}",
        integration_http_method="POST",
        options=apigw.IntegrationOptions(
            credentials_role=role,
            passthrough_behavior=apigw.PassthroughBehavior.NEVER,
            request_parameters={
                "integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"
            },
            request_templates=dict.fromkeys(provider.content_types, request_template(provider)),
            integration_responses=[
                apigw.IntegrationResponse(
                    status_code="200",
                    response_parameters={
                        "method.response.header.Content-Type": f"'{provider.success_content_type}'",
                        **_REQUEST_ID,
                    },
                    response_templates={"application/json": provider.success_body},
                ),
                apigw.IntegrationResponse(
                    selection_pattern=r"4\d{2}",
                    status_code="413",
                    response_parameters=_REQUEST_ID,
                    response_templates={"application/json": ERROR_TEMPLATE},
                ),
                apigw.IntegrationResponse(
                    selection_pattern=r"5\d{2}",
                    status_code="503",
                    response_parameters=_REQUEST_ID,
                    response_templates=_UNAVAILABLE,
                ),
            ],
        ),
    )


def _sync_execution(
    role: iam.Role,
    request_templates: dict[str, str],
    *,
    response_template: str,
    content_type: str,
) -> apigw.AwsIntegration:
    """Step Functions StartSyncExecution; the response template reads the execution's status."""
    return apigw.AwsIntegration(
        service="states",
        subdomain="sync",
        action="StartSyncExecution",
        integration_http_method="POST",
        options=apigw.IntegrationOptions(
            credentials_role=role,
            passthrough_behavior=apigw.PassthroughBehavior.NEVER,
            request_templates=request_templates,
            integration_responses=[
                apigw.IntegrationResponse(
                    status_code="200",
                    response_parameters={
                        "method.response.header.Content-Type": f"'{content_type}'",
                        **_REQUEST_ID,
                    },
                    response_templates={"application/json": response_template},
                ),
                apigw.IntegrationResponse(
                    selection_pattern=r"[45]\d{2}",
                    status_code="503",
                    response_parameters=_REQUEST_ID,
                    response_templates=_UNAVAILABLE,
                ),
            ],
        ),
    )
