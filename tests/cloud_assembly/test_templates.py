"""The manifest walk: top-level and nested Stage stacks, environment, protection, paths, assets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cloud_assembly import manifest
from cloud_assembly.templates import nested_templates, stack_at, templates

TEMPLATE: dict[str, Any] = {
    "Resources": {
        "Queue4A7E3555": {
            "Type": "AWS::SQS::Queue",
            "Metadata": {"aws:cdk:path": "Pipeline/Dev/Messaging/Queue/Resource"},
        },
        "CDKMetadata": {"Type": "AWS::CDK::Metadata"},
    }
}


def stack(template: str, display: str, environment: str, **properties: Any) -> dict[str, Any]:
    return {
        "type": "aws:cloudformation:stack",
        "environment": environment,
        "displayName": display,
        "dependencies": [template.replace(".template.json", ".assets")],
        "properties": {"templateFile": template, **properties},
    }


def assets(file: str) -> dict[str, Any]:
    return {"type": "cdk:asset-manifest", "properties": {"file": file}}


@pytest.fixture
def outdir(tmp_path: Path) -> Path:
    """A pipeline stack at the top level and one Stage (Dev) in a nested assembly."""
    nested = tmp_path / "assembly-Pipeline-Dev"
    nested.mkdir()
    top = {
        "artifacts": {
            "assembly-Pipeline-Dev": {
                "type": "cdk:cloud-assembly",
                "properties": {"directoryName": nested.name, "displayName": "Pipeline/Dev"},
            },
            "Pipeline.assets": assets("Pipeline.assets.json"),
            "Pipeline": stack(
                "Pipeline.template.json",
                "Pipeline",
                "aws://111111111111/eu-west-1",
                terminationProtection=True,
            ),
            "Tree": {"type": "cdk:tree", "properties": {"file": "tree.json"}},
        }
    }
    dev = {
        "artifacts": {
            "Dev.assets": assets("Dev.assets.json"),
            "Dev": stack(
                "Dev.template.json",
                "Pipeline/Dev/Messaging",
                "aws://222222222222/eu-central-1",
                stackName="Dev-Messaging",
            ),
        }
    }
    (tmp_path / "manifest.json").write_text(json.dumps(top))
    (tmp_path / "Pipeline.template.json").write_text(json.dumps({"Resources": {}}))
    (nested / "manifest.json").write_text(json.dumps(dev))
    (nested / "Dev.template.json").write_text(json.dumps(TEMPLATE))
    return tmp_path


def test_every_stack_is_found_in_manifest_order_with_its_environment(outdir: Path) -> None:
    dev, pipeline = templates(outdir)
    assert (dev.relpath, dev.stack, dev.stack_name) == (
        "assembly-Pipeline-Dev/Dev.template.json",
        "Dev/Messaging",
        "Dev-Messaging",
    )
    assert (dev.path, dev.stage, dev.account, dev.region) == (
        "Pipeline/Dev/Messaging",
        "Pipeline/Dev",
        "222222222222",
        "eu-central-1",
    )
    assert (pipeline.stack, pipeline.stack_name, pipeline.path, pipeline.stage) == (
        "Pipeline",
        "Pipeline",
        "Pipeline",
        "",
    )
    assert (pipeline.termination_protection, dev.termination_protection) == (True, False)
    assert dev.asset_manifest == "assembly-Pipeline-Dev/Dev.assets.json"
    assert pipeline.asset_manifest == "Pipeline.assets.json"


def test_bodies_and_construct_paths_are_read_from_the_template(outdir: Path) -> None:
    dev, _ = templates(outdir)
    assert dev.file == outdir / "assembly-Pipeline-Dev" / "Dev.template.json"
    assert dev.body == TEMPLATE
    assert dev.construct_paths == {
        "Queue4A7E3555": "Pipeline/Dev/Messaging/Queue/Resource",
        "CDKMetadata": "",
    }
    assert dev.construct_path("Queue4A7E3555") == "Pipeline/Dev/Messaging/Queue/Resource"
    assert dev.construct_path("CDKMetadata") == "Pipeline/Dev/Messaging/CDKMetadata"


def test_a_template_file_leads_back_to_its_stack(outdir: Path) -> None:
    for found in templates(outdir):
        assert stack_at(found.file) == found
    with pytest.raises(FileNotFoundError):
        stack_at(outdir / "Other.template.json")


KEY = "ab" * 32


def _with_nested_stack(outdir: Path, *, metadata: bool) -> None:
    """Dev deploys a nested stack (a provider's, issue 17) whose template is a file asset."""
    nested = outdir / "assembly-Pipeline-Dev"
    resource_metadata = {
        "aws:cdk:path": "Pipeline/Dev/Messaging/Inbound/Acme.NestedStack/Acme.NestedStackResource"
    }
    if metadata:
        resource_metadata["aws:asset:path"] = "DevAcme.nested.template.json"
    body = {
        "Resources": {
            **TEMPLATE["Resources"],
            "InboundAcmeNestedStackResource1234ABCD": {
                "Type": "AWS::CloudFormation::Stack",
                "Metadata": resource_metadata,
                "Properties": {
                    "TemplateURL": {"Fn::Join": ["", ["https://s3.", "/bucket/", f"{KEY}.json"]]},
                    "Parameters": {"QueueArn": {"Fn::GetAtt": ["Queue4A7E3555", "Arn"]}},
                },
            },
        }
    }
    (nested / "Dev.template.json").write_text(json.dumps(body))
    (nested / "DevAcme.nested.template.json").write_text(json.dumps(TEMPLATE))
    files = {
        KEY: {
            "source": {"path": "DevAcme.nested.template.json", "packaging": "file"},
            "destinations": {"d": {"bucketName": "bucket", "objectKey": f"{KEY}.json"}},
        }
    }
    (nested / "Dev.assets.json").write_text(json.dumps({"files": files}))


@pytest.mark.parametrize("metadata", [True, False])
def test_nested_stacks_follow_the_stack_that_deploys_them(outdir: Path, metadata: bool) -> None:
    """Nested stacks are no manifest artifacts: found from the parent's resource (its asset
    metadata, or the TemplateURL's object key in the parent's asset manifest)."""
    _with_nested_stack(outdir, metadata=metadata)
    dev, acme, pipeline = templates(outdir)
    assert pipeline.stack == "Pipeline"
    assert acme.relpath == "assembly-Pipeline-Dev/DevAcme.nested.template.json"
    assert (acme.stack, acme.path) == (
        "Dev/Messaging/Inbound/Acme",
        "Pipeline/Dev/Messaging/Inbound/Acme",
    )
    assert (acme.account, acme.region, acme.stage) == (dev.account, dev.region, dev.stage)
    assert acme.body == TEMPLATE
    # What the parent passes, resolved in the parent's environment (for parliament's ARNs).
    ((name, value),) = acme.parameters
    assert name == "QueueArn"
    assert value.startswith("arn:aws:sqs:eu-central-1:222222222222:")
    assert dev.parameters == ()
    assert nested_templates(dev) == [acme]
    assert [t.stack for t in templates(outdir, nested=False)] == ["Dev/Messaging", "Pipeline"]


def test_an_assembly_without_stacks_is_refused(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text(json.dumps({"artifacts": {}}))
    with pytest.raises(FileNotFoundError, match="no stack templates"):
        templates(tmp_path)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("aws://123456789012/eu-west-1", ("123456789012", "eu-west-1")),
        ("aws://unknown-account/unknown-region", ("unknown-account", "unknown-region")),
        (None, ("unknown", "unknown")),
    ],
)
def test_environments_split_into_account_and_region(
    value: str | None, expected: tuple[str, str]
) -> None:
    assert manifest.environment(value) == expected
