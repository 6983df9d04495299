"""The inbound messaging service: webhook API, a queue and a processor per provider, and stores.

Storage first: API Gateway writes each webhook straight to its provider's encrypted queue (no
Lambda in the ingest path); the processor verifies, normalizes and publishes. Providers are
discovered from `services.inbound.providers`, so adding one is adding a module.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from functools import cache
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from services.common.logs import retention as log_retention
from services.common.queues import EncryptedQueue
from services.inbound.firewall import protect
from services.inbound.handshakes import MetaVerification, SlackIngress
from services.inbound.providers import discover
from services.inbound.providers.base import Provider
from services.inbound.settings import InboundSettings, Rollout
from services.inbound.stores import Stores
from services.inbound.templates import (
    CHALLENGE_RESPONSE,
    ERROR_TEMPLATE,
    SLACK_RESPONSE,
    request_template,
    sync_execution_template,
    verification_template,
)

REPO = Path(__file__).resolve().parents[2]
# What the processors' Lambda asset contains: runtime code only, same package paths as here.
RUNTIME_FILES = (
    "services/__init__.py",
    "services/events/__init__.py",
    "services/events/models.py",
    "services/inbound/__init__.py",
    "services/inbound/providers/*.py",
    "services/inbound/runtime/*.py",
)
HANDLER = "services.inbound.runtime.processor.handler"
RUNTIME = lambda_.Runtime.PYTHON_3_14
POWERTOOLS_LAYER = (
    "arn:aws:lambda:{region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:{v}"
)
STAGE_NAME = "live"
ALIAS_NAME = "live"
_CD = codedeploy.LambdaDeploymentConfig
ROLLOUTS: dict[Rollout, codedeploy.ILambdaDeploymentConfig] = {
    "AllAtOnce": _CD.ALL_AT_ONCE,
    "Canary10Percent5Minutes": _CD.CANARY_10_PERCENT_5_MINUTES,
    "Canary10Percent10Minutes": _CD.CANARY_10_PERCENT_10_MINUTES,
    "Canary10Percent15Minutes": _CD.CANARY_10_PERCENT_15_MINUTES,
    "Canary10Percent30Minutes": _CD.CANARY_10_PERCENT_30_MINUTES,
    "Linear10PercentEvery1Minute": _CD.LINEAR_10_PERCENT_EVERY_1_MINUTE,
    "Linear10PercentEvery2Minutes": _CD.LINEAR_10_PERCENT_EVERY_2_MINUTES,
    "Linear10PercentEvery3Minutes": _CD.LINEAR_10_PERCENT_EVERY_3_MINUTES,
    "Linear10PercentEvery10Minutes": _CD.LINEAR_10_PERCENT_EVERY_10_MINUTES,
}


@cache
def runtime_asset() -> str:
    """Copy the runtime files into a staging folder once per process (one asset hash)."""
    staging = Path(tempfile.mkdtemp(prefix="inbound-runtime-"))
    for pattern in RUNTIME_FILES:
        for source in sorted(REPO.glob(pattern)):
            target = staging / source.relative_to(REPO)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return str(staging)


class Inbound(Construct):
    """Webhook API (`api`), per-provider `queues`/`dead_letter_queues`/`processors`, and the
    `media_bucket`, `messages_table` and `idempotency_table` they write to."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        bus: events.IEventBus,
        settings: InboundSettings,
        removal_policy: RemovalPolicy,
        rollout: Rollout = "AllAtOnce",
        providers: Mapping[str, Provider] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.providers = dict(providers if providers is not None else discover())
        self.settings = settings
        self.rollout = ROLLOUTS[rollout]
        self.key = key
        stack = cdk.Stack.of(self)
        retention = log_retention(settings.log_retention_days)

        self.stores = Stores.create(self, key=key, removal_policy=removal_policy)
        self.access_logs = self.stores.access_logs
        self.media_bucket = self.stores.media_bucket
        self.messages_table = self.stores.messages_table
        self.idempotency_table = self.stores.idempotency_table

        self.queues: dict[str, sqs.Queue] = {}
        self.dead_letter_queues: dict[str, sqs.Queue] = {}
        self.processors: dict[str, lambda_.Function] = {}
        # The queues feed each processor's `live` alias, which CodeDeploy shifts per release.
        self.aliases: dict[str, lambda_.Alias] = {}
        self.rollouts: dict[str, codedeploy.LambdaDeploymentGroup] = {}
        self.secret_names: dict[str, str] = {}
        self.provider_scopes: dict[str, Construct] = {}
        self.handshakes: dict[str, MetaVerification | SlackIngress] = {}
        layer = lambda_.LayerVersion.from_layer_version_arn(
            self,
            "Powertools",
            POWERTOOLS_LAYER.format(region=stack.region, v=settings.powertools_layer_version),
        )
        for name, provider in self.providers.items():
            self._add_provider(
                name,
                provider,
                bus=bus,
                layer=layer,
                retention=retention,
                removal_policy=removal_policy,
            )

        self.api = self._webhook_api(retention, removal_policy)

    # -- per provider ---------------------------------------------------------------------

    def _add_provider(
        self,
        name: str,
        provider: Provider,
        *,
        bus: events.IEventBus,
        layer: lambda_.ILayerVersion,
        retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        s = self.settings
        scope = Construct(self, name.capitalize())
        self.provider_scopes[name] = scope
        timeout = Duration.seconds(s.processor_timeout_seconds)
        queue = EncryptedQueue(
            scope,
            "Webhooks",
            key=self.key,
            max_receive_count=s.max_receive_count,
            visibility_timeout=Duration.seconds(6 * s.processor_timeout_seconds),
            removal_policy=removal_policy,
        )
        secret_name = f"{s.secret_prefix}{name}"
        secret = secretsmanager.Secret.from_secret_name_v2(scope, "Secret", secret_name)
        log_group = logs.LogGroup(
            scope,
            "ProcessorLogs",
            encryption_key=self.key,
            retention=retention,
            removal_policy=removal_policy,
        )
        role = iam.Role(
            scope,
            "ProcessorRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Processor of {name} webhooks",
        )
        function = lambda_.Function(
            scope,
            "Processor",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=HANDLER,
            code=lambda_.Code.from_asset(runtime_asset()),
            layers=[layer],
            memory_size=s.processor_memory_mb,
            timeout=timeout,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            role=role,
            environment_encryption=self.key,
            description=f"Verifies, normalizes and publishes {name} webhooks",
            environment={
                "PROVIDER": name,
                "SECRET_NAME": secret_name,
                "MEDIA_BUCKET": self.media_bucket.bucket_name,
                "MESSAGES_TABLE": self.messages_table.table_name,
                "IDEMPOTENCY_TABLE": self.idempotency_table.table_name,
                "EVENT_BUS_NAME": bus.event_bus_name,
                "IDEMPOTENCY_TTL_SECONDS": str(s.idempotency_ttl_days * 86400),
                "IDEMPOTENCY_LOCK_SECONDS": str(6 * s.processor_timeout_seconds),
                "POWERTOOLS_SERVICE_NAME": f"inbound-{name}",
                "POWERTOOLS_METRICS_NAMESPACE": "MessagingPlatform",
            },
        )
        alias = lambda_.Alias(
            scope, "Live", alias_name=ALIAS_NAME, version=function.current_version
        )
        self.rollouts[name] = codedeploy.LambdaDeploymentGroup(
            scope,
            "Rollout",
            alias=alias,
            deployment_config=self.rollout,
            auto_rollback=codedeploy.AutoRollbackConfig(
                # deployment_in_alarm defaults to on once the Stage adds the processor alarms.
                failed_deployment=True,
                stopped_deployment=True,
            ),
        )
        alias.add_event_source(
            sources.SqsEventSource(
                queue.queue,
                batch_size=s.batch_size,
                report_batch_item_failures=True,
            )
        )
        self._grant_processor(scope, role, name, secret, bus, log_group)
        if provider.handshake == "meta-verify-get":
            self.handshakes[name] = MetaVerification(
                scope,
                "Verification",
                secret_arn_pattern=f"{secret.secret_arn}-??????",
                secret_name=secret_name,
                key=self.key,
                retention=retention,
                removal_policy=removal_policy,
            )
        elif provider.handshake == "slack-url-verification":
            self.handshakes[name] = SlackIngress(
                scope,
                "Ingress",
                queue=queue.queue,
                key=self.key,
                retention=retention,
                removal_policy=removal_policy,
            )
        self.queues[name] = queue.queue
        self.dead_letter_queues[name] = queue.dead_letter_queue
        self.processors[name] = function
        self.aliases[name] = alias
        self.secret_names[name] = secret_name

    def _grant_processor(
        self,
        scope: Construct,
        role: iam.Role,
        name: str,
        secret: secretsmanager.ISecret,
        bus: events.IEventBus,
        log_group: logs.ILogGroup,
    ) -> None:
        """Least privilege, written out: each statement names the one resource it needs."""
        statements = [
            iam.PolicyStatement(
                sid="OwnLogGroup",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[log_group.log_group_arn],
            ),
            iam.PolicyStatement(
                sid="OwnSecret",
                actions=["secretsmanager:GetSecretValue"],
                # A secret imported by name has no suffix in its ARN; the real one ends in a
                # random "-XXXXXX", matched by exactly six '?'.
                resources=[f"{secret.secret_arn}-??????"],
            ),
            iam.PolicyStatement(
                sid="OwnMediaPrefixes",
                actions=["s3:PutObject"],
                resources=[
                    self.media_bucket.arn_for_objects(f"media/{name}/*"),
                    self.media_bucket.arn_for_objects(f"rejected/{name}/*"),
                ],
            ),
            iam.PolicyStatement(
                sid="Idempotency",
                actions=[
                    "dynamodb:PutItem",
                    "dynamodb:GetItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem",
                ],
                resources=[self.idempotency_table.table_arn],
                conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{name}#*"]}},
            ),
            iam.PolicyStatement(
                sid="Messages",
                actions=["dynamodb:PutItem"],
                resources=[self.messages_table.table_arn],
            ),
            iam.PolicyStatement(
                sid="StageBus",
                actions=["events:PutEvents"],
                resources=[bus.event_bus_arn],
            ),
            iam.PolicyStatement(
                sid="DataKey",
                actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                resources=[self.key.key_arn],
            ),
        ]
        policy = iam.Policy(scope, "ProcessorPolicy", statements=statements)
        policy.attach_to_role(role)

    # -- API --------------------------------------------------------------------------------

    def _webhook_api(
        self, retention: logs.RetentionDays, removal_policy: RemovalPolicy
    ) -> apigw.RestApi:
        s = self.settings
        access_logs = logs.LogGroup(
            self,
            "ApiAccessLogs",
            encryption_key=self.key,
            retention=retention,
            removal_policy=removal_policy,
        )
        method_options = {}
        for name in self.providers:
            throttle = s.route_throttle_overrides.get(name, s.route_throttle)
            method_options[f"/v1/webhooks/{name}/POST"] = apigw.MethodDeploymentOptions(
                throttling_rate_limit=throttle.rate_limit,
                throttling_burst_limit=throttle.burst_limit,
            )
        api = apigw.RestApi(
            self,
            "Api",
            description="Provider webhooks: each route writes straight to its provider's queue",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN,
            deploy_options=apigw.StageOptions(
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
            ),
        )
        # An unknown provider has no resource: answer 404, not API Gateway's default 403.
        api.add_gateway_response(
            "UnknownRoute",
            type=apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN,
            status_code="404",
            templates={"application/json": '{"message":"no such webhook route"}'},
        )
        validator = apigw.RequestValidator(
            self, "Validator", rest_api=api, validate_request_parameters=True
        )
        webhooks = api.root.add_resource("v1").add_resource("webhooks")
        for name, provider in self.providers.items():
            self._add_route(api, webhooks.add_resource(name), name, provider, validator)
        self.web_acl = protect(self, api=api, rate_limit=s.waf_rate_limit)
        return api

    def _add_route(
        self,
        api: apigw.RestApi,
        resource: apigw.Resource,
        name: str,
        provider: Provider,
        validator: apigw.RequestValidator,
    ) -> None:
        role = iam.Role(
            self.provider_scopes[name],
            "IntegrationRole",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            description=f"Lets the {name} webhook routes reach their queue or workflow only",
        )
        handshake = self.handshakes.get(name)
        if isinstance(handshake, SlackIngress):
            sm = handshake.state_machine
            sm.grant_start_sync_execution(role)
            integration = self._sync_execution(
                role,
                {
                    t: sync_execution_template(provider, sm.state_machine_arn)
                    for t in provider.content_types
                },
                response_template=SLACK_RESPONSE,
                content_type=provider.success_content_type,
            )
        else:
            integration = self._send_to_queue(role, name, provider)
        resource.add_method(
            "POST",
            integration,
            request_validator=validator,
            request_parameters={"method.request.header.Content-Type": True},
            method_responses=self._method_responses("200", "413", "503"),
        )
        if isinstance(handshake, MetaVerification):
            sm = handshake.state_machine
            sm.grant_start_sync_execution(role)
            resource.add_method(
                "GET",
                self._sync_execution(
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
                method_responses=self._method_responses("200", "403", "503"),
            )

    @staticmethod
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

    def _send_to_queue(self, role: iam.Role, name: str, provider: Provider) -> apigw.AwsIntegration:
        queue = self.queues[name]
        # Written out rather than grant_send_messages(), which adds kms:GenerateDataKey*.
        role.add_to_policy(
            iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[queue.queue_arn])
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[self.key.key_arn]
            )
        )
        request_id = {"method.response.header.X-Request-Id": "context.requestId"}
        return apigw.AwsIntegration(
            service="sqs",
            path=f"{cdk.Stack.of(self).account}/{queue.queue_name}",
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
                            "method.response.header.Content-Type": (
                                f"'{provider.success_content_type}'"
                            ),
                            **request_id,
                        },
                        response_templates={"application/json": provider.success_body},
                    ),
                    apigw.IntegrationResponse(
                        selection_pattern=r"4\d{2}",
                        status_code="413",
                        response_parameters=request_id,
                        response_templates={"application/json": ERROR_TEMPLATE},
                    ),
                    apigw.IntegrationResponse(
                        selection_pattern=r"5\d{2}",
                        status_code="503",
                        response_parameters=request_id,
                        response_templates={
                            "application/json": '{"message":"temporarily unavailable"}'
                        },
                    ),
                ],
            ),
        )

    @staticmethod
    def _sync_execution(
        role: iam.Role,
        request_templates: dict[str, str],
        *,
        response_template: str,
        content_type: str,
    ) -> apigw.AwsIntegration:
        request_id = {"method.response.header.X-Request-Id": "context.requestId"}
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
                            **request_id,
                        },
                        response_templates={"application/json": response_template},
                    ),
                    apigw.IntegrationResponse(
                        selection_pattern=r"[45]\d{2}",
                        status_code="503",
                        response_parameters=request_id,
                        response_templates={
                            "application/json": '{"message":"temporarily unavailable"}'
                        },
                    ),
                ],
            ),
        )
