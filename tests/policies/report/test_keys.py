"""Key summaries: rotation, administrators and users read from the key policy, outsiders flagged."""

from __future__ import annotations

from pathlib import Path

from cloud_assembly.templates import StackTemplate
from policies.report.keys import keys
from tests.support.templates import stack_of

OWN, OTHER = "123456789012", "999999999999"


def _stack(tmp_path: Path, resources: dict[str, object]) -> StackTemplate:
    return stack_of(tmp_path, resources, OWN)


def _key(statements: list[dict[str, object]], **properties: object) -> dict[str, object]:
    policy = {"Version": "2012-10-17", "Statement": statements}
    return {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": policy, **properties}}


ROOT_ALL = {
    "Effect": "Allow",
    "Principal": {
        "AWS": {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":iam::{OWN}:root"]]}
    },
    "Action": "kms:*",
    "Resource": "*",
}


def test_rotation_period_and_who_administers_and_uses(tmp_path: Path) -> None:
    partner = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
        "Action": ["kms:Decrypt", "kms:DescribeKey"],
        "Resource": "*",
    }
    logs = {
        "Effect": "Allow",
        "Principal": {"Service": "logs.eu-west-1.amazonaws.com"},
        "Action": ["kms:Encrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
        "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:*"}},
    }
    admin = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{OWN}:role/KeyAdmin"},
        "Action": ["kms:ScheduleKeyDeletion", "kms:PutKeyPolicy"],
        "Resource": "*",
    }
    stack = _stack(
        tmp_path,
        {
            "Yearly": _key([ROOT_ALL, partner, logs, admin], EnableKeyRotation=True),
            "Quarterly": _key([ROOT_ALL], EnableKeyRotation=True, RotationPeriodInDays=90),
            "Never": _key([ROOT_ALL]),
            "Queue": {
                "Type": "AWS::SQS::Queue",
                "Properties": {"KmsMasterKeyId": {"Fn::GetAtt": ["Yearly", "Arn"]}},
            },
        },
    )
    found = {k.path: k for k in keys(stack)}
    # Rotation defaults to yearly when enabled; RotationPeriodInDays sets 90 to 2560 days
    # (AWS::KMS::Key, https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html).
    assert found["Yearly"].rotation_label() == "yes, every 365 days"
    assert found["Quarterly"].rotation_label() == "yes, every 90 days"
    assert found["Never"].rotation_label() == "no"
    yearly = found["Yearly"]
    # kms:* both administers and uses; the key-administrator actions of AWS's default key
    # policy administer; cryptographic operations use
    # (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html).
    assert yearly.administer == {
        "this account (its IAM policies decide)",
        f"arn:aws:iam::{OWN}:role/KeyAdmin",
    }
    assert yearly.use == {
        "this account (its IAM policies decide)",
        f"arn:aws:iam::{OTHER}:root",
        "Service: logs.eu-west-1.amazonaws.com (with conditions)",
    }
    assert yearly.outside == [f"{OTHER}: kms:Decrypt, kms:DescribeKey"]
    assert found["Never"].outside == []
    assert yearly.protects == 1
    assert found["Quarterly"].protects == 0
