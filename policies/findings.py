"""One policy finding, whoever reported it: a cdk-nag pack at synth or a scanner on cdk.out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Status = Literal["failed", "acknowledged", "passed-info"]

# Scanner tool -> the namespace its rule ids carry in the acknowledgements registry. A pack's
# findings (AwsSolutions, Serverless, Platform) use the pack name itself.
REGISTRY_NAMESPACES: dict[str, str] = {
    "cfn-lint": "CfnLint",
    "checkov": "Checkov",
    "parliament": "Parliament",
}


@dataclass
class Finding:
    """One rule's finding on one resource: open (`failed`), acknowledged with a reason, or info."""

    source: str  # pack (AwsSolutions, Serverless, Platform) or scanner (cfn-lint, checkov, ...)
    rule: str  # as the source names it: AwsSolutions-IAM5[Action::s3:*], CKV_AWS_21, ES6000
    construct_path: str  # aws:cdk:path of the resource ("" where unknown)
    message: str
    severity: str
    template: str = ""  # the template file (relative to the assembly root where known)
    logical_id: str = ""
    stack: str = ""
    status: Status = "failed"
    reason: str = ""
    acknowledged_at: str = ""  # the construct path the acknowledgement was made at
    unit: str = field(default="", compare=False)  # what a scanner counts it against

    @property
    def acknowledged(self) -> bool:
        return self.status == "acknowledged"

    @property
    def where(self) -> str:
        """The construct path, or the logical id where the resource has none."""
        return self.construct_path or self.logical_id

    @property
    def key(self) -> tuple[str, str, str]:
        """What identifies a finding across two synth outputs."""
        return (self.source, self.rule, self.where)

    @property
    def registry_rule(self) -> str:
        """The rule id as the acknowledgements registry spells it, e.g. Checkov::CKV_AWS_116."""
        return f"{REGISTRY_NAMESPACES.get(self.source, self.source)}::{self.rule}"

    def line(self) -> str:
        where = f"{self.stack} {self.logical_id}".strip()
        path = f" ({self.construct_path})" if self.construct_path else ""
        return f"{self.source} {self.rule} [{self.severity}] {where}{path}: {self.message}"
