"""Platform-TlsOnly: queues, topics and buckets with and without a TLS-only policy."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs

from tests.support.rules import ENV, findings, flagged


def test_resources_without_a_secure_transport_deny_are_flagged(tmp_path: Path) -> None:
    def build(app: cdk.App) -> None:
        stack = cdk.Stack(app, "S", env=ENV)
        sqs.Queue(stack, "TlsQueue", enforce_ssl=True)
        open_queue = sqs.Queue(stack, "OpenQueue")
        # A policy that exists but does not deny plain HTTP does not count.
        open_queue.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.AccountRootPrincipal()],
                actions=["sqs:SendMessage"],
                resources=[open_queue.queue_arn],
            )
        )
        sns.Topic(stack, "TlsTopic", enforce_ssl=True)
        sns.Topic(stack, "OpenTopic")
        s3.Bucket(stack, "TlsBucket", enforce_ssl=True)
        s3.Bucket(stack, "OpenBucket")

    flagged_paths = flagged(findings(tmp_path, build), "Platform-TlsOnly")
    assert flagged_paths == {
        "S/OpenQueue/Resource",
        "S/OpenTopic/Resource",
        "S/OpenBucket/Resource",
    }
