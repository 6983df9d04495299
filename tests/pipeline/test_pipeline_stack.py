"""The synthesized pipeline: order of environments, approvals, trigger, keys, pinned CLI, and
every CodeBuild project's runtimes and download cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline import build_cache
from pipeline.pipeline_stack import BUILD_COMMANDS
from pipeline.toolchain import read_versions
from tests.support.synth import ROOT, Synth


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


# -- every CodeBuild project: runtimes and the download caches ---------------------------------


def codebuild_specs(synth: Synth) -> dict[str, dict[str, Any]]:
    """Every AWS::CodeBuild::Project's buildspec, parsed: inline JSON, a JSON with a token (the
    broadening check's function name), or a buildspec file in the assembly (CDK's assets; JSON
    in a .yaml file)."""
    specs: dict[str, dict[str, Any]] = {}
    for logical_id, resource in synth.template().to_json()["Resources"].items():
        if resource["Type"] != "AWS::CodeBuild::Project":
            continue
        spec = resource["Properties"]["Source"]["BuildSpec"]
        if isinstance(spec, dict):
            spec = "".join(p if isinstance(p, str) else "TOKEN" for p in spec["Fn::Join"][1])
        if spec.endswith(".yaml"):
            spec = (synth.outdir / spec).read_text()
        specs[logical_id] = json.loads(spec)
    return specs


def test_every_codebuild_project_runs_node_22_or_later(synth: Synth) -> None:
    """runtime-versions picks the image's Node; without it a project runs on the image's default
    (https://docs.aws.amazon.com/codebuild/latest/userguide/available-runtimes.html). The image,
    aws/codebuild/standard:7.0, ships 22 (aws-codebuild-docker-images, ubuntu/standard/7.0)."""
    specs = codebuild_specs(synth)
    # Build, SelfMutate, FileAssets, three Verify steps and the broadening check.
    assert len(specs) == 7
    for logical_id, spec in specs.items():
        runtimes = spec["phases"]["install"]["runtime-versions"]
        assert int(str(runtimes["nodejs"]).split(".")[0]) >= 22, logical_id
        assert runtimes["python"] == "3.11", logical_id  # as the dev venv (pyproject's mypy)
    images = {
        r["Properties"]["Environment"]["Image"]
        for r in synth.template().to_json()["Resources"].values()
        if r["Type"] == "AWS::CodeBuild::Project"
    }
    assert images == {"aws/codebuild/standard:7.0"}


def test_every_codebuild_project_caches_downloads_under_the_lock_files_prefix(
    synth: Synth,
) -> None:
    """S3 cache at <artifact bucket>/build-cache/<digest of the lock files>; the buildspec's
    cache paths are the directories uv, pip and npm are pointed at, and the key carries the
    digest (with a key, CodeBuild saves the cache once and keeps it:
    https://docs.aws.amazon.com/codebuild/latest/userguide/caching-s3.html)."""
    digest = build_cache.lock_digest()
    resources = synth.template().to_json()["Resources"]
    (bucket_id,) = [
        k
        for k, r in resources.items()
        if k.startswith("PipelineArtifactsBucket") and r["Type"] == "AWS::S3::Bucket"
    ]
    for logical_id, spec in codebuild_specs(synth).items():
        cache = resources[logical_id]["Properties"]["Cache"]
        assert cache == {
            "Type": "S3",
            "Location": {"Fn::Join": ["/", [{"Ref": bucket_id}, f"build-cache/{digest}"]]},
        }
        variables = spec["env"]["variables"]
        assert {variables[name] for name in ("UV_CACHE_DIR", "PIP_CACHE_DIR", "npm_config_cache")}
        for name in ("UV_CACHE_DIR", "PIP_CACHE_DIR", "npm_config_cache"):
            assert f"{variables[name]}/**/*" in spec["cache"]["paths"], (logical_id, name)
        assert spec["cache"]["key"].endswith(digest)


def test_the_cache_digest_changes_with_any_lock_file(tmp_path: Path) -> None:
    for name in build_cache.LOCK_FILES:
        (tmp_path / name).write_bytes((ROOT / name).read_bytes())
    before = build_cache.lock_digest(tmp_path)
    assert before == build_cache.lock_digest()
    for name in build_cache.LOCK_FILES:
        original = (tmp_path / name).read_bytes()
        (tmp_path / name).write_bytes(original + b"\n")
        assert build_cache.lock_digest(tmp_path) != before, name
        (tmp_path / name).write_bytes(original)


def test_codebuild_roles_may_write_only_the_cache_prefix(synth: Synth) -> None:
    """One policy on every CodeBuild role: objects under build-cache/<digest>/ (read, write) and
    the artifact key through S3 only; no other policy grants anything under build-cache/."""
    digest = build_cache.lock_digest()
    resources = synth.template().to_json()["Resources"]
    roles = {
        r["Properties"]["ServiceRole"]["Fn::GetAtt"][0]
        for r in resources.values()
        if r["Type"] == "AWS::CodeBuild::Project"
    }
    policies = {k: r["Properties"] for k, r in resources.items() if r["Type"] == "AWS::IAM::Policy"}
    (cache_id,) = [k for k, p in policies.items() if k.startswith(f"BuildCache{digest}")]
    cache = policies[cache_id]
    assert {ref["Ref"] for ref in cache["Roles"]} == roles
    s3_statement, kms_statement = cache["PolicyDocument"]["Statement"]
    assert s3_statement["Action"] == ["s3:GetObject", "s3:PutObject"]
    (_, suffix) = s3_statement["Resource"]["Fn::Join"][1]
    assert suffix == f"/build-cache/{digest}/*"
    assert kms_statement["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert kms_statement["Condition"] == {
        "StringEquals": {"kms:ViaService": f"s3.{synth.config.toolchain.region}.amazonaws.com"}
    }
    others = json.dumps({k: p for k, p in policies.items() if k != cache_id})
    assert "build-cache" not in others


def test_old_caches_expire(synth: Synth) -> None:
    resources = synth.template().to_json()["Resources"]
    (bucket,) = [
        r["Properties"]
        for k, r in resources.items()
        if k.startswith("PipelineArtifactsBucket") and r["Type"] == "AWS::S3::Bucket"
    ]
    rules = {r["Id"]: r for r in bucket["LifecycleConfiguration"]["Rules"]}
    assert rules["ExpireBuildCache"]["Prefix"] == "build-cache/"
    assert rules["ExpireBuildCache"]["ExpirationInDays"] == build_cache.EXPIRE_DAYS
    assert "ExpireArtifacts" in rules  # artifacts.expire's rule is kept
