"""Reads a cloud assembly into report units: the toolchain stack and one unit per Stage."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cloud_assembly.templates import StackTemplate, templates
from policies.findings import Finding

SCANNER_RESULTS = Path("scanners") / "results.json"


@dataclass
class Unit:
    """What one report page covers: the pipeline stack, or every stack of one Stage."""

    name: str
    prefix: str
    stacks: list[StackTemplate] = field(default_factory=list)
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


def unit_name(stage_path: str) -> str:
    return stage_path.rsplit("/", 1)[-1]


def load(root: Path) -> Assembly:
    units: dict[str, Unit] = {}
    for stack in templates(root):
        prefix = (
            stack.stage or stack.path
        )  # a Stage's stacks share a unit; the toolchain has its own
        name = unit_name(prefix) if stack.stage else prefix
        unit = units.setdefault(prefix, Unit(name=name, prefix=prefix))
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
                reason = violation.get("reason", "") if acknowledged else ""
                finding = Finding(
                    source=name,
                    rule=violation["ruleName"],
                    construct_path=path,
                    message=violation.get("description", ""),
                    severity=violation.get("severity", "error"),
                    status="acknowledged" if reason else "failed",
                    reason=reason,
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
    by_template = {s.relpath: u for u in assembly.units for s in u.stacks}
    for item in data.get("findings", []):
        unit = by_template.get(item.get("template", ""))
        if unit is None:
            continue
        unit.scanners.append(item)
        if item.get("status") not in ("failed", "acknowledged"):
            continue
        acknowledged = item["status"] == "acknowledged"
        reason = item.get("reason", "") if acknowledged else ""
        unit.findings.append(
            Finding(
                source=item["tool"],
                rule=item["rule"],
                construct_path=item.get("construct_path", ""),
                message=item.get("message", ""),
                severity=item.get("severity", ""),
                template=item.get("template", ""),
                logical_id=item.get("resource", ""),
                stack=item.get("stack", ""),
                status="acknowledged" if reason else "failed",
                reason=reason,
                acknowledged_at=item.get("construct_path", "") if acknowledged else "",
            )
        )
