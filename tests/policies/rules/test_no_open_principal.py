"""Platform-NoOpenPrincipal: '*' principals need a condition naming the caller."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs

from tests.support.rules import ENV, findings, flagged


def test_an_unconditioned_open_principal_is_flagged(tmp_path: Path) -> None:
    def build(app: cdk.App) -> None:
        stack = cdk.Stack(app, "S", env=ENV)
        scoped = sqs.Queue(stack, "Scoped")
        scoped.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.AnyPrincipal()],
                actions=["sqs:SendMessage"],
                resources=[scoped.queue_arn],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
        wide = sqs.Queue(stack, "Wide")
        wide.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.AnyPrincipal()],
                actions=["sqs:SendMessage"],
                resources=[wide.queue_arn],
            )
        )

    assert flagged(findings(tmp_path, build), "Platform-NoOpenPrincipal") == {
        "S/Wide/Policy/Resource"
    }
