"""SARIF and JUnit for open and acknowledged findings, validated against their schemas."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jsonschema
import xmlschema

from policies.findings import Finding
from policies.report.formats import junit, open_only, sarif
from policies.report.model import Assembly, Unit
from tests.support.synth import ROOT

SARIF_SCHEMA = ROOT / "node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json"
JUNIT_XSD = Path(sys.prefix) / "share/schemas/junit-10.xsd"


def assembly(tmp_path: Path) -> Assembly:
    unit = Unit(name="Dev", prefix="Pipeline/Dev")
    unit.findings = [
        Finding(
            "Platform", "Platform-TlsOnly", "Pipeline/Dev/Messaging/Q/Resource", "No TLS.", "error"
        ),
        Finding(
            "Platform",
            "Platform-LogRetention",
            "Pipeline/Dev/Messaging/L/Resource",
            "Kept forever.",
            "error",
            status="acknowledged",
            reason="Accepted for the test, with a reason a reviewer can read.",
            acknowledged_at="Pipeline/Dev/Messaging/L/Resource",
        ),
    ]
    return Assembly(root=tmp_path, units=[unit], packs={"Platform": "failure"}, scanner_summary=[])


def test_an_open_finding_fails_and_an_acknowledged_one_is_skipped(tmp_path: Path) -> None:
    text = junit(assembly(tmp_path))
    target = tmp_path / "junit.xml"
    target.write_text(text)
    schema = xmlschema.XMLSchema(str(JUNIT_XSD))
    schema.validate(str(target))
    (suite,) = schema.to_dict(str(target))["testsuite"]
    assert suite["@failures"] == "2"  # the finding and the pack's "no open findings" case
    assert suite["@skipped"] == "1"
    assert 'failure message="No TLS."' in text
    assert "acknowledged: Accepted for the test" in text


def test_sarif_suppresses_only_acknowledged_findings(tmp_path: Path) -> None:
    document = sarif(assembly(tmp_path))
    jsonschema.validate(
        document, json.loads(SARIF_SCHEMA.read_text()), cls=jsonschema.Draft7Validator
    )
    results = {r["ruleId"]: r for r in document["runs"][0]["results"]}
    assert "suppressions" not in results["Platform-TlsOnly"]
    assert results["Platform-TlsOnly"]["level"] == "error"
    assert results["Platform-LogRetention"]["suppressions"][0]["status"] == "accepted"


def test_the_open_only_copy_keeps_what_the_gate_left_open(tmp_path: Path) -> None:
    (run,) = open_only(sarif(assembly(tmp_path)))["runs"]
    assert [r["ruleId"] for r in run["results"]] == ["Platform-TlsOnly"]
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} == {
        "Platform-TlsOnly",
        "Platform-LogRetention",
    }
