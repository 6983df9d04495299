"""The acknowledgements registry: well-formed, applied with namespaced ids, never stale."""

from __future__ import annotations

import re
from pathlib import Path

import aws_cdk as cdk
import pytest

from cloud_assembly.templates import templates
from policies import acknowledgements, path_patterns
from policies.acknowledgements import Acknowledgement, RegistryError
from policies.findings import Finding
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
        if entry.is_scanner:  # matched against cdk.out by tests/policies/scanners/test_runner.py
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


def test_no_registry_entry_matches_a_resource_without_its_finding(synth: Synth) -> None:
    resources = [
        path for stack in templates(synth.outdir) for path in stack.construct_paths.values() if path
    ]
    report = synth.validation_report
    assert acknowledgements.nag_overbroad(acknowledgements.load(), resources, report) == []


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
        (entry(path="Pipeline/Prod/*"), "only wildcards"),
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


# --- scanner entries: matched against the scanners' findings on cdk.out ---------------------------


def finding(rule: str, path: str) -> Finding:
    return Finding("checkov", rule, path, "m", "error", template="t.json", logical_id="R")


def acknowledgement(rule: str, *paths: str) -> Acknowledgement:
    return Acknowledgement(rule=rule, paths=paths, reason=REASON, owner="platform")


def test_findings_match_by_rule_and_path_with_captures() -> None:
    ack = acknowledgement(
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
    ack = acknowledgement(
        "Checkov::CKV_AWS_18", "Pipeline/A/B/Logs/Resource", "Pipeline/Gone/B/Logs/Resource"
    )
    matched = acknowledgements.match_findings(
        [finding("CKV_AWS_18", "Pipeline/A/B/Logs/Resource")], [ack]
    )
    assert matched.stale == [(ack, "Pipeline/Gone/B/Logs/Resource")]


def test_staleness_is_judged_only_for_the_tools_that_ran() -> None:
    lint = acknowledgement("CfnLint::ES6000", "Pipeline/A/B/DeadLetter/Resource")
    nag = acknowledgement("AwsSolutions::AwsSolutions-SQS3", "Pipeline/A/B/DeadLetter/Resource")
    matched = acknowledgements.match_findings([], [lint, nag], namespaces=["Checkov"])
    assert matched.stale == []
    assert acknowledgements.match_findings([], [lint, nag]).stale == [
        (lint, "Pipeline/A/B/DeadLetter/Resource")
    ]


def test_cdk_nag_application_skips_scanner_entries() -> None:
    app = cdk.App()
    stack = cdk.Stack(cdk.Stage(app, "Pipeline"), "Messaging")
    cdk.CfnResource(cdk.Resource(stack, "Queue"), "Resource", type="AWS::SQS::Queue")
    scanner = acknowledgement("Checkov::CKV_AWS_27", "Pipeline/Messaging/Queue/Resource")
    nag = acknowledgement("AwsSolutions::AwsSolutions-SQS3", "Pipeline/Messaging/Queue/Resource")
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
    ack = acknowledgement(rule, "Pipeline/A/B/C/Resource")
    if ok:
        ack.validate(0)
    else:
        with pytest.raises(RegistryError, match="is not a"):
            ack.validate(0)


def test_scanner_paths_may_name_a_resource_of_the_pipeline_stack_but_not_a_stack() -> None:
    acknowledgement("Checkov::CKV_AWS_21", "Pipeline/ArtifactAccessLogs/Resource").validate(0)
    with pytest.raises(RegistryError, match="too broad"):
        acknowledgement("Checkov::CKV_AWS_21", "Pipeline/Dev").validate(0)
    with pytest.raises(RegistryError, match="only wildcards"):
        acknowledgement("Checkov::CKV_AWS_21", "Pipeline/Dev/*").validate(0)


def test_the_pattern_guided_walk_finds_what_matching_every_path_finds() -> None:
    # apply() reads only the subtrees the patterns can match (jsii round trips cost); it must
    # find exactly the constructs whose full path matches, as reading every path would.
    app = cdk.App()
    for stage_id in ("Dev", "Prod"):
        stack = cdk.Stack(cdk.Stage(app, stage_id), "Messaging")
        for name in ("Orders", "OrdersDeadLetter", "Audit", "a-b"):
            queue = cdk.Resource(stack, name)
            cdk.CfnResource(queue, "Resource", type="AWS::SQS::Queue")
            cdk.CfnResource(cdk.Resource(queue, "Policy"), "Resource", type="AWS::SQS::QueuePolicy")
    patterns = [
        "{stage}/Messaging/Orders*/Resource",
        "Dev/Messaging/{queue}/Policy/Resource",
        "Prod/Messaging/[A-Z]udit/Resource",
        "Prod/Messaging/[!A-Z]-b/Policy/Resource",
        "Dev/Messaging/Orders/Resource",  # also matched by the first: found once
        "Staging/Messaging/Orders/Resource",  # no such Stage
        "Dev/Messaging/Orders/Resource/Nothing",  # deeper than the tree
    ]
    every = {c.node.path for c in app.node.find_all()}
    wanted = {p for p in every if any(path_patterns.regex(q).fullmatch(p) for q in patterns)}
    found = [(path, c.node.path) for path, c in acknowledgements._candidates(app, patterns)]
    assert all(path == real for path, real in found)
    assert sorted(path for path, _ in found) == sorted(wanted)
    assert len(wanted) == 4 + 4 + 1 + 1  # Orders* in both Stages, Dev's policies, Audit, a-b
