"""The registry cannot be used to switch the gate off: broad, nameless or over-broad entries."""

from __future__ import annotations

import json
import re
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sqs as sqs

from policies import acknowledgements, packs
from policies.acknowledgements import Acknowledgement, RegistryError
from policies.findings import Finding

REASON = "This is a full sentence a reviewer would accept as a reason."
ABUSE = ["*/*/*/*", "Pipeline/*/Messaging/*", "{a}/{b}/{c}/{d}"]
# The unencrypted queue's findings that the abusive entries would acknowledge.
ENCRYPTION = ["AwsSolutions::AwsSolutions-SQS2", "Platform::Platform-CustomerManagedKey"]
QUEUE = "Pipeline/Prod/Messaging/Orders/Resource"


def toml(path: str, rule: str = "AwsSolutions::AwsSolutions-SQS2", extra: str = "") -> str:
    return (
        f'[[acknowledgement]]\nrule = "{rule}"\npaths = ["{path}"]\n'
        f'reason = "{REASON}"\nowner = "platform"\n{extra}'
    )


def refusal(tmp_path: Path, body: str) -> str:
    registry = tmp_path / "acknowledgements.toml"
    registry.write_text(body)
    with pytest.raises(RegistryError) as caught:
        acknowledgements.load(registry)
    line = str(caught.value)
    assert "\n" not in line
    assert line.startswith("acknowledgements.toml")
    return line


@pytest.mark.parametrize(
    ("pattern", "complaint"),
    [
        ("*/*/*/*", "'*' is only wildcards"),
        ("Pipeline/*/Messaging/*", "'*' is only wildcards"),
        ("{a}/{b}/{c}/{d}", "too broad; the root and the last two segments"),
        ("Pipeline/{stage}/Messaging/*/Resource", "'*' is only wildcards"),
        ("Pipeline/{stage}/Messaging/[A-Z]*/Resource", "only wildcards"),
        ("Pipeline/{stage}/Messaging/{queue}", "too broad"),
        ("Pipeline/{stage}/{stack}/Orders/Resource", "side by side"),
        ("Pipeline/{s}/Messaging/{a}/Inbound/{b}/Queue/Resource", "at most 2"),
        ("Pipeline/Prod/Orders{x}/Resource", "must be a whole segment"),
        ("Pipeline//Orders/Resource", "empty segment"),
    ],
)
def test_abusive_patterns_are_refused_with_one_line(
    tmp_path: Path, pattern: str, complaint: str
) -> None:
    line = refusal(tmp_path, toml(pattern))
    assert pattern in line
    assert complaint in line


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ("[[acknowledgement]\nrule = 1", "not valid TOML"),
        (toml("Pipeline/Prod/Orders/Resource", extra='fingerprints = "x"\n'), "unknown field"),
        (toml("Pipeline/Prod/Orders/Resource").replace(f'reason = "{REASON}"\n', ""), "'reason'"),
        (toml("Pipeline/Prod/Orders/Resource").replace('["', '"').replace('"]', '"'), "list"),
        ('[[acknowledgements]]\nrule = "x"\n', "unknown table"),
    ],
)
def test_every_registry_error_is_one_line(tmp_path: Path, body: str, complaint: str) -> None:
    assert complaint in refusal(tmp_path, body)


def test_a_pattern_matching_resources_without_the_finding_is_over_broad() -> None:
    entry = Acknowledgement(
        rule="Checkov::CKV_AWS_18",
        paths=("Pipeline/{stage}/Messaging/Inbound/*Logs/Resource",),
        reason=REASON,
        owner="platform",
    )
    flagged = "Pipeline/Dev/Messaging/Inbound/AccessLogs/Resource"
    clean = "Pipeline/Dev/Messaging/Inbound/MediaLogs/Resource"
    found = [Finding("checkov", "CKV_AWS_18", flagged, "m", "error")]
    matched = acknowledgements.match_findings(found, [entry], resources=[flagged, clean])
    assert matched.acknowledged == [entry]
    assert len(matched.overbroad) == 1
    assert f"also matches {clean}, which has no such finding (over-broad)" in matched.overbroad[0]
    exact = acknowledgements.match_findings(found, [entry], resources=[flagged])
    assert exact.overbroad == []


def test_cdk_nag_entries_are_judged_over_broad_from_the_validation_report() -> None:
    pattern = "Pipeline/{stage}/Messaging/*Queue/Resource"
    entry = Acknowledgement("AwsSolutions::AwsSolutions-SQS3", (pattern,), REASON, "platform")
    flagged = {
        "ruleName": "AwsSolutions-SQS3",
        "violatingConstructs": [{"constructPath": "Pipeline/Dev/Messaging/AQueue/Resource"}],
    }
    plugin = {"pluginName": "AwsSolutions", "violations": [], "suppressedViolations": [flagged]}
    report = {"pluginReports": [plugin]}
    resources = ["Pipeline/Dev/Messaging/AQueue/Resource", "Pipeline/Dev/Messaging/BQueue/Resource"]
    (line,) = acknowledgements.nag_overbroad([entry], resources, report)
    assert "BQueue" in line
    assert "over-broad" in line


# --- the same entries, applied as the registry used to apply them, hide an unencrypted queue ------


def _legacy_regex(pattern: str) -> re.Pattern[str]:
    """The former matching: '*' crossing '/', {name} one segment, any construct (children too)."""
    parts = re.split(r"(\{[a-z_]+\}|\*)", pattern)
    out = [
        ".*" if p == "*" else "[^/]+" if p.startswith("{") and p.endswith("}") else re.escape(p)
        for p in parts
    ]
    return re.compile("".join(out))


def _open_findings(tmp_path: Path, entries: list[Acknowledgement], *, legacy: bool) -> set[str]:
    app = cdk.App(outdir=str(tmp_path), context={"aws:cdk:enable-path-metadata": True})
    env = cdk.Environment(account="123456789012", region="eu-west-1")
    stack = cdk.Stack(cdk.Stage(cdk.Stage(app, "Pipeline"), "Prod", env=env), "Messaging")
    sqs.Queue(stack, "Orders", encryption=sqs.QueueEncryption.UNENCRYPTED)
    packs.register(app)
    if legacy:
        for construct in app.node.find_all():
            if isinstance(construct, (cdk.Stack, cdk.Stage)):
                continue
            path = construct.node.path
            for entry in entries:
                if any(_legacy_regex(p).fullmatch(path) for p in entry.paths):
                    ack = cdk.Acknowledgment(id=entry.rule, reason=entry.reason)
                    cdk.Validations.of(construct).acknowledge(ack)
    else:
        acknowledgements.apply(app, entries)
    try:
        app.synth()
    except RuntimeError as error:
        if "ValidationFailed" not in str(error):
            raise
    report = json.loads((tmp_path / "validation-report.json").read_text())
    return {
        f"{p['pluginName']}::{v['ruleName']} at {c['constructPath']}"
        for p in report["pluginReports"]
        for v in p["violations"]
        for c in v["violatingConstructs"]
    }


@pytest.mark.parametrize("pattern", ABUSE)
def test_abusive_entries_would_hide_an_unencrypted_queue_and_are_refused(
    tmp_path: Path, pattern: str
) -> None:
    entries = [Acknowledgement(rule, (pattern,), REASON, "platform") for rule in ENCRYPTION]
    hidden = _open_findings(tmp_path / "legacy", entries, legacy=True)
    assert not any(f.startswith(tuple(ENCRYPTION)) for f in hidden)
    assert pattern in refusal(tmp_path, toml(pattern))


def test_with_the_real_registry_the_unencrypted_queue_is_open(tmp_path: Path) -> None:
    found = _open_findings(tmp_path, acknowledgements.load(), legacy=False)
    assert {f"{rule} at {QUEUE}" for rule in ENCRYPTION} <= found


def test_an_entry_on_a_construct_holding_resources_is_refused(tmp_path: Path) -> None:
    entry = Acknowledgement(ENCRYPTION[0], ("Pipeline/Prod/Messaging/Orders",), REASON, "x")
    with pytest.raises(RegistryError, match="holds others, not a resource"):
        _open_findings(tmp_path, [entry], legacy=False)
