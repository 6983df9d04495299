"""detect-secrets over every file of every asset directory the assembly deploys (Lambda bundles).

A secret that lands in bundled code never appears in a template property, so the Platform pack's
PlaintextSecret rule cannot see it; the committed-file gate cannot either when the bundle is
generated. Not acknowledgeable in the registry: only a value the repository's gate audited as
not a secret (`.secrets.baseline`, same file, same hash, `is_secret: false`) passes.
"""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from typing import Any

from detect_secrets.core.scan import scan_file
from detect_secrets.settings import transient_settings

from cloud_assembly.templates import StackTemplate
from policies.findings import Finding
from policies.scanners.tool import Scan, ToolRun

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / ".secrets.baseline"
# The plugins and heuristic filters of the repository's own secret gate (its baseline), less the
# filters that judge repository paths (baseline file, excluded files) or audited lines.
AUDITED = "audited as not a secret in .secrets.baseline (the committed file it was bundled from)"
PATH_FILTERS = (
    "detect_secrets.filters.common.is_baseline_file",
    "detect_secrets.filters.regex.should_exclude_file",
)


def _settings(baseline: dict[str, Any]) -> dict[str, Any]:
    return {
        "plugins_used": baseline["plugins_used"],
        "filters_used": [f for f in baseline["filters_used"] if f["path"] not in PATH_FILTERS],
    }


def audited(baseline: dict[str, Any]) -> set[tuple[str, str]]:
    """(file, hashed secret) pairs the baseline's audit judged not to be secrets."""
    return {
        (name, result["hashed_secret"])
        for name, results in baseline.get("results", {}).items()
        for result in results
        if result.get("is_secret") is False
    }


def asset_users(stacks: list[StackTemplate]) -> dict[str, tuple[StackTemplate, str]]:
    """Asset directory name -> the first stack and logical id whose resource deploys it."""
    users: dict[str, tuple[StackTemplate, str]] = {}
    for stack in stacks:
        for logical_id, resource in stack.body.get("Resources", {}).items():
            path = resource.get("Metadata", {}).get("aws:asset:path")
            if isinstance(path, str):
                users.setdefault(Path(path).name, (stack, logical_id))
    return users


def asset_secrets(scan: Scan) -> ToolRun:
    findings: list[Finding] = []
    files = 0
    baseline = json.loads(BASELINE.read_text())
    reviewed = audited(baseline)
    with transient_settings(_settings(baseline)):
        for name, (stack, logical_id) in sorted(asset_users(scan.stacks).items()):
            folder = scan.outdir / name
            if not folder.is_dir():  # a file asset: a nested stack's template, which the rules read
                continue
            for file in sorted(f for f in folder.rglob("*") if f.is_file()):
                files += 1
                relative = file.relative_to(folder).as_posix()
                for secret in scan_file(str(file)):
                    passed = (relative, secret.secret_hash) in reviewed
                    findings.append(
                        Finding(
                            "detect-secrets",
                            secret.type.replace(" ", ""),
                            construct_path=stack.construct_paths.get(logical_id, ""),
                            message=f"{secret.type} in {name}/{relative} line {secret.line_number}",
                            severity="critical",
                            template=stack.relpath,
                            logical_id=logical_id,
                            stack=stack.stack,
                            unit=name,
                            status="acknowledged" if passed else "failed",
                            reason=AUDITED if passed else "",
                        )
                    )
    return ToolRun(
        tool="detect-secrets",
        version=metadata.version("detect-secrets"),
        unit="asset files",
        checks_run=files,
        findings=findings,
    )
