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
        # One inline script (the filter box), nothing loaded from anywhere.
        assert text.count("<script>") == text.count("<script") == 1, page.name
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), page.name
        assert not re.search(r"""<(script|link|img|iframe)[^>]*\s(src|href)=""", text), page.name


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
        # One row per rule and reason; its Findings column counts what it covers:
        # "4 constructs", or "8 on 4 constructs" where one construct has several variants.
        found = [re.fullmatch(r"(\d+)( on \d+)? constructs?", row.split(" | ")[2]) for row in rows]
        assert all(found), rows
        covered = sum(int(m.group(1)) for m in found if m)
        counted += covered
        assert len(rows) < covered or len(rows) <= 1
    assert counted == suppressed


def test_iam_summary_shows_who_assumes_each_role_and_what_it_may_do(reports: Path) -> None:
    dev = (reports / "dev.md").read_text()
    # The four processor roles differ only by the provider's name: shown once, {name} for it.
    heading = "**`Inbound/{name}/ProcessorRole` ({name} = Generic, Slack, Twilio, Whatsapp)**"
    processor = dev.split(heading)[1].split("\n**")[0]
    assert "Trusted by: `Service: lambda.amazonaws.com`" in processor
    assert re.search(
        r"\| Allow \| [^|]*sqs:ReceiveMessage[^|]* \| `<Inbound/\{name\}/Webhooks/Queue>.Arn`",
        processor,
    )
    # ... and what differs by provider keeps the name placeholder, lower-case where it was.
    assert "`arn:${AWS::Partition}:s3:::<Inbound/MediaBucket>/media/{name}/*`" in processor
    assert "### Role Inbound/Twilio/ProcessorRole" not in dev


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
    for result in results:  # a file of the repository, at a line that exists
        location = result["locations"][0]["physicalLocation"]
        source = ROOT / location["artifactLocation"]["uri"]
        assert source.is_file(), location
        assert 1 <= location["region"]["startLine"] <= len(source.read_text().splitlines())


def test_junit_is_valid_and_has_a_suite_per_unit(synth: Synth, reports: Path) -> None:
    schema = xmlschema.XMLSchema(str(JUNIT_XSD))
    document = reports / "report.junit.xml"
    schema.validate(str(document))
    suites = schema.to_dict(str(document))["testsuite"]
    assert [s["@name"] for s in suites] == units(synth)
    assert all(s["@failures"] == "0" for s in suites)
    for suite in suites:  # each suite names the commit and the tools that judged it
        properties = {p["@name"]: p["@value"] for p in suite["properties"][0]["property"]}
        assert len(properties["commit"]) >= 7
        assert {"version.aws-cdk-lib", "version.cdk-nag", "version.checkov"} <= set(properties)


def test_the_cli_refuses_a_folder_without_a_synth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path)]) == 2
    assert "has no validation-report.json" in capsys.readouterr().err
