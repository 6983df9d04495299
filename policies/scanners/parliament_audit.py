"""Audit resolved IAM policy documents with parliament; runs in the scanner venv, not the project's.

JSON jobs `[{"id", "document"}]` on stdin, `{"version", "results"}` on stdout; no project imports.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

# This folder also holds the project's parliament.py: import the venv's parliament package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from parliament import analyze_policy_string, enhance_finding  # noqa: E402
from parliament.cli import is_finding_filtered  # noqa: E402


def audit(policies: list[dict[str, Any]]) -> dict[str, Any]:
    results = []
    for item in policies:
        policy = analyze_policy_string(json.dumps(item["document"]), filepath=item["id"])
        findings = []
        for finding in policy.findings:
            finding = enhance_finding(finding)
            # INFO keeps every severity parliament reports; its configured ignore_locations apply.
            if is_finding_filtered(finding, "INFO"):
                continue
            location = {k: v for k, v in finding.location.items() if k != "filepath"}
            findings.append(
                {
                    "issue": finding.issue,
                    "severity": finding.severity,
                    "title": finding.title,
                    "detail": finding.detail,
                    "location": location,
                }
            )
        results.append({"id": item["id"], "findings": findings})
    return {"version": version("parliament"), "results": results}


if __name__ == "__main__":
    json.dump(audit(json.load(sys.stdin)), sys.stdout, default=str)
