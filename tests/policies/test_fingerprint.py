"""Fingerprinted acknowledgements: a changed resource re-surfaces its acknowledged finding."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from cloud_assembly.templates import templates
from policies import acknowledgements
from policies.acknowledgements import Acknowledgement, RegistryError
from policies.findings import Finding
from policies.fingerprint import fingerprint
from policies.scanners import runner
from tests.support.synth import Synth

REASON = "This is a full sentence a reviewer would accept as a reason."
PROCESSOR = "Pipeline/Staging/Messaging/Inbound/{}/Processor/Resource"


def _contents(synth: Synth) -> dict[str, Any]:
    return {
        path: copy.deepcopy(stack.body["Resources"][logical_id])
        for stack in templates(synth.outdir)
        for logical_id, path in stack.construct_paths.items()
        if path
    }


def _staging_secret_findings(contents: dict[str, Any]) -> list[Finding]:
    """CKV_AWS_45 on every staging processor, as checkov reports it on this assembly."""
    paths = [
        path
        for path in contents
        if path.startswith(PROCESSOR.split("{}")[0]) and path.endswith("/Processor/Resource")
    ]
    assert len(paths) >= 2
    return [Finding("checkov", "CKV_AWS_45", path, "secrets in env", "error") for path in paths]


def _judge(contents: dict[str, Any]) -> tuple[list[Finding], list[str]]:
    """The real registry's CKV_AWS_45 entries on these findings, as the scanners step judges."""
    findings = _staging_secret_findings(contents)
    entries = [e for e in acknowledgements.load() if e.rule == "Checkov::CKV_AWS_45"]
    lines = runner.acknowledge(findings, ["checkov"], entries, list(contents), contents)
    return findings, lines


def test_the_reviewed_environment_stays_acknowledged(synth: Synth) -> None:
    findings, lines = _judge(_contents(synth))
    assert {f.status for f in findings} == {"acknowledged"}
    assert lines == []


def test_a_secret_in_a_staging_processor_environment_fails_the_gate(synth: Synth) -> None:
    contents = _contents(synth)
    variables = contents[PROCESSOR.format("Slack")]["Properties"]["Environment"]["Variables"]
    variables["SLACK_SIGNING_SECRET"] = "8f14e45fceea167a5a36dedd4bea2543"
    findings, lines = _judge(contents)
    assert {f.status for f in findings} == {"failed"}
    (line,) = lines
    assert line.startswith("Checkov::CKV_AWS_45 at Pipeline/Staging/")
    assert 're-acknowledge with fingerprint = "' in line


def test_a_change_outside_the_relevant_properties_keeps_the_acknowledgement(
    synth: Synth,
) -> None:
    contents = _contents(synth)
    contents[PROCESSOR.format("Slack")]["Properties"]["MemorySize"] = 4096
    findings, _ = _judge(contents)
    assert {f.status for f in findings} == {"acknowledged"}


def test_a_secrets_check_without_a_fingerprint_reopens_with_the_value_to_add() -> None:
    entry = Acknowledgement("Checkov::CKV_AWS_45", ("Pipeline/Dev/Fn/Resource",), REASON, "x")
    found = [Finding("checkov", "CKV_AWS_45", "Pipeline/Dev/Fn/Resource", "m", "error")]
    body = {"Properties": {"Environment": {"Variables": {"A": "b"}}}}
    contents = {"Pipeline/Dev/Fn/Resource": body}
    matched = acknowledgements.match_findings(found, [entry], contents=contents)
    assert matched.acknowledged == [None]
    expected = fingerprint("Checkov::CKV_AWS_45", contents)
    assert f'fingerprint = "{expected}"' in matched.resurfaced[0]
    pinned = Acknowledgement(entry.rule, entry.paths, REASON, "x", fingerprint=expected)
    assert acknowledgements.match_findings(found, [pinned], contents=contents).acknowledged == [
        pinned
    ]


@pytest.mark.parametrize(
    ("rule", "value", "complaint"),
    [
        ("Checkov::CKV_AWS_45", "XYZ", "lower-case hex"),
        ("AwsSolutions::AwsSolutions-SQS3", "0123456789abcdef", "only scanner findings"),
        ("Platform::Platform-TlsOnly", "0123456789abcdef", "only scanner findings"),
    ],
)
def test_bad_fingerprints_are_refused(
    tmp_path: Path, rule: str, value: str, complaint: str
) -> None:
    registry = tmp_path / "acknowledgements.toml"
    registry.write_text(
        f'[[acknowledgement]]\nrule = "{rule}"\npaths = ["Pipeline/Dev/Fn/Resource"]\n'
        f'reason = "{REASON}"\nowner = "x"\nfingerprint = "{value}"\n'
    )
    with pytest.raises(RegistryError, match=complaint):
        acknowledgements.load(registry)
