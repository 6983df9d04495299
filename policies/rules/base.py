"""What a project rule sees (one resource of a synthesized template, with its stack) and returns.

Rules read the template CDK wrote, so cross-resource questions become dictionary lookups.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property
from typing import Any, ClassVar


class Compliance(Enum):
    """cdk-nag's NagRuleCompliance values, without loading jsii (the report reuses the rules)."""

    COMPLIANT = "COMPLIANT"
    NON_COMPLIANT = "NON_COMPLIANT"
    NOT_APPLICABLE = "NOT_APPLICABLE"


class Level(Enum):
    """cdk-nag's NagMessageLevel values."""

    ERROR = "ERROR"
    WARN = "WARN"
    INFO = "INFO"


Result = Compliance | list[str]
COMPLIANT = Compliance.COMPLIANT
NON_COMPLIANT = Compliance.NON_COMPLIANT
NOT_APPLICABLE = Compliance.NOT_APPLICABLE


def referenced_ids(value: Any) -> Iterator[str]:
    """Logical ids referenced anywhere in `value` through Ref or Fn::GetAtt."""
    if isinstance(value, dict):
        if set(value) == {"Ref"} and isinstance(value["Ref"], str):
            yield value["Ref"]
            return
        if set(value) == {"Fn::GetAtt"}:
            target = value["Fn::GetAtt"]
            yield (target[0] if isinstance(target, list) else str(target).split(".")[0])
            return
        for item in value.values():
            yield from referenced_ids(item)
    elif isinstance(value, list):
        for item in value:
            yield from referenced_ids(item)


def literals(value: Any) -> Iterator[str]:
    """Every string literal inside `value` (for intrinsics such as Fn::Join)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from literals(item)
    elif isinstance(value, list):
        for item in value:
            yield from literals(item)


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


@dataclass(frozen=True)
class Reference:
    """One resource of the template that refers to another one, and under which property."""

    logical_id: str
    type: str
    property: str
    properties: Mapping[str, Any]


@dataclass(frozen=True)
class StackContext:
    """A synthesized stack: its template and the deployment facts rules depend on."""

    path: str
    template: Mapping[str, Any]
    termination_protection: bool = False
    retain_data: bool = False
    account: str = ""  # the account it deploys to ("" or unresolved where environment-agnostic)

    @property
    def resources(self) -> Mapping[str, Any]:
        resources: Mapping[str, Any] = self.template.get("Resources", {})
        return resources

    def type_of(self, logical_id: str) -> str | None:
        found = self.resources.get(logical_id)
        return None if found is None else str(found.get("Type"))

    @cached_property
    def _referrers(self) -> dict[str, list[Reference]]:
        index: dict[str, list[Reference]] = {}
        for logical_id, body in self.resources.items():
            properties = body.get("Properties", {})
            for name, value in properties.items():
                for target in set(referenced_ids(value)):
                    index.setdefault(target, []).append(
                        Reference(logical_id, str(body.get("Type")), name, properties)
                    )
        return index

    def referrers(self, logical_id: str, of_type: str | None = None) -> list[Reference]:
        """Resources whose properties refer to `logical_id` (optionally only of one type)."""
        found = self._referrers.get(logical_id, [])
        return [r for r in found if of_type is None or r.type == of_type]


@dataclass(frozen=True)
class Resource:
    """One resource as synthesized: type, properties, policies, and the stack around it."""

    logical_id: str
    type: str
    properties: Mapping[str, Any]
    stack: StackContext
    deletion_policy: str | None = None
    update_replace_policy: str | None = None
    taggable: bool = False
    path: str = field(default="")

    @classmethod
    def from_template(
        cls, stack: StackContext, logical_id: str, *, taggable: bool = False
    ) -> Resource:
        body = stack.resources[logical_id]
        return cls(
            logical_id=logical_id,
            type=str(body["Type"]),
            properties=body.get("Properties", {}),
            stack=stack,
            deletion_policy=body.get("DeletionPolicy"),
            update_replace_policy=body.get("UpdateReplacePolicy"),
            taggable=taggable,
            path=str(body.get("Metadata", {}).get("aws:cdk:path", "")),
        )


class Rule(ABC):
    """One project rule: its id suffix, what a finding means, and the check itself."""

    id: ClassVar[str]
    info: ClassVar[str]
    explanation: ClassVar[str]
    level: ClassVar[Level] = Level.ERROR
    # None: the rule looks at every resource type.
    resource_types: ClassVar[frozenset[str] | None] = None

    def applies_to(self, resource_type: str) -> bool:
        return self.resource_types is None or resource_type in self.resource_types

    @abstractmethod
    def check(self, resource: Resource) -> Result:
        """COMPLIANT / NON_COMPLIANT / NOT_APPLICABLE, or one finding suffix per problem."""
