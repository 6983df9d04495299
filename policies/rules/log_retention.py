"""Platform-LogRetention: every log group says how long it keeps its logs."""

from __future__ import annotations

from policies.rules.base import COMPLIANT, NON_COMPLIANT, Resource, Result, Rule


class LogRetention(Rule):
    id = "LogRetention"
    info = "The log group has no retention period, so it keeps logs forever."
    explanation = (
        "Logs without retention grow cost without bound and keep personal data longer than "
        "the platform's retention policy allows; the period comes from the environment config."
    )
    resource_types = frozenset({"AWS::Logs::LogGroup"})

    def check(self, resource: Resource) -> Result:
        return COMPLIANT if resource.properties.get("RetentionInDays") else NON_COMPLIANT
