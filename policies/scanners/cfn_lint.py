"""cfn-lint with the serverless rules on every template; errors gate, warnings do not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from policies.scanners.tool import Scan, ToolError, ToolRun, dist_version, finding, run


def cfn_lint(scan: Scan) -> ToolRun:
    """cfn-lint with the serverless rules; errors gate, warnings and informational do not."""
    by_region: dict[str, list[str]] = {}
    for stack in scan.stacks:
        by_region.setdefault(stack.region, []).append(stack.relpath)
    raw: list[dict[str, Any]] = []
    for region, paths in by_region.items():
        args = [scan.exe("cfn-lint"), "--format", "json", "--regions", region]
        args += ["--append-rules", "cfn_lint_serverless.rules", "--", *paths]
        code, out, err = run(args, cwd=scan.outdir)
        # Exit code is a bit mask: 2 errors, 4 warnings, 8 informational; 1 or more is a crash.
        if code & 1 or code >= 16:
            raise ToolError(f"cfn-lint exited {code}: {err.strip()[-500:]}")
        raw += json.loads(out or "[]")
    templates_by_path = scan.by_path()
    findings = []
    for item in raw:
        template = templates_by_path[Path(item["Filename"]).as_posix()]
        path = item["Location"]["Path"]
        resource = str(path[1]) if len(path) > 1 and path[0] == "Resources" else ""
        level = str(item["Level"]).lower()
        severity = {"informational": "info"}.get(level, level)
        findings.append(
            finding(
                "cfn-lint",
                template,
                resource,
                item["Rule"]["Id"],
                severity,
                item["Message"],
                unit=template.relpath,
            )
        )
    serverless = dist_version(scan.venv, "cfn-lint-serverless")
    return ToolRun(
        tool="cfn-lint",
        version=f"{dist_version(scan.venv, 'cfn-lint')} (cfn-lint-serverless {serverless})",
        unit="templates",
        checks_run=len(scan.stacks),
        findings=findings,
    )
