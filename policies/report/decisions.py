"""Acknowledged findings as the registry decisions that accepted them: one group per rule and
reason, with the entry (file, line, pattern) that matched each finding and its owner."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from policies import acknowledgements
from policies.acknowledgements import Acknowledgement
from policies.findings import Finding

REGISTRY = acknowledgements.REGISTRY
REGISTRY_NAME = f"policies/{REGISTRY.name}"
_OWNER = re.compile(r"\s*\(owner: ([^)]*)\)\s*$")


def split_reason(reason: str) -> tuple[str, str]:
    """(reason, owner) from an acknowledgement reason carrying its ` (owner: x)` suffix."""
    match = _OWNER.search(reason)
    if match is None:
        return reason, ""
    return reason[: match.start()], match.group(1)


def family(rule: str) -> str:
    """A rule id without its finding suffix: AwsSolutions-IAM5[Action::s3:*] -> IAM5's id."""
    return rule.split("[", 1)[0]


def describe(finding: Finding) -> str:
    """What the rule requires, in general terms (a scanner's message names the resource)."""
    text = finding.message
    if finding.logical_id:
        text = text.replace(finding.logical_id, "the resource")
    return text


def first_sentence(text: str, limit: int = 160) -> str:
    sentence = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rstrip() + "…"


@dataclass
class Member:
    """One acknowledged finding of a group, with the registry line whose pattern matched it."""

    finding: Finding
    pattern: str = ""
    line: int = 0


@dataclass
class Decision:
    """Findings of one rule accepted for one reason: what a reviewer reads once."""

    source: str
    rule: str  # the rule family
    reason: str
    owner: str
    description: str
    members: list[Member] = field(default_factory=list)

    @property
    def variants(self) -> list[str]:
        return sorted({m.finding.rule.removeprefix(self.rule) for m in self.members} - {""})

    @property
    def entries(self) -> list[tuple[int, str]]:
        """(registry line, path pattern) of every pattern that matched a member, in file order."""
        return sorted({(m.line, m.pattern) for m in self.members if m.line})

    def label(self) -> str:
        variants = self.variants
        if len(variants) > 1:
            return f"{self.rule} ({len(variants)} variants)"
        return self.rule + "".join(variants)


def decisions(
    findings: list[Finding], entries: list[Acknowledgement] | None = None
) -> list[Decision]:
    """Acknowledged findings grouped by source, rule family and reason, each member located in
    the registry (the entry and pattern the gate matched it with)."""
    registry = acknowledgements.load() if entries is None else entries
    groups: dict[tuple[str, str, str], Decision] = {}
    for finding in sorted(findings, key=lambda f: f.key):
        reason, owner = split_reason(finding.reason)
        key = (finding.source, family(finding.rule), reason)
        if key not in groups:
            groups[key] = Decision(
                finding.source, key[1], reason, owner, describe(finding), members=[]
            )
        matched = acknowledgements.entry_for(finding, registry)
        member = Member(finding)
        if matched is not None:
            entry, pattern = matched
            member = Member(finding, pattern, entry.pattern_line(pattern))
            groups[key].owner = groups[key].owner or entry.owner
        groups[key].members.append(member)
    return list(groups.values())
