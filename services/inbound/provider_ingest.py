"""One provider's ingest path: queue and DLQ, processor behind a CodeDeploy-shifted alias, its
least-privilege policy and, where the provider needs one, its handshake workflow."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from aws_cdk import Aws, CfnParameter, Duration, NestedStack, RemovalPolicy, Stack
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

from services.common.queues import EncryptedQueue
from services.inbound.handshakes import MetaVerification, SlackIngress
from services.inbound.providers.base import Provider
from services.inbound.settings import InboundSettings, Rollout
from services.inbound.stores import Stores

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


@dataclass(frozen=True, kw_only=True)
class IngestProps:
    """What one provider's ingest path is built from (the same for either placement)."""

    name: str
    provider: Provider
    settings: InboundSettings
    key: kms.IKey
    bus: events.IEventBus
    stores: Stores
    layer: lambda_.ILayerVersion
    deployment_config: codedeploy.ILambdaDeploymentConfig
    retention: logs.RetentionDays
    removal_policy: RemovalPolicy


class _Ingest:
    """Builds one provider's ingest path into the construct it is mixed into (a plain construct
    or a nested stack): children get the same ids, hence the same paths below the provider."""

    provider_name: str
    provider: Provider
    secret_name: str
    webhooks: EncryptedQueue
    processor: lambda_.Function
    alias: lambda_.Alias
    deployment_group: codedeploy.LambdaDeploymentGroup
    handshake: MetaVerification | SlackIngress | None

    def _build(self, scope: Construct, props: IngestProps) -> None:
        name, key, bus, stores = props.name, props.key, props.bus, props.stores
        retention, removal_policy = props.retention, props.removal_policy
        s = props.settings
        self.provider_name = name
        self.provider = props.provider
        self.secret_name = f"{s.secret_prefix}{name}"
        self.webhooks = EncryptedQueue(
            scope,
            "Webhooks",
            key=key,
            max_receive_count=s.max_receive_count,
            visibility_timeout=Duration.seconds(6 * s.processor_timeout_seconds),
            removal_policy=removal_policy,
        )
        secret = secretsmanager.Secret.from_secret_name_v2(scope, "Secret", self.secret_name)
        log_group = logs.LogGroup(
            scope,
            "ProcessorLogs",
            encryption_key=key,
            retention=retention,
            removal_policy=removal_policy,
        )
        role = iam.Role(
            scope,
            "ProcessorRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Processor of {name} webhooks",
        )
        self.processor = self._processor(
            scope,
            settings=s,
            key=key,
            bus=bus,
            stores=stores,
            layer=props.layer,
            log_group=log_group,
            role=role,
        )
        # The queue feeds the processor's `live` alias, which CodeDeploy shifts per release.
        self.alias = lambda_.Alias(
            scope, "Live", alias_name=ALIAS_NAME, version=self.processor.current_version
        )
        self.deployment_group = codedeploy.LambdaDeploymentGroup(
            scope,
            "Rollout",
            alias=self.alias,
            deployment_config=props.deployment_config,
            auto_rollback=codedeploy.AutoRollbackConfig(
                # deployment_in_alarm defaults to on once the Stage adds the processor alarms.
                failed_deployment=True,
                stopped_deployment=True,
            ),
        )
        self.alias.add_event_source(
            sources.SqsEventSource(
                self.queue, batch_size=s.batch_size, report_batch_item_failures=True
            )
        )
        self._grant_processor(
            scope, role, secret=secret, key=key, bus=bus, stores=stores, log_group=log_group
        )
        self.handshake = self._handshake(
            scope, secret=secret, key=key, retention=retention, removal_policy=removal_policy
        )

    @property
    def queue(self) -> sqs.Queue:
        """The provider's webhook queue (the API route writes to it)."""
        return self.webhooks.queue

    @property
    def dead_letter_queue(self) -> sqs.Queue:
        """Where the queue sends messages the processor failed `max_receive_count` times."""
        return self.webhooks.dead_letter_queue

    def _processor(
        self,
        scope: Construct,
        *,
        settings: InboundSettings,
        key: kms.IKey,
        bus: events.IEventBus,
        stores: Stores,
        layer: lambda_.ILayerVersion,
        log_group: logs.ILogGroup,
        role: iam.IRole,
    ) -> lambda_.Function:
        s, name = settings, self.provider_name
        return lambda_.Function(
            scope,
            "Processor",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=HANDLER,
            code=lambda_.Code.from_asset(runtime_asset()),
            layers=[layer],
            memory_size=s.processor_memory_mb,
            timeout=Duration.seconds(s.processor_timeout_seconds),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            role=role,
            environment_encryption=key,
            description=f"Verifies, normalizes and publishes {name} webhooks",
            environment={
                "PROVIDER": name,
                "SECRET_NAME": self.secret_name,
                "MEDIA_BUCKET": stores.media_bucket.bucket_name,
                "MESSAGES_TABLE": stores.messages_table.table_name,
                "IDEMPOTENCY_TABLE": stores.idempotency_table.table_name,
                "EVENT_BUS_NAME": bus.event_bus_name,
                "IDEMPOTENCY_TTL_SECONDS": str(s.idempotency_ttl_days * 86400),
                "IDEMPOTENCY_LOCK_SECONDS": str(6 * s.processor_timeout_seconds),
                "POWERTOOLS_SERVICE_NAME": f"inbound-{name}",
                "POWERTOOLS_METRICS_NAMESPACE": "MessagingPlatform",
            },
        )

    def _grant_processor(
        self,
        scope: Construct,
        role: iam.Role,
        *,
        secret: secretsmanager.ISecret,
        key: kms.IKey,
        bus: events.IEventBus,
        stores: Stores,
        log_group: logs.ILogGroup,
    ) -> None:
        """Least privilege, written out: each statement names the one resource it needs."""
        name = self.provider_name
        bucket = self._media_bucket_name(stores)
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
                    f"arn:{Aws.PARTITION}:s3:::{bucket}/{prefix}/{name}/*"
                    for prefix in ("media", "rejected")
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
                resources=[stores.idempotency_table.table_arn],
                conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{name}#*"]}},
            ),
            iam.PolicyStatement(
                sid="Messages",
                actions=["dynamodb:PutItem"],
                resources=[stores.messages_table.table_arn],
            ),
            iam.PolicyStatement(
                sid="StageBus",
                actions=["events:PutEvents"],
                resources=[bus.event_bus_arn],
            ),
            iam.PolicyStatement(
                sid="DataKey",
                actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                resources=[key.key_arn],
            ),
        ]
        policy = iam.Policy(scope, "ProcessorPolicy", statements=statements)
        policy.attach_to_role(role)

    def _media_bucket_name(self, stores: Stores) -> str:
        """The media bucket's name, as the policy names it (a nested stack passes it in)."""
        return stores.media_bucket.bucket_name

    def _handshake(
        self,
        scope: Construct,
        *,
        secret: secretsmanager.ISecret,
        key: kms.IKey,
        retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> MetaVerification | SlackIngress | None:
        """The provider's endpoint-verification workflow, if its handshake needs one."""
        if self.provider.handshake == "meta-verify-get":
            return MetaVerification(
                scope,
                "Verification",
                secret_arn_pattern=f"{secret.secret_arn}-??????",
                secret_name=self.secret_name,
                key=key,
                retention=retention,
                removal_policy=removal_policy,
            )
        if self.provider.handshake == "slack-url-verification":
            return SlackIngress(
                scope,
                "Ingress",
                queue=self.queue,
                key=key,
                retention=retention,
                removal_policy=removal_policy,
            )
        return None


class ProviderIngest(_Ingest, Construct):
    """Everything one provider's webhooks pass through after the API, in the Messaging stack:
    `queue` (+ DLQ), the `processor` fed through its `alias`, the `deployment_group` and the
    optional `handshake`."""

    def __init__(self, scope: Construct, construct_id: str, *, props: IngestProps) -> None:
        super().__init__(scope, construct_id)
        self._build(self, props)


class ProviderStack(_Ingest, NestedStack):
    """The same ingest path as `ProviderIngest`, in a nested stack of its own: a provider's
    resources then cost the Messaging stack one resource (this stack) instead of about 24."""

    def __init__(self, scope: Construct, construct_id: str, *, props: IngestProps) -> None:
        super().__init__(scope, construct_id, description=f"Ingest of {props.name} webhooks")
        self._build(self, props)

    def _media_bucket_name(self, stores: Stores) -> str:
        """Passed in as a parameter named like the bucket's logical id in the Messaging stack:
        the processor policy then reads the same as in that stack (`<Bucket logical id>`), and
        the registry's one acknowledgement of its per-provider prefixes covers both."""
        bucket = stores.media_bucket
        name = Stack.of(bucket).get_logical_id(bucket.node.default_child)  # type: ignore[arg-type]
        parameter = CfnParameter(self, name, type="String")
        self.set_parameter(name, bucket.bucket_name)
        return parameter.value_as_string


# Where one provider's ingest path lives: the webhook API and the Stage read either alike.
Route = ProviderIngest | ProviderStack
