"""parliament on every identity policy of every template, intrinsics resolved; MEDIUM gates."""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from typing import Any

from cloud_assembly.intrinsics import Resolver, UnresolvableError
from cloud_assembly.templates import StackTemplate
from policies.findings import Finding
from policies.scanners.tool import Scan, ToolError, ToolRun, finding, run

AUDIT = Path(__file__).with_name("parliament_audit.py")  # runs in the scanner venv
GATING = {"MEDIUM", "HIGH", "CRITICAL"}
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
        parameters=dict(stack.parameters),  # a nested stack's, from its parent
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
                message = f"{label} not audited: {error}"
                findings.append(
                    finding(
                        "parliament",
                        stack,
                        logical_id,
                        "UNRESOLVED_INTRINSIC",
                        "medium",
                        message,
                        unit=job_id,
                    )
                )
                continue
            jobs.append({"id": job_id, "document": resolved})
            where[job_id] = (stack, logical_id, label)
    code, out, err = run([scan.exe("python"), str(AUDIT)], cwd=scan.outdir, stdin=json.dumps(jobs))
    if code != 0:
        raise ToolError(f"parliament exited {code}: {err.strip()[-500:]}")
    report = json.loads(out)
    for result in report["results"]:
        stack, logical_id, label = where[result["id"]]
        document = next(job["document"] for job in jobs if job["id"] == result["id"])
        for issue, severity, message in split_findings(result["findings"], document):
            found = finding(
                "parliament",
                stack,
                logical_id,
                issue,
                severity.lower(),
                f"{label}: {message}",
                unit=result["id"],
            )
            found.status = "failed" if severity in GATING else "passed-info"
            findings.append(found)
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


def split_findings(raw: list[dict[str, Any]], document: Any) -> list[tuple[str, str, str]]:
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
