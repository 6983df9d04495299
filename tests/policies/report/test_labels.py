"""The encryption summary says what AWS actually does when a store names no key of its own."""

from __future__ import annotations

from pathlib import Path

from cloud_assembly.templates import StackTemplate
from policies.report.summaries import stores
from tests.support.templates import stack_of


def _stack(tmp_path: Path, resources: dict[str, object]) -> StackTemplate:
    return stack_of(tmp_path, resources, "123456789012")


def test_default_encryption_is_labelled_by_what_the_service_does(tmp_path: Path) -> None:
    stack = _stack(
        tmp_path,
        {
            # SSE on without a key: DynamoDB's AWS-managed key (aws/dynamodb), not AWS-owned.
            "Managed": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {"SSESpecification": {"SSEEnabled": True}},
            },
            "Owned": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
            # CloudWatch Logs encrypts every log group with its own keys.
            "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {}},
        },
    )
    labels = {store.path.rsplit("/", 1)[-1]: store.key for store in stores(stack)}
    assert labels["Managed"] == "AWS-managed key (aws/dynamodb)"
    assert labels["Owned"] == "AWS-owned key"
    assert labels["Logs"] == "service-encrypted (CloudWatch Logs)"
