"""The README's pipeline picture is today's pipeline: regenerated from the session synth, it must
equal the block in README.md (`make diagram` rewrites it)."""

from __future__ import annotations

from typing import Any

import pytest

from scripts.pipeline_diagram import END, START, block, mermaid, pipeline_of, replace_block
from tests.support.synth import ROOT, Synth


def action(name: str, provider: str, run_order: int = 1, category: str = "Build") -> dict[str, Any]:
    return {
        "Name": name,
        "ActionTypeId": {"Category": category, "Provider": provider},
        "RunOrder": run_order,
    }


def test_the_readme_shows_the_synthesized_pipeline(synth: Synth) -> None:
    expected = block(pipeline_of(dict(synth.template().to_json())))
    readme = (ROOT / "README.md").read_text()
    start, end = readme.index(START), readme.index(END) + len(END)
    assert readme[start:end] == expected, "README's pipeline picture is stale: run make diagram"


def test_the_picture_has_verify_steps_the_broadening_check_and_the_approval(
    synth: Synth,
) -> None:
    chart = mermaid(pipeline_of(dict(synth.template().to_json())))
    for stage in ("Dev", "Staging", "Prod"):
        assert f'["Verify{stage}"]' in chart  # a CodeBuild box
    assert '["BroadeningProd.Check"]' in chart
    assert '{{"BroadeningProd.Confirm<br/>manual approval"}}' in chart
    assert '{{"PromoteProd<br/>manual approval"}}' in chart
    assert chart.startswith("flowchart TD\n")  # top-down: narrow enough for a README
    # Short labels: no node text wider than the longest action name.
    labels = [part.split("<br/>") for part in chart.split('"')[1::2]]
    assert max(len(line) for lines in labels for line in lines) <= 32


def test_run_orders_chain_and_parallel_actions_sit_side_by_side() -> None:
    pipeline = {
        "Stages": [
            {"Name": "Source", "Actions": [action("repo", "S3", category="Source")]},
            {
                "Name": "Prod",
                "Actions": [
                    action("Promote", "Manual", 1, "Approval"),
                    action("Eu.Deploy", "CloudFormation", 2, "Deploy"),
                    action("Us.Deploy", "CloudFormation", 2, "Deploy"),
                    action("Verify", "CodeBuild", 3),
                ],
            },
        ]
    }
    chart = mermaid(pipeline)
    assert "    S1A0 --> S1A1 & S1A2\n" in chart
    assert "    S1A1 & S1A2 --> S1A3\n" in chart
    assert "  S0 --> S1\n" in chart
    assert '    S1A1(["Eu.Deploy"])\n' in chart
    assert "  class S1A0 approval\n" in chart


def test_a_readme_without_markers_is_refused() -> None:
    with pytest.raises(ValueError, match="no pipeline diagram markers"):
        replace_block("# README\n", "x")
    assert replace_block(f"a\n{START}\nold\n{END}\nb", "new") == "a\nnew\nb"
