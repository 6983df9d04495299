"""The synthesized pipeline: order of environments, approvals, trigger, keys, pinned CLI."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipeline.pipeline_stack import BUILD_COMMANDS
from pipeline.toolchain import read_versions
from tests.support.synth import Synth


@pytest.fixture(scope="module")
def pipeline(synth: Synth) -> dict[str, Any]:
    (props,) = [
        r["Properties"]
        for r in synth.template().to_json()["Resources"].values()
        if r["Type"] == "AWS::CodePipeline::Pipeline"
    ]
    return props


def stage_names(pipeline: dict[str, Any]) -> list[str]:
    return [s["Name"] for s in pipeline["Stages"]]


def actions(pipeline: dict[str, Any], stage: str) -> list[dict[str, Any]]:
    (found,) = [s for s in pipeline["Stages"] if s["Name"] == stage]
    return sorted(found["Actions"], key=lambda a: a["RunOrder"])


def test_environments_deploy_in_config_order_after_build_and_self_mutation(
    pipeline: dict[str, Any], synth: Synth
) -> None:
    expected_envs = [env.stage_id for env in synth.config.environments]
    assert expected_envs == ["Dev", "Staging", "Prod"]
    # "Assets" appears once the app has file assets (Lambda code); it always precedes the envs.
    names = [n for n in stage_names(pipeline) if n != "Assets"]
    assert names == ["Source", "Build", "UpdatePipeline", *expected_envs]


def test_manual_approval_precedes_every_prod_deploy_action(pipeline: dict[str, Any]) -> None:
    prod = actions(pipeline, "Prod")
    approvals = [a for a in prod if a["Name"].startswith("Promote")]
    deploys = [a for a in prod if a["ActionTypeId"]["Provider"] == "CloudFormation"]
    assert len(approvals) == 1
    assert approvals[0]["ActionTypeId"]["Category"] == "Approval"
    assert deploys
    assert all(approvals[0]["RunOrder"] < d["RunOrder"] for d in deploys)


@pytest.mark.parametrize("stage", ["Dev", "Staging"])
def test_no_approval_before_environments_that_do_not_require_one(
    pipeline: dict[str, Any], stage: str
) -> None:
    assert all(a["ActionTypeId"]["Category"] != "Approval" for a in actions(pipeline, stage))


def test_each_environment_deploys_with_the_roles_of_its_own_account(
    pipeline: dict[str, Any], synth: Synth
) -> None:
    for env in synth.config.environments:
        for action in actions(pipeline, env.stage_id):
            if action["ActionTypeId"]["Provider"] != "CloudFormation":
                continue
            role = json.dumps(action["RoleArn"])
            assert f":{env.account}:role/cdk-" in role
            # CodePipeline omits Region when it equals the pipeline's own region.
            assert action.get("Region", synth.config.toolchain.region) == env.region


def test_v2_pipeline_triggers_only_on_pushes_to_the_configured_branch(
    pipeline: dict[str, Any], synth: Synth
) -> None:
    assert pipeline["PipelineType"] == "V2"
    (trigger,) = pipeline["Triggers"]
    assert trigger["ProviderType"] == "CodeStarSourceConnection"
    git = trigger["GitConfiguration"]
    (source_action,) = actions(pipeline, "Source")
    assert git["SourceActionName"] == source_action["Name"]
    assert git["Push"] == [{"Branches": {"Includes": [synth.config.source.branch]}}]
    config = source_action["Configuration"]
    assert config["BranchName"] == synth.config.source.branch
    assert config["FullRepositoryId"] == synth.config.source.repository
    assert config["ConnectionArn"] == synth.config.source.connection_arn
    # The action's own (unfiltered) trigger is off; the V2 trigger decides.
    assert config["DetectChanges"] is False


def test_artifacts_are_encrypted_with_a_rotating_cross_account_key(
    pipeline: dict[str, Any], synth: Synth
) -> None:
    template = synth.template().to_json()["Resources"]
    key_id = pipeline["ArtifactStore"]["EncryptionKey"]["Id"]["Fn::GetAtt"][0]
    assert template[key_id]["Type"] == "AWS::KMS::Key"
    assert template[key_id]["Properties"]["EnableKeyRotation"] is True
    bucket_id = pipeline["ArtifactStore"]["Location"]["Ref"]
    bucket = template[bucket_id]["Properties"]
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]["Fn::GetAtt"][0] == key_id
    assert "LoggingConfiguration" in bucket


def test_cli_version_is_the_package_json_pin(synth: Synth) -> None:
    versions = read_versions()
    specs = [
        r["Properties"]["Source"]["BuildSpec"]
        for r in synth.template().to_json()["Resources"].values()
        if r["Type"] == "AWS::CodeBuild::Project"
    ]
    installs = " ".join(json.dumps(s) for s in specs)
    assert f"aws-cdk@{versions.cdk_cli}" in installs
    assert "aws-cdk@latest" not in installs
    assert "aws-cdk@3" not in installs


def test_build_step_runs_the_makefile_targets(synth: Synth) -> None:
    (build,) = [
        json.loads(r["Properties"]["Source"]["BuildSpec"])
        for r in synth.template().to_json()["Resources"].values()
        if r["Type"] == "AWS::CodeBuild::Project"
        and "make synth" in r["Properties"]["Source"]["BuildSpec"]
    ]
    assert build["phases"]["build"]["commands"] == BUILD_COMMANDS
    assert build["artifacts"]["base-directory"] == "cdk.out"


def test_pipeline_stack_lives_in_the_toolchain_account(synth: Synth) -> None:
    artifact = synth.assembly.get_stack_by_name("Pipeline")
    assert artifact.environment.account == synth.config.toolchain.account
    assert artifact.environment.region == synth.config.toolchain.region
    assert artifact.termination_protection is True


def test_source_action_may_use_the_connection_under_its_own_arn_prefix(
    pipeline: dict[str, Any], synth: Synth
) -> None:
    arn = synth.config.source.connection_arn
    assert ":codeconnections:" in arn  # the example config uses the post-rename ARN format
    (source,) = actions(pipeline, "Source")
    role_id = source["RoleArn"]["Fn::GetAtt"][0]
    granted = set()
    for resource in synth.template().to_json()["Resources"].values():
        if resource["Type"] != "AWS::IAM::Policy":
            continue
        if {"Ref": role_id} not in resource["Properties"]["Roles"]:
            continue
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            actions_ = statement["Action"]
            for action in [actions_] if isinstance(actions_, str) else actions_:
                if statement["Resource"] == arn:
                    granted.add(action)
    assert "codeconnections:UseConnection" in granted
