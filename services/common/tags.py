"""The tag keys every deployed resource carries: the stacks apply them, RequiredTags checks them.

Pure Python, no CDK: the policy rules import it without loading jsii.
"""

from __future__ import annotations

REQUIRED_TAG_KEYS = ("Environment", "Service", "Owner", "CostCentre")
