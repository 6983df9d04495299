"""The cdk-nag gate: clean for every stack, and it really fails on a non-compliant resource."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sqs as sqs

from policies import packs
from tests.support.synth import Synth

PACKS = {"AwsSolutions", "Serverless", "Platform"}


def test_every_pack_ran_and_found_nothing_open(synth: Synth) -> None:
    report = synth.validation_report
    assert {p["pluginName"] for p in report["pluginReports"]} == PACKS
    open_findings = [
        f"{p['pluginName']}: {v['ruleName']} at {c['constructPath']}"
        for p in report["pluginReports"]
        for v in p["violations"]
        for c in v["violatingConstructs"]
    ]
    assert open_findings == []


def test_the_packs_checked_every_stage_and_the_pipeline(synth: Synth) -> None:
    checked = {
        c["constructPath"].split("/")[1]
        for p in synth.validation_report["pluginReports"]
        for s in p["suppressedViolations"]
        for c in s["violatingConstructs"]
    }
    assert {"Pipeline", *(e.stage_id for e in synth.config.environments)} <= checked


def _throwaway(tmp_path: Path, encryption: sqs.QueueEncryption) -> tuple[cdk.App, cdk.Stack]:
    """An App with the gate registered and one queue in a Stage's stack."""
    app = cdk.App(outdir=str(tmp_path))
    packs.register(app)
    stage = cdk.Stage(
        app, "Throwaway", env=cdk.Environment(account="123456789012", region="eu-west-1")
    )
    stack = cdk.Stack(stage, "Messaging")
    sqs.Queue(stack, "Plain", encryption=encryption)
    return app, stack


def test_a_non_compliant_queue_in_a_stage_fails_synth(tmp_path: Path) -> None:
    app, _ = _throwaway(tmp_path, sqs.QueueEncryption.UNENCRYPTED)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()


def test_platform_findings_reach_the_report_with_path_and_template(tmp_path: Path) -> None:
    """The Platform pack reads templates, not the tree: its findings must still name the
    construct (core infers it from the logical id when templates carry no path metadata)."""
    app, stack = _throwaway(tmp_path, sqs.QueueEncryption.SQS_MANAGED)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    platform = next(p for p in report["pluginReports"] if p["pluginName"] == "Platform")
    flagged = {
        (v["ruleName"], c["constructPath"], c["cloudFormationResource"]["templatePath"])
        for v in platform["violations"]
        for c in v["violatingConstructs"]
    }
    assert (
        "Platform-CustomerManagedKey",
        "Throwaway/Messaging/Plain/Resource",
        f"assembly-Throwaway/{stack.template_file}",
    ) in flagged
