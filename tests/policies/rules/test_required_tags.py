"""Platform-RequiredTags: taggable resources need all four tags; untaggable ones are skipped."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_backup as backup
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs

from tests.support.rules import ENV, findings

TAGS = {"Environment": "dev", "Service": "messaging", "Owner": "team", "CostCentre": "cc-1"}


def test_missing_tags_are_reported_one_finding_per_key(tmp_path: Path) -> None:
    def build(app: cdk.App) -> None:
        tagged = cdk.Stack(app, "Tagged", env=ENV)
        sqs.Queue(tagged, "Queue")
        backup.BackupVault(tagged, "Vault")  # tags land in BackupVaultTags, a map
        for key, value in TAGS.items():
            cdk.Tags.of(tagged).add(key, value)
        partly = cdk.Stack(app, "Partly", env=ENV)
        sqs.Queue(partly, "Queue")
        role = iam.Role(partly, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        role.add_to_policy(iam.PolicyStatement(actions=["sqs:SendMessage"], resources=["arn"]))
        cdk.Tags.of(partly).add("Environment", "dev")
        cdk.Tags.of(partly).add("Service", "messaging")

    found = findings(tmp_path, build)
    rule = "Platform-RequiredTags"
    assert found[f"{rule}[Tag::Owner]"] == {"Partly/Queue/Resource", "Partly/Role/Resource"}
    assert found[f"{rule}[Tag::CostCentre]"] == {"Partly/Queue/Resource", "Partly/Role/Resource"}
    assert f"{rule}[Tag::Environment]" not in found
    # The role's policy (AWS::IAM::Policy) cannot carry tags and is not reported.
    assert not any("DefaultPolicy" in p for ps in found.values() for p in ps)
