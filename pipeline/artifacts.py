"""The artifact bucket CDK Pipelines creates, made fit to keep: its key retained, its objects
expiring, its access logged. CDK Pipelines exposes none of these, so they are set on the
bucket and key it built."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3


def retain_key(built: codepipeline.Pipeline) -> None:
    """CDK Pipelines creates the artifact key with DESTROY; retained artifacts need it."""
    key = built.artifact_bucket.encryption_key
    assert key is not None  # cross_account_keys=True
    key.apply_removal_policy(cdk.RemovalPolicy.RETAIN)


def expire(built: codepipeline.Pipeline, days: int) -> None:
    """CDK Pipelines' artifact bucket keeps every execution's artifacts for ever."""
    bucket = built.artifact_bucket.node.default_child
    assert isinstance(bucket, s3.CfnBucket)
    bucket.lifecycle_configuration = s3.CfnBucket.LifecycleConfigurationProperty(
        rules=[
            s3.CfnBucket.RuleProperty(
                id="ExpireArtifacts",
                status="Enabled",
                expiration_in_days=days,
                noncurrent_version_expiration=s3.CfnBucket.NoncurrentVersionExpirationProperty(
                    noncurrent_days=30
                ),
                abort_incomplete_multipart_upload=s3.CfnBucket.AbortIncompleteMultipartUploadProperty(
                    days_after_initiation=7
                ),
            )
        ]
    )


def log_access(stack: cdk.Stack, built: codepipeline.Pipeline) -> s3.Bucket:
    """Server access logs of the artifact bucket, kept in a bucket of their own."""
    access_logs = s3.Bucket(
        stack,
        "ArtifactAccessLogs",
        encryption=s3.BucketEncryption.S3_MANAGED,  # log delivery cannot write to SSE-KMS
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
        lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(365))],
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )
    artifact_bucket = built.artifact_bucket.node.default_child
    assert isinstance(artifact_bucket, s3.CfnBucket)
    artifact_bucket.logging_configuration = s3.CfnBucket.LoggingConfigurationProperty(
        destination_bucket_name=access_logs.bucket_name,
        log_file_prefix="artifacts/",
    )
    access_logs.add_to_resource_policy(
        iam.PolicyStatement(
            sid="S3ServerAccessLogsPolicy",
            principals=[iam.ServicePrincipal("logging.s3.amazonaws.com")],
            actions=["s3:PutObject"],
            resources=[access_logs.arn_for_objects("artifacts/*")],
            conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
        )
    )
    return access_logs
