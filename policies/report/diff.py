"""What changed between two synth outputs: outside access, findings, acknowledgements, IAM, keys.

This is what a prod approver reads: the release's security delta, not the whole inventory. The
project's per-principal view comes first; the pinned CLI's `cdk diff --security-only` of each
changed stack (the pipeline's broadening check) is the ground truth under it, and a broadening
the CLI reports that the project view lacks is said first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

from policies.findings import Finding
from policies.report import cdk_diff, provenance, summaries
from policies.report.document import Section, Table
from policies.report.model import Assembly, Unit


@dataclass
class UnitDiff:
    """The changes within one unit (toolchain stack or Stage)."""

    unit: str
    # Who outside the account gains or loses access through a resource-based policy: read first.
    outside_added: list[summaries.OutsideGrant] = field(default_factory=list)
    outside_removed: list[summaries.OutsideGrant] = field(default_factory=list)
    new_findings: list[Finding] = field(default_factory=list)
    resolved_findings: list[Finding] = field(default_factory=list)
    new_acknowledgements: list[Finding] = field(default_factory=list)
    removed_acknowledgements: list[Finding] = field(default_factory=list)
    changed_acknowledgements: list[tuple[Finding, Finding]] = field(default_factory=list)
    added_permissions: list[tuple[str, summaries.Permission]] = field(default_factory=list)
    removed_permissions: list[tuple[str, summaries.Permission]] = field(default_factory=list)
    trust_changes: list[tuple[str, list[str], list[str]]] = field(default_factory=list)
    added_policy_grants: list[tuple[str, summaries.PolicyGrant]] = field(default_factory=list)
    removed_policy_grants: list[tuple[str, summaries.PolicyGrant]] = field(default_factory=list)
    encryption_changes: list[tuple[str, str, str]] = field(default_factory=list)
    added_managed_policies: list[tuple[str, str]] = field(default_factory=list)
    removed_managed_policies: list[tuple[str, str]] = field(default_factory=list)
    # The CLI's `cdk diff --security-only` per changed stack, and its broadening rows that
    # nothing above accounts for.
    security_diff: list[cdk_diff.StackCheck] = field(default_factory=list)
    unmatched: list[tuple[str, cdk_diff.Change]] = field(default_factory=list)

    def empty(self) -> bool:
        """Nothing changed in the project view, and the CLI reports no broadening and no error."""
        own = any(v for k, v in vars(self).items() if k not in ("unit", "security_diff"))
        return not own and not any(c.broadens or c.error for c in self.security_diff)

    @property
    def broadens(self) -> bool:
        """Broadening as the CLI counts it: an Allow gained or a Deny lost (identity, resource
        or trust policy), a managed policy attached; plus any access gained from outside."""
        return (
            any(p.effect != "Deny" for _, p in self.added_permissions)
            or any(p.effect == "Deny" for _, p in self.removed_permissions)
            or any(g.effect != "Deny" for _, g in self.added_policy_grants)
            or any(g.effect == "Deny" for _, g in self.removed_policy_grants)
            or any(set(after) - set(before) for _, before, after in self.trust_changes)
            or bool(self.outside_added or self.added_managed_policies)
        )


@dataclass
class Diff:
    """The changes of every unit present in both synth outputs, and the units added or removed."""

    units: list[UnitDiff]
    added_units: list[str]
    removed_units: list[str]
    # The CLI's security diff of the stacks of new units (against an empty template).
    added_unit_checks: list[cdk_diff.StackCheck] = field(default_factory=list)
    base: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "broadens_permissions": self.broadens_permissions,
            "cli_broadens": self.cli_broadens,
            "incomplete": self.incomplete,
            "units": [{f.name: _json(getattr(u, f.name)) for f in fields(u)} for u in self.units],
            "added_units": list(self.added_units),
            "removed_units": list(self.removed_units),
            "added_unit_checks": _json(self.added_unit_checks),
        }

    def stack_checks(self) -> list[cdk_diff.StackCheck]:
        """Every CLI run of this diff: the compared units' stacks, then the new units'."""
        return [c for u in self.units for c in u.security_diff] + self.added_unit_checks

    @property
    def broadens_permissions(self) -> bool:
        """The project view or the CLI sees a broadening, or a unit is new."""
        return any(u.broadens for u in self.units) or self.cli_broadens or bool(self.added_units)

    @property
    def cli_broadens(self) -> bool:
        return any(c.broadens for c in self.stack_checks())

    @property
    def incomplete(self) -> list[str]:
        """Stacks whose CLI diff failed: this diff cannot vouch for them."""
        return [c.stack for c in self.stack_checks() if c.error]


def base_label(base: Path) -> str:
    """The base release by commit and pipeline execution, never a folder path."""
    found = provenance.load(base)
    return f"base: {found.label()}" if found else "base: <unnamed synth output>"


def _json(value: Any) -> Any:
    """diff.json's form of a value: findings keep the keys the published diffs have used."""
    if isinstance(value, Finding):
        return {
            "source": value.source,
            "rule": value.rule,
            "path": value.where,
            "description": value.message,
            "severity": value.severity,
            "reason": value.reason,
            "acknowledged_at": value.acknowledged_at,
            "template_file": value.template,
            "logical_id": value.logical_id,
        }
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, (list, tuple)):
        return [_json(item) for item in value]
    return value


def _findings(unit: Unit, acknowledged: bool) -> dict[tuple[str, str, str], Finding]:
    return {f.key: f for f in unit.findings if f.acknowledged == acknowledged}


def _permissions(unit: Unit) -> dict[str, summaries.RoleSummary]:
    return {role.path: role for stack in unit.stacks for role in summaries.roles(stack)}


def _policies(unit: Unit) -> dict[str, summaries.ResourcePolicySummary]:
    return {p.path: p for stack in unit.stacks for p in summaries.resource_policies(stack)}


def _compare_policies(old: Unit, new: Unit, diff: UnitDiff) -> None:
    before, after = _policies(old), _policies(new)
    old_outside = {g for p in before.values() for g in p.outside}
    new_outside = {g for p in after.values() for g in p.outside}
    diff.outside_added = sorted(new_outside - old_outside)
    diff.outside_removed = sorted(old_outside - new_outside)
    for path in sorted(before.keys() | after.keys()):
        was = before[path].grants if path in before else set()
        now = after[path].grants if path in after else set()
        diff.added_policy_grants += [(path, g) for g in sorted(now - was)]
        diff.removed_policy_grants += [(path, g) for g in sorted(was - now)]


def _stores(unit: Unit) -> dict[str, summaries.Store]:
    return {store.path: store for stack in unit.stacks for store in summaries.stores(stack)}


def _compare_outside_trust(old: Unit, new: Unit, diff: UnitDiff) -> None:
    before = {g for stack in old.stacks for g in summaries.trusts(stack)}
    after = {g for stack in new.stacks for g in summaries.trusts(stack)}
    diff.outside_added = sorted({*diff.outside_added, *(after - before)})
    diff.outside_removed = sorted({*diff.outside_removed, *(before - after)})


def _reported(old: Unit, new: Unit, diff: UnitDiff) -> set[str]:
    """What the project view reports as broadening, in the CLI's terms: action names (lower
    case) of gained Allows and lost Denies, and attached managed policy ARNs."""
    gained = [p for _, p in diff.added_permissions if p.effect != "Deny"]
    gained += [p for _, p in diff.removed_permissions if p.effect == "Deny"]
    grants = [g for _, g in diff.added_policy_grants if g.effect != "Deny"]
    grants += [g for _, g in diff.removed_policy_grants if g.effect == "Deny"]
    old_roles, new_roles = _permissions(old), _permissions(new)
    for path, role in new_roles.items():
        was = old_roles[path].trust if path in old_roles else set()
        grants += [g for g in role.trust - was if g.effect != "Deny"]
    keys = {p.action.lower() for p in gained} | {g.action.lower() for g in grants}
    return keys | {m.lower() for _, m in diff.added_managed_policies}


def compare_units(
    old: Unit, new: Unit, checks: list[cdk_diff.StackCheck] | None = None
) -> UnitDiff:
    diff = UnitDiff(unit=new.name)
    _compare_policies(old, new, diff)
    _compare_outside_trust(old, new, diff)
    old_open, new_open = _findings(old, False), _findings(new, False)
    diff.new_findings = [new_open[k] for k in sorted(new_open.keys() - old_open.keys())]
    diff.resolved_findings = [old_open[k] for k in sorted(old_open.keys() - new_open.keys())]
    old_ack, new_ack = _findings(old, True), _findings(new, True)
    diff.new_acknowledgements = [new_ack[k] for k in sorted(new_ack.keys() - old_ack.keys())]
    diff.removed_acknowledgements = [old_ack[k] for k in sorted(old_ack.keys() - new_ack.keys())]
    diff.changed_acknowledgements = [
        (old_ack[k], new_ack[k])
        for k in sorted(old_ack.keys() & new_ack.keys())
        if old_ack[k].reason != new_ack[k].reason
    ]
    old_roles, new_roles = _permissions(old), _permissions(new)
    for path in sorted(old_roles.keys() | new_roles.keys()):
        before = old_roles.get(path, summaries.RoleSummary(path))
        after = new_roles.get(path, summaries.RoleSummary(path))
        diff.added_permissions += [
            (path, p) for p in sorted(after.permissions - before.permissions)
        ]
        diff.removed_permissions += [
            (path, p) for p in sorted(before.permissions - after.permissions)
        ]
        if sorted(before.trusted) != sorted(after.trusted):
            diff.trust_changes.append((path, sorted(before.trusted), sorted(after.trusted)))
        was, now = set(before.managed_policies), set(after.managed_policies)
        diff.added_managed_policies += [(path, m) for m in sorted(now - was)]
        diff.removed_managed_policies += [(path, m) for m in sorted(was - now)]
    old_stores, new_stores = _stores(old), _stores(new)
    for path in sorted(old_stores.keys() | new_stores.keys()):
        before_key = old_stores[path].key if path in old_stores else "(no such store)"
        after_key = new_stores[path].key if path in new_stores else "(removed)"
        if before_key != after_key:
            diff.encryption_changes.append((path, before_key, after_key))
    diff.security_diff = list(checks or [])
    diff.unmatched = cdk_diff.unmatched(diff.security_diff, _reported(old, new, diff))
    return diff


def compare(
    old: Assembly, new: Assembly, checks: Mapping[str, list[cdk_diff.StackCheck]] | None = None
) -> Diff:
    """The project view of every unit, with the CLI's security diff of each changed stack
    (`checks`, by unit name; run here when not given)."""
    if checks is None:
        checks = cdk_diff.check(old, new)
    old_units = {u.name: u for u in old.units}
    new_units = {u.name: u for u in new.units}
    units = [
        compare_units(old_units[name], unit, checks.get(name, []))
        for name, unit in new_units.items()
        if name in old_units
    ]
    added = [name for name in new_units if name not in old_units]
    removed = [name for name in old_units if name not in new_units]
    fresh = [c for name in added for c in checks.get(name, [])]
    return Diff(units=units, added_units=added, removed_units=removed, added_unit_checks=fresh)


def _finding_rows(findings: list[Finding]) -> list[list[str]]:
    return [[f.source, f.rule, f"`{f.where}`", f.reason or f.message] for f in findings]


def _headline(diff: Diff) -> str:
    if diff.broadens_permissions:
        headline = "This release **broadens permissions**: read the changes below."
    else:
        headline = "This release adds no IAM permission, no grant and no trust relationship."
    checks = diff.stack_checks()
    if not checks:
        headline += (
            " The CLI's `cdk diff --security-only` had nothing to compare: every template is "
            "byte-identical to the base's."
        )
    else:
        verdict = "reports a broadening" if diff.cli_broadens else "reports no broadening"
        headline += (
            f" The pinned CLI's `cdk diff --security-only` (the pipeline's broadening check), "
            f"run on the {len(checks)} changed stack(s), {verdict}."
        )
    missed = sum(len(u.unmatched) for u in diff.units)
    if missed:
        headline += (
            f" **The CLI reports {missed} broadening change(s) this report's own view does not "
            "show**: see *Reported by the CLI only* in the units below."
        )
    if diff.incomplete:
        headline += (
            " **The CLI's diff failed for "
            + ", ".join(f"`{s}`" for s in diff.incomplete)
            + "**: this diff cannot vouch for those stacks."
        )
    return headline


def _change_rows(
    checks: list[cdk_diff.StackCheck], table: str
) -> tuple[list[str], list[list[str]]]:
    headers: list[str] = []
    rows = []
    for check in checks:
        headers = headers or check.headers.get(table, [])
        rows += [
            [f"`{check.stack}`", c.sign, *(f"`{cell}`" if cell else "" for cell in c.cells)]
            for c in check.changes
            if c.table == table
        ]
    return ["Stack", "", *headers], rows


def cli_section(checks: list[cdk_diff.StackCheck]) -> Section:
    """The CLI's own report, per stack: broadening or not, then its tables, parsed."""
    section = Section("The CLI's security diff (`cdk diff --security-only`)")
    if not checks:
        section.add("Not run: every template of this unit is byte-identical to the base's.")
        return section
    for check in checks:
        against = "an empty template (new stack)" if check.new_stack else "the base's template"
        if check.error:
            verdict = f"**failed**: {check.error}"
        elif check.broadens:
            verdict = "**broadens permissions**"
        else:
            verdict = "no broadening"
        section.add(f"`{check.stack}` against {against}: {verdict}.")
    for table in cdk_diff.TABLES:
        headers, rows = _change_rows(checks, table)
        if rows:
            section.add(Section(table).add(Table(headers, rows)))
    return section


def _unmatched_section(unit: UnitDiff) -> Section:
    rows = [
        [f"`{stack}`", c.table, c.sign, " ".join(f"`{cell}`" for cell in c.cells if cell)]
        for stack, c in unit.unmatched
    ]
    note = (
        "The pinned CLI counts these as broadening and nothing in this report's own view "
        "accounts for them: review them from the CLI's rows."
    )
    table = Table(["Stack", "Table", "", "Row"], rows)
    return Section("Reported by the CLI only").add(note).add(table)


def document(diff: Diff, base_label: str) -> Section:
    doc = Section("Security changes in this release")
    doc.add(f"Compared with {base_label}. {_headline(diff)}")
    if diff.added_units or diff.removed_units:
        doc.add(
            f"New units: {', '.join(diff.added_units) or 'none'}; removed units: "
            f"{', '.join(diff.removed_units) or 'none'}."
        )
    if diff.added_unit_checks:
        doc.add(cli_section(diff.added_unit_checks))
    for unit in diff.units:
        section = Section(f"{unit.unit}", anchor=f"diff-{unit.unit.lower()}")
        if unit.empty():
            checked = len(unit.security_diff)
            section.add(
                f"No security-relevant change; the CLI's `cdk diff --security-only` agrees "
                f"({checked} changed stack(s) diffed)."
                if checked
                else "No security-relevant change: every template is byte-identical to the base's."
            )
            doc.add(section)
            continue
        if unit.unmatched:
            section.add(_unmatched_section(unit))
        section.add(_outside_section(unit))
        section.add(cli_section(unit.security_diff))
        headers = ["Source", "Rule", "Construct", "Reason / description"]
        section.add(
            Section("New open findings").add(Table(headers, _finding_rows(unit.new_findings)))
        )
        section.add(
            Section("Resolved findings").add(Table(headers, _finding_rows(unit.resolved_findings)))
        )
        section.add(
            Section("New acknowledgements").add(
                Table(headers, _finding_rows(unit.new_acknowledgements))
            )
        )
        section.add(
            Section("Removed acknowledgements").add(
                Table(headers, _finding_rows(unit.removed_acknowledgements))
            )
        )
        section.add(
            Section("Changed acknowledgement reasons").add(
                Table(
                    ["Rule", "Construct", "Before", "After"],
                    [
                        [a.rule, f"`{a.where}`", a.reason, b.reason]
                        for a, b in unit.changed_acknowledgements
                    ],
                )
            )
        )
        permission_headers = ["Role", "Effect", "Action", "Resource", "Condition"]
        section.add(
            Section("Added IAM permissions").add(
                Table(
                    permission_headers,
                    [
                        [r, p.effect, p.action, f"`{p.resource}`", p.condition]
                        for r, p in unit.added_permissions
                    ],
                )
            )
        )
        section.add(
            Section("Removed IAM permissions").add(
                Table(
                    permission_headers,
                    [
                        [r, p.effect, p.action, f"`{p.resource}`", p.condition]
                        for r, p in unit.removed_permissions
                    ],
                )
            )
        )
        section.add(
            Section("Trust changes").add(
                Table(
                    ["Role", "Trusted before", "Trusted after"],
                    [[r, "; ".join(b), "; ".join(a)] for r, b, a in unit.trust_changes],
                )
            )
        )
        grant_headers = ["Policy", "Principal", "Effect", "Action", "Condition"]
        for title, grants in (
            ("Added resource-policy grants", unit.added_policy_grants),
            ("Removed resource-policy grants", unit.removed_policy_grants),
        ):
            rows = [
                [f"`{r}`", f"`{g.principal}`", g.effect, g.action, g.condition] for r, g in grants
            ]
            section.add(Section(title).add(Table(grant_headers, rows)))
        section.add(
            Section("Managed policy changes").add(
                Table(
                    ["Role", "Change", "Managed policy"],
                    [[r, "attached", f"`{m}`"] for r, m in unit.added_managed_policies]
                    + [[r, "detached", f"`{m}`"] for r, m in unit.removed_managed_policies],
                )
            )
        )
        section.add(
            Section("Encryption changes").add(
                Table(
                    ["Data store", "Key before", "Key after"],
                    [[f"`{p}`", f"`{b}`", f"`{a}`"] for p, b, a in unit.encryption_changes],
                )
            )
        )
        doc.add(section)
    return doc


def _outside_section(unit: UnitDiff) -> Section:
    """Grants to other accounts or anyone, gained and lost: the first thing an approver reads."""
    rows = [
        [
            change,
            g.who,
            f"`{g.principal}`",
            g.actions,
            f"`{g.resource}`",
            f"`{g.condition}`" if g.condition else "",
        ]
        for change, grants in (("gained", unit.outside_added), ("lost", unit.outside_removed))
        for g in grants
    ]
    return Section("Who outside this account gains or loses access").add(
        Table(["Change", "Account", "Principal", "Actions", "Policy", "Condition"], rows)
    )
