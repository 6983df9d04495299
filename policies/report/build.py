"""Builds the reviewer's documents: one page per unit (toolchain stack, each Stage) and an index."""

from __future__ import annotations

from collections import defaultdict

from cloud_assembly.templates import StackTemplate
from policies.findings import Finding
from policies.report import decisions, keys, sources, summaries
from policies.report.alike import merge
from policies.report.document import PROVENANCE, VERDICT, Groups, Section, Table
from policies.report.model import Assembly, Unit
from policies.report.packs import rules_per_pack
from policies.report.provenance import Provenance

PACKS = ("AwsSolutions", "Serverless", "Platform")
SCANNERS = ("cfn-lint", "checkov", "parliament")


def file_stem(unit: Unit) -> str:
    return unit.name.lower()


def _count(findings: list[Finding], source: str) -> int:
    return sum(1 for f in findings if f.source == source)


def summary_table(assembly: Assembly, unit: Unit) -> Table:
    """Per pack and scanner: what it ran, and the findings (rule x resource) it left in the unit."""
    rules = rules_per_pack()
    rows = []
    for pack in PACKS:
        if pack not in assembly.packs:
            continue
        rows.append(
            [
                pack,
                "cdk-nag pack",
                f"{rules.get(pack, '?')} rules",
                str(_count(unit.open, pack)),
                str(_count(unit.acknowledged, pack)),
            ]
        )
    for tool in assembly.scanner_summary:
        name = str(tool.get("tool"))
        ran = f"{tool.get('checks_run', '?')} {tool.get('unit', 'checks')} (all units)"
        rows.append(
            [
                name,
                f"scanner {tool.get('version', '')}".strip(),
                ran,
                str(_count(unit.open, name)),
                str(_count(unit.acknowledged, name)),
            ]
        )
    return Table(["Check", "Kind", "Ran", "Open findings", "Acknowledged findings"], rows)


def findings_table(findings: list[Finding]) -> Table:
    return Table(
        ["Source", "Rule", "Construct", "Severity", "What"],
        [[f.source, f.rule, f"`{f.where}`", f.severity, f.message] for f in findings],
        empty="None: nothing is open.",
    )


def _registry_cell(decision: decisions.Decision) -> str:
    return "; ".join(
        f"`{decisions.REGISTRY.name}:{line}` `{pattern}`" for line, pattern in decision.entries
    )


def _findings_cell(decision: decisions.Decision) -> str:
    constructs = len({m.finding.where for m in decision.members})
    if constructs == len(decision.members):
        return f"{constructs} construct{'s' if constructs != 1 else ''}"
    return f"{len(decision.members)} on {constructs} constructs"


def acknowledged_groups(unit: Unit) -> Groups:
    """One row per rule and reason (the registry's decision): what the rule asks, how many
    constructs it covers, who owns it and the registry entry; each row opens on its constructs."""
    rows = []
    for decision in decisions.decisions(unit.acknowledged):
        stacks = sorted(unit.stacks, key=lambda s: -len(s.path))
        members = Table(
            ["Construct", "Finding", "Registry line", "Defined in"],
            [
                [
                    f"`{m.finding.where}`",
                    m.finding.rule,
                    f"`{decisions.REGISTRY.name}:{m.line}`" if m.line else "",
                    _defined_in(m.finding, stacks),
                ]
                for m in decision.members
            ],
            caption=f"{decision.rule}: {decision.description}",
        )
        cells = [
            f"{decision.label()}: {decisions.first_sentence(decision.description)}",
            decision.source,
            _findings_cell(decision),
            decision.owner,
            decision.reason,
            _registry_cell(decision),
        ]
        rows.append((cells, members))
    return Groups(
        ["Rule: what it asks", "Source", "Findings", "Owner", "Reason", "Registry entry"],
        rows,
        "None: nothing is acknowledged.",
        widths=(6, 2, 2, 2, 10, 7),
    )


def _defined_in(finding: Finding, stacks: list[StackTemplate]) -> str:
    stack = next((s for s in stacks if finding.where.startswith(s.path + "/")), None)
    found = sources.locate(finding.where, stack.path) if stack else None
    return f"`{found.path}:{found.line}`" if found else ""


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
    """Every resource-based policy; policies with the same statements share one row."""
    same: dict[tuple[str, tuple[summaries.PolicyGrant, ...]], list[str]] = defaultdict(list)
    for stack in unit.stacks:
        for policy in summaries.resource_policies(stack):
            same[(policy.type, tuple(sorted(policy.grants)))].append(policy.path)
    rows = []
    for (kind, grants), paths in same.items():
        actions: dict[tuple[str, str, str], list[str]] = defaultdict(list)
        for g in grants:
            actions[(g.principal, g.effect, g.condition)].append(g.action)
        members = Table(
            ["Principal", "Effect", "Actions", "Condition"],
            [
                [f"`{who}`", effect, ", ".join(names), f"`{condition}`" if condition else ""]
                for (who, effect, condition), names in actions.items()
            ],
            "No statements.",
        )
        statements = f"{len(grants)} grant{'s' if len(grants) != 1 else ''}"
        rows.append((["; ".join(f"`{p}`" for p in paths), kind, statements], members))
    return Section("Resource-based policies", anchor="resource-policies").add(
        Groups(
            ["Policy", "Type", "Grants"],
            rows,
            "No resource-based policies.",
            markdown_members=True,
            widths=(6, 2, 1),
        )
    )


def _role_rows(role: summaries.RoleSummary) -> list[list[str]]:
    """One row per (effect, actions, condition): the resources they apply to listed together."""
    by_resource: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for p in sorted(role.permissions):
        by_resource[(p.effect, p.resource, p.condition)].append(p.action)
    same: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for (effect, resource, condition), actions in by_resource.items():
        same[(effect, ", ".join(actions), condition)].append(resource)
    rows = [
        [
            effect,
            actions,
            ", ".join(f"`{r}`" for r in resources),
            f"`{condition}`" if condition else "",
        ]
        for (effect, actions, condition), resources in same.items()
    ]
    return rows + [["Managed policy", "", f"`{m}`", ""] for m in role.managed_policies]


def iam_section(unit: Unit) -> Section:
    section = Section("IAM summary", anchor="iam")
    section.add(outside_section(unit))
    section.add(resource_policy_section(unit))
    items = []
    for stack in unit.stacks:
        for role in summaries.roles(stack):
            trusted = "; ".join(f"`{t}`" for t in role.trusted) or "nobody"
            actions = str(len({p.action for p in role.permissions}))
            items.append((role.path, [[trusted, actions], *_role_rows(role)]))
    rows = []
    for alike in merge(items):
        (trusted, actions), *permissions = alike.rows
        members = Table(["Effect", "Actions", "Resource", "Condition"], permissions)
        members.caption = f"Trusted by: {trusted}"
        rows.append(([alike.label(), trusted, actions], members))
    roles = Section("Roles", anchor="roles").add(
        "Every role the unit creates: who can assume it, and each action it may take on each "
        "resource (statements of its inline and attached policies, merged). Roles that differ "
        "only by one name (a provider's) are shown once, that name written `{name}`."
    )
    roles.add(
        Groups(
            ["Role", "Trusted by", "Distinct actions"],
            rows,
            "No roles.",
            markdown_members=True,
            widths=(4, 6, 1),
        )
    )
    return section.add(roles)


def encryption_section(unit: Unit) -> Section:
    items = [
        (s.path, [[s.type, f"`{s.key}`", "yes" if s.customer_managed else "no"]])
        for stack in unit.stacks
        for s in summaries.stores(stack)
    ]
    rows = [[alike.label(), *alike.rows[0]] for alike in merge(items)]
    section = Section("Encryption summary", anchor="encryption")
    section.add(keys_section(unit))
    return section.add(
        Section("Data stores", anchor="stores").add(
            Table(["Data store", "Type", "Key", "Customer-managed"], rows)
        )
    )


def _principals(labels: set[str]) -> str:
    # "X (with conditions)" adds nothing next to an unconditioned grant to X.
    kept = sorted(
        label
        for label in labels
        if label.removesuffix(" (with conditions)") == label
        or label.removesuffix(" (with conditions)") not in labels
    )
    return "; ".join(kept) or "nobody"


def keys_section(unit: Unit) -> Section:
    """Each KMS key: rotation, who administers and who uses it, and who outside the account may."""
    rows = [
        [
            f"`{k.path}`",
            k.rotation_label(),
            _principals(k.administer),
            _principals(k.use),
            "; ".join(f"**{o}**" for o in k.outside) or "nobody",
            str(k.protects),
        ]
        for stack in unit.stacks
        for k in keys.keys(stack)
    ]
    return Section("Keys", anchor="keys").add(
        Table(
            ["Key", "Rotation", "Administer", "Use", "Outside this account", "Stores under it"],
            rows,
            "No KMS keys.",
        )
    )


def scanner_section(assembly: Assembly, unit: Unit) -> Section:
    """What each scanner reported for the unit, as counts: its failed and acknowledged findings are
    listed once, with the packs' (open and acknowledged findings above)."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for item in unit.scanners:
        counts[str(item.get("tool"))][str(item.get("status"))] += 1
    rows = [
        [
            str(tool.get("tool")),
            str(tool.get("version", "")),
            str(counts[str(tool.get("tool"))]["failed"]),
            str(counts[str(tool.get("tool"))]["acknowledged"]),
            str(counts[str(tool.get("tool"))]["passed-info"]),
        ]
        for tool in assembly.scanner_summary
    ]
    return (
        Section("Scanners", anchor="scanners")
        .add(
            "Findings of cfn-lint, checkov and parliament on this unit's templates. Open and "
            "acknowledged ones are listed with the packs' findings above; informational results "
            "(below the gate's threshold) are counted here only."
        )
        .add(
            Table(
                ["Scanner", "Version", "Open findings", "Acknowledged findings", "Informational"],
                rows,
                "No scanner results in this synth output (run `make scan`).",
            )
        )
    )


def headline(unit: Unit) -> str:
    """The verdict first, with counts that say what they count."""
    groups = len(decisions.decisions(unit.acknowledged)) if unit.acknowledged else 0
    acknowledged = (
        f"{len(unit.acknowledged)} finding(s) acknowledged under {groups} registry decision(s), "
        "each with a reason and an owner"
    )
    if unit.open:
        return (
            f"{VERDICT}**FAIL**: {len(unit.open)} open finding(s) (a finding is one rule on one "
            f"resource) must be fixed or acknowledged; {acknowledged}."
        )
    what = "no open finding (a finding is one rule on one resource)"
    return f"{VERDICT}**pass**: {what}; {acknowledged}."


def provenance_line(provenance: Provenance | None) -> str:
    if provenance is None:
        return f"{PROVENANCE}unknown (no provenance.json beside the synth output)."
    return f"{PROVENANCE}{provenance.label()}; built with {provenance.tools()}."


def unit_document(assembly: Assembly, unit: Unit, provenance: Provenance | None = None) -> Section:
    doc = Section(f"Security report: {unit.name}")
    doc.add(headline(unit))
    doc.add(provenance_line(provenance))
    overview = Section("Summary", anchor="summary")
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
            "Each accepted decision once: the rule and what it asks, how many constructs it "
            f"covers, its owner, and the entry of `{decisions.REGISTRY_NAME}` (line and path "
            "pattern) that matched; in the HTML page each row opens on its constructs and the "
            "source file that defines each."
        )
        .add(acknowledged_groups(unit))
    )
    doc.add(iam_section(unit))
    doc.add(encryption_section(unit))
    doc.add(scanner_section(assembly, unit))
    return doc


def index_document(
    assembly: Assembly, extension: str, provenance: Provenance | None = None
) -> Section:
    doc = Section("Security report")
    opened = sum(len(u.open) for u in assembly.units)
    verdict = "**pass**" if not opened else f"**FAIL**: {opened} open finding(s)"
    doc.add(f"{VERDICT}{verdict} across {len(assembly.units)} units.")
    doc.add(provenance_line(provenance))
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
                [
                    "Unit",
                    "Open findings",
                    "Acknowledged findings",
                    "IAM roles",
                    "Stores under a customer key",
                ],
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
