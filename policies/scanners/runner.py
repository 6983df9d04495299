"""Runs cfn-lint, checkov, parliament and detect-secrets (on the assets) on a cloud assembly in
parallel, and judges the results.

Findings are matched against the acknowledgements registry and written to
`<outdir>/scanners/results.json` for the reviewer's report.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cloud_assembly.templates import templates
from policies import acknowledgements
from policies.acknowledgements import Acknowledgement
from policies.findings import REGISTRY_NAMESPACES, Finding
from policies.scanners.asset_secrets import asset_secrets
from policies.scanners.cfn_lint import cfn_lint
from policies.scanners.checkov import checkov
from policies.scanners.parliament import parliament
from policies.scanners.tool import Scan, Tool, ToolError, ToolRun

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_VENV = ROOT / ".venv-scanners"
RESULTS = Path("scanners") / "results.json"

TOOLS: dict[Tool, Callable[[Scan], ToolRun]] = {
    "cfn-lint": cfn_lint,
    "checkov": checkov,
    "parliament": parliament,
    "detect-secrets": asset_secrets,
}


def to_json(finding: Finding) -> dict[str, Any]:
    """A finding as results.json records it (the report reads these keys)."""
    return {
        "tool": finding.source,
        "template": finding.template,
        "stack": finding.stack,
        "resource": finding.logical_id,
        "construct_path": finding.construct_path,
        "rule": finding.rule,
        "severity": finding.severity,
        "message": finding.message,
        "status": finding.status,
        "reason": finding.reason,
    }


@dataclass
class Results:
    """Every finding, the per-tool summaries, stale registry entries and the gating failures."""

    findings: list[Finding]
    summary: list[dict[str, Any]]
    stale: list[str]
    seconds: float

    @property
    def failures(self) -> list[str]:
        lines = [f.line() for f in self.findings if f.status == "failed"]
        return lines + [f"registry: {s}" for s in self.stale]

    def to_json(self) -> dict[str, Any]:
        return {
            "findings": [to_json(f) for f in self.findings],
            "summary": self.summary,
            "stale_acknowledgements": self.stale,
            "seconds": round(self.seconds, 2),
        }


def _timed(tool: Tool, scan: Scan) -> ToolRun:
    started = time.perf_counter()
    try:
        run = TOOLS[tool](scan)
    except (ToolError, OSError, subprocess.TimeoutExpired, json.JSONDecodeError) as error:
        message = str(error).splitlines()[0]
        crash = Finding(tool, "TOOL_ERROR", construct_path="", message=message, severity="critical")
        run = ToolRun(tool=tool, version="unknown", unit="-", checks_run=0, findings=[crash])
    run.seconds = time.perf_counter() - started
    return run


def acknowledge(
    findings: list[Finding],
    tools: Sequence[Tool],
    entries: list[Acknowledgement] | None = None,
    resources: Sequence[str] | None = None,
    contents: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[str]:
    """Mark registry-acknowledged findings; returns the stale (and, given every resource path,
    the over-broad) entries of the tools that ran.

    cfn-lint warnings and parliament findings below MEDIUM stay informational when unmatched.
    """
    namespaces = [REGISTRY_NAMESPACES[t] for t in tools if t in REGISTRY_NAMESPACES]
    scoped = [f for f in findings if f.source in REGISTRY_NAMESPACES]
    matched = acknowledgements.match_findings(scoped, entries, namespaces, resources, contents)
    for finding, entry in zip(scoped, matched.acknowledged, strict=True):
        if entry is not None:
            finding.status = "acknowledged"
            finding.reason = f"{entry.reason} (owner: {entry.owner})"
        elif finding.source == "cfn-lint" and finding.severity != "error":
            finding.status = "passed-info"
    stale = [f"{entry.rule} at {path} matches no finding (stale)" for entry, path in matched.stale]
    return stale + matched.overbroad + matched.resurfaced


def nag_overbroad(
    outdir: Path, resources: Sequence[str], entries: list[Acknowledgement]
) -> list[str]:
    """The cdk-nag entries that also match resources without their finding (validation report)."""
    report = outdir / "validation-report.json"
    if not report.is_file():
        return []
    return acknowledgements.nag_overbroad(entries, resources, json.loads(report.read_text()))


def run(
    outdir: Path,
    venv: Path = DEFAULT_VENV,
    tools: Sequence[Tool] = tuple(TOOLS),
    entries: list[Acknowledgement] | None = None,
) -> Results:
    """Run `tools` in parallel on the assembly at `outdir` and write scanners/results.json."""
    started = time.perf_counter()
    scan = Scan(outdir=outdir, stacks=templates(outdir), venv=venv)
    with ThreadPoolExecutor(max_workers=len(tools)) as pool:
        runs = list(pool.map(lambda tool: _timed(tool, scan), tools))
    findings = [f for r in runs for f in r.findings]
    # A crashed tool reported nothing: its registry entries cannot be judged stale.
    healthy = [r.tool for r in runs if not any(f.rule == "TOOL_ERROR" for f in r.findings)]
    contents = {
        path: stack.body["Resources"][logical_id]
        for stack in scan.stacks
        for logical_id, path in stack.construct_paths.items()
        if path
    }
    resources = list(contents)
    registry = acknowledgements.load() if entries is None else entries
    stale = acknowledge(findings, healthy, registry, resources, contents)
    stale += nag_overbroad(outdir, resources, registry)
    results = Results(
        findings=findings,
        summary=[r.summary() for r in runs],
        stale=stale,
        seconds=time.perf_counter() - started,
    )
    target = outdir / RESULTS
    target.parent.mkdir(exist_ok=True)
    target.write_text(json.dumps(results.to_json(), indent=2) + "\n")
    return results
