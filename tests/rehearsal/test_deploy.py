"""Deploying from cdk.out: the Stage's templates found through cloud_assembly, and every
adaptation to the emulator made visibly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rehearsal.deploy import file_assets, prepare_template, stage_region, stage_templates


def write_assembly(root: Path) -> None:
    stack = {"type": "aws:cloudformation:stack", "environment": "aws://222222222222/eu-west-1"}
    (root / "assembly-Pipeline-Dev").mkdir(parents=True)
    (root / "manifest.json").write_text(
        json.dumps(
            {
                "artifacts": {
                    "Pipeline": {**stack, "properties": {"templateFile": "Pipeline.json"}},
                    "assembly-Pipeline-Dev": {
                        "type": "cdk:cloud-assembly",
                        "properties": {"directoryName": "assembly-Pipeline-Dev"},
                    },
                }
            }
        )
    )
    (root / "assembly-Pipeline-Dev" / "manifest.json").write_text(
        json.dumps(
            {
                "artifacts": {
                    "PipelineDevMessaging.assets": {
                        "type": "cdk:asset-manifest",
                        "properties": {"file": "M.assets.json"},
                    },
                    "PipelineDevMessaging": {
                        **stack,
                        "displayName": "Pipeline/Dev/Messaging",
                        "properties": {"templateFile": "M.json", "stackName": "Dev-Messaging"},
                    },
                }
            }
        )
    )


ASSET = {"source": {"path": "asset.abc", "packaging": "zip"}, "destinations": {"d": {}}}


def test_file_assets_are_those_of_the_listed_asset_manifests(tmp_path: Path) -> None:
    write_assembly(tmp_path)
    stage = tmp_path / "assembly-Pipeline-Dev"
    (stage / "M.assets.json").write_text(json.dumps({"files": {"abc": ASSET}}))
    (stage / "Unlisted.assets.json").write_text(json.dumps({"files": {"x": ASSET}}))
    assert file_assets(stage) == [ASSET]


def test_the_stages_templates_and_region_come_from_the_manifests(tmp_path: Path) -> None:
    write_assembly(tmp_path)
    (template,) = stage_templates(tmp_path, "Dev")
    assert (template.stack, template.stack_name) == ("Dev/Messaging", "Dev-Messaging")
    assert template.relpath == "assembly-Pipeline-Dev/M.json"
    assert stage_region(tmp_path, "Dev") == "eu-west-1"


def test_a_stage_not_synthesized_is_named(tmp_path: Path) -> None:
    write_assembly(tmp_path)
    with pytest.raises(FileNotFoundError, match="assembly-Pipeline-Prod not found"):
        stage_templates(tmp_path, "Prod")


def resource(kind: str, **props: Any) -> dict[str, Any]:
    return {"Type": kind, "Properties": props}


def test_emulator_adaptations_are_made_and_listed() -> None:
    template = {
        "Resources": {
            "Bus": resource("AWS::Events::EventBus", Name="bus"),
            "Fn": resource("AWS::Lambda::Function"),
            "Live": resource("AWS::Lambda::Alias", FunctionName={"Ref": "Fn"}),
            "Mapping": resource(
                "AWS::Lambda::EventSourceMapping",
                FunctionName={"Fn::Select": [6, {"Fn::Split": [":", {"Ref": "Live"}]}]},
            ),
            "Workflow": resource("AWS::StepFunctions::StateMachine"),
            "Queue": resource("AWS::SQS::Queue"),
            "Rule": resource(
                "AWS::Events::Rule",
                EventBusName={"Ref": "Bus"},
                Targets=[{"Arn": {"Ref": "Workflow"}}, {"Arn": {"Fn::GetAtt": ["Queue", "Arn"]}}],
            ),
            "Key": resource("AWS::KMS::Key", Tags=[{"Key": "a", "Value": "b"}]),
            "Archive": resource("AWS::Events::Archive", EventPattern={"source": ["x"]}),
        },
        "Outputs": {"BusName": {"Value": {"Ref": "Bus"}}},
    }
    prepared = prepare_template(template)
    resources = template["Resources"]
    assert resources["Rule"]["Properties"]["EventBusName"] == "bus"
    assert template["Outputs"]["BusName"]["Value"] == "bus"
    assert resources["Mapping"]["Properties"]["FunctionName"] == {"Ref": "Fn"}
    assert resources["Rule"]["Properties"]["Targets"] == [{"Arn": {"Fn::GetAtt": ["Queue", "Arn"]}}]
    assert "Tags" not in resources["Key"]["Properties"]
    assert resources["Archive"]["Properties"]["ArchiveName"] == "Archive"
    assert resources["Archive"]["Properties"]["EventPattern"] == '{"source": ["x"]}'
    assert len(prepared) == 6
