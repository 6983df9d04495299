"""Deploys one Stage's synthesized stacks from cdk.out through the emulator's CloudFormation API.

Preparation, all of it visible here: the CDK bootstrap version parameter the templates check,
and the Stage's file assets (Lambda code) published to the bootstrap bucket named in the asset
manifest, zipped the way cdk-assets does. Resource types the emulator cannot create are reported
by `DeployedStack.skipped`, never hidden.
"""

from __future__ import annotations

import copy
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cloud_assembly.templates import StackTemplate, templates
from rehearsal.emulator import Emulator

# Emulator limitation: moto's CloudFormation handler for these types cannot read Tags.
UNTAGGABLE_IN_EMULATOR = ("AWS::KMS::Key",)
UNDELIVERABLE_IN_EMULATOR = ("AWS::StepFunctions::StateMachine", "AWS::SNS::Topic")
BOOTSTRAP_VERSION_PARAMETER = "/cdk-bootstrap/hnb659fds/version"
BOOTSTRAP_VERSION = "30"


@dataclass
class DeployedStack:
    """A stack created on the emulator: outputs, physical ids by logical id, skipped resources."""

    name: str
    template: dict[str, Any]
    outputs: dict[str, str]
    physical_ids: dict[str, str]
    skipped: dict[str, str] = field(default_factory=dict)
    prepared: list[str] = field(default_factory=list)


def _replace_refs(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, dict):
        if set(value) == {"Ref"} and value["Ref"] in names:
            return names[value["Ref"]]
        return {k: _replace_refs(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_refs(v, names) for v in value]
    return value


def prepare_template(template: dict[str, Any]) -> list[str]:
    """Adapt a template to the emulator's known limitations, in place; returns what was done."""
    prepared = []
    # moto resolves Ref of an event bus to an object instead of its name (what CloudFormation
    # returns): substitute the declared name.
    buses = {
        logical: res["Properties"]["Name"]
        for logical, res in template["Resources"].items()
        if res["Type"] == "AWS::Events::EventBus"
    }
    if buses:
        template["Resources"] = _replace_refs(template["Resources"], buses)
        template["Outputs"] = _replace_refs(template.get("Outputs", {}), buses)
        prepared.append(f"Ref of {', '.join(sorted(buses))} replaced by the bus name")
    # moto cannot create Lambda aliases (CodeDeploy shifts traffic between versions behind
    # them): whatever invokes an alias invokes its function directly here.
    aliases = {
        logical: res["Properties"]["FunctionName"]
        for logical, res in template["Resources"].items()
        if res["Type"] == "AWS::Lambda::Alias"
    }
    if aliases:
        for res in template["Resources"].values():
            # An event source on an alias names it as "<function>:<alias>" (Select/Split of
            # the alias ARN); name the function instead.
            name = res.get("Properties", {}).get("FunctionName")
            if res["Type"] == "AWS::Lambda::EventSourceMapping" and any(
                alias in json.dumps(name) for alias in aliases
            ):
                alias = next(a for a in aliases if a in json.dumps(name))
                res["Properties"]["FunctionName"] = aliases[alias]
        template["Resources"] = _replace_refs(template["Resources"], aliases)
        prepared.append(f"Ref of {', '.join(sorted(aliases))} replaced by its function")
    resources = template["Resources"]
    for logical, res in resources.items():
        props = res.setdefault("Properties", {})
        if res["Type"] == "AWS::Events::Rule" and props.get("Targets"):
            # moto fails PutEvents outright on targets it cannot deliver to (Step Functions,
            # SNS): those targets are removed; the rehearsal plays the audit target itself.
            kept = []
            for rule_target in props["Targets"]:
                ref = (
                    rule_target["Arn"].get("Ref", "")
                    if isinstance(rule_target["Arn"], dict)
                    else ""
                )
                kind = resources.get(ref, {}).get("Type", "")
                if kind in UNDELIVERABLE_IN_EMULATOR:
                    prepared.append(f"{logical}: target {ref} ({kind}) removed")
                else:
                    kept.append(rule_target)
            props["Targets"] = kept
        if res["Type"] in UNTAGGABLE_IN_EMULATOR and props.pop("Tags", None):
            prepared.append(f"tags removed from {logical} ({res['Type']})")
        if res["Type"] == "AWS::Events::Archive" and "ArchiveName" not in props:
            # moto generates names over the 48-character limit it then enforces.
            props["ArchiveName"] = logical[:48]
            prepared.append(f"{logical} named {logical[:48]!r} ({res['Type']})")
        if res["Type"] == "AWS::Events::Archive" and isinstance(props.get("EventPattern"), dict):
            # moto parses an archive's pattern only from a JSON string.
            props["EventPattern"] = json.dumps(props["EventPattern"])
            prepared.append(f"{logical} event pattern passed as a string ({res['Type']})")
    return prepared


def stage_directory(cdk_out: Path, stage_id: str) -> Path:
    """The Stage's nested assembly (its asset manifests and code); a one-line error if absent."""
    directory = cdk_out / f"assembly-Pipeline-{stage_id}"
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory} not found: run `make synth` first")
    return directory


def stage_templates(cdk_out: Path, stage_id: str) -> list[StackTemplate]:
    """The Stage's stack templates, in manifest order."""
    stage_directory(cdk_out, stage_id)  # the one-line error when the Stage was not synthesized
    # Top-level stacks only: deploying a provider's nested stack (issue 17) is not rehearsed yet.
    return [t for t in templates(cdk_out, nested=False) if t.stack.split("/", 1)[0] == stage_id]


def stage_region(cdk_out: Path, stage_id: str) -> str:
    """The region the Stage deploys to (its one stack's environment)."""
    (region,) = {t.region for t in stage_templates(cdk_out, stage_id)}
    return region


def _zip_directory(source: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(source.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(source).as_posix())
    return buffer.getvalue()


def file_assets(assembly: Path) -> list[dict[str, Any]]:
    """Every file asset (Lambda code) of the Stage, from the asset manifests its manifest lists.

    cloud_assembly reads templates, not assets: the asset manifests are read here.
    """
    manifest = json.loads((assembly / "manifest.json").read_text())
    assets: list[dict[str, Any]] = []
    for artifact in manifest["artifacts"].values():
        if artifact["type"] == "cdk:asset-manifest":
            listed = json.loads((assembly / artifact["properties"]["file"]).read_text())
            assets += listed.get("files", {}).values()
    return assets


def publish_assets(emulator: Emulator, assembly: Path) -> int:
    """Upload every file asset of the Stage to its destination bucket/key; returns the count."""
    s3 = emulator.client("s3")
    published = 0
    for asset in file_assets(assembly):
        source = assembly / asset["source"]["path"]
        body = (
            _zip_directory(source)
            if asset["source"].get("packaging") == "zip"
            else source.read_bytes()
        )
        for destination in asset["destinations"].values():
            bucket = destination["bucketName"]
            existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
            if bucket not in existing:
                s3.create_bucket(
                    Bucket=bucket,
                    CreateBucketConfiguration={"LocationConstraint": emulator.region},
                )
            s3.put_object(Bucket=bucket, Key=destination["objectKey"], Body=body)
            published += 1
    return published


def _physical_ids(cfn: Any, stack_name: str, template: dict[str, Any]) -> dict[str, str]:
    physical: dict[str, str] = {}
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack_name):
        for res in page["StackResourceSummaries"]:
            logical = res.get("LogicalResourceId")
            if logical and logical in template["Resources"]:
                # moto leaves some physical ids empty (event buses): use the declared name.
                declared = template["Resources"][logical].get("Properties", {}).get("Name")
                physical[logical] = res.get("PhysicalResourceId") or str(declared or "")
    return physical


def deploy_stack(emulator: Emulator, stack_name: str, template: dict[str, Any]) -> DeployedStack:
    """Create one stack from its synthesized template, adapted to the emulator."""
    cfn = emulator.client("cloudformation")
    deployable = copy.deepcopy(template)  # the record keeps the synthesized template
    prepared = prepare_template(deployable)
    cfn.create_stack(
        StackName=stack_name,
        TemplateBody=json.dumps(deployable),
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
    )
    stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    if stack["StackStatus"] != "CREATE_COMPLETE":
        raise RuntimeError(f"{stack_name}: {stack['StackStatus']} {stack.get('StackStatusReason')}")
    physical = _physical_ids(cfn, stack_name, template)
    skipped = {
        logical: res["Type"]
        for logical, res in template["Resources"].items()
        if logical not in physical and res["Type"] != "AWS::CDK::Metadata"
    }
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    return DeployedStack(stack_name, template, outputs, physical, skipped, prepared)


def deploy_stage(emulator: Emulator, cdk_out: Path, stage_id: str) -> list[DeployedStack]:
    """Create every stack of the Stage's assembly, in manifest order, after its assets."""
    assembly = stage_directory(cdk_out, stage_id)
    emulator.client("ssm").put_parameter(
        Name=BOOTSTRAP_VERSION_PARAMETER, Value=BOOTSTRAP_VERSION, Type="String", Overwrite=True
    )
    publish_assets(emulator, assembly)
    return [
        deploy_stack(emulator, template.stack_name, template.body)
        for template in stage_templates(cdk_out, stage_id)
    ]
