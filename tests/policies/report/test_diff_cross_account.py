"""Issue 16's done-when: two releases apart by one cross-account grant on a bucket policy and one
on a key policy; the diff (project view and the CLI), the report and the Platform pack see both.

Both releases are synthesized with the project's packs registered on the App, as `cdk synth`
does, so the Platform findings come from the gate's own validation report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from policies import packs
from policies.report.__main__ import write

CONTEXT = {"aws:cdk:enable-path-metadata": True, "aws:cdk:version-reporting": False}
OTHER = "999999999999"
PRINCIPAL = f"arn:<AWS::Partition>:iam::{OTHER}:root"
RULE = "Platform-CrossAccountResourcePolicy"
BUCKET_POLICY, KEY = "Prod/Messaging/MediaBucket/Policy/Resource", "Prod/Messaging/DataKey/Resource"


def synth(outdir: Path, *, granted: bool) -> Path:
    app = cdk.App(outdir=str(outdir), context=CONTEXT)
    stage = cdk.Stage(app, "Prod", env=cdk.Environment(account="444444444444", region="eu-west-1"))
    stack = cdk.Stack(stage, "Messaging")
    key = kms.Key(stack, "DataKey", enable_key_rotation=True)
    bucket = s3.Bucket(stack, "MediaBucket", encryption_key=key, enforce_ssl=True)
    if granted:  # the release: another account may read the media and decrypt it
        bucket.grant_read(iam.AccountPrincipal(OTHER))
        key.grant_decrypt(iam.AccountPrincipal(OTHER))
    packs.register(app)
    # This small app has open findings besides the grants (tags, access logs): the gate fails
    # the synth after writing the assembly and its validation report, as `cdk synth` does.
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    return outdir


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("releases")
    old = synth(root / "released", granted=False)
    new = synth(root / "new", granted=True)
    write(new, root / "reports", base=old)
    return old, new, root / "reports"


def _prod(reports: Path) -> dict[str, Any]:
    (prod,) = json.loads((reports / "diff.json").read_text())["units"]
    assert prod["unit"] == "Prod"
    return dict(prod)


def test_the_project_view_of_the_diff_reports_both_grants(
    releases: tuple[Path, Path, Path],
) -> None:
    prod = _prod(releases[2])
    gained = {(g["resource"], g["who"], g["principal"]) for g in prod["outside_added"]}
    assert gained == {("MediaBucket/Policy", OTHER, PRINCIPAL), ("DataKey", OTHER, PRINCIPAL)}
    assert prod["outside_removed"] == []
    added = {(path, g["action"]) for path, g in prod["added_policy_grants"]}
    assert ("DataKey", "kms:Decrypt") in added
    assert ("MediaBucket/Policy", "s3:GetObject*") in added
    # The gate's new open findings are exactly the two grants.
    assert {(f["rule"], f["path"]) for f in prod["new_findings"]} == {
        (f"{RULE}[Principal::{PRINCIPAL}]", BUCKET_POLICY),
        (f"{RULE}[Principal::{PRINCIPAL}]", KEY),
    }


def test_the_cli_ground_truth_reports_both_grants(releases: tuple[Path, Path, Path]) -> None:
    """`cdk diff --security-only` of the one stack: both statements added, both to the other
    account; nothing it reports is missing from the project view."""
    prod = _prod(releases[2])
    (check,) = prod["security_diff"]
    assert (check["stack"], check["error"]) == ("Prod/Messaging", "")
    added = [c["cells"] for c in check["changes"] if c["sign"] == "+"]
    assert all(c["table"] == "IAM Statement Changes" for c in check["changes"])
    # Columns: Resource, Effect, Action, Principal, Condition (aws-cdk CLI 2.x IamChanges).
    assert {(cells[1], OTHER in cells[3]) for cells in added} == {("Allow", True)}
    resources = {cells[0] for cells in added}
    assert any("MediaBucket" in r for r in resources)
    assert any("DataKey" in r for r in resources)
    actions = {a for cells in added for a in cells[2].split()}
    assert {"kms:Decrypt", "s3:GetObject*"} <= actions
    assert prod["unmatched"] == []
    text = (releases[2] / "diff.md").read_text()
    assert "This release **broadens permissions**" in text
    assert "reports a broadening" in text
    assert "`Prod/Messaging` against the base's template: **broadens permissions**." in text


def test_the_report_shows_both_outside_grants(releases: tuple[Path, Path, Path]) -> None:
    page = (releases[2] / "prod.md").read_text()
    outside = page[page.index("Who outside this account can do what") :]
    outside = outside[: outside.index("Resource-based policies")]
    assert f"| {OTHER} | `{PRINCIPAL}` | kms:Decrypt | `DataKey` |" in outside
    bucket_rows = [row for row in outside.splitlines() if "`MediaBucket/Policy`" in row]
    assert len(bucket_rows) == 1
    assert f"`{PRINCIPAL}`" in bucket_rows[0]
    assert "s3:GetObject*" in bucket_rows[0]


def test_the_platform_pack_reports_both_grants_and_only_in_the_new_release(
    releases: tuple[Path, Path, Path],
) -> None:
    def flagged(outdir: Path) -> set[str]:
        report = json.loads((outdir / "validation-report.json").read_text())
        return {
            construct["constructPath"]
            for plugin in report["pluginReports"]
            for violation in plugin["violations"]
            if violation["ruleName"].startswith(RULE)
            for construct in violation["violatingConstructs"]
        }

    old, new, _ = releases
    assert flagged(new) == {BUCKET_POLICY, KEY}
    assert flagged(old) == set()
