"""Platform-RequiredTags: taggable resources name their environment, service, owner, cost centre."""

from __future__ import annotations

from typing import Any

from policies.rules.base import NOT_APPLICABLE, Resource, Result, Rule
from services.common.tags import REQUIRED_TAG_KEYS


def tags_of(properties: Any) -> dict[str, str]:
    """Tags as CDK renders them: a list of Key/Value pairs, or a map (e.g. BackupVaultTags)."""
    found: dict[str, str] = {}
    for name, value in properties.items():
        if name != "Tags" and not name.endswith("Tags"):
            continue
        if isinstance(value, dict):
            found.update({str(k): str(v) for k, v in value.items()})
        elif isinstance(value, list):
            found.update({str(t.get("Key")): str(t.get("Value")) for t in value if "Key" in t})
    return found


class RequiredTags(Rule):
    id = "RequiredTags"
    info = "The resource is missing one of the required tags."
    explanation = (
        "Environment, Service, Owner and CostCentre tags route alerts and cost reports to the "
        "team that owns the resource; untagged resources are orphans nobody pays attention to."
    )

    def check(self, resource: Resource) -> Result:
        if not resource.taggable:
            return NOT_APPLICABLE
        present = tags_of(resource.properties)
        return [f"Tag::{key}" for key in REQUIRED_TAG_KEYS if not present.get(key)]
