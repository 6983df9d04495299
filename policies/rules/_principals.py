"""Who a resource-based or trust policy lets in from outside its own account: accounts, or '*'.

Shared by Platform-CrossAccountResourcePolicy and the report's outside-access view and diff.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from policies.rules._iam import RESOURCE_POLICY_PROPERTIES, actions, allows, resource_statements
from policies.rules.base import Resource, as_list

ANYONE = "*"
OWN = "{own}"
_ACCOUNT = re.compile(r"^\d{12}$")
# Resource-based policies, a role's trust policy excluded (rules leave trust to the IAM summary;
# trust_grants below reads it for the report's outside-access view).
RESOURCE_POLICY_TYPES = frozenset(RESOURCE_POLICY_PROPERTIES) - {"AWS::IAM::Role"}
LAMBDA_PERMISSION = "AWS::Lambda::Permission"
# Condition keys that tie an open principal to a caller, organisation or network.
RESTRICTING_KEYS = frozenset(
    {
        "aws:sourcearn",
        "aws:sourceaccount",
        "aws:sourceowner",
        "aws:principalaccount",
        "aws:principalorgid",
        "aws:principalarn",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:sourceip",
        "kms:calleraccount",
        "kms:viaservice",
    }
)


@dataclass(frozen=True)
class Grant:
    """One Allow to someone outside the account: who (an account id or '*'), what, and on what."""

    who: str
    principal: str  # as written, intrinsics rendered: arn:<AWS::Partition>:iam::1234...:role/x
    actions: tuple[str, ...]
    resource: str  # the construct path of the policy's resource
    condition: str = ""  # the statement's Condition block as JSON, if it has one


def _render(value: Any) -> str:
    """A principal as text: literals kept, the stack's own account as {own}, other refs opaque."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if value.get("Ref") == "AWS::AccountId":
            return OWN
        if value.get("Ref") == "AWS::Partition":
            return "<AWS::Partition>"
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return str(separator).join(_render(p) for p in parts)
        if "Fn::Sub" in value:
            text = value["Fn::Sub"]
            text = text[0] if isinstance(text, list) else str(text)
            return text.replace("${AWS::AccountId}", OWN).replace(
                "${AWS::Partition}", "<AWS::Partition>"
            )
    return "{ref}"  # a Ref or GetAtt of a resource of this stack: its own account


def account_of(principal: Any, own: str) -> str | None:
    """The foreign account (or '*') a principal value names; None for the own account."""
    text = _render(principal).replace("<AWS::Partition>", "aws")
    if text == ANYONE:
        return ANYONE
    if text.startswith("arn:"):
        fields = text.split(":")
        text = fields[4] if len(fields) > 4 else ""
    if _ACCOUNT.match(text) and text != own:
        return text
    return None


def _aws_principals(principal: Any) -> list[Any]:
    if principal == ANYONE:
        return [ANYONE]
    if isinstance(principal, dict) and "AWS" in principal:
        return as_list(principal["AWS"])
    return []


def _restricted(statement: Mapping[str, Any]) -> bool:
    keys = {
        key.lower()
        for operator in (statement.get("Condition") or {}).values()
        if isinstance(operator, dict)
        for key in operator
    }
    return bool(keys & RESTRICTING_KEYS)


def _lambda_grants(resource: Resource) -> Iterator[Grant]:
    props = resource.properties
    who = account_of(props.get("Principal"), resource.stack.account)
    scoped = any(props.get(k) for k in ("SourceArn", "SourceAccount", "PrincipalOrgID"))
    if who is not None and not (who == ANYONE and scoped):
        principal = _render(props.get("Principal"))
        yield Grant(who, principal, (str(props.get("Action", "")),), resource.path)


def outside_grants(resource: Resource) -> Iterator[Grant]:
    """Every Allow of the resource's policy to another account, or to '*' without a condition."""
    if resource.type == LAMBDA_PERMISSION:
        yield from _lambda_grants(resource)
        return
    if resource.type not in RESOURCE_POLICY_TYPES:
        return
    statements = list(resource_statements(resource))
    if resource.type == "AWS::Events::EventBusPolicy" and "Principal" in resource.properties:
        statements.append(
            {"Principal": {"AWS": resource.properties["Principal"]}, "Action": "events:PutEvents"}
        )
    yield from _grants(resource, statements)


def trust_grants(resource: Resource) -> Iterator[Grant]:
    """Who outside the account a role's trust policy lets assume it (not a rule's business: the
    report's outside-access view and the diff read it; services and federations are left out)."""
    if resource.type == "AWS::IAM::Role":
        yield from _grants(resource, resource_statements(resource))


def _grants(resource: Resource, statements: Iterable[Mapping[str, Any]]) -> Iterator[Grant]:
    for statement in statements:
        if not allows(statement):
            continue
        for principal in _aws_principals(statement.get("Principal")):
            who = account_of(principal, resource.stack.account)
            if who is None or (who == ANYONE and _restricted(statement)):
                continue
            condition = statement.get("Condition")
            yield Grant(
                who,
                _render(principal),
                tuple(actions(statement)),
                resource.path,
                json.dumps(condition, sort_keys=True) if condition else "",
            )
