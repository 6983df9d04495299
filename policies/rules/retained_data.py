"""Platform-RetainedData: where an environment retains data, stateful resources survive deletion."""

from __future__ import annotations

from policies.rules._stateful import STATEFUL_TYPES
from policies.rules.base import NOT_APPLICABLE, Resource, Result, Rule

KEEPS = {"Retain", "RetainExceptOnCreate", "Snapshot"}


class RetainedData(Rule):
    id = "RetainedData"
    info = (
        "A stateful resource in an environment that retains data would be deleted with its stack."
    )
    explanation = (
        "Tables, buckets, keys, archives and logs of a data-retaining environment must carry "
        "a Retain deletion and replacement policy, so a stack deletion or a replacement "
        "caused by a refactoring cannot destroy customer data or the keys that decrypt it."
    )
    resource_types = STATEFUL_TYPES

    def check(self, resource: Resource) -> Result:
        if not resource.stack.retain_data:
            return NOT_APPLICABLE
        findings = []
        if resource.deletion_policy not in KEEPS:
            findings.append("DeletionPolicy")
        if resource.update_replace_policy not in KEEPS:
            findings.append("UpdateReplacePolicy")
        return findings
