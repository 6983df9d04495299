"""Platform-CrossAccountResourcePolicy: no resource policy lets in another account or anyone."""

# Key, bucket, queue, topic, API, event bus and secret policies and Lambda permissions: a principal
# of another account, or '*' without a condition naming the caller, is a finding per principal.

from __future__ import annotations

from policies.rules._principals import LAMBDA_PERMISSION, RESOURCE_POLICY_TYPES, outside_grants
from policies.rules.base import Resource, Result, Rule


class CrossAccountResourcePolicy(Rule):
    id = "CrossAccountResourcePolicy"
    info = "A resource-based policy grants access to another AWS account or to anyone."
    explanation = (
        "Resource policies are the one way in that the other account controls; each grant to "
        "another account must be deliberate and acknowledged with its reason."
    )
    resource_types = RESOURCE_POLICY_TYPES | {LAMBDA_PERMISSION}

    def check(self, resource: Resource) -> Result:
        return sorted({f"Principal::{grant.principal}" for grant in outside_grants(resource)})
