"""The critical-path count: parallel actions count once, CodeBuild actions are counted."""

from __future__ import annotations

from typing import Any

from scripts.critical_path import TARGET_CODEBUILD, critical_path, pipeline_of
from tests.support.synth import Synth


def action(name: str, provider: str, run_order: int = 1) -> dict[str, Any]:
    return {"Name": name, "ActionTypeId": {"Provider": provider}, "RunOrder": run_order}


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
    steps = critical_path(pipeline, last_stage="Test")
    assert [(s.stage, s.actions) for s in steps] == [
        ("Source", ("Src",)),
        ("Build", ("Build",)),
        ("Test", ("Unit", "Lint")),
        ("Test", ("Deploy",)),
    ]
    assert sum(s.codebuild for s in steps) == 2


def test_the_synthesized_pipeline_meets_the_codebuild_target(synth: Synth) -> None:
    steps = critical_path(pipeline_of(synth.template().to_json()))
    builds = [s.actions[0] for s in steps if s.codebuild]
    assert len(builds) <= TARGET_CODEBUILD
    assert builds[:3] == ["Build", "SelfMutate", "FileAssets"]  # one asset action per type
