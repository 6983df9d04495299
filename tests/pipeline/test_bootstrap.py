"""`make bootstrap`: the commands for the example config, and execution policies that cover
every resource type the synthesized stacks contain, without administrator rights."""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from typing import Any

import pytest

from config.loading import load_config
from pipeline.bootstrap import POLICIES, commands, main
from tests.support.synth import Synth, cdk_json_context

# What CloudFormation calls to create and to delete each resource type these stacks contain
# (the handlers' permissions in the CloudFormation resource schemas). A new type in a template
# fails the coverage test until it is listed here and allowed by the policy.
HANDLER_ACTIONS: dict[str, list[str]] = {
    "AWS::ApiGateway::Account": ["apigateway:PATCH", "apigateway:GET", "iam:PassRole"],
    "AWS::ApiGateway::Deployment": ["apigateway:POST", "apigateway:DELETE"],
    "AWS::ApiGateway::GatewayResponse": ["apigateway:PUT", "apigateway:DELETE"],
    "AWS::ApiGateway::Method": ["apigateway:PUT", "apigateway:DELETE", "iam:PassRole"],
    "AWS::ApiGateway::RequestValidator": ["apigateway:POST", "apigateway:DELETE"],
    "AWS::ApiGateway::Resource": ["apigateway:POST", "apigateway:DELETE"],
    "AWS::ApiGateway::RestApi": ["apigateway:POST", "apigateway:DELETE", "apigateway:PATCH"],
    "AWS::ApiGateway::Stage": ["apigateway:POST", "apigateway:DELETE", "apigateway:PATCH"],
    "AWS::Backup::BackupPlan": ["backup:CreateBackupPlan", "backup:DeleteBackupPlan"],
    "AWS::Backup::BackupSelection": [
        "backup:CreateBackupSelection",
        "backup:DeleteBackupSelection",
        "iam:PassRole",
    ],
    "AWS::Backup::BackupVault": [
        "backup:CreateBackupVault",
        "backup:DeleteBackupVault",
        "backup-storage:MountCapsule",
        "kms:CreateGrant",
    ],
    "AWS::CloudWatch::Alarm": ["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms"],
    "AWS::CloudWatch::Dashboard": ["cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards"],
    "AWS::CodeDeploy::Application": [
        "codedeploy:CreateApplication",
        "codedeploy:DeleteApplication",
    ],
    "AWS::CodeDeploy::DeploymentGroup": [
        "codedeploy:CreateDeploymentGroup",
        "codedeploy:DeleteDeploymentGroup",
        "iam:PassRole",
    ],
    "AWS::DynamoDB::Table": ["dynamodb:CreateTable", "dynamodb:DeleteTable", "kms:CreateGrant"],
    "AWS::EventSchemas::Registry": ["schemas:CreateRegistry", "schemas:DeleteRegistry"],
    "AWS::EventSchemas::Schema": ["schemas:CreateSchema", "schemas:DeleteSchema"],
    "AWS::Events::Archive": ["events:CreateArchive", "events:DeleteArchive"],
    "AWS::Events::EventBus": ["events:CreateEventBus", "events:DeleteEventBus"],
    "AWS::Events::Rule": ["events:PutRule", "events:PutTargets", "events:DeleteRule"],
    "AWS::IAM::Policy": ["iam:PutRolePolicy", "iam:DeleteRolePolicy"],
    "AWS::IAM::Role": ["iam:CreateRole", "iam:DeleteRole", "iam:AttachRolePolicy"],
    "AWS::KMS::Alias": ["kms:CreateAlias", "kms:DeleteAlias"],
    "AWS::KMS::Key": ["kms:CreateKey", "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"],
    "AWS::Lambda::Alias": ["lambda:CreateAlias", "lambda:DeleteAlias"],
    "AWS::Lambda::EventSourceMapping": [
        "lambda:CreateEventSourceMapping",
        "lambda:DeleteEventSourceMapping",
    ],
    "AWS::Lambda::Function": [
        "lambda:CreateFunction",
        "lambda:DeleteFunction",
        "lambda:GetLayerVersion",
        "s3:GetObject",
        "iam:PassRole",
    ],
    "AWS::Lambda::Permission": ["lambda:AddPermission", "lambda:RemovePermission"],
    "AWS::Lambda::Version": ["lambda:PublishVersion"],
    "AWS::Logs::LogGroup": ["logs:CreateLogGroup", "logs:DeleteLogGroup"],
    "AWS::S3::Bucket": ["s3:CreateBucket", "s3:DeleteBucket", "s3:PutBucketPolicy"],
    "AWS::S3::BucketPolicy": ["s3:PutBucketPolicy", "s3:DeleteBucketPolicy"],
    "AWS::SNS::Subscription": ["sns:Subscribe", "sns:Unsubscribe"],
    "AWS::SNS::Topic": ["sns:CreateTopic", "sns:DeleteTopic"],
    "AWS::SNS::TopicPolicy": ["sns:SetTopicAttributes"],
    "AWS::SQS::Queue": ["sqs:CreateQueue", "sqs:DeleteQueue"],
    "AWS::SQS::QueuePolicy": ["sqs:SetQueueAttributes"],
    "AWS::StepFunctions::StateMachine": [
        "states:CreateStateMachine",
        "states:DeleteStateMachine",
        "iam:PassRole",
    ],
    "AWS::WAFv2::WebACL": ["wafv2:CreateWebACL", "wafv2:DeleteWebACL"],
    "AWS::WAFv2::WebACLAssociation": ["wafv2:AssociateWebACL", "wafv2:DisassociateWebACL"],
    # Toolchain stack
    "AWS::CodeBuild::Project": ["codebuild:CreateProject", "codebuild:DeleteProject"],
    "AWS::CodePipeline::Pipeline": [
        "codepipeline:CreatePipeline",
        "codepipeline:DeletePipeline",
        "codestar-connections:PassConnection",
        "iam:PassRole",
    ],
    "AWS::CodeStarNotifications::NotificationRule": [
        "codestar-notifications:CreateNotificationRule",
        "codestar-notifications:DeleteNotificationRule",
    ],
}
NOT_DEPLOYED = {"AWS::CDK::Metadata"}


def allowed(policy: dict[str, Any], action: str) -> bool:
    def matches(statement: dict[str, Any]) -> bool:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        return any(fnmatch.fnmatchcase(action, pattern) for pattern in actions)

    statements = policy["Statement"]
    denied = any(s["Effect"] == "Deny" and s["Resource"] == "*" and matches(s) for s in statements)
    return not denied and any(s["Effect"] == "Allow" and matches(s) for s in statements)


def types_in(templates: list[Path]) -> set[str]:
    return {
        r["Type"]
        for t in templates
        for r in json.loads(t.read_text())["Resources"].values()
        if r["Type"] not in NOT_DEPLOYED
    }


@pytest.mark.parametrize("kind", ["workload", "toolchain"])
def test_the_execution_policy_covers_every_resource_type_deployed(synth: Synth, kind: str) -> None:
    if kind == "workload":
        templates = sorted(synth.outdir.glob("assembly-Pipeline-*/*.template.json"))
    else:
        templates = [synth.outdir / "Pipeline.template.json"]
    policy = json.loads(POLICIES[kind].read_text())
    types = types_in(templates)
    assert types - HANDLER_ACTIONS.keys() == set(), "list the new type's handler actions"
    missing = {(t, a) for t in types for a in HANDLER_ACTIONS[t] if not allowed(policy, a)}
    assert missing == set()


@pytest.mark.parametrize("kind", ["workload", "toolchain"])
def test_the_execution_policy_is_not_administrator_access(kind: str) -> None:
    policy = json.loads(POLICIES[kind].read_text())
    for statement in policy["Statement"]:
        if statement["Effect"] != "Allow":
            continue
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        assert all(a != "*" and not a.endswith(":*") for a in actions), statement["Sid"]
    for action in ("iam:CreateUser", "iam:CreateAccessKey", "organizations:LeaveOrganization"):
        assert not allowed(policy, action)
    assert not allowed(policy, "ec2:RunInstances")


def test_bootstrap_prints_the_commands_for_the_example_config(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out.splitlines()
    assert (
        "cdk bootstrap aws://111111111111/eu-west-1 --cloudformation-execution-policies "
        "arn:aws:iam::111111111111:policy/MessagingPlatformCfnExecution" in out
    )
    for account in ("222222222222", "333333333333", "444444444444"):
        assert (
            f"cdk bootstrap aws://{account}/eu-west-1 --trust 111111111111 "
            "--trust-for-lookup 111111111111 --cloudformation-execution-policies "
            f"arn:aws:iam::{account}:policy/MessagingPlatformCfnExecution"
        ) in out
        assert f"# with credentials for account {account}" in out
    assert sum("create-policy" in line for line in out) == 4
    assert not any("AdministratorAccess" in line for line in out)


def test_every_region_of_a_wave_is_bootstrapped_once_per_account() -> None:
    context = {
        **cdk_json_context(),
        "deployment.environments.prod.additional_regions": ["us-east-1"],
    }
    argvs = [c.argv for c in commands(load_config(context)) if c.account == "444444444444"]
    assert [a[2] for a in argvs if a[0] == "cdk"] == [
        "aws://444444444444/eu-west-1",
        "aws://444444444444/us-east-1",
    ]
    assert sum(a[:3] == ("aws", "iam", "create-policy") for a in argvs) == 1


def test_bad_config_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    context = {**cdk_json_context(), "deployment.toolchain.account": "123"}
    assert main([], context=context) == 2
    assert capsys.readouterr().err.startswith("config error: toolchain.account: '123'")
