"""The one shape of every DynamoDB table in a Stage: on-demand, encrypted with the Stage's key,
point-in-time recovery on, keys as strings; items may expire through `expires_at`."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct


def encrypted_table(
    scope: Construct,
    construct_id: str,
    *,
    key: kms.IKey,
    partition_key: str,
    sort_key: str | None = None,
    expires: bool = False,
    removal_policy: RemovalPolicy,
) -> dynamodb.Table:
    """A table keyed by string attributes; `expires` turns on TTL on `expires_at`."""

    def attribute(name: str) -> dynamodb.Attribute:
        return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)

    return dynamodb.Table(
        scope,
        construct_id,
        partition_key=attribute(partition_key),
        sort_key=attribute(sort_key) if sort_key else None,
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
        encryption_key=key,
        time_to_live_attribute="expires_at" if expires else None,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        removal_policy=removal_policy,
    )
