"""The application Stage: the same messaging services in every environment, one class.

A Stage is one environment in its own account and region; it holds the Messaging stack and
applies the tags every resource carries.
"""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from config.deployment import Environment, Ownership
from stages.messaging_stack import MessagingStack


class MessagingStage(cdk.Stage):
    """One environment (dev, staging, prod, ...) in its own account and region."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: Environment,
        ownership: Ownership,
        toolchain_account: str,
        verifier_role_arn: str,
        powertools_version: str,
        region: str | None = None,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=cdk.Environment(account=environment.account, region=region or environment.region),
        )
        self.environment = environment
        self.messaging = MessagingStack(
            self,
            "Messaging",
            environment=environment,
            toolchain_account=toolchain_account,
            verifier_role_arn=verifier_role_arn,
            powertools_version=powertools_version,
        )
        cdk.Tags.of(self).add("Environment", environment.name)
        cdk.Tags.of(self).add("Owner", ownership.owner)
        cdk.Tags.of(self).add("CostCentre", ownership.cost_centre)
