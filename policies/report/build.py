"""Builds the reviewer's documents: one page per unit (toolchain stack, each Stage) and an index."""

from __future__ import annotations

from collections import defaultdict

from policies.findings import Finding
from policies.report import summaries
from policies.report.document import Section, Table
from policies.report.model import Assembly, Unit
from policies.report.packs import rules_per_pack

PACKS = ("AwsSolutions", "Serverless", "Platform")
SCANNERS = ("cfn-lint", "checkov", "parliament")


def file_stem(unit: Unit) -> str:
    return unit.name.lower()


def _count(findings: list[Finding], source: str) -> int:
    return sum(1 for f in findings if f.source == source)


def summary_table(assembly: Assembly, unit: Unit) -> Table:
    rules = rules_per_pack()
    rows = []
    for pack in PACKS:
        if pack not in assembly.packs:
            continue
        rows.append(
            [
                pack,
                "cdk-nag pack",
                str(rules.get(pack, "?")),
                str(_count(unit.open, pack)),
                str(_count(unit.acknowledged, pack)),
            ]
        )
    for tool in assembly.scanner_summary:
        name = str(tool.get("tool"))
        rows.append(
            [
                name,
                f"scanner {tool.get('version', '')}".strip(),
                str(tool.get("checks_run", "")),
                str(_count(unit.open, name)),
                str(_count(unit.acknowledged, name)),
            ]
        )
    return Table(["Check", "Kind", "Rules / checks", "Open", "Acknowledged"], rows)


def findings_table(findings: list[Finding]) -> Table:
    return Table(
        ["Source", "Rule", "Construct", "Severity", "What"],
        [[f.source, f.rule, f"`{f.where}`", f.severity, f.message] for f in findings],
        empty="None: nothing is open.",
    )


def acknowledged_table(findings: list[Finding]) -> Table:
    """One row per rule and reason (the registry entry's decision), with every construct it
    covers: a reviewer reads each decision once, not once per resource."""
    groups: dict[tuple[str, str, str], list[Finding]] = {}
    for finding in sorted(findings, key=lambda f: f.key):
        family = finding.rule.split("[", 1)[0]
        groups.setdefault((finding.source, family, finding.reason), []).append(finding)
    rows = []
    for (source, family, reason), members in groups.items():
        details = sorted({f.rule.removeprefix(family) for f in members} - {""})
        rule = family + (f" ({len(details)} variants)" if len(details) > 1 else "".join(details))
        where = ", ".join(f"`{w}`" for w in sorted({f.where for f in members}))
        rows.append([source, rule, str(len(members)), reason, where])
    return Table(["Source", "Rule", "Findings", "Reason", "Constructs"], rows)


OUTSIDE = "Who outside this account can do what"


def outside_section(unit: Unit) -> Section:
    """Every grant of a resource-based or trust policy to another account or anyone: read first."""
    rows = [
        [g.who, f"`{g.principal}`", g.actions, f"`{g.resource}`"]
        for stack in unit.stacks
        for g in summaries.outside_access(stack)
    ]
    return Section(OUTSIDE, anchor="outside").add(
        Table(
            ["Account", "Principal", "Actions", "Policy"],
            rows,
            "No resource or trust policy lets in another account or anyone.",
        )
    )


def resource_policy_section(unit: Unit) -> Section:
    section = Section("Resource-based policies", anchor="resource-policies")
    for stack in unit.stacks:
        for policy in summaries.resource_policies(stack):
            rows = [
                [f"`{g.principal}`", g.effect, g.action, f"`{g.condition}`" if g.condition else ""]
                for g in sorted(policy.grants)
            ]
            sub = Section(f"{policy.type} {policy.path}", anchor=f"policy-{policy.path}")
            sub.add(Table(["Principal", "Effect", "Action", "Condition"], rows, "No statements."))
            section.add(sub)
    return section


def iam_section(unit: Unit) -> Section:
    section = Section("IAM summary", anchor="iam")
    section.add(outside_section(unit))
    section.add(resource_policy_section(unit))
    section.add(
        "Every role the unit creates: who can assume it, and each action it may take on each "
        "resource (statements of its inline and attached policies, merged). Who outside this "
        "account can get in through a resource-based policy comes first, above."
    )
    for stack in unit.stacks:
        for role in summaries.roles(stack):
            grouped: dict[tuple[str, str, str], list[str]] = defaultdict(list)
            for p in sorted(role.permissions):
                grouped[(p.effect, p.resource, p.condition)].append(p.action)
            rows = [
                [effect, ", ".join(actions), f"`{resource}`", f"`{condition}`" if condition else ""]
                for (effect, resource, condition), actions in grouped.items()
            ]
            rows += [["Managed policy", "", f"`{m}`", ""] for m in role.managed_policies]
            sub = Section(f"Role {role.path}", anchor=f"role-{role.path}")
            sub.add("Trusted by: " + ("; ".join(f"`{t}`" for t in role.trusted) or "nobody"))
            sub.add(Table(["Effect", "Actions", "Resource", "Condition"], rows, "No permissions."))
            section.add(sub)
    return section


def encryption_section(unit: Unit) -> Section:
    rows = [
        [f"`{s.path}`", s.type, f"`{s.key}`", "yes" if s.customer_managed else "no"]
        for stack in unit.stacks
        for s in summaries.stores(stack)
    ]
    return Section("Encryption summary", anchor="encryption").add(
        Table(["Data store", "Type", "Key", "Customer-managed"], rows)
    )


def scanner_section(unit: Unit) -> Section:
    rows = [
        [
            str(item.get("tool")),
            str(item.get("rule")),
            f"`{item.get('construct_path') or item.get('resource')}`",
            str(item.get("severity")),
            str(item.get("status")),
            str(item.get("reason") or item.get("message")),
        ]
        for item in unit.scanners
        if item.get("status") in ("failed", "acknowledged")
    ]
    return Section("Scanner results", anchor="scanners").add(
        Table(
            ["Scanner", "Check", "Resource", "Severity", "Status", "Reason / message"],
            rows,
            "No failed or acknowledged scanner checks.",
        )
    )


def unit_document(assembly: Assembly, unit: Unit) -> Section:
    doc = Section(f"Security report: {unit.name}")
    overview = Section("Summary", anchor="summary")
    verdict = "pass" if not unit.open else "FAIL"
    overview.add(
        f"Gate: **{verdict}**. {len(unit.open)} open finding(s), "
        f"{len(unit.acknowledged)} acknowledged."
    )
    overview.add(summary_table(assembly, unit))
    overview.add(
        Table(
            ["Stack", "Template", "Termination protection"],
            [
                [s.path, f"`{s.relpath}`", "yes" if s.termination_protection else "no"]
                for s in unit.stacks
            ],
        )
    )
    doc.add(overview)
    doc.add(Section("Open findings", anchor="open").add(findings_table(unit.open)))
    doc.add(
        Section("Acknowledged findings", anchor="acknowledged")
        .add(
            "Each accepted decision once: rule, reason and the constructs it covers, as "
            "recorded in `policies/acknowledgements.toml` and applied at synth."
        )
        .add(acknowledged_table(unit.acknowledged))
    )
    doc.add(iam_section(unit))
    doc.add(encryption_section(unit))
    doc.add(scanner_section(unit))
    return doc


def index_document(assembly: Assembly, extension: str) -> Section:
    doc = Section("Security report")
    rows = []
    for unit in assembly.units:
        stores = [s for stack in unit.stacks for s in summaries.stores(stack)]
        roles = [r for stack in unit.stacks for r in summaries.roles(stack)]
        rows.append(
            [
                f"[{unit.name}]({file_stem(unit)}.{extension})",
                str(len(unit.open)),
                str(len(unit.acknowledged)),
                str(len(roles)),
                f"{sum(s.customer_managed for s in stores)}/{len(stores)}",
            ]
        )
    doc.add(
        Section("Units", anchor="units").add(
            Table(
                ["Unit", "Open", "Acknowledged", "IAM roles", "Stores under a customer key"],
                rows,
            )
        )
    )
    packs = Table(
        ["Check", "Conclusion"],
        [[name, conclusion] for name, conclusion in assembly.packs.items()]
        + [
            [str(t.get("tool")), "pass" if not t.get("failed") else "FAIL"]
            for t in assembly.scanner_summary
        ],
    )
    doc.add(Section("Checks", anchor="checks").add(packs))
    return doc
