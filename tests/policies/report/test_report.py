"""The reviewer's report on the real synth output: every unit, summaries, valid SARIF and JUnit."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import jsonschema
import pytest
import xmlschema

from policies.report.__main__ import main, write
from tests.support.synth import ROOT, Synth

SARIF_SCHEMA = ROOT / "node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json"
JUNIT_XSD = Path(sys.prefix) / "share/schemas/junit-10.xsd"


@pytest.fixture(scope="module")
def reports(synth: Synth, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reports")
    write(synth.outdir, out)
    return out


def units(synth: Synth) -> list[str]:
    return ["Pipeline", *(env.stage_id for env in synth.config.environments)]


def test_every_stage_and_the_pipeline_get_a_page_in_both_formats(
    synth: Synth, reports: Path
) -> None:
    for unit in units(synth):
        html = (reports / f"{unit.lower()}.html").read_text()
        md = (reports / f"{unit.lower()}.md").read_text()
        for text in (html, md):
            for heading in (
                "Summary",
                "Acknowledged findings",
                "IAM summary",
                "Encryption summary",
            ):
                assert heading in text, (unit, heading)
    index = (reports / "summary.md").read_text()
    assert all(f"[{unit}]({unit.lower()}.md)" in index for unit in units(synth))


def test_html_is_self_contained(reports: Path) -> None:
    for page in reports.glob("*.html"):
        text = page.read_text()
        assert "<script" not in text
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), page.name


def test_acknowledged_findings_match_the_validation_report(synth: Synth, reports: Path) -> None:
    suppressed = sum(
        len(v["violatingConstructs"])
        for p in synth.validation_report["pluginReports"]
        for v in p["suppressedViolations"]
    )
    counted = 0
    for unit in units(synth):
        md = (reports / f"{unit.lower()}.md").read_text()
        section = md.split("## Acknowledged findings")[1].split("\n## ")[0]
        rows = [line for line in section.splitlines() if line.startswith("| ") and "`" in line]
        # One row per rule and reason; its Findings column counts what it covers.
        counted += sum(int(row.split(" | ")[2]) for row in rows)
        assert len(rows) < sum(int(row.split(" | ")[2]) for row in rows) or len(rows) <= 1
    assert counted == suppressed


def test_iam_summary_shows_who_assumes_each_role_and_what_it_may_do(reports: Path) -> None:
    dev = (reports / "dev.md").read_text()
    processor = dev.split("### Role Inbound/Twilio/ProcessorRole")[1].split("\n### ")[0]
    assert "Trusted by: `Service: lambda.amazonaws.com`" in processor
    assert re.search(
        r"\| Allow \| [^|]*sqs:ReceiveMessage[^|]* \| `<Inbound/Twilio/Webhooks/Queue>.Arn`",
        processor,
    )


def test_encryption_summary_names_each_store_and_its_key(reports: Path) -> None:
    dev = (reports / "dev.md").read_text()
    assert "| `Inbound/MediaBucket` | AWS::S3::Bucket | `<Core/DataKey>.Arn` | yes |" in dev
    assert "| `Inbound/AccessLogs` | AWS::S3::Bucket | `SSE-S3 (AWS-owned key)` | no |" in dev


def test_sarif_is_valid_and_carries_the_acknowledgements(reports: Path) -> None:
    document = json.loads((reports / "report.sarif").read_text())
    schema = json.loads(SARIF_SCHEMA.read_text())
    jsonschema.validate(document, schema, cls=jsonschema.Draft7Validator)
    results = [r for run in document["runs"] for r in run["results"]]
    assert {run["tool"]["driver"]["name"] for run in document["runs"]} >= {
        "AwsSolutions",
        "Platform",
    }
    assert results
    assert all(r["suppressions"][0]["justification"] for r in results)
    assert all(r["locations"][0]["physicalLocation"]["region"]["startLine"] > 1 for r in results)


def test_junit_is_valid_and_has_a_suite_per_unit(synth: Synth, reports: Path) -> None:
    schema = xmlschema.XMLSchema(str(JUNIT_XSD))
    document = reports / "report.junit.xml"
    schema.validate(str(document))
    suites = schema.to_dict(str(document))["testsuite"]
    assert [s["@name"] for s in suites] == units(synth)
    assert all(s["@failures"] == "0" for s in suites)


def test_the_cli_refuses_a_folder_without_a_synth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path)]) == 2
    assert "has no validation-report.json" in capsys.readouterr().err
