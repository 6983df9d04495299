"""Diff mode: two synth outputs that differ by one IAM permission and one encryption key."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs

from policies.report.__main__ import write

CONTEXT = {"aws:cdk:enable-path-metadata": True, "aws:cdk:version-reporting": False}


def synth(outdir: Path, *, release: int) -> Path:
    app = cdk.App(outdir=str(outdir), context=CONTEXT)
    stage = cdk.Stage(app, "Dev", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    stack = cdk.Stack(stage, "Messaging")
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    inbox = sqs.Queue(stack, "Inbox", encryption_master_key=key)
    # Release 2 drops the customer key of this queue...
    sqs.Queue(
        stack,
        "Outbox",
        encryption_master_key=key if release == 1 else None,
        encryption=sqs.QueueEncryption.KMS if release == 1 else sqs.QueueEncryption.SQS_MANAGED,
    )
    worker = iam.Role(stack, "Worker", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    inbox.grant_consume_messages(worker)
    if release == 2:  # ...and lets the worker purge the inbox.
        worker.add_to_policy(
            iam.PolicyStatement(actions=["sqs:PurgeQueue"], resources=[inbox.queue_arn])
        )
    app.synth()
    return outdir


def test_the_diff_reports_exactly_the_added_permission_and_the_removed_key(tmp_path: Path) -> None:
    old = synth(tmp_path / "old", release=1)
    new = synth(tmp_path / "new", release=2)
    out = tmp_path / "reports"
    write(new, out, base=old)

    changes = json.loads((out / "diff.json").read_text())
    (dev,) = changes["units"]
    assert dev["unit"] == "Dev"
    assert dev["added_permissions"] == [
        [
            "Worker",
            {
                "effect": "Allow",
                "action": "sqs:PurgeQueue",
                "resource": "<Inbox>.Arn",
                "condition": "",
            },
        ]
    ]
    assert dev["encryption_changes"] == [["Outbox", "<Key>.Arn", "SSE-SQS (AWS-owned key)"]]
    untouched = {
        k: v for k, v in dev.items() if k not in ("unit", "added_permissions", "encryption_changes")
    }
    assert all(v == [] for v in untouched.values()), untouched
    assert changes["added_units"] == changes["removed_units"] == []

    text = (out / "diff.md").read_text()
    assert "broadens permissions" in text
    assert "| Worker | Allow | sqs:PurgeQueue | `<Inbox>.Arn` |  |" in text
    assert "Changes since the base release: [diff](diff.md)." in (out / "summary.md").read_text()


def test_a_release_without_security_changes_says_so(tmp_path: Path) -> None:
    old = synth(tmp_path / "a", release=1)
    new = synth(tmp_path / "b", release=1)
    write(new, tmp_path / "reports", base=old)
    text = (tmp_path / "reports" / "diff.md").read_text()
    assert "adds no IAM permission" in text
    assert "No security-relevant change." in text
