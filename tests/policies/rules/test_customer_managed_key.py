"""Platform-CustomerManagedKey: a compliant and a non-compliant store of each kind."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs

from tests.support.rules import ENV, findings, flagged

RULE = "Platform-CustomerManagedKey"


def build(app: cdk.App) -> None:
    stack = cdk.Stack(app, "S", env=ENV)
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    aws_managed = kms.Alias.from_alias_name(stack, "AwsManaged", "alias/aws/sqs")
    sqs.Queue(stack, "GoodQueue", encryption_master_key=key)
    sqs.Queue(stack, "SqsManagedQueue", encryption=sqs.QueueEncryption.SQS_MANAGED)
    sqs.Queue(stack, "AwsManagedKeyQueue", encryption_master_key=aws_managed)
    sns.Topic(stack, "GoodTopic", master_key=key)
    sns.Topic(stack, "PlainTopic")
    s3.Bucket(stack, "GoodBucket", encryption=s3.BucketEncryption.KMS, encryption_key=key)
    s3.Bucket(stack, "S3ManagedBucket", encryption=s3.BucketEncryption.S3_MANAGED)
    s3.Bucket(stack, "KmsManagedBucket", encryption=s3.BucketEncryption.KMS_MANAGED)
    pk = dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)
    dynamodb.TableV2(
        stack,
        "GoodTable",
        partition_key=pk,
        encryption=dynamodb.TableEncryptionV2.customer_managed_key(key),
    )
    dynamodb.Table(stack, "AwsOwnedTable", partition_key=pk)
    dynamodb.Table(
        stack, "AwsManagedTable", partition_key=pk, encryption=dynamodb.TableEncryption.AWS_MANAGED
    )
    logs.LogGroup(stack, "GoodLogs", encryption_key=key)
    logs.LogGroup(stack, "PlainLogs")
    events.EventBus(stack, "GoodBus", kms_key=key)
    events.EventBus(stack, "PlainBus")


@pytest.fixture(scope="module")
def found(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    return findings(tmp_path_factory.mktemp("cmk"), build)


def test_stores_under_a_customer_managed_key_pass(found: dict[str, set[str]]) -> None:
    good = {"GoodQueue", "GoodTopic", "GoodBucket", "GoodTable", "GoodLogs", "GoodBus"}
    assert not {p for p in flagged(found, RULE) if p.split("/")[1] in good}


@pytest.mark.parametrize(
    "name",
    [
        "SqsManagedQueue",
        "AwsManagedKeyQueue",
        "PlainTopic",
        "S3ManagedBucket",
        "KmsManagedBucket",
        "AwsOwnedTable",
        "AwsManagedTable",
        "PlainLogs",
        "PlainBus",
    ],
)
def test_aws_owned_and_aws_managed_keys_fail(found: dict[str, set[str]], name: str) -> None:
    assert any(p.split("/")[1] == name for p in flagged(found, RULE)), name


def test_unused_rule_ids_stay_out(tmp_path: Path) -> None:
    def build_good(app: cdk.App) -> None:
        stack = cdk.Stack(app, "S", env=ENV)
        sqs.Queue(stack, "Q", encryption_master_key=kms.Key(stack, "K", enable_key_rotation=True))

    assert flagged(findings(tmp_path, build_good), RULE) == set()
