"""The acknowledgements registry (acknowledgements.toml): each accepted finding, why, its owner.

cdk-nag entries are acknowledged on constructs at synth; scanner entries are matched on cdk.out.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from policies.findings import Finding

if TYPE_CHECKING:  # imported where used: the scanner runner loads the registry without jsii
    import aws_cdk as cdk
    from constructs import IConstruct

REGISTRY = Path(__file__).with_name("acknowledgements.toml")
_RULE_ID = re.compile(r"^[A-Za-z0-9]+::[A-Za-z0-9]+-[A-Za-z0-9]+(\[.+\])?$")
# Scanners of the synthesized templates, and the shape of their rule ids.
SCANNER_NAMESPACES = {
    "Checkov": re.compile(r"^CKV2?_[A-Z0-9]+_\d+$"),
    "CfnLint": re.compile(r"^[EWI]S?\d{4}$"),
    "Parliament": re.compile(r"^[A-Z_]+(\[[^\]]+\])?$"),
}


class RegistryError(Exception):
    """An entry of the registry is malformed or cannot be applied."""


@dataclass(frozen=True)
class Acknowledgement:
    """One accepted finding: where (construct path patterns), what (rule id), why, who owns it."""

    rule: str
    paths: tuple[str, ...]
    reason: str
    owner: str

    @property
    def namespace(self) -> str:
        return self.rule.split("::", 1)[0]

    @property
    def is_scanner(self) -> bool:
        """True for a scanner's entry (matched on cdk.out), False for a cdk-nag one (synth)."""
        return self.namespace in SCANNER_NAMESPACES

    def validate(self, index: int) -> None:
        where = f"{REGISTRY.name}: acknowledgement[{index}]"
        if self.is_scanner:
            _, _, rule_id = self.rule.partition("::")
            if not SCANNER_NAMESPACES[self.namespace].match(rule_id):
                raise RegistryError(
                    f"{where}.rule: {self.rule!r} is not a {self.namespace} rule id, "
                    "e.g. 'Checkov::CKV_AWS_116' or 'CfnLint::ES6000'"
                )
        elif not _RULE_ID.match(self.rule):
            raise RegistryError(
                f"{where}.rule: {self.rule!r} must be plugin-namespaced, "
                "e.g. 'AwsSolutions::AwsSolutions-IAM5[Resource::*]'"
            )
        sentence = self.reason.strip()
        if len(sentence.split()) < 8 or not sentence.endswith(".") or not sentence[0].isupper():
            raise RegistryError(
                f"{where}.reason: {self.reason!r} must be at least one full sentence"
            )
        if not self.owner.strip():
            raise RegistryError(f"{where}.owner: must name the owning team")
        if not self.paths:
            raise RegistryError(f"{where}.paths: must list at least one construct path")
        for path in self.paths:
            # A Stage path has two segments (Pipeline/Prod), a Stage's stack three; whether a
            # literal three-segment path is a stack is only known from the tree (see apply()).
            if path.count("/") < 2 or (path.endswith("*") and path.count("/") < 3):
                raise RegistryError(
                    f"{where}.paths: {path!r} is too broad; "
                    "name the construct, not a stack or Stage"
                )

    def rule_for(self, construct: IConstruct, captures: dict[str, str] | None = None) -> str:
        rule = self.rule
        if "{account}" in rule or "{region}" in rule:  # jsii round trips only where needed
            import aws_cdk as cdk

            stack = cdk.Stack.of(construct)
            rule = rule.replace("{account}", stack.account).replace("{region}", stack.region)
        for name, value in (captures or {}).items():
            rule = rule.replace(f"{{{name}:lower}}", value.lower()).replace(f"{{{name}}}", value)
        return rule

    def match(self, construct_path: str) -> tuple[str, dict[str, str]] | None:
        """The first path pattern matching `construct_path`, with its captured segments."""
        for pattern in self.paths:
            found = _path_regex(pattern).fullmatch(construct_path)
            if found:
                return pattern, found.groupdict()
        return None

    def matching_path(self, construct_path: str) -> str | None:
        found = self.match(construct_path)
        return found[0] if found else None


@cache
def _path_regex(pattern: str) -> re.Pattern[str]:
    """fnmatch-style '*' (crossing '/'), plus {name} capturing exactly one path segment."""
    parts = re.split(r"(\{[a-z_]+\}|\*)", pattern)
    out = []
    for part in parts:
        if part == "*":
            out.append(".*")
        elif part.startswith("{") and part.endswith("}"):
            out.append(f"(?P<{part[1:-1]}>[^/]+)")
        else:
            out.append(re.escape(part))
    return re.compile("".join(out))


def load(registry: Path = REGISTRY) -> list[Acknowledgement]:
    data = tomllib.loads(registry.read_text())
    entries = []
    for index, raw in enumerate(data.get("acknowledgement", [])):
        try:
            entry = Acknowledgement(
                rule=raw["rule"],
                paths=tuple(raw["paths"]),
                reason=raw["reason"],
                owner=raw["owner"],
            )
        except KeyError as missing:
            raise RegistryError(
                f"{REGISTRY.name}: acknowledgement[{index}]: {missing} is required"
            ) from None
        entry.validate(index)
        entries.append(entry)
    return entries


def apply(app: cdk.App, entries: list[Acknowledgement] | None = None) -> dict[Acknowledgement, int]:
    """Acknowledge each cdk-nag entry on every construct it matches; returns matches per entry.

    Scanner entries (SCANNER_NAMESPACES) are skipped: cdk-nag never reports their ids.
    """
    import aws_cdk as cdk

    entries = [e for e in (load() if entries is None else entries) if not e.is_scanner]
    applied: dict[Acknowledgement, int] = dict.fromkeys(entries, 0)
    for construct in app.node.find_all():
        path = construct.node.path  # one jsii round-trip per construct, not one per entry
        hits = [(entry, found) for entry in entries if (found := entry.match(path)) is not None]
        if not hits:
            continue
        if isinstance(construct, (cdk.Stack, cdk.Stage)):
            raise RegistryError(
                f"{REGISTRY.name}: {hits[0][0].rule} at {path!r} would acknowledge "
                "a whole Stack or Stage; name the construct that owns the finding"
            )
        cdk.Validations.of(construct).acknowledge(
            *(
                cdk.Acknowledgment(
                    id=entry.rule_for(construct, captures),
                    reason=f"{entry.reason} (owner: {entry.owner})",
                )
                for entry, (_, captures) in hits
            )
        )
        for entry, _ in hits:
            applied[entry] += 1
    return applied


@dataclass(frozen=True)
class Matched:
    """Scanner findings against the registry: the entry acknowledging each finding, and the stale.

    `acknowledged[i]` is the entry for `findings[i]` or None; `stale` lists each (entry, path
    pattern) of a scanner entry that matched no finding.
    """

    acknowledged: list[Acknowledgement | None]
    stale: list[tuple[Acknowledgement, str]]


def match_findings(
    findings: Sequence[Finding],
    entries: Iterable[Acknowledgement] | None = None,
    namespaces: Iterable[str] | None = None,
) -> Matched:
    """Match scanner findings to registry entries by exact rule id and construct path pattern.

    Only entries of `namespaces` (default: every scanner namespace) are considered, and only those
    can be stale, so a partial scan (one tool) does not call another tool's entries stale.
    """
    wanted = set(SCANNER_NAMESPACES if namespaces is None else namespaces)
    scoped = [e for e in (load() if entries is None else entries) if e.namespace in wanted]
    used: set[tuple[Acknowledgement, str]] = set()
    acknowledged: list[Acknowledgement | None] = []
    for finding in findings:
        hit: Acknowledgement | None = None
        for entry in scoped:
            if entry.rule != finding.registry_rule or not finding.construct_path:
                continue
            pattern = entry.matching_path(finding.construct_path)
            if pattern is not None:
                used.add((entry, pattern))
                hit = hit or entry
        acknowledged.append(hit)
    stale = [(e, path) for e in scoped for path in e.paths if (e, path) not in used]
    return Matched(acknowledged=acknowledged, stale=stale)
