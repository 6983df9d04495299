"""Each KMS key of a stack: who may administer it, who may use it, who outside the account is let
in, its rotation, and the stores it protects; read from the key policy in the template."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cloud_assembly.templates import StackTemplate as Stack
from policies.report.summaries import render, short_path, stores
from policies.rules._principals import outside_grants
from policies.rules.base import Resource, StackContext, as_list

# Key use (cryptographic operations); every other kms: action administers the key. The split is
# the one of AWS's default key policy: "Allow use of the key" vs "Allow access for Key
# Administrators" (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html).
_USE = (
    "kms:encrypt",
    "kms:decrypt",
    "kms:reencrypt",
    "kms:generatedatakey",
    "kms:describekey",
    "kms:sign",
    "kms:verify",
    "kms:generatemac",
    "kms:verifymac",
)
# AWS KMS rotates a customer managed key yearly unless RotationPeriodInDays says otherwise
# (https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html).
DEFAULT_ROTATION_DAYS = 365


@dataclass
class KeySummary:
    """A KMS key: rotation, administrators and users (principals), outsiders, stores under it."""

    path: str
    rotation: bool
    rotation_days: int | None
    administer: set[str] = field(default_factory=set)
    use: set[str] = field(default_factory=set)
    outside: list[str] = field(default_factory=list)
    protects: int = 0

    def rotation_label(self) -> str:
        if not self.rotation:
            return "no"
        return f"yes, every {self.rotation_days or DEFAULT_ROTATION_DAYS} days"


def _is_use(action: str) -> bool:
    action = action.lower()
    return any(action.startswith(prefix) for prefix in _USE)


def _principal_labels(statement: dict[str, Any], stack: Stack) -> list[str]:
    principal = statement.get("Principal", {})
    values = [("AWS", "*")] if principal == "*" else []
    for kind, value in (principal or {}).items() if isinstance(principal, dict) else []:
        values += [(kind, v) for v in as_list(value)]
    labels = []
    for kind, value in values:
        text = render(value, stack)
        plain = text.replace("${AWS::AccountId}", stack.account or "")
        plain = plain.replace("${AWS::Partition}", "aws")
        if kind == "AWS" and plain in (f"arn:aws:iam::{stack.account}:root", stack.account):
            text = "this account (its IAM policies decide)"
        elif kind != "AWS":
            text = f"{kind}: {text}"
        if statement.get("Condition"):
            text += " (with conditions)"
        labels.append(text)
    return labels


def _statements(policy: Any) -> list[dict[str, Any]]:
    if not isinstance(policy, dict):
        return []
    return [s for s in as_list(policy.get("Statement")) if isinstance(s, dict)]


def keys(stack: Stack) -> list[KeySummary]:
    """Every AWS::KMS::Key of the stack, by construct path."""
    context = StackContext(path=stack.path, template=stack.body, account=stack.account)
    protected = [s.key for s in stores(stack)]
    found = []
    for logical_id, body in stack.body.get("Resources", {}).items():
        if body.get("Type") != "AWS::KMS::Key":
            continue
        properties = body.get("Properties", {})
        path = short_path(stack, logical_id)
        key = KeySummary(
            path=path,
            rotation=properties.get("EnableKeyRotation") is True,
            rotation_days=properties.get("RotationPeriodInDays"),
        )
        for statement in _statements(properties.get("KeyPolicy")):
            if statement.get("Effect", "Allow") != "Allow":
                continue
            labels = _principal_labels(statement, stack)
            for action in as_list(statement.get("Action")):
                if action in ("kms:*", "*"):
                    key.administer.update(labels)
                    key.use.update(labels)
                elif _is_use(str(action)):
                    key.use.update(labels)
                else:
                    key.administer.update(labels)
        resource = Resource.from_template(context, logical_id)
        key.outside = sorted(
            {f"{g.who}: {', '.join(sorted(g.actions))}" for g in outside_grants(resource)}
        )
        key.protects = sum(f"<{path}>" in label for label in protected)
        found.append(key)
    return sorted(found, key=lambda k: k.path)
