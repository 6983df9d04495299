"""Run cfn-lint (+ serverless rules), checkov and parliament on a cloud assembly, in parallel.

The scanners live in their own virtual environment (`.venv-scanners`, see requirements-scanners.txt)
because their dependencies clash with the project's pins; this module runs on the project's Python
and only shells out to that environment. Findings are matched against the acknowledgements
registry and written to `<outdir>/scanners/results.json` for the reviewer's report.
"""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from cloud_assembly.intrinsics import Resolver, UnresolvableError
from cloud_assembly.templates import StackTemplate, templates
from policies import acknowledgements
from policies.acknowledgements import Acknowledgement

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_VENV = ROOT / ".venv-scanners"
PARLIAMENT_AUDIT = Path(__file__).with_name("parliament_audit.py")

Tool = Literal["cfn-lint", "checkov", "parliament"]
Status = Literal["failed", "acknowledged", "passed-info"]
NAMESPACE: dict[str, str] = {
    "cfn-lint": "CfnLint",
    "checkov": "Checkov",
    "parliament": "Parliament",
}
GATING_PARLIAMENT = {"MEDIUM", "HIGH", "CRITICAL"}
TIMEOUT_SECONDS = 600


@dataclass
class Finding:
    """One scanner result on one resource, as the reviewer's report reads it."""

    tool: Tool
    template: str
    stack: str
    resource: str
    construct_path: str
    rule: str
    severity: str
    message: str
    status: Status = "failed"
    reason: str = ""
    unit: str = field(default="", compare=False)  # the template or policy it counts against

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "unit"}

    @property
    def registry_rule(self) -> str:
        """The rule id as the acknowledgements registry spells it, e.g. Checkov::CKV_AWS_116."""
        return f"{NAMESPACE.get(self.tool, self.tool)}::{self.rule}"

    def line(self) -> str:
        where = f"{self.stack} {self.resource}".strip()
        path = f" ({self.construct_path})" if self.construct_path else ""
        return f"{self.tool} {self.rule} [{self.severity}] {where}{path}: {self.message}"


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


class ToolError(RuntimeError):
    """A scanner crashed or printed something that is not its report."""


def _run(args: Sequence[str], *, cwd: Path, stdin: str | None = None) -> tuple[int, str, str]:
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


def _dist_version(venv: Path, distribution: str) -> str:
    """The installed version, read from the scanner venv's dist-info (no interpreter start-up)."""
    wanted = distribution.lower().replace("-", "_")
    for info in venv.glob("lib/python*/site-packages/*.dist-info"):
        name, _, version = info.name.removesuffix(".dist-info").rpartition("-")
        if name.lower().replace("-", "_") == wanted:
            return version
    return "unknown"


# --- cfn-lint ------------------------------------------------------------------------------------


def cfn_lint(scan: Scan) -> ToolRun:
    """cfn-lint with the serverless rules; errors gate, warnings and informational do not."""
    by_region: dict[str, list[str]] = {}
    for stack in scan.stacks:
        by_region.setdefault(stack.region, []).append(stack.relpath)
    raw: list[dict[str, Any]] = []
    for region, paths in by_region.items():
        args = [scan.exe("cfn-lint"), "--format", "json", "--regions", region]
        args += ["--append-rules", "cfn_lint_serverless.rules", "--", *paths]
        code, out, err = _run(args, cwd=scan.outdir)
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
        findings.append(
            Finding(
                tool="cfn-lint",
                template=template.relpath,
                stack=template.stack,
                resource=resource,
                construct_path=template.construct_paths.get(resource, ""),
                rule=item["Rule"]["Id"],
                severity={"informational": "info"}.get(level, level),
                message=item["Message"],
                unit=template.relpath,
            )
        )
    serverless = _dist_version(scan.venv, "cfn-lint-serverless")
    return ToolRun(
        tool="cfn-lint",
        version=f"{_dist_version(scan.venv, 'cfn-lint')} (cfn-lint-serverless {serverless})",
        unit="templates",
        checks_run=len(scan.stacks),
        findings=findings,
    )


# --- checkov -------------------------------------------------------------------------------------


def checkov(scan: Scan) -> ToolRun:
    """checkov's CloudFormation checks, offline; every failed check must be acknowledged."""
    args = [scan.exe("checkov"), "--framework", "cloudformation", "--skip-download"]
    args += ["--output", "json", "--quiet", "--compact"]
    for stack in scan.stacks:
        args += ["--file", stack.relpath]
    code, out, err = _run(args, cwd=scan.outdir)
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
                findings.append(
                    Finding(
                        tool="checkov",
                        template=template.relpath,
                        stack=template.stack,
                        resource=logical_id,
                        construct_path=template.construct_paths.get(logical_id, ""),
                        rule=check["check_id"],
                        severity=str(check.get("severity") or "error").lower(),
                        message=message,
                    )
                )
    return ToolRun(
        tool="checkov",
        version=_dist_version(scan.venv, "checkov"),
        unit="checks",
        checks_run=passed + len(findings),
        findings=findings,
        passed=passed,
    )


# --- parliament ----------------------------------------------------------------------------------

IDENTITY_POLICIES = {"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"}


def policy_documents(stack: StackTemplate) -> list[tuple[str, str, Any]]:
    """(logical id, label, document) of every identity policy in the template.

    AWS::IAM::Policy and ManagedPolicy documents, and the inline `Policies` of roles, users and
    groups. Trust policies and resource policies are out of scope: parliament audits what a
    principal may do, and its checks do not model Principal or cross-account conditions.
    """
    found = []
    for logical_id, resource in stack.body.get("Resources", {}).items():
        properties = resource.get("Properties", {})
        if resource.get("Type") in IDENTITY_POLICIES:
            found.append((logical_id, "PolicyDocument", properties.get("PolicyDocument")))
        elif resource.get("Type") in {"AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"}:
            for index, inline in enumerate(properties.get("Policies", [])):
                label = f"Policies[{index}] {inline.get('PolicyName', '')}".strip()
                found.append((logical_id, label, inline.get("PolicyDocument")))
    return found


def resolver_for(stack: StackTemplate) -> Resolver:
    account = stack.account if stack.account.isdigit() and len(stack.account) == 12 else None
    region = stack.region if stack.region and not stack.region.startswith("unknown") else None
    return Resolver.for_template(
        stack.body,
        account=account or "123456789012",
        region=region or "us-east-1",
        stack_name=stack.stack_name,
    )


def parliament(scan: Scan) -> ToolRun:
    """parliament on every identity policy, intrinsics resolved; MEDIUM and above gate."""
    jobs: list[dict[str, Any]] = []
    where: dict[str, tuple[StackTemplate, str, str]] = {}
    findings: list[Finding] = []
    for stack in scan.stacks:
        resolver = resolver_for(stack)
        for logical_id, label, document in policy_documents(stack):
            job_id = f"{stack.relpath}#{logical_id}#{label}"
            try:
                resolved = resolver.resolve(document)
            except (UnresolvableError, ValueError, TypeError, IndexError) as error:
                findings.append(
                    Finding(
                        tool="parliament",
                        template=stack.relpath,
                        stack=stack.stack,
                        resource=logical_id,
                        construct_path=stack.construct_paths.get(logical_id, ""),
                        rule="UNRESOLVED_INTRINSIC",
                        severity="medium",
                        message=f"{label} not audited: {error}",
                        unit=job_id,
                    )
                )
                continue
            jobs.append({"id": job_id, "document": resolved})
            where[job_id] = (stack, logical_id, label)
    code, out, err = _run(
        [scan.exe("python"), str(PARLIAMENT_AUDIT)], cwd=scan.outdir, stdin=json.dumps(jobs)
    )
    if code != 0:
        raise ToolError(f"parliament exited {code}: {err.strip()[-500:]}")
    report = json.loads(out)
    for result in report["results"]:
        stack, logical_id, label = where[result["id"]]
        document = next(job["document"] for job in jobs if job["id"] == result["id"])
        for issue, severity, message in _parliament_findings(result["findings"], document):
            gating = severity in GATING_PARLIAMENT
            findings.append(
                Finding(
                    tool="parliament",
                    template=stack.relpath,
                    stack=stack.stack,
                    resource=logical_id,
                    construct_path=stack.construct_paths.get(logical_id, ""),
                    rule=issue,
                    severity=severity.lower(),
                    message=f"{label}: {message}",
                    status="failed" if gating else "passed-info",
                    unit=result["id"],
                )
            )
    return ToolRun(
        tool="parliament",
        version=report["version"],
        unit="policy documents",
        checks_run=len(jobs) + len({f.unit for f in findings if f.rule == "UNRESOLVED_INTRINSIC"}),
        findings=findings,
    )


def _actions(document: Any) -> list[str]:
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    found: list[str] = []
    for statement in statements if isinstance(statements, list) else [statements]:
        actions = statement.get("Action", [])
        found += [actions] if isinstance(actions, str) else list(actions)
    return found


def _parliament_findings(raw: list[dict[str, Any]], document: Any) -> list[tuple[str, str, str]]:
    """(rule, SEVERITY, message) per parliament finding; RESOURCE_MISMATCH split per action.

    A RESOURCE_MISMATCH lists every action no resource fits. An action the policy names literally
    is a real mismatch (MEDIUM, rule `RESOURCE_MISMATCH[action]`). Actions that a wildcard such as
    `s3:List*` merely expands to (s3:ListAllMyBuckets on a bucket ARN) grant nothing on those
    resources: they are grouped per wildcard and reported as LOW. Wildcards themselves are gated
    by cdk-nag's AwsSolutions-IAM5, one acknowledgement per wildcard.
    """
    named = _actions(document)
    literal = {a.lower() for a in named if "*" not in a}
    wildcards = [a for a in named if "*" in a]
    out: list[tuple[str, str, str]] = []
    for item in raw:
        title, severity = str(item["title"]), str(item["severity"]).upper()
        if item["issue"] != "RESOURCE_MISMATCH" or not isinstance(item["detail"], list):
            detail = json.dumps(item["detail"]) if item["detail"] else ""
            out.append((item["issue"], severity, f"{title} {detail}".strip()))
            continue
        expanded: dict[str, list[str]] = {}
        for mismatch in item["detail"]:
            action, wanted = mismatch["action"], mismatch["required_format"]
            if action.lower() in literal:
                out.append(
                    (f"RESOURCE_MISMATCH[{action}]", severity, f"{title}: {action} needs {wanted}")
                )
                continue
            source = next((w for w in wildcards if fnmatch.fnmatch(action.lower(), w.lower())), "*")
            expanded.setdefault(source, []).append(action)
        for source, actions in expanded.items():
            message = f"{title}: {source} also expands to {', '.join(actions)}, which do not apply"
            out.append((f"RESOURCE_MISMATCH[{source}]", "LOW", f"{message} (no effect)"))
    return out


# --- all together --------------------------------------------------------------------------------

TOOLS: dict[Tool, Callable[[Scan], ToolRun]] = {
    "cfn-lint": cfn_lint,
    "checkov": checkov,
    "parliament": parliament,
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
            "findings": [f.to_json() for f in self.findings],
            "summary": self.summary,
            "stale_acknowledgements": self.stale,
            "seconds": round(self.seconds, 2),
        }


def _timed(tool: Tool, scan: Scan) -> ToolRun:
    started = time.perf_counter()
    try:
        run = TOOLS[tool](scan)
    except (ToolError, OSError, subprocess.TimeoutExpired, json.JSONDecodeError) as error:
        crash = Finding(tool, "", "", "", "", "TOOL_ERROR", "critical", str(error).splitlines()[0])
        run = ToolRun(tool=tool, version="unknown", unit="-", checks_run=0, findings=[crash])
    run.seconds = time.perf_counter() - started
    return run


def acknowledge(
    findings: list[Finding], tools: Sequence[Tool], entries: list[Acknowledgement] | None = None
) -> list[str]:
    """Mark registry-acknowledged findings; returns the stale entries of the tools that ran.

    cfn-lint warnings and parliament findings below MEDIUM stay informational when unmatched.
    """
    namespaces = [NAMESPACE[t] for t in tools if t in NAMESPACE]
    scoped = [f for f in findings if f.tool in NAMESPACE]
    matched = acknowledgements.match_findings(scoped, entries, namespaces)
    for finding, entry in zip(scoped, matched.acknowledged, strict=True):
        if entry is not None:
            finding.status = "acknowledged"
            finding.reason = f"{entry.reason} (owner: {entry.owner})"
        elif finding.tool == "cfn-lint" and finding.severity != "error":
            finding.status = "passed-info"
    return [f"{entry.rule} at {path} matches no finding (stale)" for entry, path in matched.stale]


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
    stale = acknowledge(findings, healthy, entries)
    results = Results(
        findings=findings,
        summary=[r.summary() for r in runs],
        stale=stale,
        seconds=time.perf_counter() - started,
    )
    target = outdir / "scanners" / "results.json"
    target.parent.mkdir(exist_ok=True)
    target.write_text(json.dumps(results.to_json(), indent=2) + "\n")
    return results


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m policies.scanners", description=__doc__)
    parser.add_argument("outdir", type=Path, help="the cloud assembly, e.g. cdk.out")
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV, help="the scanner venv")
    args = parser.parse_args(argv)
    if not (args.outdir / "manifest.json").is_file():
        print(f"outdir: {args.outdir} has no manifest.json; run 'make synth' first")
        return 2
    if not (args.venv / "bin" / "checkov").is_file():
        print(f"--venv: {args.venv} has no scanners; run 'make scanners' first")
        return 2
    try:
        registry = acknowledgements.load()
    except acknowledgements.RegistryError as error:
        print(error)
        return 2
    results = run(args.outdir, args.venv, entries=registry)
    for line in results.failures:
        print(f"FAIL {line}")
    for summary in results.summary:
        print(
            "{tool} {version}: {checks_run} {unit}, {passed} passed, {failed} failed, "
            "{acknowledged} acknowledged, {info} info ({seconds}s)".format(**summary)
        )
    print(f"scanners: {results.seconds:.1f}s, results in {args.outdir}/scanners/results.json")
    return 1 if results.failures else 0


if __name__ == "__main__":
    sys.exit(main())
