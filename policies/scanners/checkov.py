"""checkov's CloudFormation checks, offline; every failed check must be acknowledged."""

from __future__ import annotations

import json

from policies.findings import Finding
from policies.scanners.tool import Scan, ToolError, ToolRun, dist_version, finding, run


def checkov(scan: Scan) -> ToolRun:
    """checkov's CloudFormation checks, offline; every failed check must be acknowledged."""
    args = [scan.exe("checkov"), "--framework", "cloudformation", "--skip-download"]
    args += ["--output", "json", "--quiet", "--compact"]
    for stack in scan.stacks:
        args += ["--file", stack.relpath]
    code, out, err = run(args, cwd=scan.outdir)
    try:
        parsed = json.loads(out)
    except json.JSONDecodeError:
        raise ToolError(
            f"checkov exited {code} without a JSON report: {err.strip()[-500:]}"
        ) from None
    reports = parsed if isinstance(parsed, list) else [parsed]
    templates_by_path = scan.by_path()
    findings: list[Finding] = []
    passed = 0
    for report in reports:
        if "results" not in report:  # checkov's report when a framework found nothing to scan
            raise ToolError(f"checkov scanned nothing: {json.dumps(report)[:300]}")
        summary = report["summary"]
        if summary.get("parsing_errors"):
            raise ToolError(f"checkov could not parse {summary['parsing_errors']} template(s)")
        passed += int(summary["passed"])
        results = report["results"]
        # A skip written into template metadata would bypass the registry: report it as a failure.
        for kind in ("failed_checks", "skipped_checks"):
            for check in results.get(kind, []):
                template = templates_by_path[check["file_path"].lstrip("/")]
                _, _, logical_id = check["resource"].partition(".")
                message = check["check_name"]
                if kind == "skipped_checks":
                    message += " (skipped in the template: acknowledge in the registry instead)"
                severity = str(check.get("severity") or "error").lower()
                findings.append(
                    finding("checkov", template, logical_id, check["check_id"], severity, message)
                )
    return ToolRun(
        tool="checkov",
        version=dist_version(scan.venv, "checkov"),
        unit="checks",
        checks_run=passed + len(findings),
        findings=findings,
        passed=passed,
    )
