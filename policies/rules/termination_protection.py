"""Platform-TerminationProtection: stacks holding retained data cannot be deleted by accident."""

from __future__ import annotations

from policies.rules._stateful import STATEFUL_TYPES
from policies.rules.base import COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE, Resource, Result, Rule


class TerminationProtection(Rule):
    id = "TerminationProtection"
    info = (
        "A stateful resource of a data-retaining environment is in a stack without "
        "termination protection."
    )
    explanation = (
        "Termination protection makes deleting the stack a deliberate two-step act; it is "
        "reported on each stateful resource because each is what a deletion would put at risk."
    )
    resource_types = STATEFUL_TYPES

    def check(self, resource: Resource) -> Result:
        if not resource.stack.retain_data:
            return NOT_APPLICABLE
        return COMPLIANT if resource.stack.termination_protection else NON_COMPLIANT
