"""Platform-NoWildcardResources: `Resource: "*"` only for actions that accept nothing else."""

from __future__ import annotations

from policies.rules._iam import IDENTITY_POLICY_TYPES, actions, allows, identity_statements
from policies.rules.base import Resource, Result, Rule, as_list

# Actions with no resource-level permissions: IAM only accepts "*" for them.
ONLY_STAR = {
    "xray:PutTraceSegments": "X-Ray trace ingestion has no resource-level permissions.",
    "xray:PutTelemetryRecords": "X-Ray telemetry ingestion has no resource-level permissions.",
    "xray:GetSamplingRules": "X-Ray sampling rules are read account-wide.",
    "xray:GetSamplingTargets": "X-Ray sampling targets are read account-wide.",
    "logs:CreateLogDelivery": "Vended log delivery (Step Functions, API Gateway) accepts only '*'.",
    "logs:GetLogDelivery": "Vended log delivery accepts only '*'.",
    "logs:UpdateLogDelivery": "Vended log delivery accepts only '*'.",
    "logs:DeleteLogDelivery": "Vended log delivery accepts only '*'.",
    "logs:ListLogDeliveries": "Vended log delivery accepts only '*'.",
    "logs:PutResourcePolicy": "Log resource policies are account-level; vended delivery needs it.",
    "logs:DescribeResourcePolicies": "Log resource policies are account-level.",
    "logs:DescribeLogGroups": "Listing log groups has no resource-level permissions.",
    "cloudwatch:PutMetricData": "Metric data has no ARN; a namespace condition narrows it.",
    "comprehend:DetectSentiment": "Real-time analysis with built-in models has no resource ARN.",
    "comprehend:DetectDominantLanguage": "Real-time analysis with built-in models has no ARN.",
    "ecr:GetAuthorizationToken": "Registry login tokens are account-wide.",
    "sts:GetCallerIdentity": "Needs no permission at all; harmless wherever it appears.",
}


class NoWildcardResources(Rule):
    id = "NoWildcardResources"
    info = "An Allow statement applies an action to Resource '*' although the action supports ARNs."
    explanation = (
        "A grant on '*' reaches every present and future resource of the account; scope it to "
        "the ARNs the principal works on. Only actions without resource-level permissions "
        "(listed in the rule with their reasons) may use '*'."
    )
    resource_types = IDENTITY_POLICY_TYPES

    def check(self, resource: Resource) -> Result:
        findings: set[str] = set()
        for statement in identity_statements(resource):
            if not allows(statement):
                continue
            if "NotResource" in statement:
                findings.add("NotResource")
            if "*" not in as_list(statement.get("Resource")):
                continue
            findings.update(f"Action::{a}" for a in actions(statement) if a not in ONLY_STAR)
        return sorted(findings)
