"""Platform-NoWildcardActions: named actions pass; '*', 'service:*' and NotAction do not."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs

from tests.support.rules import ENV, findings


def test_wildcard_actions_are_flagged_one_finding_each(tmp_path: Path) -> None:
    def build(app: cdk.App) -> None:
        stack = cdk.Stack(app, "S", env=ENV)
        queue = sqs.Queue(stack, "Queue", enforce_ssl=True)  # its Deny on sqs:* is fine
        good = iam.Role(stack, "Good", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        queue.grant_send_messages(good)
        bad = iam.Role(stack, "Bad", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        bad.add_to_policy(iam.PolicyStatement(actions=["sqs:*"], resources=[queue.queue_arn]))
        bad.add_to_policy(iam.PolicyStatement(actions=["*"], resources=[queue.queue_arn]))
        bad.add_to_policy(iam.PolicyStatement(not_actions=["iam:*"], resources=[queue.queue_arn]))

    found = findings(tmp_path, build)
    rule = "Platform-NoWildcardActions"
    bad_policy = "S/Bad/DefaultPolicy/Resource"
    assert found[f"{rule}[Action::sqs:*]"] == {bad_policy}
    assert found[f"{rule}[Action::*]"] == {bad_policy}
    assert found[f"{rule}[NotAction]"] == {bad_policy}
    assert not any(
        path.startswith(("S/Good", "S/Queue"))
        for name, paths in found.items()
        if name.startswith(rule)
        for path in paths
    )
