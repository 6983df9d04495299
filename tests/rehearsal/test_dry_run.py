"""The pipeline dry run replays the synthesized CodeBuild steps under their own roles: it reports
a step failed for the two defects it exists to catch (a script-path `make review`, and a
VerifyProd role that may not write the released copy), and passes once they are fixed."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from moto.iam.access_control import IAMPolicy, PermissionResult

from rehearsal.dry_run import Options, StepResult, dry_run
from rehearsal.dry_run_clone import scratch_clone
from rehearsal.dry_run_sandbox import Sandbox
from rehearsal.dry_run_steps import Step, pipeline_template, steps
from tests.support.synth import ROOT, Synth

EXECUTION = "dry-run-test"


@pytest.fixture(scope="module")
def pipeline_steps(synth: Synth) -> dict[str, Step]:
    return {step.name: step for step in steps(synth.outdir, EXECUTION)}


def _released_key(step: Step) -> str:
    return f"{step.env['REVIEW_PREFIX']}/released/cdk.out.tar.gz"


def _released_arn(step: Step) -> str:
    return f"arn:aws:s3:::{step.env['REVIEW_BUCKET']}/{_released_key(step)}"


def _bucket_statement(step: Step, actions: list[str]) -> dict[str, Any]:
    bucket = f"arn:aws:s3:::{step.env['REVIEW_BUCKET']}"
    return {"Effect": "Allow", "Action": actions, "Resource": [bucket, f"{bucket}/*"]}


def _read_only(step: Step) -> dict[str, dict[str, Any]]:
    """What VerifyProd's role held when `make released` was added: read the artifacts only."""
    statement = _bucket_statement(step, ["s3:GetBucket*", "s3:GetObject*", "s3:List*"])
    return {"ReadArtifacts": {"Version": "2012-10-17", "Statement": [statement]}}


def _with_release_grant(step: Step) -> dict[str, dict[str, Any]]:
    grant = {"Effect": "Allow", "Action": "s3:PutObject", "Resource": _released_arn(step)}
    return {**_read_only(step), "Release": {"Version": "2012-10-17", "Statement": [grant]}}


def _grants_release(step: Step) -> bool:
    verdicts = [
        IAMPolicy(json.dumps(document)).is_action_permitted("s3:PutObject", _released_arn(step))
        for document in step.policies.values()
    ]
    return PermissionResult.PERMITTED in verdicts and PermissionResult.DENIED not in verdicts


def _run(
    synth: Synth, selected: list[Step], **kwargs: Any
) -> tuple[dict[str, StepResult], list[str], dict[str, list[str]]]:
    lines: list[str] = []
    seen: dict[str, list[str]] = {}

    def inspect(sandbox: Sandbox) -> None:
        for bucket in {s.env["REVIEW_BUCKET"] for s in selected if "REVIEW_BUCKET" in s.env}:
            seen[bucket] = sandbox.keys(bucket)

    results = dry_run(
        selected,
        ROOT,
        region=pipeline_template(synth.outdir).region,
        options=Options(reuse_cdk_out=synth.outdir, execution_id=EXECUTION),
        report=lines.append,
        inspect=inspect,
        **kwargs,
    )
    return {r.step.name: r for r in results}, lines, seen


def test_steps_come_in_pipeline_order_with_their_commands_env_and_role(
    pipeline_steps: dict[str, Step],
) -> None:
    names = list(pipeline_steps)
    assert names[0] == "Build"
    assert names.index("VerifyDev") < names.index("VerifyStaging") < names.index("VerifyProd")
    build, prod = pipeline_steps["Build"], pipeline_steps["VerifyProd"]
    assert build.commands == ("make test", "make synth", "make review")
    assert prod.commands[-1] == "make released"
    assert prod.env["EXECUTION_ID"] == EXECUTION
    assert prod.env["REVIEW_BUCKET"] == build.env["REVIEW_BUCKET"]
    # The Stage's outputs are read from its stack, not passed as other actions' variables.
    assert prod.env["STAGE_STACK"].endswith("-Messaging")
    assert prod.stage_outputs == ()
    # The artifact bucket's Ref and the role policies' ARNs resolve to the same bucket.
    assert any(build.env["REVIEW_BUCKET"] in str(doc) for doc in prod.policies.values())
    assert not pipeline_steps["SelfMutate"].runs_makefile
    assert pipeline_steps["BroadeningProd.Check"].commands  # a Fn::Join buildspec, resolved


@pytest.fixture(scope="module")
def release_run(
    synth: Synth, pipeline_steps: dict[str, Step]
) -> tuple[dict[str, StepResult], list[str], dict[str, list[str]]]:
    prod = pipeline_steps["VerifyProd"]
    selected = [
        pipeline_steps["Build"],
        pipeline_steps["SelfMutate"],
        replace(prod, name="VerifyProdReadOnly", policies=_read_only(prod)),
        replace(prod, name="VerifyProdGranted", policies=_with_release_grant(prod)),
        prod,  # its synthesized role, whatever it grants today
    ]
    return _run(synth, selected)


def test_build_publishes_the_review_under_its_synthesized_role(
    release_run: tuple[dict[str, StepResult], list[str], dict[str, list[str]]],
    pipeline_steps: dict[str, Step],
) -> None:
    results, _, seen = release_run
    build = results["Build"]
    assert build.outcome == "passed", build.output_tail()
    outcomes = {c.command: c.outcome for c in build.commands}
    assert outcomes == {"make test": "no-op", "make synth": "no-op", "make review": "passed"}
    bucket = build.step.env["REVIEW_BUCKET"]
    assert f"reviews/{EXECUTION}/cdk.out.tar.gz" in seen[bucket]
    assert f"reviews/{EXECUTION}/index.html" in seen[bucket]
    assert results["SelfMutate"].outcome == "skipped"


def test_release_under_a_read_only_role_fails_with_access_denied(
    release_run: tuple[dict[str, StepResult], list[str], dict[str, list[str]]],
) -> None:
    results, lines, _ = release_run
    read_only = results["VerifyProdReadOnly"]
    assert read_only.outcome == "failed"
    by_command = {c.command: c for c in read_only.commands}
    assert by_command["make verify SUITE=smoke"].outcome == "skipped"
    assert "needs a deployed Stage" in by_command["make verify SUITE=smoke"].reason
    assert by_command["make released"].outcome == "failed"
    assert "AccessDenied" in by_command["make released"].output
    assert any(line.startswith("Prod/VerifyProdReadOnly") and "failed" in line for line in lines)


def test_release_passes_once_the_role_may_write_the_released_copy(
    release_run: tuple[dict[str, StepResult], list[str], dict[str, list[str]]],
) -> None:
    results, _, seen = release_run
    granted = results["VerifyProdGranted"]
    assert granted.outcome == "passed", granted.output_tail()
    key = _released_key(granted.step)
    assert key in seen[granted.step.env["REVIEW_BUCKET"]]


def test_verify_prod_under_its_synthesized_role_fails_exactly_when_the_grant_is_missing(
    release_run: tuple[dict[str, StepResult], list[str], dict[str, list[str]]],
) -> None:
    results, _, _ = release_run
    prod = results["VerifyProd"]
    assert prod.outcome == ("passed" if _grants_release(prod.step) else "failed")


def _script_path_makefile(clone: Path) -> None:
    """The old Makefile: the review module run by path, so `policies` is not importable."""
    makefile = clone / "Makefile"
    text = makefile.read_text()
    assert "-m pipeline.review" in text
    makefile.write_text(text.replace("-m pipeline.review", "pipeline/review.py"))


def test_a_script_path_review_fails_the_build_with_module_not_found(
    synth: Synth, pipeline_steps: dict[str, Step]
) -> None:
    prod = pipeline_steps["VerifyProd"]
    selected = [
        pipeline_steps["Build"],
        replace(prod, commands=("make released",), policies=_with_release_grant(prod)),
    ]
    results, _, _ = _run(synth, selected, prepare=_script_path_makefile)
    for name in ("Build", "VerifyProd"):
        assert results[name].outcome == "failed"
        assert "ModuleNotFoundError" in results[name].output_tail()


def _tree(root: Path) -> None:
    (root / "pipeline").mkdir(parents=True)
    (root / "Makefile").write_text("all:\n\ttrue\n")
    (root / "pipeline" / "review.py").write_text("OLD = 1\n")
    (root / "cdk.out").mkdir()
    (root / ".venv").mkdir()


def test_the_scratch_copy_holds_the_working_tree_with_or_without_git(tmp_path: Path) -> None:
    plain, repo = tmp_path / "plain", tmp_path / "repo"
    for root in (plain, repo):
        _tree(root)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    (repo / ".gitignore").write_text(".venv\ncdk.out/\n")
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=repo, check=True)
    (repo / "pipeline" / "review.py").write_text("NEW = 1\n")  # uncommitted
    (repo / "pipeline" / "new.py").write_text("ADDED = 1\n")  # untracked
    for root, expected in ((plain, "OLD = 1\n"), (repo, "NEW = 1\n")):
        into = tmp_path / f"into-{root.name}"
        into.mkdir()
        clone, described = scratch_clone(root, into)
        assert (clone / "pipeline" / "review.py").read_text() == expected, described
        assert (clone / ".venv").is_symlink()
        assert not (clone / "cdk.out").exists()
        assert (clone / "Makefile").stat().st_mtime < (root / ".venv").stat().st_mtime
    assert (tmp_path / "into-repo" / "repo" / "pipeline" / "new.py").exists()
