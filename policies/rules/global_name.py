"""Platform-GlobalName: an explicit name that is global across regions carries the region."""

from __future__ import annotations

import re
from typing import Any

from policies.rules.base import COMPLIANT, NOT_APPLICABLE, Resource, Result, Rule

# Types whose names are unique per account across every region (or across all accounts).
GLOBAL_NAMES = {
    "AWS::CloudWatch::Dashboard": "DashboardName",
    "AWS::S3::Bucket": "BucketName",
}
_REGION = re.compile(r"[a-z]{2}(-gov)?-[a-z]+-\d")


def _names_region(value: Any) -> bool:
    text = str(value)
    return bool(_REGION.search(text)) or "AWS::Region" in text


class GlobalName(Rule):
    id = "GlobalName"
    info = "An explicit name that must be unique across regions does not include the region."
    explanation = (
        "CloudWatch dashboard names are global to an account and bucket names to all of AWS: "
        "the same Stage in a second region (a prod wave) or any existing resource of that name "
        "makes the deployment fail. Let CloudFormation name it, or put the region in the name."
    )
    resource_types = frozenset(GLOBAL_NAMES)

    def check(self, resource: Resource) -> Result:
        name = resource.properties.get(GLOBAL_NAMES[resource.type])
        if name is None:
            return NOT_APPLICABLE
        return COMPLIANT if _names_region(name) else ["Name"]
