"""Platform-ServiceKeyAccess: CloudWatch alarms publishing to a topic whose key does not admit
cloudwatch.amazonaws.com are flagged (the notifications would be dropped silently)."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns

from tests.support.rules import ENV, findings, flagged

RULE = "Platform-ServiceKeyAccess"


def _alarmed_topic(stack: cdk.Stack, *, admit: bool) -> None:
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    if admit:
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
            )
        )
    topic = sns.Topic(stack, "Alarms", master_key=key)
    metric = cloudwatch.Metric(namespace="N", metric_name="M")
    alarm = metric.create_alarm(stack, "Alarm", threshold=1, evaluation_periods=1)
    alarm.add_alarm_action(actions.SnsAction(topic))


def test_a_key_that_does_not_admit_cloudwatch_is_flagged(tmp_path: Path) -> None:
    def build(app: cdk.App) -> None:
        _alarmed_topic(cdk.Stack(app, "S", env=ENV), admit=False)

    found = findings(tmp_path, build)
    assert found[f"{RULE}[Service::cloudwatch.amazonaws.com]"] == {"S/Key/Resource"}


def test_a_key_that_admits_cloudwatch_passes(tmp_path: Path) -> None:
    def build(app: cdk.App) -> None:
        _alarmed_topic(cdk.Stack(app, "S", env=ENV), admit=True)

    assert flagged(findings(tmp_path, build), RULE) == set()
