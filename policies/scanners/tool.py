"""What every scanner shares: its inputs (`Scan`), its output (`ToolRun`), running it in its venv.

The scanners' own venv (`.venv-scanners`, requirements-scanners.txt) avoids clashing pins: this
package runs on the project's Python and only shells out to it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cloud_assembly.templates import StackTemplate
from policies.findings import Finding

Tool = Literal["cfn-lint", "checkov", "parliament", "detect-secrets"]
TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class Scan:
    """The inputs every scanner shares: the assembly, its templates and the scanner venv."""

    outdir: Path
    stacks: list[StackTemplate]
    venv: Path

    def exe(self, name: str) -> str:
        return str(self.venv / "bin" / name)

    def by_path(self) -> dict[str, StackTemplate]:
        return {t.relpath: t for t in self.stacks}


@dataclass
class ToolRun:
    """What one scanner produced: findings, how many units it checked, and its version."""

    tool: Tool
    version: str
    unit: str  # what checks_run counts: templates, checks or policy documents
    checks_run: int
    findings: list[Finding]
    passed: int | None = None  # when the tool reports its own count of passed checks
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        """Counts: `passed` are units (`unit`) without an open failure; the rest count findings."""
        failed = sum(f.status == "failed" for f in self.findings)
        failing = {f.unit for f in self.findings if f.status == "failed"}
        passed = self.passed if self.passed is not None else self.checks_run - len(failing)
        return {
            "tool": self.tool,
            "version": self.version,
            "unit": self.unit,
            "checks_run": self.checks_run,
            "passed": passed,
            "failed": failed,
            "acknowledged": sum(f.status == "acknowledged" for f in self.findings),
            "info": sum(f.status == "passed-info" for f in self.findings),
            "seconds": round(self.seconds, 2),
        }


class ToolError(RuntimeError):
    """A scanner crashed or printed something that is not its report."""


def finding(
    tool: Tool,
    stack: StackTemplate,
    logical_id: str,
    rule: str,
    severity: str,
    message: str,
    *,
    unit: str = "",
) -> Finding:
    """A scanner's finding on one resource of one template, located by its construct path."""
    return Finding(
        source=tool,
        rule=rule,
        construct_path=stack.construct_paths.get(logical_id, ""),
        message=message,
        severity=severity,
        template=stack.relpath,
        logical_id=logical_id,
        stack=stack.stack,
        unit=unit,
    )


def run(args: Sequence[str], *, cwd: Path, stdin: str | None = None) -> tuple[int, str, str]:
    """Run a scanner executable (offline: checkov's mapping download is skipped)."""
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(  # noqa: S603 - fixed executables of the scanner venv, no shell
        list(args),
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


def dist_version(venv: Path, distribution: str) -> str:
    """The installed version, read from the scanner venv's dist-info (no interpreter start-up)."""
    wanted = distribution.lower().replace("-", "_")
    for info in venv.glob("lib/python*/site-packages/*.dist-info"):
        name, _, version = info.name.removesuffix(".dist-info").rpartition("-")
        if name.lower().replace("-", "_") == wanted:
            return version
    return "unknown"
