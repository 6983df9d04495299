"""Platform-RetainedData and Platform-TerminationProtection, in a retaining and a scratch stack."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_dynamodb as dynamodb

from tests.support.rules import ENV, findings, flagged

PK = dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)


def build(app: cdk.App) -> None:
    kept = cdk.Stack(app, "Kept", env=ENV, termination_protection=True)
    dynamodb.Table(kept, "Retained", partition_key=PK, removal_policy=cdk.RemovalPolicy.RETAIN)
    dynamodb.Table(kept, "Destroyed", partition_key=PK, removal_policy=cdk.RemovalPolicy.DESTROY)
    unprotected = cdk.Stack(app, "Unprotected", env=ENV)
    dynamodb.Table(
        unprotected, "Retained", partition_key=PK, removal_policy=cdk.RemovalPolicy.RETAIN
    )
    scratch = cdk.Stack(app, "Scratch", env=ENV)
    dynamodb.Table(scratch, "Destroyed", partition_key=PK, removal_policy=cdk.RemovalPolicy.DESTROY)


def retain(app: cdk.App) -> list[cdk.Stack]:
    return [app.node.find_child("Kept"), app.node.find_child("Unprotected")]  # type: ignore[list-item]


@pytest.fixture(scope="module")
def found(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    return findings(tmp_path_factory.mktemp("retain"), build, retain=retain)


def test_a_destroyable_store_in_a_retaining_stack_is_flagged(found: dict[str, set[str]]) -> None:
    assert found["Platform-RetainedData[DeletionPolicy]"] == {"Kept/Destroyed/Resource"}
    assert found["Platform-RetainedData[UpdateReplacePolicy]"] == {"Kept/Destroyed/Resource"}


def test_a_retaining_stack_without_termination_protection_is_flagged(
    found: dict[str, set[str]],
) -> None:
    assert flagged(found, "Platform-TerminationProtection") == {"Unprotected/Retained/Resource"}


def test_stacks_that_do_not_retain_data_are_not_checked(found: dict[str, set[str]]) -> None:
    rules = ("Platform-RetainedData", "Platform-TerminationProtection")
    assert not any(p.startswith("Scratch/") for rule in rules for p in flagged(found, rule))
