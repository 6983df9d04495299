"""Platform-NoWildcardActions: no IAM statement allows every action or every action of a service."""

from __future__ import annotations

import re

from policies.rules._iam import (
    IDENTITY_POLICY_TYPES,
    RESOURCE_POLICY_PROPERTIES,
    actions,
    allows,
    identity_statements,
    resource_statements,
)
from policies.rules.base import Resource, Result, Rule

_WILDCARD = re.compile(r"^(\*|[a-z0-9-]+:\*)$", re.IGNORECASE)


class NoWildcardActions(Rule):
    id = "NoWildcardActions"
    info = "An Allow statement grants '*' or '<service>:*' actions (or uses NotAction)."
    explanation = (
        "Whole-service grants include actions nobody reviewed, such as deletes and policy "
        "changes, and silently grow as the service adds actions; name the actions instead."
    )
    resource_types = IDENTITY_POLICY_TYPES | frozenset(RESOURCE_POLICY_PROPERTIES)

    def check(self, resource: Resource) -> Result:
        findings: list[str] = []
        statements = [*identity_statements(resource), *resource_statements(resource)]
        for statement in statements:
            if not allows(statement):
                continue
            if "NotAction" in statement:
                findings.append("NotAction")
            findings.extend(f"Action::{a}" for a in actions(statement) if _WILDCARD.match(a))
        return sorted(set(findings))
