"""What changed between two synth outputs: outside access, findings, acknowledgements, IAM, keys.

This is what a prod approver reads: the release's security delta, not the whole inventory.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, is_dataclass
from typing import Any

from policies.findings import Finding
from policies.report import summaries
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

    def empty(self) -> bool:
        return not any(value for key, value in vars(self).items() if key != "unit")


@dataclass
class Diff:
    """The changes of every unit present in both synth outputs, and the units added or removed."""

    units: list[UnitDiff]
    added_units: list[str]
    removed_units: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "units": [{f.name: _json(getattr(u, f.name)) for f in fields(u)} for u in self.units],
            "added_units": list(self.added_units),
            "removed_units": list(self.removed_units),
        }

    @property
    def broadens_permissions(self) -> bool:
        return any(
            u.added_permissions or u.trust_changes or u.outside_added or u.added_policy_grants
            for u in self.units
        ) or bool(self.added_units)


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


def compare_units(old: Unit, new: Unit) -> UnitDiff:
    diff = UnitDiff(unit=new.name)
    _compare_policies(old, new, diff)
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
    old_stores, new_stores = _stores(old), _stores(new)
    for path in sorted(old_stores.keys() | new_stores.keys()):
        before_key = old_stores[path].key if path in old_stores else "(no such store)"
        after_key = new_stores[path].key if path in new_stores else "(removed)"
        if before_key != after_key:
            diff.encryption_changes.append((path, before_key, after_key))
    return diff


def compare(old: Assembly, new: Assembly) -> Diff:
    old_units = {u.name: u for u in old.units}
    new_units = {u.name: u for u in new.units}
    units = [
        compare_units(old_units[name], unit)
        for name, unit in new_units.items()
        if name in old_units
    ]
    added = [name for name in new_units if name not in old_units]
    removed = [name for name in old_units if name not in new_units]
    return Diff(units=units, added_units=added, removed_units=removed)


def _finding_rows(findings: list[Finding]) -> list[list[str]]:
    return [[f.source, f.rule, f"`{f.where}`", f.reason or f.message] for f in findings]


def document(diff: Diff, base_label: str) -> Section:
    doc = Section("Security changes in this release")
    headline = (
        "This release **broadens permissions**: read the IAM changes below."
        if diff.broadens_permissions
        else "This release adds no IAM permission and no trust relationship."
    )
    doc.add(f"Compared with `{base_label}`. {headline}")
    if diff.added_units or diff.removed_units:
        doc.add(
            f"New units: {', '.join(diff.added_units) or 'none'}; removed units: "
            f"{', '.join(diff.removed_units) or 'none'}."
        )
    for unit in diff.units:
        section = Section(f"{unit.unit}", anchor=f"diff-{unit.unit.lower()}")
        if unit.empty():
            section.add("No security-relevant change.")
            doc.add(section)
            continue
        section.add(_outside_section(unit))
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
        [change, g.who, f"`{g.principal}`", g.actions, f"`{g.resource}`"]
        for change, grants in (("gained", unit.outside_added), ("lost", unit.outside_removed))
        for g in grants
    ]
    return Section("Who outside this account gains or loses access").add(
        Table(["Change", "Account", "Principal", "Actions", "Policy"], rows)
    )
