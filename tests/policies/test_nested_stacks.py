"""The Platform pack reads nested stacks too (a provider's stack, issue 17): CDK hands the
validation plugins the templates of top-level stacks only, and a nested stack's template is a
file asset of its parent."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sqs as sqs

from policies.platform_pack import PlatformChecks
from tests.support.rules import ENV, findings, flagged

RULE = "Platform-CustomerManagedKey"
NESTED_QUEUE = "Parent/Child/Plain/Resource"


def _build(app: cdk.App) -> None:
    parent = cdk.Stack(app, "Parent", env=ENV)
    sqs.Queue(parent, "Encrypted", encryption=sqs.QueueEncryption.KMS)
    sqs.Queue(cdk.NestedStack(parent, "Child"), "Plain", encryption=sqs.QueueEncryption.SQS_MANAGED)


def test_a_finding_in_a_nested_stack_is_found(tmp_path: Path) -> None:
    assert NESTED_QUEUE in flagged(findings(tmp_path, _build), RULE)


def test_the_gate_fails_on_a_finding_in_a_nested_stack(tmp_path: Path) -> None:
    """As registered on the App at synth (policies/packs.py), not only on templates read back."""
    outdir = tmp_path / "cdk.out"
    app = cdk.App(outdir=str(outdir), context={"aws:cdk:enable-path-metadata": True})
    _build(app)
    cdk.Validations.of(app).add_plugins(PlatformChecks(app))
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((outdir / "validation-report.json").read_text())
    paths = {
        construct["constructPath"]
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        if violation["ruleName"].startswith(RULE)
        for construct in violation["violatingConstructs"]
    }
    assert NESTED_QUEUE in paths
