"""The report's SARIF passes the SARIF Multitool's GitHub rules (what code scanning requires).

`@microsoft/sarif-multitool` (pinned in package.json) is a self-contained binary that runs
offline; `validate --rule-kind "Gh;Sarif"` applies its GitHub (GH*) rules, the requirements of
GitHub's "SARIF support for code scanning"
(https://docs.github.com/en/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning),
and the SARIF spec's own (SARIF*). Errors are what code scanning refuses; warnings are advice.
"""

from __future__ import annotations

import json
import subprocess  # nosec B404: the pinned validator with fixed arguments
import sys
from pathlib import Path
from typing import Any

import pytest

from policies import acknowledgements
from policies.report import decisions, provenance
from policies.report.__main__ import write
from tests.support.synth import ROOT, Synth


def multitool() -> Path:
    """The platform binary the npm package resolves to (its bin.js passes args through a shell)."""
    node = Path(sys.executable).with_name("node")
    out = subprocess.run(
        [str(node), "-p", "require('@microsoft/sarif-multitool')"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip())


def validate(sarif: Path, tmp_path: Path) -> list[dict[str, Any]]:
    """The validator's results (its own SARIF log) for one file."""
    log = tmp_path / f"{sarif.stem}.validation.sarif"  # a new file: no overwrite option needed
    subprocess.run(
        [
            str(multitool()),
            "validate",
            "--rule-kind",
            "Gh;Sarif",
            "--output",
            str(log),
            str(sarif),
        ],
        capture_output=True,
        text=True,
        check=True,
        env={"DOTNET_SYSTEM_GLOBALIZATION_INVARIANT": "1", "HOME": str(tmp_path)},
    )
    results: list[dict[str, Any]] = json.loads(log.read_text())["runs"][0]["results"]
    return results


@pytest.fixture(scope="module")
def report(synth: Synth, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sarif")
    write(synth.outdir, out)
    return out / "report.sarif"


def test_the_validator_fails_a_rule_without_help(tmp_path: Path) -> None:
    # The GitHub rules are on: a rule without `help` is an error (GH2012), so passing means more.
    bare = {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "t", "rules": [{"id": "R1"}]}},
                "results": [
                    {
                        "ruleId": "R1",
                        "message": {"text": "m"},
                        "locations": [
                            {
                                "physicalLocation": {
                                    "artifactLocation": {"uri": "app.py"},
                                    "region": {"startLine": 1},
                                }
                            }
                        ],
                    }
                ],
            }
        ],
    }
    target = tmp_path / "bare.sarif"
    target.write_text(json.dumps(bare))
    errors = {r["ruleId"] for r in validate(target, tmp_path) if r.get("level") == "error"}
    assert "GH2012" in errors


def test_the_reports_sarif_has_no_error_under_githubs_rules(report: Path, tmp_path: Path) -> None:
    for sarif in (report, report.with_name("report.open.sarif")):
        results = validate(sarif, tmp_path)
        errors = [r["message"]["text"] for r in results if r.get("level", "warning") == "error"]
        assert errors == [], sarif.name


def test_the_open_only_copy_drops_exactly_the_suppressed_results(report: Path) -> None:
    every = json.loads(report.read_text())
    opened = json.loads(report.with_name("report.open.sarif").read_text())
    assert [run["tool"] for run in opened["runs"]] == [run["tool"] for run in every["runs"]]
    for full, only in zip(every["runs"], opened["runs"], strict=True):
        assert only["results"] == [r for r in full["results"] if "suppressions" not in r]
    # The session synth leaves nothing open: the copy for code scanning holds no alert.
    assert sum(len(run["results"]) for run in opened["runs"]) == 0


def test_rules_results_and_suppressions_are_what_code_scanning_reads(
    synth: Synth, report: Path
) -> None:
    document = json.loads(report.read_text())
    recorded = provenance.load(synth.outdir)
    assert recorded is not None
    entries = acknowledgements.load()
    reasons = {e.reason for e in entries}
    for run in document["runs"]:
        (control,) = run["versionControlProvenance"]
        assert control["revisionId"] == recorded.commit
        assert run["properties"]["provenance"]["commit"] == recorded.commit
        driver = run["tool"]["driver"]
        if driver["name"] != "Platform":
            assert driver["version"] in recorded.versions.values()
        for rule in driver["rules"]:
            assert rule["shortDescription"]["text"]
            assert rule["fullDescription"]["text"]
            assert rule["help"]["text"]
            assert rule["help"]["markdown"]
            assert driver["name"] == "Platform" or rule["helpUri"].startswith("https://")
        for result in run["results"]:
            assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
            location = result["locations"][0]["physicalLocation"]["artifactLocation"]
            assert location["uriBaseId"] == "%SRCROOT%"
            assert (ROOT / location["uri"]).is_file()  # a file of the repository
            assert result["partialFingerprints"]["constructFinding/v1"]
            # Acknowledged: suppressed as accepted, justified by the registry's own reason.
            (suppression,) = result["suppressions"]
            assert suppression["kind"] == "external"
            assert suppression["status"] == "accepted"
            reason, owner = decisions.split_reason(suppression["justification"])
            assert reason in reasons
            assert owner
    fingerprints = [
        r["partialFingerprints"]["constructFinding/v1"]
        for run in document["runs"]
        for r in run["results"]
    ]
    assert len(fingerprints) == len(set(fingerprints))
