"""The application Stage: the same messaging services in every environment, one class.

Per-environment differences come only from the typed `Environment` config passed in; the
Stage is where domain constructs are wired together.
"""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from pipeline.config import Environment
from services.core.construct import MessagingCore
from services.events.construct import EventBackbone
from services.inbound.construct import Inbound


class MessagingStack(cdk.Stack):
    """The deployable unit of one environment: all messaging services of the Stage."""

    def __init__(self, scope: Construct, construct_id: str, *, environment: Environment) -> None:
        super().__init__(
            scope,
            construct_id,
            description=f"Serverless messaging platform ({environment.name})",
            termination_protection=environment.retain_data,
        )
        removal = cdk.RemovalPolicy.RETAIN if environment.retain_data else cdk.RemovalPolicy.DESTROY
        self.core = MessagingCore(self, "Core", removal_policy=removal)
        self.events = EventBackbone(self, "Events", key=self.core.key, removal_policy=removal)
        self.inbound = Inbound(
            self,
            "Inbound",
            key=self.core.key,
            bus=self.events.bus,
            settings=environment.settings.inbound,
            removal_policy=removal,
        )
        self._outputs()

    def _outputs(self) -> None:
        """What post-deploy tests and the rehearsal need to find the Stage's resources."""
        inbound = self.inbound
        values = {
            "ApiUrl": inbound.api.url,
            "EventBusName": self.events.bus.event_bus_name,
            "MessagesTable": inbound.messages_table.table_name,
            "IdempotencyTable": inbound.idempotency_table.table_name,
            "MediaBucket": inbound.media_bucket.bucket_name,
        }
        for name in inbound.providers:
            title = name.capitalize()
            values[f"{title}QueueUrl"] = inbound.queues[name].queue_url
            values[f"{title}DeadLetterQueueUrl"] = inbound.dead_letter_queues[name].queue_url
            values[f"{title}SecretName"] = inbound.secret_names[name]
            values[f"{title}Processor"] = inbound.processors[name].function_name
        self.outputs = {key: cdk.CfnOutput(self, key, value=value) for key, value in values.items()}


class MessagingStage(cdk.Stage):
    """One environment (dev, staging, prod, ...) in its own account and region."""

    def __init__(self, scope: Construct, construct_id: str, *, environment: Environment) -> None:
        super().__init__(
            scope,
            construct_id,
            env=cdk.Environment(account=environment.account, region=environment.region),
        )
        self.environment = environment
        self.messaging = MessagingStack(self, "Messaging", environment=environment)
