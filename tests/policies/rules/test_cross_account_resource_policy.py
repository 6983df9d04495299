"""Platform-CrossAccountResourcePolicy: grants to other accounts or anyone, in every policy kind."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs

from tests.support.rules import ENV, findings, flagged

RULE = "Platform-CrossAccountResourcePolicy"
OTHER = "999999999999"


def cross_account_grants(stack: cdk.Stack) -> None:
    """A bucket readable and a key usable for decryption by another account."""
    bucket = s3.Bucket(stack, "Shared", enforce_ssl=True)
    bucket.grant_read(iam.AccountPrincipal(OTHER))
    key = kms.Key(stack, "SharedKey", enable_key_rotation=True)
    key.grant_decrypt(iam.AccountPrincipal(OTHER))


def test_grants_to_another_account_are_flagged(tmp_path: Path) -> None:
    def build(app: cdk.App) -> None:
        cross_account_grants(cdk.Stack(app, "S", env=ENV))

    found = findings(tmp_path, build)
    assert flagged(found, RULE) == {"S/Shared/Policy/Resource", "S/SharedKey/Resource"}
    assert f"{RULE}[Principal::arn:<AWS::Partition>:iam::{OTHER}:root]" in found


def test_grants_inside_the_account_and_conditioned_open_principals_are_compliant(
    tmp_path: Path,
) -> None:
    def build(app: cdk.App) -> None:
        stack = cdk.Stack(app, "S", env=ENV)
        bucket = s3.Bucket(stack, "Own", enforce_ssl=True)
        bucket.grant_read(iam.AccountRootPrincipal())
        key = kms.Key(stack, "OwnKey", enable_key_rotation=True)
        key.grant_decrypt(iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal()))
        queue = sqs.Queue(stack, "Queue")
        queue.grant_send_messages(iam.ServicePrincipal("sns.amazonaws.com"))
        queue.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.AnyPrincipal()],
                actions=["sqs:SendMessage"],
                resources=[queue.queue_arn],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )

    assert flagged(findings(tmp_path, build), RULE) == set()


def test_lambda_permissions_for_another_account_or_anyone_are_flagged(tmp_path: Path) -> None:
    def build(app: cdk.App) -> None:
        stack = cdk.Stack(app, "S", env=ENV)
        fn = lambda_.Function(
            stack,
            "Fn",
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler="index.handler",
            code=lambda_.Code.from_inline("def handler(event, context): return None"),
        )
        fn.add_permission("Other", principal=iam.AccountPrincipal(OTHER))
        fn.add_permission("Anyone", principal=iam.AnyPrincipal())
        fn.add_permission("Scoped", principal=iam.AnyPrincipal(), source_account=stack.account)
        fn.add_permission("Own", principal=iam.AccountPrincipal(stack.account))

    assert flagged(findings(tmp_path, build), RULE) == {"S/Fn/Other", "S/Fn/Anyone"}
