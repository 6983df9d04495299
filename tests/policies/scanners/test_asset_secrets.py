"""detect-secrets on the deployed assets: a token bundled into a Lambda asset fails the scanners
step; a value the repository's gate audited as not a secret passes only in its own file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from cloud_assembly.templates import StackTemplate
from policies.scanners.asset_secrets import AUDITED, asset_secrets
from policies.scanners.tool import Scan
from tests.support.synth import ROOT

PATH = "Pipeline/Dev/Messaging/Inbound/Slack/Processor/Resource"
# Assembled at run time so the repository's own secret gate does not flag this file. The shape
# is Slack's bot token (detect-secrets' SlackDetector: xoxb-<digits>-<digits>-<alphanumerics>).
TOKEN = "xox" + "b-" + "1234567890-1234567890123-" + "AbCdEfGhIjKlMnOpQrStUvWx"


def _assembly(tmp_path: Path, files: dict[str, str]) -> Scan:
    template = {
        "Resources": {
            "Processor": {
                "Type": "AWS::Lambda::Function",
                "Metadata": {"aws:cdk:path": PATH, "aws:asset:path": "asset.abc"},
            },
            "Nested": {  # a file asset (a nested stack's template): not a folder to walk
                "Type": "AWS::CloudFormation::Stack",
                "Metadata": {"aws:asset:path": "Nested.nested.template.json"},
            },
        }
    }
    (tmp_path / "Dev.template.json").write_text(json.dumps(template))
    (tmp_path / "Nested.nested.template.json").write_text("{}")
    for name, text in files.items():
        target = tmp_path / "asset.abc" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    stack = StackTemplate(
        root=tmp_path,
        relpath="Dev.template.json",
        stack="Dev/Messaging",
        stack_name="Dev-Messaging",
        account="222222222222",
        region="eu-west-1",
    )
    return Scan(outdir=tmp_path, stacks=[stack], venv=ROOT / ".venv-scanners")


def test_a_token_in_a_lambda_bundle_fails_at_its_function(tmp_path: Path) -> None:
    scan = _assembly(tmp_path, {"handler.py": f'TOKEN = "{TOKEN}"\n', "ok.py": "x = 1\n"})
    run = asset_secrets(scan)
    assert run.checks_run == 2
    by_rule = {f.rule: f for f in run.findings}
    assert "SlackToken" in by_rule  # and its entropy, which the same plugins also flag
    assert {f.status for f in run.findings} == {"failed"}
    finding = by_rule["SlackToken"]
    assert finding.construct_path == PATH
    assert "asset.abc/handler.py line 1" in finding.message
    assert all("ok.py" not in f.message for f in run.findings)


def test_an_audited_false_positive_passes_only_in_the_file_it_was_audited_in(
    tmp_path: Path,
) -> None:
    """twilio.py carries Twilio's documented sample AccountSid, audited in .secrets.baseline."""
    source = ROOT / "services/inbound/providers/twilio.py"
    scan = _assembly(tmp_path, {})
    bundled = tmp_path / "asset.abc/services/inbound/providers/twilio.py"
    bundled.parent.mkdir(parents=True)
    shutil.copy(source, bundled)
    shutil.copy(source, tmp_path / "asset.abc/copied.py")
    findings = {
        f.message.split(" in ")[1].split(" line")[0]: f for f in asset_secrets(scan).findings
    }
    same = findings["asset.abc/services/inbound/providers/twilio.py"]
    elsewhere = findings["asset.abc/copied.py"]
    assert (same.status, same.reason) == ("acknowledged", AUDITED)
    assert elsewhere.status == "failed"
