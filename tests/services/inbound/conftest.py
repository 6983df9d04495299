"""Fixtures for the inbound runtime tests (helpers live in tests/support/inbound.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache

import boto3
import pytest
from moto import mock_aws

from services.inbound.runtime import processor as runtime
from tests.support.inbound import REGION, SECRETS, Stores


@cache
def _session() -> boto3.Session:
    """One boto3 session for every test of the process: a new one (moto's default, per test)
    parses botocore's service models again, most of these tests' time. Moto's
    `reset_boto3_session` setting: https://docs.getmoto.org/en/latest/docs/configuration/"""
    return boto3.Session(region_name=REGION)


@pytest.fixture
def stores(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stores]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    # The moto backends are still new for each test; only the client factory is shared.
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", _session())
    with mock_aws(config={"core": {"reset_boto3_session": False}}):
        runtime.client.cache_clear()
        s = Stores()
        boto3.client("s3", region_name=REGION).create_bucket(
            Bucket=s.bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        ddb = boto3.client("dynamodb", region_name=REGION)
        ddb.create_table(
            TableName=s.messages,
            KeySchema=[
                {"AttributeName": "conversation_id", "KeyType": "HASH"},
                {"AttributeName": "sort_key", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "conversation_id", "AttributeType": "S"},
                {"AttributeName": "sort_key", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        ddb.create_table(
            TableName=s.idempotency,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        secrets = boto3.client("secretsmanager", region_name=REGION)
        for name, value in SECRETS.items():
            secrets.create_secret(Name=f"webhooks/{name}", SecretString=json.dumps(value))
        events = boto3.client("events", region_name=REGION)
        events.create_event_bus(Name=s.bus)
        sqs = boto3.client("sqs", region_name=REGION)
        s.capture_url = sqs.create_queue(QueueName="capture")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=s.capture_url, AttributeNames=["QueueArn"])
        events.put_rule(
            Name="all", EventBusName=s.bus, EventPattern=json.dumps({"source": [{"prefix": ""}]})
        )
        events.put_targets(
            Rule="all",
            EventBusName=s.bus,
            Targets=[{"Id": "capture", "Arn": arn["Attributes"]["QueueArn"]}],
        )
        yield s
        runtime.client.cache_clear()
