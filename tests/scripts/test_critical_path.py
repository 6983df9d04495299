"""The critical-path estimate: parallel actions count once (the slowest), CodeBuild steps cost
provisioning, the installs their make targets need (warm with an S3 cache) and their commands;
deploys cost by resource count and CodeDeploy rollout; the targets fail the check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scripts import critical_path as cp
from tests.support.synth import ROOT, Synth


def action(name: str, provider: str, run_order: int = 1) -> dict[str, Any]:
    return {"Name": name, "ActionTypeId": {"Provider": provider}, "RunOrder": run_order}


def model() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(cp.MODEL.read_text())
    return loaded


def test_parallel_actions_share_one_step_and_stages_are_sequential() -> None:
    pipeline = {
        "Stages": [
            {"Name": "Source", "Actions": [action("Src", "CodeStarSourceConnection")]},
            {"Name": "Build", "Actions": [action("Build", "CodeBuild")]},
            {
                "Name": "Test",
                "Actions": [
                    action("Unit", "CodeBuild"),
                    action("Lint", "CodeBuild"),  # parallel with Unit: one step
                    action("Deploy", "CloudFormation", 2),
                ],
            },
            {"Name": "Later", "Actions": [action("Ignored", "CodeBuild")]},
        ]
    }
    steps = cp.critical_path(pipeline, last_stage="Test")
    assert [(s.stage, s.actions) for s in steps] == [
        ("Source", ("Src",)),
        ("Build", ("Build",)),
        ("Test", ("Unit", "Lint")),
        ("Test", ("Deploy",)),
    ]
    assert sum(s.codebuild for s in steps) == 2


def test_a_fresh_checkout_builds_only_the_verify_venv_for_make_verify() -> None:
    rules = cp.makefile_rules(ROOT / "Makefile")
    known = set(model()["environments"])
    assert cp.needs(rules, "verify", known) == [".venv-verify/.installed"]
    assert cp.needs(rules, "released", known) == [".venv-verify/.installed"]
    assert set(cp.needs(rules, "test", known)) == {
        ".venv/.installed",
        ".venv-scanners/.installed",
        "node_modules/.installed",
        ".venv/share/schemas/junit-10.xsd",
    }


def _project(commands: list[str], cached: bool) -> dict[str, Any]:
    spec = {"version": "0.2", "phases": {"build": {"commands": commands}}}
    project: dict[str, Any] = {"Source": {"BuildSpec": json.dumps(spec)}}
    if cached:
        project["Cache"] = {"Type": "S3", "Location": "bucket/prefix"}
    return project


def test_a_step_pays_the_installs_its_make_targets_need_once_cold_or_warm(tmp_path: Path) -> None:
    (tmp_path / "Makefile").write_text(
        "verify: .venv/.installed\n\ttrue\nreleased: .venv/.installed\n\ttrue\n"
        ".venv/.installed:\n\ttouch $@\n"
    )
    (tmp_path / "constraints.txt").write_text("")
    rules = cp.makefile_rules(tmp_path / "Makefile")
    m = model()
    dev = m["environments"][".venv/.installed"]
    commands = ["make verify SUITE=smoke", "make released"]
    cold = cp.codebuild_estimate("V", _project(commands, False), tmp_path, m, rules)
    warm = cp.codebuild_estimate("V", _project(commands, True), tmp_path, m, rules)
    cold_parts, warm_parts = dict(cold.parts), dict(warm.parts)
    assert cold_parts[dev["what"]] == dev["cold_s"]  # installed once for both commands
    assert [w for w, _ in cold.parts].count(dev["what"]) == 1
    assert warm_parts[dev["what"]] == dev["warm_s"]
    restore = f"S3 cache restore ({dev['cache_mb']} MB)"
    assert (
        warm_parts[restore] == dev["cache_mb"] / m["codebuild"]["cache_restore_mb_per_s"]["value"]
    )
    assert not any(w.startswith("S3 cache restore") for w in cold_parts)


@pytest.mark.parametrize(
    ("config", "seconds"),
    [
        # https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-configurations.html
        ("CodeDeployDefault.LambdaCanary10Percent5Minutes", 300),
        ("CodeDeployDefault.LambdaLinear10PercentEvery1Minute", 540),
        ("CodeDeployDefault.LambdaAllAtOnce", 0),
    ],
)
def test_codedeploy_rollout_time(config: str, seconds: float) -> None:
    assert cp.rollout_s(config) == seconds


def test_the_synthesized_pipeline_meets_the_build_and_verify_targets(synth: Synth) -> None:
    template = synth.template().to_json()
    path = cp.estimate(template, synth.outdir, model(), ROOT / "Makefile")
    assert cp.misses(path) == []
    by_action = {est.action: est for _, _, est in path}
    build = by_action["Build"]
    assert build.seconds <= cp.TARGET_BUILD_S
    parts = dict(build.parts)
    assert any(w.startswith("S3 cache restore") for w in parts)  # the project is cached
    assert {"make test", "make synth", "make review"} <= set(parts)
    verifies = [e for e in by_action.values() if e.action.startswith("Verify")]
    assert len(verifies) == 3
    dev_venv = model()["environments"][".venv/.installed"]["what"]
    verify_venv = model()["environments"][".venv-verify/.installed"]["what"]
    for verify in verifies:
        assert verify.seconds <= cp.TARGET_VERIFY_S
        assert verify_venv in dict(verify.parts)
        assert dev_venv not in dict(verify.parts)
    prod = [e for s, _, e in path if s == "Prod" and e.action.endswith("Deploy")]
    assert any("Canary10Percent5Minutes" in w for w, _ in prod[0].parts)
    steps = cp.critical_path(cp.pipeline_of(template))
    builds = [s.actions[0] for s in steps if s.codebuild]
    assert len(builds) <= cp.TARGET_CODEBUILD
    assert builds[:3] == ["Build", "SelfMutate", "FileAssets"]  # one asset action per type


def test_a_missed_target_fails_the_check(
    synth: Synth, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    slow = model()
    slow["codebuild"]["provisioning_s"]["value"] = 700
    (tmp_path / "model.json").write_text(json.dumps(slow))
    template = synth.outdir / "Pipeline.template.json"
    assert template.is_file()
    assert cp.main([str(synth.outdir), "--model", str(tmp_path / "model.json")]) == 1
    assert "MISSED: Build" in capsys.readouterr().out
    assert cp.main([str(synth.outdir)]) == 0
