"""The acknowledgements registry: well-formed, applied with namespaced ids, never stale."""

from __future__ import annotations

import re
from pathlib import Path

import aws_cdk as cdk
import pytest

from policies import acknowledgements
from policies.acknowledgements import Acknowledgement, RegistryError
from tests.support.synth import Synth

REASON = "This is a full sentence a reviewer would accept as a reason."


def test_every_registry_path_acknowledges_a_real_finding(synth: Synth) -> None:
    suppressed = [
        (s["acknowledgedId"], s["acknowledgedAt"], s["reason"])
        for p in synth.validation_report["pluginReports"]
        for s in p["suppressedViolations"]
    ]
    stale = []
    for entry in acknowledgements.load():
        if entry.is_scanner:  # matched against cdk.out by tests/policies/test_scanners.py
            continue
        rule_re = re.escape(entry.rule).replace(r"\{account\}", r"\d{12}")
        rule_re = rule_re.replace(r"\{region\}", r"[a-z0-9-]+")
        rule_re = re.sub(r"\\\{[a-z_]+(:lower)?\\\}", "[A-Za-z0-9_-]+", rule_re)
        for path in entry.paths:
            hits = [
                at
                for rule, at, reason in suppressed
                if entry.matching_path(at) == path
                and reason.startswith(entry.reason)
                and re.fullmatch(rule_re, rule)
            ]
            if not hits:
                stale.append(f"{entry.rule} at {path}")
    assert stale == []


def test_every_acknowledgement_in_the_report_comes_from_the_registry(synth: Synth) -> None:
    reasons = {entry.reason for entry in acknowledgements.load()}
    for plugin in synth.validation_report["pluginReports"]:
        for s in plugin["suppressedViolations"]:
            assert "::" in s["acknowledgedId"]
            assert s["reason"].split(" (owner: ")[0] in reasons


def write(tmp_path: Path, body: str) -> Path:
    registry = tmp_path / "acknowledgements.toml"
    registry.write_text(body)
    return registry


def entry(
    rule: str = "AwsSolutions::AwsSolutions-SQS3", path: str = "A/B/C/D", reason: str = REASON
) -> str:
    lines = [
        "[[acknowledgement]]",
        f'rule = "{rule}"',
        f'paths = ["{path}"]',
        f'reason = "{reason}"',
        'owner = "platform"',
    ]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (entry(rule="AwsSolutions-SQS3"), "must be plugin-namespaced"),
        (entry(reason="ok"), "must be at least one full sentence"),
        (entry(reason="no capital letter and no full stop at the end of it"), "full sentence"),
        (entry(path="Pipeline/Prod"), "too broad"),
        (entry(path="Pipeline/Prod/*"), "too broad"),
        ('[[acknowledgement]]\nrule = "AwsSolutions::AwsSolutions-SQS3"\n', "'paths' is required"),
    ],
)
def test_malformed_entries_are_refused(tmp_path: Path, body: str, complaint: str) -> None:
    with pytest.raises(RegistryError, match=complaint):
        acknowledgements.load(write(tmp_path, body))


def test_an_entry_matching_a_whole_stack_is_refused() -> None:
    app = cdk.App()
    stage = cdk.Stage(app, "Pipeline")
    cdk.Stack(cdk.Stage(stage, "Prod"), "Messaging")
    entry = Acknowledgement(
        rule="AwsSolutions::AwsSolutions-SQS3",
        paths=("Pipeline/Prod/Messag*",),
        reason=REASON,
        owner="x",
    )
    with pytest.raises(RegistryError, match="whole Stack or Stage"):
        acknowledgements.apply(app, [entry])


def test_account_and_region_resolve_from_the_stack_of_the_construct() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=cdk.Environment(account="123456789012", region="eu-north-1"))
    construct = cdk.CfnResource(stack, "R", type="AWS::SQS::Queue")
    entry = Acknowledgement(
        rule="AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:logs:{region}:{account}:*]",
        paths=("S/R",),
        reason=REASON,
        owner="x",
    )
    assert entry.rule_for(construct) == (
        "AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:logs:eu-north-1:123456789012:*]"
    )
