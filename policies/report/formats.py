"""SARIF 2.1.0 (code-scanning views) and JUnit XML (CodeBuild report groups) from the findings."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path
from typing import Any

from policies.findings import Finding
from policies.report.model import Assembly, Unit

SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
_LEVEL = {"error": "error", "fatal": "error", "high": "error", "critical": "error"}


@cache
def _line_of(template: Path, logical_id: str) -> int:
    """1-based line where the resource is defined in its (indented) template file."""
    needle = f'"{logical_id}": {{'
    for number, line in enumerate(template.read_text().splitlines(), start=1):
        if line.strip().startswith(needle):
            return number
    return 1


def _locate(assembly: Assembly, unit: Unit, finding: Finding) -> tuple[str, str]:
    """(template file, logical id) of the resource a finding names."""
    if finding.template and finding.logical_id:
        return finding.template, finding.logical_id
    for stack in unit.stacks:
        for logical_id, body in stack.body.get("Resources", {}).items():
            if body.get("Metadata", {}).get("aws:cdk:path") == finding.where:
                return stack.relpath, logical_id
    return (unit.stacks[0].relpath if unit.stacks else ""), ""


def sarif(assembly: Assembly, uri_prefix: str = "cdk.out/") -> dict[str, Any]:
    runs: dict[str, dict[str, Any]] = {}
    for unit in assembly.units:
        for finding in unit.findings:
            run = runs.setdefault(
                finding.source,
                {
                    "tool": {"driver": {"name": finding.source, "rules": []}},
                    "results": [],
                    "columnKind": "utf16CodeUnits",
                },
            )
            rules: list[dict[str, Any]] = run["tool"]["driver"]["rules"]
            base_rule = finding.rule.split("[")[0]
            if base_rule not in {r["id"] for r in rules}:
                rules.append(
                    {
                        "id": base_rule,
                        "shortDescription": {"text": base_rule},
                        "fullDescription": {"text": finding.message or base_rule},
                    }
                )
            template, logical_id = _locate(assembly, unit, finding)
            location: dict[str, Any] = {
                "physicalLocation": {
                    "artifactLocation": {"uri": uri_prefix + template},
                    "region": {
                        "startLine": _line_of(assembly.root / template, logical_id)
                        if template and logical_id
                        else 1
                    },
                },
                "logicalLocations": [{"fullyQualifiedName": finding.where, "kind": "resource"}],
            }
            result: dict[str, Any] = {
                "ruleId": base_rule,
                "level": _LEVEL.get(finding.severity.lower(), "warning"),
                "message": {"text": f"{finding.rule} at {finding.where}: {finding.message}"},
                "locations": [location],
                "properties": {"unit": unit.name},
            }
            if finding.acknowledged:
                result["suppressions"] = [
                    {"kind": "external", "status": "accepted", "justification": finding.reason}
                ]
            run["results"].append(result)
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": list(runs.values())}


def junit(assembly: Assembly) -> str:
    """A suite per unit: open findings fail, acknowledged ones are skipped with their reason."""
    suites = ET.Element("testsuites", name="policy gate")
    total = failures = 0
    for unit in assembly.units:
        suite = ET.SubElement(suites, "testsuite", name=unit.name)
        cases = 0
        for source in sorted({*assembly.packs, *(f.source for f in unit.findings)}):
            case = ET.SubElement(
                suite, "testcase", name=f"{source}: no open findings", classname=unit.name
            )
            cases += 1
            opened = [f for f in unit.open if f.source == source]
            if opened:
                failure = ET.SubElement(
                    case, "failure", message=f"{len(opened)} open finding(s)", type="policy"
                )
                failure.text = "\n".join(f"{f.rule} at {f.where}" for f in opened)
        for finding in unit.findings:
            case = ET.SubElement(
                suite,
                "testcase",
                name=f"{finding.rule} at {finding.where}",
                classname=f"{unit.name}.{finding.source}",
            )
            cases += 1
            if finding.acknowledged:
                ET.SubElement(case, "skipped", message=f"acknowledged: {finding.reason}")
            else:
                failure = ET.SubElement(
                    case, "failure", message=finding.message[:200], type="policy"
                )
                failure.text = finding.message
        unit_failures = len(unit.open) + len({f.source for f in unit.open})
        suite.set("tests", str(cases))
        suite.set("failures", str(unit_failures))
        suite.set("errors", "0")
        suite.set("skipped", str(len(unit.acknowledged)))
        total += cases
        failures += unit_failures
    suites.set("tests", str(total))
    suites.set("failures", str(failures))
    suites.set("errors", "0")  # junit-10.xsd has no `skipped` on <testsuites>
    ET.indent(suites)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
    )


def write_sarif(assembly: Assembly, target: Path) -> None:
    target.write_text(json.dumps(sarif(assembly), indent=1) + "\n")
