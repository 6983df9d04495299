"""The scanners on the synthesized assembly: clean, complete, able to fail; the registry decides."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cloud_assembly.templates import templates
from policies import acknowledgements
from policies.acknowledgements import Acknowledgement
from policies.findings import Finding
from policies.scanners import runner
from policies.scanners.asset_secrets import AUDITED
from policies.scanners.parliament import policy_documents
from policies.scanners.tool import Tool
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
    assert set(summary) == {"cfn-lint", "checkov", "parliament", "detect-secrets"}
    stacks = templates(synth.outdir)
    assert {s.stack for s in stacks} == {
        "Pipeline",
        *(f"{e.stage_id}/Messaging" for e in synth.config.environments),
    }
    assert summary["cfn-lint"]["checks_run"] == len(stacks)
    policies = sum(len(policy_documents(s)) for s in stacks)
    assert summary["parliament"]["checks_run"] == policies > 4 * len(stacks)
    assert summary["checkov"]["checks_run"] > 1000
    # Every file of the Lambda bundles: runtime, providers and the event models.
    assert summary["detect-secrets"]["checks_run"] >= 10
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
        assert f["tool"] in {"cfn-lint", "checkov", "parliament", "detect-secrets"}
        assert f["severity"] in SEVERITIES
        assert f["status"] in {"failed", "acknowledged", "passed-info"}
        if f["tool"] == "checkov":
            assert f["construct_path"].startswith("Pipeline/"), f
        if f["status"] == "acknowledged" and f["tool"] == "detect-secrets":
            assert f["reason"] == AUDITED  # the repository's audited baseline, not the registry
        elif f["status"] == "acknowledged":
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
    failed = {(f.source, f.rule) for f in results.findings if f.status == "failed"}
    assert ("cfn-lint", "ES6000") in failed  # queue without a redrive policy
    assert ("checkov", "CKV_AWS_21") in failed  # bucket without versioning
    assert ("parliament", "RESOURCE_MISMATCH[s3:GetObject]") in failed  # object action on bucket
    assert results.stale == [
        "Checkov::CKV_AWS_117 at S/Nothing/Here/Resource matches no finding (stale)"
    ]
    assert any(line.startswith("registry: ") for line in results.failures)
    written = json.loads((tmp_path / "scanners" / "results.json").read_text())
    assert len(written["findings"]) == len(results.findings)


# --- the registry decides what gates -------------------------------------------------------------


def finding(rule: str, path: str, tool: Tool = "checkov", severity: str = "error") -> Finding:
    return Finding(tool, rule, path, "m", severity, template="t.json", logical_id="R")


def entry(rule: str, *paths: str) -> Acknowledgement:
    return Acknowledgement(rule=rule, paths=paths, reason=REASON, owner="platform")


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
