"""The messaging core: the Stage's customer-managed KMS key and a first inbound queue.

The key is the single data key of the Stage (rotation on); services receive it as a
constructor argument rather than creating their own. The queue is the walking skeleton's
placeholder for the inbound service.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from constructs import Construct

from services.common.queues import EncryptedQueue


class MessagingCore(Construct):
    """Holds `key` (the Stage's CMK) and `inbound` (queue + DLQ)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        removal_policy: RemovalPolicy,
        max_receive_count: int = 5,
    ) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "DataKey",
            description="Encrypts the messaging platform's queues, tables, buckets and logs.",
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        self.inbound = EncryptedQueue(
            self,
            "Inbound",
            key=self.key,
            max_receive_count=max_receive_count,
            removal_policy=removal_policy,
        )
