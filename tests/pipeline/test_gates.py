"""Pipeline gates: build checks, report groups, post-deploy verification, broadening check,
approval with review link and topic, notification rules, progressive rollout, approver role."""

from __future__ import annotations

import json
import re
from typing import Any

import aws_cdk as cdk
import pytest

from config.loading import load_config
from pipeline.pipeline_stack import BUILD_COMMANDS, REPORTS, VERIFY_COMMANDS, PipelineStack
from pipeline.toolchain import read_versions
from pipeline.verify import outputs as verify_outputs
from services.inbound.providers import discover
from tests.support.synth import ROOT, Synth, cdk_json_context


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


@pytest.fixture(scope="module")
def toolchain(synth: Synth) -> dict[str, Any]:
    return synth.template().to_json()


@pytest.fixture(scope="module")
def stages(toolchain: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    (pipeline,) = resources(toolchain, "AWS::CodePipeline::Pipeline").values()
    return {
        s["Name"]: sorted(s["Actions"], key=lambda a: a["RunOrder"])
        for s in pipeline["Properties"]["Stages"]
    }


def buildspec(toolchain: dict[str, Any], project: str) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(
        toolchain["Resources"][project]["Properties"]["Source"]["BuildSpec"]
    )
    return spec


def pipeline_stages(toolchain: dict[str, Any]) -> list[dict[str, Any]]:
    (pipeline,) = resources(toolchain, "AWS::CodePipeline::Pipeline").values()
    stages: list[dict[str, Any]] = pipeline["Properties"]["Stages"]
    return stages


def project_of(action: dict[str, Any]) -> str:
    return str(action["Configuration"]["ProjectName"]["Ref"])


def env_vars(action: dict[str, Any]) -> dict[str, str]:
    return {
        v["name"]: v["value"] for v in json.loads(action["Configuration"]["EnvironmentVariables"])
    }


def test_build_commands_are_makefile_targets() -> None:
    targets = set(re.findall(r"^([a-z-]+):", (ROOT / "Makefile").read_text(), re.M))
    for command in [*BUILD_COMMANDS, *(c for cs in VERIFY_COMMANDS.values() for c in cs)]:
        assert command.split()[0] == "make"
        assert command.split()[1] in targets, command
    assert BUILD_COMMANDS == ["make test", "make synth", "make review"]


def test_build_publishes_junit_to_report_groups(
    toolchain: dict[str, Any], stages: dict[str, list[dict[str, Any]]]
) -> None:
    (build,) = stages["Build"]
    spec = buildspec(toolchain, project_of(build))
    assert set(spec["reports"]) == set(REPORTS) == {"UnitTests", "PolicyGate"}
    assert all(r["file-format"] == "JUNITXML" for r in spec["reports"].values())
    policy = json.dumps(resources(toolchain, "AWS::IAM::Policy"))
    assert "codebuild:BatchPutTestCases" in policy
    # The review link needs this execution's id, resolved by CodePipeline at run time.
    assert env_vars(build)["EXECUTION_ID"] == "#{codepipeline.PipelineExecutionId}"


def test_every_stage_is_verified_after_it_deploys_from_its_outputs(
    toolchain: dict[str, Any], stages: dict[str, list[dict[str, Any]]], synth: Synth
) -> None:
    for env in synth.config.environments:
        acts = stages[env.stage_id]
        (deploy,) = [a for a in acts if a["Name"] == "Messaging.Deploy"]
        (verify,) = [a for a in acts if a["Name"] == f"Verify{env.stage_id}"]
        assert verify["RunOrder"] > deploy["RunOrder"]
        project = toolchain["Resources"][project_of(verify)]["Properties"]
        variables = {
            **{v["Name"]: v["Value"] for v in project["Environment"]["EnvironmentVariables"]},
            **env_vars(verify),
        }
        # The driver reads the outputs from the Stage's stack as its verification role.
        stack = synth.stage_stacks(env.name)[0]
        assert variables[verify_outputs.STACK] == stack.stack_name
        assert variables[verify_outputs.REGION] == env.region
        role = variables[verify_outputs.ROLE]
        assert role.startswith(f"arn:aws:iam::{env.account}:role/"), role
        assert not [name for name in variables if name.startswith(verify_outputs.PREFIX)]
        commands = buildspec(toolchain, project_of(verify))["phases"]["build"]["commands"]
        level = env.settings.delivery.verification
        assert commands[: len(VERIFY_COMMANDS[level])] == VERIFY_COMMANDS[level]
        assert ("make released" in commands) == env.requires_approval


def test_staging_runs_acceptance_and_load_dev_and_prod_smoke(synth: Synth) -> None:
    levels = {e.name: e.settings.delivery.verification for e in synth.config.environments}
    assert levels == {"dev": "smoke", "staging": "acceptance", "prod": "smoke"}
    assert VERIFY_COMMANDS["acceptance"][-1] == "make verify SUITE=load"


def test_prod_waits_for_the_broadening_check_then_an_approval_with_review_link_and_topic(
    toolchain: dict[str, Any], stages: dict[str, list[dict[str, Any]]]
) -> None:
    prod = stages["Prod"]
    order = [a["Name"] for a in prod]
    assert order.index("BroadeningProd.Check") < order.index("PromoteProd")
    assert order.index("PromoteProd") < order.index("Messaging.Deploy")
    (approval,) = [a for a in prod if a["Name"] == "PromoteProd"]
    link = json.dumps(approval["Configuration"]["ExternalEntityLink"])
    assert "reviews/#{codepipeline.PipelineExecutionId}/index.html" in link
    topic = approval["Configuration"]["NotificationArn"]["Ref"]
    assert "KmsMasterKeyId" in toolchain["Resources"][topic]["Properties"]
    subscriptions = resources(toolchain, "AWS::SNS::Subscription").values()
    assert any(
        s["Properties"]["Endpoint"] == "release-approvers@example.com"
        and s["Properties"]["TopicArn"] == {"Ref": topic}
        for s in subscriptions
    )


def test_notification_rules_cover_failures_and_approvals(toolchain: dict[str, Any]) -> None:
    (rule,) = resources(toolchain, "AWS::CodeStarNotifications::NotificationRule").values()
    assert set(rule["Properties"]["EventTypeIds"]) == {
        "codepipeline-pipeline-pipeline-execution-failed",
        "codepipeline-pipeline-manual-approval-needed",
        "codepipeline-pipeline-manual-approval-succeeded",
        "codepipeline-pipeline-manual-approval-failed",
    }
    (target,) = rule["Properties"]["Targets"]
    topic = toolchain["Resources"][target["TargetAddress"]["Ref"]]
    assert "KmsMasterKeyId" in topic["Properties"]


def test_only_the_approver_role_may_answer_approvals(toolchain: dict[str, Any]) -> None:
    answering = {
        k: r
        for k, r in resources(toolchain, "AWS::IAM::Policy").items()
        if "codepipeline:PutApprovalResult" in json.dumps(r["Properties"]["PolicyDocument"])
    }
    # CDK Pipelines' broadening check auto-approves only when nothing widens.
    assert sorted(k.split("DefaultPolicy")[0] for k in answering) == [
        "ApproverRole",
        "PipelinePipelinesSecurityCheckCDKPipelinesAutoApproveServiceRole",
    ]
    (approver,) = [r for k, r in answering.items() if k.startswith("ApproverRole")]
    (statement,) = [
        s
        for s in approver["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "codepipeline:PutApprovalResult"
    ]
    answered = json.dumps(statement["Resource"])
    assert "/Prod/PromoteProd" in answered
    # The broadening confirmation is asked before the promotion on a release that widens IAM:
    # the approver must be able to answer it too, and the names must be the pipeline's own.
    assert "/Prod/BroadeningProd.Confirm" in answered
    manual = {
        f"/{stage['Name']}/{action['Name']}"
        for stage in pipeline_stages(toolchain)
        for action in stage["Actions"]
        if action["ActionTypeId"]["Provider"] == "Manual"
    }
    assert manual == set(re.findall(r'(/[A-Za-z]+/[A-Za-z.]+)"', answered))
    (role,) = [
        r for k, r in resources(toolchain, "AWS::IAM::Role").items() if k.startswith("ApproverRole")
    ]
    trust = json.dumps(role["Properties"]["AssumeRolePolicyDocument"])
    assert "arn:aws:iam::111111111111:role/ReleaseManagers" in trust


@pytest.mark.parametrize(
    ("environment", "config"), [("prod", "Canary10Percent5Minutes"), ("dev", "AllAtOnce")]
)
def test_processors_roll_out_through_codedeploy_with_alarm_rollback(
    synth: Synth, environment: str, config: str
) -> None:
    template = synth.template(environment).to_json()
    groups = resources(template, "AWS::CodeDeploy::DeploymentGroup")
    assert len(groups) == len(discover())  # one processor per provider module
    for group in groups.values():
        props = group["Properties"]
        assert props["DeploymentConfigName"] == f"CodeDeployDefault.Lambda{config}"
        assert props["AlarmConfiguration"]["Enabled"] is True
        assert len(props["AlarmConfiguration"]["Alarms"]) == 2  # errors and throttles
        assert "DEPLOYMENT_STOP_ON_ALARM" in props["AutoRollbackConfiguration"]["Events"]
    mappings = resources(template, "AWS::Lambda::EventSourceMapping")
    assert all(":live" in json.dumps(m["Properties"]["FunctionName"]) for m in mappings.values())


@pytest.mark.parametrize("name", ["dev", "staging", "prod"])
def test_verification_role_reads_only_and_trusts_only_its_verify_step(
    synth: Synth, name: str, toolchain: dict[str, Any]
) -> None:
    template = synth.template(name).to_json()
    (role,) = [
        r
        for k, r in resources(template, "AWS::IAM::Role").items()
        if k.startswith("VerificationRole")
    ]
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    stage_id = synth.config.environment(name).stage_id
    trusted = statement["Condition"]["ArnEquals"]["aws:PrincipalArn"]
    assert trusted == f"arn:aws:iam::111111111111:role/Pipeline-Verify{stage_id}"
    # ...and that is the role the Verify step's CodeBuild project runs as.
    verify_roles = [
        r["Properties"].get("RoleName")
        for k, r in resources(toolchain, "AWS::IAM::Role").items()
        if k.startswith(f"Verify{stage_id}Role")
    ]
    assert verify_roles == [trusted.rsplit("/", 1)[1]]
    (policy,) = [
        r
        for k, r in resources(template, "AWS::IAM::Policy").items()
        if k.startswith("VerificationRole")
    ]
    granted = {
        a
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert granted == {
        "cloudformation:DescribeStacks",
        "dynamodb:GetItem",
        "dynamodb:Query",
        "sqs:GetQueueAttributes",
        "secretsmanager:GetSecretValue",
        "kms:Decrypt",
    }
    (describe,) = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "cloudformation:DescribeStacks"
    ]
    assert describe["Resource"] == {"Ref": "AWS::StackId"}  # its own stack's outputs only


def test_prod_can_be_a_wave_of_regions_behind_one_approval() -> None:
    context = {
        **cdk_json_context(),
        "deployment.environments.prod.additional_regions": ["us-east-1"],
    }
    app = cdk.App(context=context)
    stack = PipelineStack(app, "Pipeline", config=load_config(context), versions=read_versions())
    prod = next(w for w in stack.pipeline.waves if w.id == "Prod")
    assert [s.stage_name for s in prod.stages] == ["Prod", "ProdUsEast1"]
    assert [type(step).__name__ for step in prod.pre].count("ManualApprovalStep") == 1
    regions = {s.node.id: s.region for s in stack.stages}
    assert regions["ProdUsEast1"] == "us-east-1"


def _verify_policy(toolchain: dict[str, Any], stage_id: str) -> str:
    return json.dumps(
        [
            r["Properties"]["PolicyDocument"]
            for k, r in resources(toolchain, "AWS::IAM::Policy").items()
            if k.startswith(f"Verify{stage_id}Role")
        ]
    )


def test_only_the_step_that_runs_make_released_may_write_the_released_base(
    toolchain: dict[str, Any], stages: dict[str, list[dict[str, Any]]]
) -> None:
    """`make released` copies this execution's synth output to reviews/released/: the step
    that runs it needs s3:PutObject there (and the artifact key), the others must not."""
    for stage_id in ("Dev", "Staging", "Prod"):
        (verify,) = [a for a in stages[stage_id] if a["Name"] == f"Verify{stage_id}"]
        commands = json.dumps(buildspec(toolchain, project_of(verify)))
        policy = _verify_policy(toolchain, stage_id)
        writes = "reviews/released/cdk.out.tar.gz" in policy and "s3:PutObject" in policy
        assert writes == ("make released" in commands), stage_id


def test_pipeline_artifacts_expire(toolchain: dict[str, Any], synth: Synth) -> None:
    (pipeline,) = resources(toolchain, "AWS::CodePipeline::Pipeline").values()
    bucket_id = pipeline["Properties"]["ArtifactStore"]["Location"]["Ref"]
    rules = toolchain["Resources"][bucket_id]["Properties"]["LifecycleConfiguration"]["Rules"]
    # Besides it, only the build cache's expiry (tests/pipeline/test_pipeline_stack.py).
    assert sorted(r["Id"] for r in rules) == ["ExpireArtifacts", "ExpireBuildCache"]
    (rule,) = [r for r in rules if r["Id"] == "ExpireArtifacts"]
    assert "Prefix" not in rule  # every object
    assert rule["Status"] == "Enabled"
    assert rule["ExpirationInDays"] == synth.config.artifact_retention_days
    assert rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 7


# "Quotas in AWS CodePipeline" (CodePipeline user guide): an action configuration value holds
# at most 1,000 characters; passing stack outputs as variables hits it (aws/aws-cdk#17067).
ACTION_CONFIGURATION_VALUE_LIMIT = 1_000
# A Ref or attribute resolved at deploy time: counted at the longest name CloudFormation gives.
UNRESOLVED = 128


def _resolved_length(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return len(separator) * max(len(parts) - 1, 0) + sum(_resolved_length(p) for p in parts)
    if isinstance(value, dict) and ("Ref" in value or "Fn::GetAtt" in value):
        return UNRESOLVED
    return len(json.dumps(value))


def test_every_action_configuration_value_fits_codepipelines_quota(
    stages: dict[str, list[dict[str, Any]]],
) -> None:
    lengths = {
        f"{stage}/{action['Name']}/{key}": _resolved_length(value)
        for stage, actions in stages.items()
        for action in actions
        for key, value in action.get("Configuration", {}).items()
    }
    assert any("Verify" in k and "EnvironmentVariables" in k for k in lengths)
    assert {k: n for k, n in lengths.items() if n > ACTION_CONFIGURATION_VALUE_LIMIT} == {}
    # With four providers the Stage outputs alone took about 1,450 characters; what remains
    # must not grow with the providers.
    verify = [n for k, n in lengths.items() if "/Verify" in k and k.endswith("Variables")]
    assert max(verify) < ACTION_CONFIGURATION_VALUE_LIMIT / 2
