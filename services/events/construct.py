"""The Stage's custom EventBridge bus, encrypted with the Stage's customer-managed key.

Producers receive `bus` and are granted `events:PutEvents` on it alone; the event-backbone
issue extends this construct with the archive, schema registry and rules.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from constructs import Construct


class EventBackbone(Construct):
    """Holds `bus`, the single custom bus of the Stage."""

    def __init__(
        self, scope: Construct, construct_id: str, *, key: kms.IKey, removal_policy: RemovalPolicy
    ) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "Bus", kms_key=key)
        self.bus.apply_removal_policy(removal_policy)
