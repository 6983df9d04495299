"""The inbound service's stores: access-log and media buckets, messages and idempotency tables."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from services.common.tables import encrypted_table


@dataclass(frozen=True, kw_only=True)
class Stores:
    """The stateful resources the processors write to, created directly in the service's scope
    (no construct level of their own, so their logical ids stay put)."""

    access_logs: s3.Bucket
    media_bucket: s3.Bucket
    messages_table: dynamodb.Table
    idempotency_table: dynamodb.Table

    @classmethod
    def create(
        cls,
        scope: Construct,
        *,
        key: kms.IKey,
        removal_policy: RemovalPolicy,
        rejected_retention_days: int,
    ) -> Stores:
        """Create the four stores in `scope` (ids AccessLogs, MediaBucket, MessagesTable,
        IdempotencyTable), encrypted with `key` where the service allows it."""
        access_logs = s3.Bucket(
            scope,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,  # S3 log delivery cannot use SSE-KMS
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(365))],
            removal_policy=removal_policy,
        )
        media_bucket = s3.Bucket(
            scope,
            "MediaBucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="media/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                            transition_after=Duration.days(30),
                        )
                    ],
                    noncurrent_version_expiration=Duration.days(30),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                ),
                # Raw bodies of rejected webhooks hold personal data and are kept only for
                # triage of the rejection (the processors write them under rejected/).
                s3.LifecycleRule(
                    id="ExpireRejectedBodies",
                    prefix="rejected/",
                    expiration=Duration.days(rejected_retention_days),
                ),
            ],
            removal_policy=removal_policy,
        )
        messages_table = encrypted_table(
            scope,
            "MessagesTable",
            key=key,
            partition_key="conversation_id",
            sort_key="sort_key",
            removal_policy=removal_policy,
        )
        idempotency_table = encrypted_table(
            scope,
            "IdempotencyTable",
            key=key,
            partition_key="id",
            expires=True,
            removal_policy=removal_policy,
        )
        return cls(
            access_logs=access_logs,
            media_bucket=media_bucket,
            messages_table=messages_table,
            idempotency_table=idempotency_table,
        )
