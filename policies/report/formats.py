"""SARIF 2.1.0 (GitHub code scanning) and JUnit XML (CodeBuild report groups) from the findings.

SARIF follows GitHub's "SARIF support for code scanning": every rule has short and full
descriptions and `help`; each result is located in a file of the repository (the module that
creates the construct, policies/report/sources.py) with a line, carries a stable
`partialFingerprints` entry, and an acknowledged one an external, accepted suppression whose
justification is the registry's reason. Provenance goes in each run and in each JUnit suite.
"""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET
from dataclasses import asdict
from pathlib import Path
from typing import Any

from policies.findings import Finding
from policies.report import decisions, sources
from policies.report.model import Assembly, Unit
from policies.report.provenance import Provenance

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
# Locations are relative to the repository root, named as CodeQL names it.
SRCROOT = "%SRCROOT%"
_LEVEL = {"error": "error", "fatal": "error", "high": "error", "critical": "error"}
CDK_NAG_RULES = "https://github.com/cdklabs/cdk-nag/blob/main/RULES.md"
# Where each source documents its rules (None: the project's own Platform pack, documented here).
HELP_URIS: dict[str, str | None] = {
    "AwsSolutions": CDK_NAG_RULES,
    "Serverless": CDK_NAG_RULES,
    "Platform": None,
    "checkov": "https://www.checkov.io/5.Policy%20Index/cloudformation.html",
    "parliament": "https://github.com/duo-labs/parliament",
}
CFN_LINT_RULES = "https://github.com/aws-cloudformation/cfn-lint/blob/main/docs/rules.md"
SERVERLESS_RULES = "https://awslabs.github.io/serverless-rules/rules/"
INFORMATION_URIS = {
    "AwsSolutions": "https://github.com/cdklabs/cdk-nag",
    "Serverless": "https://github.com/cdklabs/cdk-nag",
    "cfn-lint": "https://github.com/aws-cloudformation/cfn-lint",
    "checkov": "https://www.checkov.io/",
    "parliament": "https://github.com/duo-labs/parliament",
}
# The version that names each source's rules, from the provenance's tool versions.
VERSION_OF = {"AwsSolutions": "cdk-nag", "Serverless": "cdk-nag"}


def help_uri(source: str, rule: str) -> str | None:
    if source == "cfn-lint":
        return SERVERLESS_RULES if rule.startswith(("ES", "WS", "IS")) else CFN_LINT_RULES
    return HELP_URIS.get(source)


def _rule(finding: Finding) -> dict[str, Any]:
    family = decisions.family(finding.rule)
    description = decisions.describe(finding) or family
    uri = help_uri(finding.source, family)
    text = (
        f"{description}\n\nFix the resource, or, when the finding cannot be fixed, acknowledge it "
        f"in {decisions.REGISTRY_NAME} with the rule id {finding.registry_rule}, the construct "
        "path pattern, a full-sentence reason and an owner."
    )
    markdown = (
        f"**{family}** ({finding.source}): {description}\n\n"
        f"Fix the resource, or, when the finding cannot be fixed, acknowledge it in "
        f"`{decisions.REGISTRY_NAME}` (rule id `{finding.registry_rule}`, construct path "
        "pattern, a full-sentence reason and an owner)."
        + (f"\n\nRule documentation: {uri}" if uri else "")
    )
    rule: dict[str, Any] = {
        "id": family,
        "shortDescription": {"text": decisions.first_sentence(description, 1000)},
        "fullDescription": {"text": description},
        "help": {"text": text, "markdown": markdown},
        "defaultConfiguration": {"level": _LEVEL.get(finding.severity.lower(), "warning")},
        "properties": {"tags": ["security", "infrastructure-as-code", finding.source]},
    }
    if uri:
        rule["helpUri"] = uri
    return rule


def _run(source: str, provenance: Provenance | None) -> dict[str, Any]:
    driver: dict[str, Any] = {"name": source, "rules": []}
    if source in INFORMATION_URIS:
        driver["informationUri"] = INFORMATION_URIS[source]
    elif provenance is not None and provenance.repository:
        driver["informationUri"] = provenance.repository  # the Platform pack is this project's
    if provenance is not None:
        # The Platform pack is versioned by the project's commit (run.versionControlProvenance).
        version = provenance.versions.get(VERSION_OF.get(source, source))
        if version:
            driver["version"] = version
    run: dict[str, Any] = {
        "tool": {"driver": driver},
        "results": [],
        "columnKind": "utf16CodeUnits",
    }
    if provenance is not None:
        if provenance.repository:
            control: dict[str, Any] = {
                "repositoryUri": provenance.repository,
                "revisionId": provenance.commit,
                "mappedTo": {"uriBaseId": SRCROOT},
            }
            if provenance.branch:
                control["branch"] = provenance.branch
            run["versionControlProvenance"] = [control]
        run["properties"] = {"provenance": asdict(provenance)}
    return run


def _stack_path(unit: Unit, finding: Finding) -> str:
    paths = sorted((s.path for s in unit.stacks), key=len, reverse=True)
    return next((p for p in paths if finding.where.startswith(p + "/")), unit.prefix)


def _location(unit: Unit, finding: Finding, root: Path) -> dict[str, Any]:
    """The module (and line) that creates the construct; the stack's own module otherwise."""
    found = sources.locate(finding.where, _stack_path(unit, finding), root)
    uri, line = (found.path, found.line) if found else ("app.py", 1)
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": uri, "uriBaseId": SRCROOT},
            "region": {"startLine": line},
        },
        "logicalLocations": [{"fullyQualifiedName": finding.where, "kind": "resource"}],
    }


def _result(unit: Unit, finding: Finding, rule_index: int, root: Path) -> dict[str, Any]:
    family = decisions.family(finding.rule)
    identity = "|".join((finding.source, finding.rule, finding.where))
    result: dict[str, Any] = {
        "ruleId": family,
        "ruleIndex": rule_index,
        "level": _LEVEL.get(finding.severity.lower(), "warning"),
        "message": {"text": f"{finding.rule} at {finding.where}: {finding.message}"},
        "locations": [_location(unit, finding, root)],
        # Stable across commits and line moves: the same rule on the same construct path.
        "partialFingerprints": {
            "constructFinding/v1": hashlib.sha256(identity.encode()).hexdigest()[:32]
        },
        "properties": {"unit": unit.name, "rule": finding.rule, "template": finding.template},
    }
    if finding.acknowledged:
        reason, owner = decisions.split_reason(finding.reason)
        result["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": reason + (f" (owner: {owner})" if owner else ""),
            }
        ]
    return result


def sarif(
    assembly: Assembly, provenance: Provenance | None = None, root: Path = sources.ROOT
) -> dict[str, Any]:
    """One run per pack and scanner, each finding a result located in the repository's sources."""
    runs: dict[str, dict[str, Any]] = {}
    for unit in assembly.units:
        for finding in unit.findings:
            run = runs.setdefault(finding.source, _run(finding.source, provenance))
            rules: list[dict[str, Any]] = run["tool"]["driver"]["rules"]
            family = decisions.family(finding.rule)
            ids = [r["id"] for r in rules]
            if family not in ids:
                rules.append(_rule(finding))
                ids.append(family)
            run["results"].append(_result(unit, finding, ids.index(family), root))
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": list(runs.values())}


def _properties(suite: ET.Element, provenance: Provenance | None) -> None:
    if provenance is None:
        return
    properties = ET.SubElement(suite, "properties")
    values = {
        "commit": provenance.commit,
        "execution": provenance.execution or "local build",
        "date": provenance.date,
        **{f"version.{name}": version for name, version in sorted(provenance.versions.items())},
    }
    for name, value in values.items():
        ET.SubElement(properties, "property", name=name, value=value)


def junit(assembly: Assembly, provenance: Provenance | None = None) -> str:
    """A suite per unit: open findings fail, acknowledged ones are skipped with their reason."""
    suites = ET.Element("testsuites", name="policy gate")
    total = failures = 0
    for unit in assembly.units:
        suite = ET.SubElement(suites, "testsuite", name=unit.name)
        _properties(suite, provenance)
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


def open_only(document: dict[str, Any]) -> dict[str, Any]:
    """The same log without suppressed results. GitHub code scanning ingests a result with
    `suppressions` as an open alert (github/codeql-action#1230), so an upload that should show
    only what the gate left open uses this copy."""
    runs = [
        {**run, "results": [r for r in run["results"] if not r.get("suppressions")]}
        for run in document["runs"]
    ]
    return {**document, "runs": runs}


def write_sarif(assembly: Assembly, target: Path, provenance: Provenance | None = None) -> None:
    """`report.sarif` (every finding, acknowledged ones suppressed) and `report.open.sarif`."""
    document = sarif(assembly, provenance)
    target.write_text(json.dumps(document, indent=1) + "\n")
    opened = target.with_name(target.name.replace(".sarif", ".open.sarif"))
    opened.write_text(json.dumps(open_only(document), indent=1) + "\n")
