"""Platform-EncryptedWorkflow: an unnamed CMK workflow and a caller without KMS rights are
flagged; the platform's own builder (named, grants carrying the key) is not."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from services.common.workflows import express_workflow
from tests.support.rules import ENV, findings

RULE = "Platform-EncryptedWorkflow"


def _caller(stack: cdk.Stack) -> iam.Role:
    return iam.Role(stack, "Caller", assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"))


def test_an_unnamed_machine_and_a_caller_without_the_key_are_flagged(tmp_path: Path) -> None:
    def build(app: cdk.App) -> None:
        stack = cdk.Stack(app, "S", env=ENV)
        key = kms.Key(stack, "Key", enable_key_rotation=True)
        machine = sfn.StateMachine(
            stack,
            "Machine",
            state_machine_type=sfn.StateMachineType.EXPRESS,
            definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "Noop")),
            encryption_configuration=sfn.CustomerManagedEncryptionConfiguration(key),
        )
        machine.grant_start_sync_execution(_caller(stack))

    found = findings(tmp_path, build)
    flagged = {rule: paths for rule, paths in found.items() if rule.startswith(RULE)}
    assert set(flagged) == {f"{RULE}[Name]", f"{RULE}[Caller::CallerBA8D1D35]"}
    assert flagged[f"{RULE}[Name]"] == {"S/Machine/Resource"}


def test_the_platform_workflow_and_its_callers_pass(tmp_path: Path) -> None:
    def build(app: cdk.App) -> None:
        stack = cdk.Stack(app, "S", env=ENV)
        key = kms.Key(stack, "Key", enable_key_rotation=True)
        scope = Construct(stack, "Audit")
        machine = express_workflow(
            scope,
            definition=sfn.Pass(scope, "Noop"),
            key=key,
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        machine.grant_start_sync_execution(_caller(stack))

    assert not any(rule.startswith(RULE) for rule in findings(tmp_path, build))
