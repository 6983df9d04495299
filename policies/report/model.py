"""Reads a cloud assembly into report units: the toolchain stack and one unit per Stage."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCANNER_RESULTS = Path("scanners") / "results.json"


@dataclass(frozen=True)
class Stack:
    """One synthesized stack: its construct path, template file (relative to cdk.out), body."""

    path: str
    template_file: str
    template: dict[str, Any]
    termination_protection: bool

    def resource_path(self, logical_id: str) -> str:
        body = self.template.get("Resources", {}).get(logical_id, {})
        return str(body.get("Metadata", {}).get("aws:cdk:path", f"{self.path}/{logical_id}"))


@dataclass(frozen=True)
class Finding:
    """A policy finding: open, or acknowledged with a reason at a construct."""

    source: str  # plugin (AwsSolutions, Serverless, Platform) or scanner (cfn-lint, checkov, ...)
    rule: str
    path: str
    description: str
    severity: str
    reason: str = ""
    acknowledged_at: str = ""
    template_file: str = ""
    logical_id: str = ""

    @property
    def acknowledged(self) -> bool:
        return bool(self.reason)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.source, self.rule, self.path)


@dataclass
class Unit:
    """What one report page covers: the pipeline stack, or every stack of one Stage."""

    name: str
    prefix: str
    stacks: list[Stack] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    scanners: list[dict[str, Any]] = field(default_factory=list)

    @property
    def open(self) -> list[Finding]:
        return [f for f in self.findings if not f.acknowledged]

    @property
    def acknowledged(self) -> list[Finding]:
        return [f for f in self.findings if f.acknowledged]


@dataclass
class Assembly:
    """A whole `cdk.out`: its units, the packs that ran, and the scanner summaries."""

    root: Path
    units: list[Unit]
    packs: dict[str, str]  # plugin name -> conclusion
    scanner_summary: list[dict[str, Any]]

    def unit(self, name: str) -> Unit:
        return next(u for u in self.units if u.name == name)

    def unit_for(self, construct_path: str) -> Unit | None:
        best: Unit | None = None
        for unit in self.units:
            inside = construct_path == unit.prefix or construct_path.startswith(unit.prefix + "/")
            if inside and (best is None or len(unit.prefix) > len(best.prefix)):
                best = unit
        return best


def _stacks(root: Path, directory: Path) -> list[tuple[Stack, str | None]]:
    """(stack, nested assembly display name) for every stack, nested assemblies included."""
    manifest = json.loads((directory / "manifest.json").read_text())
    found: list[tuple[Stack, str | None]] = []
    for artifact in manifest.get("artifacts", {}).values():
        properties = artifact.get("properties", {})
        if artifact["type"] == "aws:cloudformation:stack":
            template = directory / properties["templateFile"]
            found.append(
                (
                    Stack(
                        path=artifact.get("displayName", template.stem),
                        template_file=str(template.relative_to(root)),
                        template=json.loads(template.read_text()),
                        termination_protection=bool(properties.get("terminationProtection")),
                    ),
                    None if directory == root else directory.name,
                )
            )
        elif artifact["type"] == "cdk:cloud-assembly":
            found.extend(_stacks(root, directory / properties["directoryName"]))
    return found


def unit_name(stage_path: str) -> str:
    return stage_path.rsplit("/", 1)[-1]


def load(root: Path) -> Assembly:
    units: dict[str, Unit] = {}
    for stack, nested in _stacks(root, root):
        if nested is None:
            unit = units.setdefault(stack.path, Unit(name=stack.path, prefix=stack.path))
        else:
            stage = stack.path.rsplit("/", 1)[0]
            unit = units.setdefault(stage, Unit(name=unit_name(stage), prefix=stage))
        unit.stacks.append(stack)
    # Stages first in deployment order is what readers expect; the toolchain stack leads.
    ordered = sorted(units.values(), key=lambda u: (u.prefix.count("/"), 0))
    assembly = Assembly(root=root, units=ordered, packs={}, scanner_summary=[])
    _read_validation_report(assembly)
    _read_scanners(assembly)
    return assembly


def _read_validation_report(assembly: Assembly) -> None:
    report_file = assembly.root / "validation-report.json"
    if not report_file.exists():  # synthesized without policy packs
        return
    report = json.loads(report_file.read_text())
    for plugin in report.get("pluginReports", []):
        name = plugin["pluginName"]
        assembly.packs[name] = plugin.get("conclusion", "")
        groups = [(v, False) for v in plugin.get("violations", [])]
        groups += [(v, True) for v in plugin.get("suppressedViolations", [])]
        for violation, acknowledged in groups:
            for construct in violation.get("violatingConstructs", []):
                path = construct.get("constructPath", "")
                finding = Finding(
                    source=name,
                    rule=violation["ruleName"],
                    path=path,
                    description=violation.get("description", ""),
                    severity=violation.get("severity", "error"),
                    reason=violation.get("reason", "") if acknowledged else "",
                    acknowledged_at=violation.get("acknowledgedAt", "") if acknowledged else "",
                )
                unit = assembly.unit_for(path)
                if unit is not None:
                    unit.findings.append(finding)


def _read_scanners(assembly: Assembly) -> None:
    results_file = assembly.root / SCANNER_RESULTS
    if not results_file.exists():
        return
    data = json.loads(results_file.read_text())
    assembly.scanner_summary = list(data.get("summary", []))
    by_template = {s.template_file: u for u in assembly.units for s in u.stacks}
    for item in data.get("findings", []):
        unit = by_template.get(item.get("template", ""))
        if unit is None:
            continue
        unit.scanners.append(item)
        if item.get("status") not in ("failed", "acknowledged"):
            continue
        unit.findings.append(
            Finding(
                source=item["tool"],
                rule=item["rule"],
                path=item.get("construct_path") or item.get("resource", ""),
                description=item.get("message", ""),
                severity=item.get("severity", ""),
                reason=item.get("reason", "") if item["status"] == "acknowledged" else "",
                acknowledged_at=item.get("construct_path", "")
                if item["status"] == "acknowledged"
                else "",
                template_file=item.get("template", ""),
                logical_id=item.get("resource", ""),
            )
        )
