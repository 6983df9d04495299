"""Platform-RuleTargetDeadLetter: every EventBridge rule target has a DLQ and a retry policy."""

from __future__ import annotations

from policies.rules.base import Resource, Result, Rule, as_list


class RuleTargetDeadLetter(Rule):
    id = "RuleTargetDeadLetter"
    info = "An EventBridge rule target has no dead-letter queue or no explicit retry policy."
    explanation = (
        "EventBridge drops an event it cannot deliver after its default retries; a target DLQ "
        "keeps it and an explicit retry policy states how long delivery is attempted."
    )
    resource_types = frozenset({"AWS::Events::Rule"})

    def check(self, resource: Resource) -> Result:
        findings = []
        for index, target in enumerate(as_list(resource.properties.get("Targets"))):
            name = target.get("Id", str(index))
            if not (target.get("DeadLetterConfig") or {}).get("Arn"):
                findings.append(f"Target::{name}::DeadLetterConfig")
            if not target.get("RetryPolicy"):
                findings.append(f"Target::{name}::RetryPolicy")
        return findings
