"""Intrinsics resolved into plausible literal values, so parliament can read policy documents."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cloud_assembly.intrinsics import Resolver, UnresolvableError

RESOURCES: dict[str, Any] = {
    "Bucket1234ABCD": {"Type": "AWS::S3::Bucket"},
    "Queue0000FFFF": {"Type": "AWS::SQS::Queue"},
    "Machine12345678": {"Type": "AWS::StepFunctions::StateMachine"},
    "Key": {"Type": "AWS::KMS::Key"},
    "Project": {"Type": "AWS::CodeBuild::Project"},
    "Thing": {"Type": "AWS::Foo::Widget"},
}


@pytest.fixture
def resolver() -> Resolver:
    return Resolver.for_template(
        {"Resources": RESOURCES, "Parameters": {"Stage": {"Type": "String", "Default": "dev"}}},
        account="111111111111",
        region="eu-west-1",
        stack_name="Messaging",
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"Ref": "AWS::Partition"}, "aws"),
        ({"Ref": "AWS::AccountId"}, "111111111111"),
        ({"Ref": "AWS::Region"}, "eu-west-1"),
        ({"Ref": "Stage"}, "dev"),
        ({"Ref": "Bucket1234ABCD"}, "bucket"),
        ({"Fn::GetAtt": ["Bucket1234ABCD", "Arn"]}, "arn:aws:s3:::bucket"),
        (
            {"Fn::Join": ["", [{"Fn::GetAtt": ["Bucket1234ABCD", "Arn"]}, "/media/*"]]},
            "arn:aws:s3:::bucket/media/*",
        ),
        ({"Fn::GetAtt": ["Queue0000FFFF", "Arn"]}, "arn:aws:sqs:eu-west-1:111111111111:Queue"),
        ({"Ref": "Queue0000FFFF"}, "https://sqs.eu-west-1.amazonaws.com/111111111111/Queue"),
        ({"Ref": "Machine12345678"}, "arn:aws:states:eu-west-1:111111111111:stateMachine:Machine"),
        ("Machine12345678.Arn", "Machine12345678.Arn"),  # a plain string stays as it is
        (
            {"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:*"},
            "arn:aws:logs:eu-west-1:111111111111:*",
        ),
        ({"Fn::Sub": ["${Q}/x${!Literal}", {"Q": {"Ref": "Project"}}]}, "Project/x${Literal}"),
        ({"Fn::Sub": "${Queue0000FFFF.Arn}"}, "arn:aws:sqs:eu-west-1:111111111111:Queue"),
        ({"Fn::Select": [1, {"Fn::Split": [":", "a:b:c"]}]}, "b"),
        ({"Fn::ImportValue": "SharedKeyArn"}, "imported-SharedKeyArn"),
        ({"Fn::GetAtt": ["Thing", "Arn"]}, "arn:aws:foo:eu-west-1:111111111111:widget/Thing"),
        (["a", {"Ref": "AWS::NoValue"}, "b"], ["a", "b"]),
    ],
)
def test_intrinsics_resolve_to_plausible_values(
    resolver: Resolver, value: Any, expected: Any
) -> None:
    assert resolver.resolve(value) == expected


def test_a_key_arn_carries_a_stable_key_id(resolver: Resolver) -> None:
    arn = resolver.resolve({"Fn::GetAtt": ["Key", "Arn"]})
    key_id = resolver.resolve({"Ref": "Key"})
    assert arn == f"arn:aws:kms:eu-west-1:111111111111:key/{key_id}"
    assert len(key_id) == 36


def test_a_policy_document_resolves_whole(resolver: Resolver) -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sqs:SendMessage",
                "Resource": {"Fn::GetAtt": ["Queue0000FFFF", "Arn"]},
                "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
            }
        ],
    }
    resolved = resolver.resolve(document)
    assert resolved["Statement"][0]["Resource"] == "arn:aws:sqs:eu-west-1:111111111111:Queue"
    assert resolved["Statement"][0]["Condition"]["StringEquals"]["aws:SourceAccount"] == (
        "111111111111"
    )
    assert "Fn::" not in json.dumps(resolved)


@pytest.mark.parametrize(
    "value",
    [
        {"Ref": "Missing"},
        {"Fn::GetAtt": ["Missing", "Arn"]},
        {"Fn::Transform": {"Name": "x"}},
        {"Fn::Join": ["", {"Ref": "AWS::Region"}]},
    ],
)
def test_what_cannot_be_resolved_is_refused(resolver: Resolver, value: Any) -> None:
    with pytest.raises(UnresolvableError):
        resolver.resolve(value)
