"""Platform-NoOpenPrincipal: a resource policy never allows '*' without a restricting condition."""

from __future__ import annotations

from policies.rules._iam import (
    RESOURCE_POLICY_PROPERTIES,
    allows,
    is_open_principal,
    resource_statements,
)
from policies.rules._principals import RESTRICTING_KEYS
from policies.rules.base import COMPLIANT, NON_COMPLIANT, Resource, Result, Rule


class NoOpenPrincipal(Rule):
    id = "NoOpenPrincipal"
    info = "A resource policy allows Principal '*' without a condition restricting the caller."
    explanation = (
        "An open principal lets any AWS account use the resource; a condition on the source "
        "account, ARN, organisation or network keeps the grant to the intended callers."
    )
    resource_types = frozenset(RESOURCE_POLICY_PROPERTIES) | {"AWS::Lambda::Permission"}

    def check(self, resource: Resource) -> Result:
        if resource.type == "AWS::Lambda::Permission":
            open_ = resource.properties.get("Principal") == "*"
            scoped = any(
                resource.properties.get(k) for k in ("SourceArn", "SourceAccount", "PrincipalOrgID")
            )
            return NON_COMPLIANT if open_ and not scoped else COMPLIANT
        for statement in resource_statements(resource):
            if not allows(statement) or not is_open_principal(statement.get("Principal")):
                continue
            keys = {
                key.lower()
                for operator in (statement.get("Condition") or {}).values()
                if isinstance(operator, dict)
                for key in operator
            }
            if not keys & RESTRICTING_KEYS:
                return NON_COMPLIANT
        return COMPLIANT
