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
        self.events = EventBackbone(self, "Events", key=self.core.key)


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
