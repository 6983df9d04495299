"""Diff mode: two synth outputs apart by one change each, and the CLI's ground truth beside them."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs

from pipeline import review
from policies.report import cdk_diff, diff, model, provenance
from policies.report.__main__ import main, write

CONTEXT = {"aws:cdk:enable-path-metadata": True, "aws:cdk:version-reporting": False}
OTHER = "999999999999"


def synth(outdir: Path, *, purge: bool = False, trust: bool = False, ingress: bool = False) -> Path:
    app = cdk.App(outdir=str(outdir), context=CONTEXT)
    stage = cdk.Stage(app, "Dev", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    stack = cdk.Stack(stage, "Messaging")
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    inbox = sqs.Queue(stack, "Inbox", encryption_master_key=key)
    # `purge` drops the customer key of this queue...
    sqs.Queue(
        stack,
        "Outbox",
        encryption_master_key=None if purge else key,
        encryption=sqs.QueueEncryption.SQS_MANAGED if purge else sqs.QueueEncryption.KMS,
    )
    worker = iam.Role(stack, "Worker", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    inbox.grant_consume_messages(worker)
    if purge:  # ...and lets the worker purge the inbox.
        worker.add_to_policy(
            iam.PolicyStatement(actions=["sqs:PurgeQueue"], resources=[inbox.queue_arn])
        )
    if trust:  # another account may assume a role that reads the inbox
        partner = iam.Role(stack, "Partner", assumed_by=iam.AccountPrincipal(OTHER))
        inbox.grant_consume_messages(partner)
    if ingress:  # a security group rule: the CLI's business, outside this report's own view
        ec2.CfnSecurityGroupIngress(
            stack,
            "Https",
            group_id="sg-0123456789abcdef0",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ip="0.0.0.0/0",
        )
    app.synth()
    return outdir


def test_the_diff_reports_exactly_the_added_permission_and_the_removed_key(tmp_path: Path) -> None:
    old = synth(tmp_path / "old")
    new = synth(tmp_path / "new", purge=True)
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
    # The CLI, run once on the one stack, sees the same added statement and nothing else.
    (check,) = dev["security_diff"]
    assert (check["stack"], check["error"], check["new_stack"]) == ("Dev/Messaging", "", False)
    added = [c for c in check["changes"] if c["sign"] == "+"]
    assert [(c["table"], c["cells"][1:3]) for c in added] == [
        ("IAM Statement Changes", ["Allow", "sqs:PurgeQueue"])
    ]
    assert dev["unmatched"] == []
    ours = ("unit", "added_permissions", "encryption_changes", "security_diff")
    untouched = {k: v for k, v in dev.items() if k not in ours}
    assert all(v == [] for v in untouched.values()), untouched
    assert changes["added_units"] == changes["removed_units"] == []
    assert (changes["broadens_permissions"], changes["cli_broadens"]) == (True, True)

    text = (out / "diff.md").read_text()
    assert "broadens permissions" in text
    assert "| Worker | Allow | sqs:PurgeQueue | `<Inbox>.Arn` |  |" in text
    assert "`Dev/Messaging` against the base's template: **broadens permissions**." in text
    assert "Changes since the base release: [diff](diff.md)." in (out / "summary.md").read_text()


def test_a_release_without_security_changes_says_so(tmp_path: Path) -> None:
    old = synth(tmp_path / "a")
    new = synth(tmp_path / "b")
    write(new, tmp_path / "reports", base=old)
    text = (tmp_path / "reports" / "diff.md").read_text()
    assert "adds no IAM permission" in text
    assert "No security-relevant change: every template is byte-identical" in text
    assert (
        json.loads((tmp_path / "reports" / "diff.json").read_text())["units"][0]["security_diff"]
        == []
    )


def test_a_new_cross_account_trust_is_outside_access_and_broadening(tmp_path: Path) -> None:
    old = synth(tmp_path / "old")
    new = synth(tmp_path / "new", trust=True)
    out = tmp_path / "reports"
    write(new, out, base=old)

    changes = json.loads((out / "diff.json").read_text())
    (dev,) = changes["units"]
    principal = f"arn:<AWS::Partition>:iam::{OTHER}:root"
    gained = [(g["resource"], g["who"], g["principal"], g["actions"]) for g in dev["outside_added"]]
    assert gained == [("Partner (trust)", OTHER, principal, "sts:AssumeRole")]
    assert changes["broadens_permissions"] is True
    # The CLI lists the trust statement (and the role's permissions); the project view has all.
    (check,) = dev["security_diff"]
    assert any("sts:AssumeRole" in c["cells"][2] for c in check["changes"])
    assert dev["unmatched"] == []
    page = (out / "dev.md").read_text()
    outside = page[page.index("Who outside this account can do what") :]
    outside = outside[: outside.index("Resource-based policies")]
    assert f"| {OTHER} | `{principal}` | sts:AssumeRole | `Partner (trust)` |" in outside


def test_a_broadening_only_the_cli_sees_is_said_first(tmp_path: Path) -> None:
    """The project view does not read security groups; the CLI does (aws-cdk's
    `SecurityGroupChanges`), so the diff must not call the unit unchanged."""
    old = synth(tmp_path / "old")
    new = synth(tmp_path / "new", ingress=True)
    out = tmp_path / "reports"
    write(new, out, base=old)

    (dev,) = json.loads((out / "diff.json").read_text())["units"]
    [(stack, change)] = dev["unmatched"]
    assert (stack, change["table"], change["sign"]) == (
        "Dev/Messaging",
        "Security Group Changes",
        "+",
    )
    assert "0.0.0.0/0" in " ".join(change["cells"]) or "Everyone" in " ".join(change["cells"])
    text = (out / "diff.md").read_text()
    assert "No security-relevant change" not in text
    assert "**The CLI reports 1 broadening change(s) this report's own view does not show**" in text
    dev_section = text[text.index("## Dev") :]
    assert dev_section.index("Reported by the CLI only") < dev_section.index(
        "Who outside this account gains or loses access"
    )


def test_the_base_is_named_by_commit_and_execution_never_by_path(tmp_path: Path) -> None:
    old = synth(tmp_path / "released")
    new = synth(tmp_path / "new")
    out = tmp_path / "reports"
    write(new, out, base=old)
    unnamed = (out / "diff.md").read_text() + (out / "diff.html").read_text()
    assert "base: <unnamed synth output>" in unnamed
    assert str(tmp_path) not in unnamed

    release = provenance.Provenance(
        commit="ab" * 20,  # a SHA-1's 40 hex digits (low entropy: not a secret to the scan)
        execution="5f1c2a9e-0000-4000-8000-000000000001",
        date="2026-11-20T10:00:00Z",
    )
    provenance.write(old, release)
    write(new, out, base=old)
    named = (out / "diff.md").read_text()
    assert (
        "Compared with base: commit abababababab (execution 5f1c2a9e-0000-4000-8000-000000000001, "
        "2026-11-20T10:00:00Z)." in named
    )
    assert str(tmp_path) not in named + (out / "diff.html").read_text()
    assert json.loads((out / "diff.json").read_text())["base"].startswith("base: commit abab")


def test_the_released_copy_keeps_what_names_it(tmp_path: Path) -> None:
    """`make review` packs the synth output that `make released` later marks as the base."""
    old = synth(tmp_path / "old")
    provenance.write(old, provenance.Provenance("cd" * 20, "exec-1", "2026-11-20"))
    review.unpack(review.pack(old), tmp_path / "released")
    label = diff.base_label(tmp_path / "released")
    assert label == "base: commit cdcdcdcdcdcd (execution exec-1, 2026-11-20)"


def test_a_failed_cli_run_is_reported_and_fails_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = synth(tmp_path / "old")
    new = synth(tmp_path / "new", purge=True)
    monkeypatch.setattr(cdk_diff, "CLI", tmp_path / "no-such-cdk")
    changes = diff.compare(model.load(old), model.load(new))
    assert changes.incomplete == ["Dev/Messaging"]
    assert "the pinned CLI is not installed" in changes.units[0].security_diff[0].error
    headline = str(diff.document(changes, "base: x").blocks[0])
    assert "**The CLI's diff failed for `Dev/Messaging`**" in headline

    # The command writes the reports that say so, and exits 1.
    for folder in (old, new):
        (folder / "validation-report.json").write_text("{}")
    assert main([str(new), "--base", str(old), "--out", str(tmp_path / "r")]) == 1
    assert "diff failed for `Dev/Messaging`" in (tmp_path / "r" / "diff.md").read_text()


# `cdk diff --security-only` output shaped as the pinned CLI (aws-cdk 2.1148.1) prints it,
# abridged from its run on the grants of test_diff_cross_account.py (two rows of one table with
# no rule between them, cells continued on the next lines), plus a Deny row and a managed policy.
CLI_OUTPUT = """\
This deployment will make potentially sensitive changes according to your current
Stack Prod/Messaging (Prod-Messaging)
IAM Statement Changes
┌───┬──────────────────────────┬────────┬─────────────────┬────────────────────────┬───────────┐
│   │ Resource                 │ Effect │ Action          │ Principal              │ Condition │
├───┼──────────────────────────┼────────┼─────────────────┼────────────────────────┼───────────┤
│ + │ ${Messaging/DataKey.Arn} │ Allow  │ kms:Decrypt     │ AWS:arn:aws:iam::9:root │           │
│   │                          │        │ kms:DescribeKey │                        │           │
│ - │ ${Messaging/DataKey.Arn} │ Deny   │ kms:Decrypt     │ AWS:arn:aws:iam::9:root │           │
├───┼──────────────────────────┼────────┼─────────────────┼────────────────────────┼───────────┤
│ + │ ${Messaging/Bucket.Arn}  │ Allow  │ s3:GetObject*   │ AWS:arn:aws:iam::9:root │           │
│   │ ${Messaging/Bucket.Arn}/*│        │                 │                        │           │
└───┴──────────────────────────┴────────┴─────────────────┴────────────────────────┴───────────┘
IAM Policy Changes
┌───┬──────────────────────┬────────────────────────────────────────┐
│   │ Resource             │ Managed Policy ARN                     │
├───┼──────────────────────┼────────────────────────────────────────┤
│ + │ ${Messaging/Role}    │ arn:aws:iam::aws:policy/ReadOnlyAccess │
└───┴──────────────────────┴────────────────────────────────────────┘
"""


def test_the_cli_tables_are_parsed_row_by_row() -> None:
    headers, changes = cdk_diff.parse(CLI_OUTPUT)
    assert headers == {
        "IAM Statement Changes": ["Resource", "Effect", "Action", "Principal", "Condition"],
        "IAM Policy Changes": ["Resource", "Managed Policy ARN"],
    }
    assert [(c.sign, c.effect, c.actions, c.broadens) for c in changes[:3]] == [
        ("+", "Allow", ["kms:Decrypt", "kms:DescribeKey"], True),
        ("-", "Deny", ["kms:Decrypt"], True),  # a Deny removed broadens, as the CLI counts it
        ("+", "Allow", ["s3:GetObject*"], True),
    ]
    assert changes[2].cells[0] == "${Messaging/Bucket.Arn}\n${Messaging/Bucket.Arn}/*"
    assert (changes[3].table, changes[3].cells) == (
        "IAM Policy Changes",
        ("${Messaging/Role}", "arn:aws:iam::aws:policy/ReadOnlyAccess"),
    )
    check = cdk_diff.StackCheck("Prod/Messaging", "Prod", output=CLI_OUTPUT, changes=changes)
    reported = {"kms:decrypt", "kms:describekey", "s3:getobject*"}
    assert [c.table for _, c in cdk_diff.unmatched([check], reported)] == ["IAM Policy Changes"]
    reported.add("arn:aws:iam::aws:policy/readonlyaccess")
    assert cdk_diff.unmatched([check], reported) == []
