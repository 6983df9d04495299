"""Resource-based policies in the report: two releases apart by two cross-account grants."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from cloud_assembly.templates import templates
from policies.platform_pack import PlatformChecks
from policies.report.__main__ import write

CONTEXT = {"aws:cdk:enable-path-metadata": True, "aws:cdk:version-reporting": False}
OTHER = "999999999999"
PRINCIPAL = f"arn:<AWS::Partition>:iam::{OTHER}:root"
RULE = "Platform-CrossAccountResourcePolicy"


def synth(outdir: Path, *, release: int) -> Path:
    app = cdk.App(outdir=str(outdir), context=CONTEXT)
    stage = cdk.Stage(app, "Dev", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    stack = cdk.Stack(stage, "Messaging")
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    bucket = s3.Bucket(stack, "Exports", encryption_key=key, enforce_ssl=True)
    if release == 2:  # the partner account may read the exports and decrypt them
        bucket.grant_read(iam.AccountPrincipal(OTHER))
        key.grant_decrypt(iam.AccountPrincipal(OTHER))
    app.synth()
    return outdir


def test_two_cross_account_grants_reach_the_diff_the_summary_and_the_gate(
    tmp_path: Path,
) -> None:
    old = synth(tmp_path / "old", release=1)
    new = synth(tmp_path / "new", release=2)
    out = tmp_path / "reports"
    write(new, out, base=old)

    (dev,) = json.loads((out / "diff.json").read_text())["units"]
    gained = {(g["resource"], g["who"], g["principal"]) for g in dev["outside_added"]}
    assert gained == {("Exports/Policy", OTHER, PRINCIPAL), ("Key", OTHER, PRINCIPAL)}
    assert dev["outside_removed"] == []
    decrypt = [g for path, g in dev["added_policy_grants"] if path == "Key"]
    assert any(g["action"] == "kms:Decrypt" for g in decrypt)
    diff_md = (out / "diff.md").read_text()
    assert "broadens permissions" in diff_md
    assert diff_md.index("Who outside this account gains or loses access") < diff_md.index(
        "New open findings"
    )

    summary = (out / "dev.md").read_text()
    outside = summary[summary.index("Who outside this account can do what") :]
    outside = outside[: outside.index("Resource-based policies")]
    assert f"`{PRINCIPAL}`" in outside
    assert "`Exports/Policy`" in outside
    assert "`Key`" in outside

    flagged = {
        (f.rule, f.construct_path)
        for f in PlatformChecks().check_templates(templates(new))
        if f.rule.startswith(RULE)
    }
    assert flagged == {
        (f"{RULE}[Principal::{PRINCIPAL}]", "Dev/Messaging/Exports/Policy/Resource"),
        (f"{RULE}[Principal::{PRINCIPAL}]", "Dev/Messaging/Key/Resource"),
    }
    assert not [f for f in PlatformChecks().check_templates(templates(old)) if RULE in f.rule]
