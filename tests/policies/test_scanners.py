"""cfn-lint, checkov and parliament on the synthesized assembly: clean, complete, able to fail."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cloud_assembly.intrinsics import Resolver, UnresolvableError
from cloud_assembly.templates import templates
from policies import acknowledgements
from policies.acknowledgements import Acknowledgement, RegistryError
from policies.scanners import runner
from policies.scanners.runner import Finding
from tests.support.synth import ROOT, Synth

REASON = "This is a full sentence a reviewer would accept as a reason."
SEVERITIES = {"error", "warning", "info", "low", "medium", "high", "critical"}


@pytest.fixture(scope="module")
def scan(synth: Synth) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """The real entry point, once, on the session's synthesized assembly."""
    done = subprocess.run(
        [sys.executable, "-m", "policies.scanners", str(synth.outdir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    results_file = synth.outdir / "scanners" / "results.json"
    assert results_file.is_file(), done.stdout + done.stderr
    return done, json.loads(results_file.read_text())


def test_the_scanners_pass_on_the_assembly(
    scan: tuple[subprocess.CompletedProcess[str], dict[str, Any]],
) -> None:
    done, results = scan
    failed = [f for f in results["findings"] if f["status"] == "failed"]
    assert failed == []
    assert results["stale_acknowledgements"] == []
    assert done.returncode == 0, done.stdout


def test_every_tool_scanned_every_template(
    synth: Synth, scan: tuple[subprocess.CompletedProcess[str], dict[str, Any]]
) -> None:
    _, results = scan
    summary = {s["tool"]: s for s in results["summary"]}
    assert set(summary) == {"cfn-lint", "checkov", "parliament"}
    stacks = templates(synth.outdir)
    assert {s.stack for s in stacks} == {
        "Pipeline",
        *(f"{e.stage_id}/Messaging" for e in synth.config.environments),
    }
    assert summary["cfn-lint"]["checks_run"] == len(stacks)
    policies = sum(len(runner.policy_documents(s)) for s in stacks)
    assert summary["parliament"]["checks_run"] == policies > 4 * len(stacks)
    assert summary["checkov"]["checks_run"] > 1000
    checked = {f["template"] for f in results["findings"] if f["tool"] == "checkov"}
    assert checked == {s.relpath for s in stacks}
    for tool in summary.values():
        assert tool["version"] != "unknown"


def test_findings_are_well_formed_and_acknowledged_ones_carry_the_reason(
    scan: tuple[subprocess.CompletedProcess[str], dict[str, Any]],
) -> None:
    _, results = scan
    reasons = {entry.reason for entry in acknowledgements.load()}
    for f in results["findings"]:
        assert f["tool"] in {"cfn-lint", "checkov", "parliament"}
        assert f["severity"] in SEVERITIES
        assert f["status"] in {"failed", "acknowledged", "passed-info"}
        if f["tool"] == "checkov":
            assert f["construct_path"].startswith("Pipeline/"), f
        if f["status"] == "acknowledged":
            assert f["reason"].split(" (owner: ")[0] in reasons
        else:
            assert f["reason"] == ""


def test_parliament_reported_nothing_at_medium_or_above_open(
    scan: tuple[subprocess.CompletedProcess[str], dict[str, Any]],
) -> None:
    _, results = scan
    gating = [
        f
        for f in results["findings"]
        if f["tool"] == "parliament"
        and f["severity"] in {"medium", "high", "critical"}
        and f["status"] != "acknowledged"
    ]
    assert gating == []
    assert not any(f["rule"] == "UNRESOLVED_INTRINSIC" for f in results["findings"])


# --- the gate fails on a bad assembly -------------------------------------------------------------

BAD_TEMPLATE: dict[str, Any] = {
    "Resources": {
        "Plain": {"Type": "AWS::S3::Bucket", "Metadata": {"aws:cdk:path": "S/Data/Plain/Resource"}},
        "Queue": {"Type": "AWS::SQS::Queue", "Metadata": {"aws:cdk:path": "S/Data/Queue/Resource"}},
        "ReaderPolicy": {
            "Type": "AWS::IAM::Policy",
            "Metadata": {"aws:cdk:path": "S/Data/Reader/Resource"},
            "Properties": {
                "PolicyName": "reader",
                "Roles": [{"Ref": "Reader"}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": "s3:GetObject",
                            "Resource": {"Fn::GetAtt": ["Plain", "Arn"]},
                        }
                    ],
                },
            },
        },
        "Reader": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": "sts:AssumeRole",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                        }
                    ],
                }
            },
        },
    }
}


def test_a_bad_assembly_fails_every_gate(tmp_path: Path) -> None:
    manifest = {
        "version": "50.0.0",
        "artifacts": {
            "S": {
                "type": "aws:cloudformation:stack",
                "environment": "aws://123456789012/eu-west-1",
                "displayName": "S",
                "properties": {"templateFile": "S.template.json"},
            }
        },
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "S.template.json").write_text(json.dumps(BAD_TEMPLATE))
    stale = Acknowledgement("Checkov::CKV_AWS_117", ("S/Nothing/Here/Resource",), REASON, "x")
    results = runner.run(tmp_path, entries=[stale])
    failed = {(f.tool, f.rule) for f in results.findings if f.status == "failed"}
    assert ("cfn-lint", "ES6000") in failed  # queue without a redrive policy
    assert ("checkov", "CKV_AWS_21") in failed  # bucket without versioning
    assert ("parliament", "RESOURCE_MISMATCH[s3:GetObject]") in failed  # object action on bucket
    assert results.stale == [
        "Checkov::CKV_AWS_117 at S/Nothing/Here/Resource matches no finding (stale)"
    ]
    assert any(line.startswith("registry: ") for line in results.failures)
    written = json.loads((tmp_path / "scanners" / "results.json").read_text())
    assert len(written["findings"]) == len(results.findings)


# --- acknowledgement matching ---------------------------------------------------------------------


def finding(
    rule: str, path: str, tool: runner.Tool = "checkov", severity: str = "error"
) -> Finding:
    return Finding(tool, "t.json", "Dev/Messaging", "R", path, rule, severity, "m")


def entry(rule: str, *paths: str) -> Acknowledgement:
    return Acknowledgement(rule=rule, paths=paths, reason=REASON, owner="platform")


def test_findings_match_by_rule_and_path_with_captures() -> None:
    ack = entry(
        "Checkov::CKV_AWS_117", "Pipeline/*/Messaging/Inbound/{provider}/Processor/Resource"
    )
    findings = [
        finding("CKV_AWS_117", "Pipeline/Dev/Messaging/Inbound/Slack/Processor/Resource"),
        finding("CKV_AWS_116", "Pipeline/Dev/Messaging/Inbound/Slack/Processor/Resource"),
        finding("CKV_AWS_117", "Pipeline/Dev/Messaging/Inbound/Slack/Other/Processor/Resource"),
        finding("CKV_AWS_117", ""),
    ]
    matched = acknowledgements.match_findings(findings, [ack])
    assert matched.acknowledged == [ack, None, None, None]
    assert matched.stale == []


def test_an_entry_matching_no_finding_is_stale_per_path() -> None:
    ack = entry(
        "Checkov::CKV_AWS_18", "Pipeline/A/B/Logs/Resource", "Pipeline/Gone/B/Logs/Resource"
    )
    matched = acknowledgements.match_findings(
        [finding("CKV_AWS_18", "Pipeline/A/B/Logs/Resource")], [ack]
    )
    assert matched.stale == [(ack, "Pipeline/Gone/B/Logs/Resource")]


def test_staleness_is_judged_only_for_the_tools_that_ran() -> None:
    lint = entry("CfnLint::ES6000", "Pipeline/A/B/DeadLetter/Resource")
    nag = entry("AwsSolutions::AwsSolutions-SQS3", "Pipeline/A/B/DeadLetter/Resource")
    matched = acknowledgements.match_findings([], [lint, nag], namespaces=["Checkov"])
    assert matched.stale == []
    assert acknowledgements.match_findings([], [lint, nag]).stale == [
        (lint, "Pipeline/A/B/DeadLetter/Resource")
    ]


def test_unacknowledged_findings_gate_and_warnings_stay_informational() -> None:
    ack = entry("CfnLint::ES6000", "Pipeline/A/B/DeadLetter/Resource")
    findings = [
        finding("ES6000", "Pipeline/A/B/DeadLetter/Resource", tool="cfn-lint"),
        finding("ES1001", "Pipeline/A/B/Mapping/Resource", tool="cfn-lint"),
        finding("W3005", "Pipeline/A/B/Mapping/Resource", tool="cfn-lint", severity="warning"),
        finding("CKV_AWS_21", "Pipeline/A/B/Logs/Resource"),
    ]
    stale = runner.acknowledge(findings, ["cfn-lint", "checkov"], [ack])
    assert [f.status for f in findings] == ["acknowledged", "failed", "passed-info", "failed"]
    assert findings[0].reason == f"{REASON} (owner: platform)"
    assert stale == []


def test_cdk_nag_application_skips_scanner_entries() -> None:
    import aws_cdk as cdk

    app = cdk.App()
    stack = cdk.Stack(cdk.Stage(app, "Pipeline"), "Messaging")
    cdk.CfnResource(cdk.Resource(stack, "Queue"), "Resource", type="AWS::SQS::Queue")
    scanner = entry("Checkov::CKV_AWS_27", "Pipeline/Messaging/Queue/Resource")
    nag = entry("AwsSolutions::AwsSolutions-SQS3", "Pipeline/Messaging/Queue/Resource")
    assert acknowledgements.apply(app, [scanner, nag]) == {nag: 1}


@pytest.mark.parametrize(
    ("rule", "ok"),
    [
        ("Checkov::CKV_AWS_116", True),
        ("Checkov::CKV2_AWS_5", True),
        ("CfnLint::ES6000", True),
        ("CfnLint::W3005", True),
        ("Parliament::RESOURCE_MISMATCH[s3:GetObject]", True),
        ("Checkov::ckv-aws-116", False),
        ("CfnLint::ES60", False),
        ("Parliament::resource_mismatch", False),
    ],
)
def test_scanner_rule_ids_are_validated(rule: str, ok: bool) -> None:
    ack = entry(rule, "Pipeline/A/B/C/Resource")
    if ok:
        ack.validate(0)
    else:
        with pytest.raises(RegistryError, match="is not a"):
            ack.validate(0)


def test_scanner_paths_may_name_a_resource_of_the_pipeline_stack_but_not_a_stack() -> None:
    entry("Checkov::CKV_AWS_21", "Pipeline/ArtifactAccessLogs/Resource").validate(0)
    with pytest.raises(RegistryError, match="too broad"):
        entry("Checkov::CKV_AWS_21", "Pipeline/Dev").validate(0)
    with pytest.raises(RegistryError, match="too broad"):
        entry("Checkov::CKV_AWS_21", "Pipeline/Dev/*").validate(0)


# --- parliament findings --------------------------------------------------------------------------


def test_resource_mismatch_is_split_into_named_actions_and_wildcard_expansions() -> None:
    document = {"Statement": [{"Action": ["s3:List*", "s3:GetObject"], "Resource": "x"}]}
    raw = [
        {
            "issue": "RESOURCE_MISMATCH",
            "severity": "MEDIUM",
            "title": "No resources match for the given action",
            "detail": [
                {"action": "s3:GetObject", "required_format": "arn:*:s3:::*/*"},
                {"action": "s3:ListAllMyBuckets", "required_format": "*"},
                {"action": "s3:ListJobs", "required_format": "*"},
            ],
            "location": {},
        }
    ]
    out = runner._parliament_findings(raw, document)
    assert [(rule, severity) for rule, severity, _ in out] == [
        ("RESOURCE_MISMATCH[s3:GetObject]", "MEDIUM"),
        ("RESOURCE_MISMATCH[s3:List*]", "LOW"),
    ]
    assert "s3:ListAllMyBuckets, s3:ListJobs" in out[1][2]


# --- the intrinsic resolver -----------------------------------------------------------------------

RESOURCES: dict[str, Any] = {
    "Bucket1234ABCD": {"Type": "AWS::S3::Bucket"},
    "Queue0000FFFF": {"Type": "AWS::SQS::Queue"},
    "Machine12345678": {"Type": "AWS::StepFunctions::StateMachine"},
    "Key": {"Type": "AWS::KMS::Key"},
    "Project": {"Type": "AWS::CodeBuild::Project"},
    "Thing": {"Type": "AWS::Foo::Widget"},
}


@pytest.fixture
def resolver() -> Resolver:
    return Resolver.for_template(
        {"Resources": RESOURCES, "Parameters": {"Stage": {"Type": "String", "Default": "dev"}}},
        account="111111111111",
        region="eu-west-1",
        stack_name="Messaging",
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"Ref": "AWS::Partition"}, "aws"),
        ({"Ref": "AWS::AccountId"}, "111111111111"),
        ({"Ref": "AWS::Region"}, "eu-west-1"),
        ({"Ref": "Stage"}, "dev"),
        ({"Ref": "Bucket1234ABCD"}, "bucket"),
        ({"Fn::GetAtt": ["Bucket1234ABCD", "Arn"]}, "arn:aws:s3:::bucket"),
        (
            {"Fn::Join": ["", [{"Fn::GetAtt": ["Bucket1234ABCD", "Arn"]}, "/media/*"]]},
            "arn:aws:s3:::bucket/media/*",
        ),
        ({"Fn::GetAtt": ["Queue0000FFFF", "Arn"]}, "arn:aws:sqs:eu-west-1:111111111111:Queue"),
        ({"Ref": "Queue0000FFFF"}, "https://sqs.eu-west-1.amazonaws.com/111111111111/Queue"),
        ({"Ref": "Machine12345678"}, "arn:aws:states:eu-west-1:111111111111:stateMachine:Machine"),
        ("Machine12345678.Arn", "Machine12345678.Arn"),  # a plain string stays as it is
        (
            {"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:*"},
            "arn:aws:logs:eu-west-1:111111111111:*",
        ),
        ({"Fn::Sub": ["${Q}/x${!Literal}", {"Q": {"Ref": "Project"}}]}, "Project/x${Literal}"),
        ({"Fn::Sub": "${Queue0000FFFF.Arn}"}, "arn:aws:sqs:eu-west-1:111111111111:Queue"),
        ({"Fn::Select": [1, {"Fn::Split": [":", "a:b:c"]}]}, "b"),
        ({"Fn::ImportValue": "SharedKeyArn"}, "imported-SharedKeyArn"),
        ({"Fn::GetAtt": ["Thing", "Arn"]}, "arn:aws:foo:eu-west-1:111111111111:widget/Thing"),
        (["a", {"Ref": "AWS::NoValue"}, "b"], ["a", "b"]),
    ],
)
def test_intrinsics_resolve_to_plausible_values(
    resolver: Resolver, value: Any, expected: Any
) -> None:
    assert resolver.resolve(value) == expected


def test_a_key_arn_carries_a_stable_key_id(resolver: Resolver) -> None:
    arn = resolver.resolve({"Fn::GetAtt": ["Key", "Arn"]})
    key_id = resolver.resolve({"Ref": "Key"})
    assert arn == f"arn:aws:kms:eu-west-1:111111111111:key/{key_id}"
    assert len(key_id) == 36


def test_a_policy_document_resolves_whole(resolver: Resolver) -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sqs:SendMessage",
                "Resource": {"Fn::GetAtt": ["Queue0000FFFF", "Arn"]},
                "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
            }
        ],
    }
    resolved = resolver.resolve(document)
    assert resolved["Statement"][0]["Resource"] == "arn:aws:sqs:eu-west-1:111111111111:Queue"
    assert resolved["Statement"][0]["Condition"]["StringEquals"]["aws:SourceAccount"] == (
        "111111111111"
    )
    assert "Fn::" not in json.dumps(resolved)


@pytest.mark.parametrize(
    "value",
    [
        {"Ref": "Missing"},
        {"Fn::GetAtt": ["Missing", "Arn"]},
        {"Fn::Transform": {"Name": "x"}},
        {"Fn::Join": ["", {"Ref": "AWS::Region"}]},
    ],
)
def test_what_cannot_be_resolved_is_refused(resolver: Resolver, value: Any) -> None:
    with pytest.raises(UnresolvableError):
        resolver.resolve(value)
