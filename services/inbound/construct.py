"""The inbound messaging service, composed: stores, one ingest path per discovered provider
(in the Messaging stack for the first providers, a nested stack each for every later one), the
webhook API (storage first: routes write straight to the queues) and its WAF."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import RemovalPolicy
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from services.common.logs import retention as log_retention
from services.inbound.firewall import protect
from services.inbound.handshakes import MetaVerification, SlackIngress
from services.inbound.provider_ingest import (
    ROLLOUTS,
    RUNTIME_FILES,
    IngestProps,
    ProviderIngest,
    ProviderStack,
    Route,
    runtime_asset,
)
from services.inbound.providers import discover
from services.inbound.providers.base import Provider
from services.inbound.settings import InboundSettings, Rollout
from services.inbound.stores import Stores
from services.inbound.webhook_api import webhook_api

# The Makefile and bench/ look for the processors' asset contents here.
__all__ = ["POWERTOOLS_LAYER", "RUNTIME_FILES", "Inbound", "runtime_asset"]

# The public Powertools layer for the processors' runtime, looked up at deploy time by the
# library version the tests run with: Powertools publishes each release's layer ARN as a
# public SSM parameter /aws/service/powertools/python/{arch}/{python}/{version}.
POWERTOOLS_LAYER = "{{{{resolve:ssm:/aws/service/powertools/python/arm64/python3.14/{version}}}}}"

# Providers deployed before providers got nested stacks: their queues and DLQs (and the rest of
# their ingest path) stay in the Messaging stack under the logical ids they were created with;
# moving them would replace the queues. Every other provider gets a nested stack of its own
# (`ProviderStack`, id = the provider's), which costs the Messaging stack one resource.
IN_MESSAGING_STACK = frozenset({"generic", "slack", "twilio", "whatsapp"})


class Inbound(Construct):
    """Webhook API (`api`) and its WAF, one `routes` entry per provider (a `ProviderIngest`, or
    a `ProviderStack` for providers outside IN_MESSAGING_STACK), and the `media_bucket`,
    `messages_table` and `idempotency_table` they write to."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        bus: events.IEventBus,
        settings: InboundSettings,
        removal_policy: RemovalPolicy,
        powertools_version: str,
        rollout: Rollout = "AllAtOnce",
        providers: Mapping[str, Provider] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.providers = dict(providers if providers is not None else discover())
        self.settings = settings
        self.rollout = ROLLOUTS[rollout]
        self.key = key
        retention = log_retention(settings.log_retention_days)

        self.stores = Stores.create(
            self,
            key=key,
            removal_policy=removal_policy,
            rejected_retention_days=settings.rejected_retention_days,
        )
        self.access_logs = self.stores.access_logs
        self.media_bucket = self.stores.media_bucket
        self.messages_table = self.stores.messages_table
        self.idempotency_table = self.stores.idempotency_table

        layer = lambda_.LayerVersion.from_layer_version_arn(
            self,
            "Powertools",
            POWERTOOLS_LAYER.format(version=powertools_version),
        )
        # Each provider's construct keeps the id its plain scope had (e.g. "Twilio"); a nested
        # stack gets the same id, so paths below it (and the registry's patterns) are alike.
        self.routes: dict[str, Route] = {}
        for name, provider in self.providers.items():
            kind = ProviderIngest if name in IN_MESSAGING_STACK else ProviderStack
            self.routes[name] = kind(
                self,
                name.capitalize(),
                props=IngestProps(
                    name=name,
                    provider=provider,
                    settings=settings,
                    key=key,
                    bus=bus,
                    stores=self.stores,
                    layer=layer,
                    deployment_config=self.rollout,
                    retention=retention,
                    removal_policy=removal_policy,
                ),
            )
        self.api = webhook_api(
            self,
            key=key,
            settings=settings,
            routes=self.routes,
            retention=retention,
            removal_policy=removal_policy,
        )
        self.web_acl = protect(self, api=self.api, rate_limit=settings.waf_rate_limit)

    # Per-provider views of `routes`, keyed by provider name (read-only: built on each access).

    @property
    def queues(self) -> Mapping[str, sqs.Queue]:
        return {name: route.queue for name, route in self.routes.items()}

    @property
    def dead_letter_queues(self) -> Mapping[str, sqs.Queue]:
        return {name: route.dead_letter_queue for name, route in self.routes.items()}

    @property
    def processors(self) -> Mapping[str, lambda_.Function]:
        return {name: route.processor for name, route in self.routes.items()}

    @property
    def aliases(self) -> Mapping[str, lambda_.Alias]:
        """The `live` aliases the queues feed and CodeDeploy shifts per release."""
        return {name: route.alias for name, route in self.routes.items()}

    @property
    def rollouts(self) -> Mapping[str, codedeploy.LambdaDeploymentGroup]:
        return {name: route.deployment_group for name, route in self.routes.items()}

    @property
    def secret_names(self) -> Mapping[str, str]:
        return {name: route.secret_name for name, route in self.routes.items()}

    @property
    def provider_scopes(self) -> Mapping[str, Construct]:
        return dict(self.routes)

    @property
    def provider_stacks(self) -> Mapping[str, ProviderStack]:
        """The providers in nested stacks of their own, and those stacks."""
        return {n: r for n, r in self.routes.items() if isinstance(r, ProviderStack)}

    @property
    def handshakes(self) -> Mapping[str, MetaVerification | SlackIngress]:
        return {
            name: route.handshake
            for name, route in self.routes.items()
            if route.handshake is not None
        }
