"""Platform-NoWildcardResources: '*' only for the allow-listed actions."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam

from policies.rules.no_wildcard_resources import ONLY_STAR
from tests.support.rules import ENV, findings


def test_only_actions_with_resource_level_permissions_are_flagged(tmp_path: Path) -> None:
    def build(app: cdk.App) -> None:
        stack = cdk.Stack(app, "S", env=ENV)
        good = iam.Role(stack, "Good", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        good.add_to_policy(
            iam.PolicyStatement(
                actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources=["*"]
            )
        )
        bad = iam.Role(stack, "Bad", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        bad.add_to_policy(
            iam.PolicyStatement(actions=["s3:GetObject", "xray:PutTraceSegments"], resources=["*"])
        )

    found = findings(tmp_path, build)
    rule = "Platform-NoWildcardResources"
    assert {k: v for k, v in found.items() if k.startswith(rule)} == {
        f"{rule}[Action::s3:GetObject]": {"S/Bad/DefaultPolicy/Resource"}
    }


def test_every_allow_listed_action_says_why() -> None:
    assert all(reason.endswith(".") and len(reason.split()) >= 5 for reason in ONLY_STAR.values())
