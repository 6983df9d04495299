"""The acknowledgements registry (acknowledgements.toml): each accepted finding, why, its owner.

cdk-nag entries are acknowledged on L1 resources at synth; scanner entries are matched on cdk.out.
Path patterns follow policies/path_patterns.py; an entry whose pattern also matches a resource
without that finding is over-broad and refused (`overbroad`). Any registry error is one line.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from policies import fingerprint as fingerprints
from policies import path_patterns
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
    """An entry of the registry is malformed or cannot be applied; str() is one printable line."""


REQUIRED_FIELDS = ("rule", "paths", "reason", "owner")
FIELDS = frozenset({*REQUIRED_FIELDS, "fingerprint"})


@dataclass(frozen=True)
class Acknowledgement:
    """One accepted finding: where (construct path patterns), what (rule id), why, who owns it."""

    rule: str
    paths: tuple[str, ...]
    reason: str
    owner: str
    fingerprint: str = ""  # policies/fingerprint.py: the content that was reviewed
    # Where it is written (1-based lines of its [[acknowledgement]] header and of each path
    # pattern in the registry file): the report links each finding to the entry that accepted it.
    line: int = field(default=0, compare=False)
    path_lines: tuple[int, ...] = field(default=(), compare=False)

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
        if self.fingerprint and not fingerprints.FORMAT.match(self.fingerprint):
            raise RegistryError(
                f"{where}.fingerprint: {self.fingerprint!r} must be {fingerprints.LENGTH} "
                "lower-case hex digits, as the gate prints it"
            )
        if self.fingerprint and self.namespace not in fingerprints.NAMESPACES:
            raise RegistryError(
                f"{where}.fingerprint: only scanner findings (Checkov, CfnLint, Parliament) "
                f"carry one, not {self.namespace}"
            )
        for path in self.paths:
            complaint = path_patterns.problem(path)
            if complaint:
                raise RegistryError(f"{where}.paths: {path!r} {complaint}")

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
            found = path_patterns.regex(pattern).fullmatch(construct_path)
            if found:
                return pattern, found.groupdict()
        return None

    def pattern_line(self, pattern: str) -> int:
        """The registry line of one of its path patterns (its header line where unknown)."""
        if pattern in self.paths and len(self.path_lines) == len(self.paths):
            return self.path_lines[self.paths.index(pattern)]
        return self.line

    def matching_path(self, construct_path: str) -> str | None:
        found = self.match(construct_path)
        return found[0] if found else None

    def rule_regex(self, captures: dict[str, str]) -> re.Pattern[str]:
        """The rule id this entry acknowledges where it captured `captures` (any account/region)."""
        rule = self.rule
        for name, value in captures.items():
            rule = rule.replace(f"{{{name}:lower}}", value.lower()).replace(f"{{{name}}}", value)
        text = re.escape(rule).replace(r"\{account\}", r"\d{12}")
        return re.compile(text.replace(r"\{region\}", r"[a-z0-9-]+"))


def _lines(text: str, entries: list[Any]) -> list[tuple[int, tuple[int, ...]]]:
    """(header line, line of each path pattern) of every [[acknowledgement]] table, in order."""
    lines = text.splitlines()
    headers = [n for n, line in enumerate(lines) if line.strip() == "[[acknowledgement]]"]
    found: list[tuple[int, tuple[int, ...]]] = []
    for index, raw in enumerate(entries):
        if index >= len(headers) or not isinstance(raw, dict):
            found.append((0, ()))
            continue
        start, end = headers[index], [*headers, len(lines)][index + 1]
        block = lines[start:end]
        paths: list[Any] = raw["paths"] if isinstance(raw.get("paths"), list) else []
        path_lines = tuple(
            start
            + 1
            + next((n for n, line in enumerate(block) if f'"{p}"' in line or f"'{p}'" in line), 0)
            for p in paths
        )
        found.append((start + 1, path_lines))
    return found


def _entry(
    index: int, raw: object, located: tuple[int, tuple[int, ...]] = (0, ())
) -> Acknowledgement:
    where = f"{REGISTRY.name}: acknowledgement[{index}]"
    if not isinstance(raw, dict):
        raise RegistryError(f"{where}: must be a table of {', '.join(sorted(FIELDS))}")
    unknown = sorted(set(raw) - FIELDS)
    if unknown:
        raise RegistryError(f"{where}: unknown field {unknown[0]!r}; fields: {sorted(FIELDS)}")
    missing = [name for name in REQUIRED_FIELDS if name not in raw]
    if missing:
        raise RegistryError(f"{where}: {missing[0]!r} is required")
    paths = raw["paths"]
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise RegistryError(f"{where}.paths: must be a list of construct path patterns")
    for name in ("rule", "reason", "owner", "fingerprint"):
        if not isinstance(raw.get(name, ""), str):
            raise RegistryError(f"{where}.{name}: must be a string")
    entry = Acknowledgement(
        rule=raw["rule"],
        paths=tuple(paths),
        reason=raw["reason"],
        owner=raw["owner"],
        fingerprint=raw.get("fingerprint", ""),
        line=located[0],
        path_lines=located[1],
    )
    entry.validate(index)
    return entry


def load(registry: Path = REGISTRY) -> list[Acknowledgement]:
    """Every entry of the registry, validated; any problem raises a one-line RegistryError."""
    try:
        text = registry.read_text()
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError) as error:
        raise RegistryError(f"{registry.name}: cannot be read: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise RegistryError(f"{registry.name}: not valid TOML: {error}") from None
    unknown = sorted(set(data) - {"acknowledgement"})
    if unknown:
        raise RegistryError(f"{registry.name}: unknown table {unknown[0]!r}")
    raw = data.get("acknowledgement", [])
    if not isinstance(raw, list):
        raise RegistryError(f"{registry.name}: use [[acknowledgement]] for each entry")
    located = _lines(text, raw)
    return [_entry(index, item, located[index]) for index, item in enumerate(raw)]


def apply(app: cdk.App, entries: list[Acknowledgement] | None = None) -> dict[Acknowledgement, int]:
    """Acknowledge each cdk-nag entry on every resource it matches; returns matches per entry.

    A match on any other construct is refused: the framework would extend it to every child.
    Scanner entries (SCANNER_NAMESPACES) are skipped: cdk-nag never reports their ids.
    """
    import aws_cdk as cdk

    entries = [e for e in (load() if entries is None else entries) if not e.is_scanner]
    applied: dict[Acknowledgement, int] = dict.fromkeys(entries, 0)
    patterns = sorted({pattern for entry in entries for pattern in entry.paths})
    for path, construct in _candidates(app, patterns):
        hits = [(entry, found) for entry in entries if (found := entry.match(path)) is not None]
        if not hits:
            continue
        if isinstance(construct, (cdk.Stack, cdk.Stage)):
            raise RegistryError(
                f"{REGISTRY.name}: {hits[0][0].rule} at {path!r} would acknowledge "
                "a whole Stack or Stage; name the construct that owns the finding"
            )
        if not isinstance(construct, cdk.CfnResource):  # it would also cover every child
            raise RegistryError(
                f"{REGISTRY.name}: {hits[0][0].rule} at {path!r} matches a construct that "
                "holds others, not a resource; name the resource (e.g. .../Resource)"
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
class _Pattern:
    """A path pattern split for the walk: one regex per segment, and the literal segments."""

    regexes: tuple[re.Pattern[str], ...]
    literals: tuple[str | None, ...]  # the construct id a literal segment names, else None

    @classmethod
    def of(cls, pattern: str) -> _Pattern:
        names = pattern.split("/")
        literals = tuple(n if path_patterns.literal(n) else None for n in names)
        return cls(path_patterns.segments(pattern), literals)


def _candidates(app: IConstruct, patterns: list[str]) -> Iterator[tuple[str, IConstruct]]:
    """Every construct under `app` whose path matches one of `patterns`, with that path.

    Read the way the patterns allow, since each jsii round trip costs: only subtrees some
    pattern can still match are entered; where every pattern names the next id literally it is
    one `try_find_child` each, and only a wildcard or placeholder segment lists the children and
    reads their ids (about 40 % of the round trips of reading every construct's path).
    """
    node = app.node
    start = node.path
    depth = len(start.split("/")) if start else 0
    live = [_Pattern.of(p) for p in patterns]
    prefix = start.split("/") if start else []
    live = [
        p
        for p in live
        if len(p.regexes) > depth
        and all(r.fullmatch(name) for r, name in zip(p.regexes, prefix, strict=False))
    ]
    if live:
        yield from _walk(node, start, live, depth)


def _walk(
    node: Any, path: str, live: list[_Pattern], depth: int
) -> Iterator[tuple[str, IConstruct]]:
    named = {p.literals[depth] for p in live}
    children: list[tuple[Any, str | None]]
    if None in named:  # a wildcard or placeholder here: every child, with its id
        children = [(child, None) for child in node.children]
    else:
        found = ((node.try_find_child(name), name) for name in sorted(n for n in named if n))
        children = [(child, name) for child, name in found if child is not None]
    for child, known_id in children:
        child_node: Any = None
        if known_id is None:
            child_node = child.node
            child_id: str = child_node.id
        else:
            child_id = known_id
        still = [p for p in live if p.regexes[depth].fullmatch(child_id)]
        if not still:
            continue
        child_path = f"{path}/{child_id}" if path else child_id
        if any(len(p.regexes) == depth + 1 for p in still):
            yield child_path, child
        deeper = [p for p in still if len(p.regexes) > depth + 1]
        if deeper:
            yield from _walk(child_node or child.node, child_path, deeper, depth + 1)


@dataclass(frozen=True)
class Matched:
    """Scanner findings against the registry: the entry acknowledging each finding, and the stale.

    `acknowledged[i]` is the entry for `findings[i]` or None; `stale` lists each (entry, path
    pattern) of a scanner entry that matched no finding; `overbroad` one line per pattern that
    also matches a resource without that finding (judged only when the resources are given);
    `resurfaced` one line per entry whose fingerprinted content changed (its findings reopen).
    """

    acknowledged: list[Acknowledgement | None]
    stale: list[tuple[Acknowledgement, str]]
    overbroad: list[str] = field(default_factory=list)
    resurfaced: list[str] = field(default_factory=list)


def match_findings(
    findings: Sequence[Finding],
    entries: Iterable[Acknowledgement] | None = None,
    namespaces: Iterable[str] | None = None,
    resources: Iterable[str] | None = None,
    contents: Mapping[str, Mapping[str, Any]] | None = None,
) -> Matched:
    """Match scanner findings to registry entries by exact rule id and construct path pattern.

    Only entries of `namespaces` (default: every scanner namespace) are considered, and only those
    can be stale, so a partial scan (one tool) does not call another tool's entries stale.
    `resources` (every construct path of the assembly) turns on the over-broad check, and
    `contents` (construct path -> template resource) the fingerprint check.
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
    broad: list[str] = []
    if resources is not None:
        found: dict[str, set[str]] = {}
        for finding in findings:
            found.setdefault(finding.construct_path, set()).add(finding.registry_rule)
        broad = overbroad(scoped, resources, found)
    resurfaced = [] if contents is None else reopen_changed(findings, acknowledged, contents)
    return Matched(acknowledged, stale, overbroad=broad, resurfaced=resurfaced)


def entry_for(
    finding: Finding, entries: Iterable[Acknowledgement]
) -> tuple[Acknowledgement, str] | None:
    """The registry entry, and its path pattern, that acknowledges `finding` (cdk-nag or scanner).

    The same match the gate makes: the construct path against the patterns, then the rule id with
    the pattern's captures (and any account or region) filled in.
    """
    if not finding.construct_path:
        return None
    for entry in entries:
        found = entry.match(finding.construct_path)
        if found is not None and entry.rule_regex(found[1]).fullmatch(finding.registry_rule):
            return entry, found[0]
    return None


def reopen_changed(
    findings: Sequence[Finding],
    acknowledged: list[Acknowledgement | None],
    contents: Mapping[str, Mapping[str, Any]],
) -> list[str]:
    """Un-acknowledge (in place) the findings of each entry whose content fingerprint differs.

    A rule of fingerprint.REQUIRED needs one: its entries without a fingerprint reopen too.
    """
    lines = []
    entries = {e for e in acknowledged if e is not None}
    for entry in sorted(entries, key=lambda e: (e.rule, e.paths)):
        if not entry.fingerprint and entry.rule not in fingerprints.REQUIRED:
            continue
        indexes = [i for i, e in enumerate(acknowledged) if e is entry]
        paths = {findings[i].construct_path for i in indexes}
        now = fingerprints.fingerprint(entry.rule, {p: contents.get(p, {}) for p in sorted(paths)})
        if now == entry.fingerprint:
            continue
        for i in indexes:
            acknowledged[i] = None
        was = (
            f"acknowledged with fingerprint {entry.fingerprint}"
            if entry.fingerprint
            else ("acknowledged without the fingerprint this rule requires")
        )
        lines.append(
            f"{entry.rule} at {', '.join(entry.paths)}: {was}, but the flagged content is now "
            f'{now}; review it and re-acknowledge with fingerprint = "{now}"'
        )
    return lines


def overbroad(
    entries: Iterable[Acknowledgement],
    resources: Iterable[str],
    found: Mapping[str, Iterable[str]],
) -> list[str]:
    """One line per (entry, pattern) that also matches a resource without that entry's finding.

    `resources` are the construct paths of every synthesized resource; `found` maps a construct
    path to the registry rule ids of its findings (acknowledged or not).
    """
    paths = sorted(set(resources))
    rules = {path: list(ids) for path, ids in found.items()}
    lines = []
    for entry in entries:
        for pattern in entry.paths:
            compiled = path_patterns.regex(pattern)
            for path in paths:
                hit = compiled.fullmatch(path)
                if hit is None:
                    continue
                wanted = entry.rule_regex(hit.groupdict())
                if not any(wanted.fullmatch(rule) for rule in rules.get(path, ())):
                    lines.append(
                        f"{entry.rule} at {pattern} also matches {path}, which has no such "
                        "finding (over-broad); narrow the pattern to the flagged resources"
                    )
                    break
    return lines


def nag_overbroad(
    entries: Iterable[Acknowledgement], resources: Iterable[str], report: Mapping[str, Any]
) -> list[str]:
    """`overbroad` for the cdk-nag entries, their findings read from validation-report.json."""
    found: dict[str, set[str]] = {}
    for plugin in report.get("pluginReports", []):
        for violation in [*plugin.get("violations", []), *plugin.get("suppressedViolations", [])]:
            namespaced = f"{plugin.get('pluginName', '')}::{violation.get('ruleName', '')}"
            for construct in violation.get("violatingConstructs", []):
                found.setdefault(str(construct.get("constructPath", "")), set()).add(namespaced)
    return overbroad([e for e in entries if not e.is_scanner], resources, found)
