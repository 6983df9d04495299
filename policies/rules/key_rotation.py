"""Platform-KeyRotation: every KMS key rotates its key material automatically."""

from __future__ import annotations

from policies.rules.base import COMPLIANT, NON_COMPLIANT, Resource, Result, Rule


class KeyRotation(Rule):
    id = "KeyRotation"
    info = "The KMS key does not have automatic key rotation enabled."
    explanation = (
        "Rotation limits how much data one key version protects and is required by the "
        "platform's key-management standard; asymmetric and HMAC keys cannot rotate and must "
        "be acknowledged with the reason they are needed."
    )
    resource_types = frozenset({"AWS::KMS::Key"})

    def check(self, resource: Resource) -> Result:
        rotates = resource.properties.get("EnableKeyRotation") in (True, "true")
        return COMPLIANT if rotates else NON_COMPLIANT
