"""SARIF locations: each construct path resolves to the module of the repository that makes it."""

from __future__ import annotations

import re
from pathlib import Path

from policies.report.sources import ROOT, locate
from tests.support.synth import Synth


def _line(path: str, number: int) -> str:
    return (ROOT / path).read_text().splitlines()[number - 1]


def test_known_constructs_resolve_to_the_line_that_creates_them() -> None:
    stage = "Pipeline/Prod/Messaging"
    cases = {
        f"{stage}/Core/DataKey/Resource": ("services/core/construct.py", '"DataKey"'),
        # A dead-letter queue is made by the shared queue builder, whoever asks for it.
        f"{stage}/Inbound/Twilio/Webhooks/DeadLetter/Resource": (
            "services/common/queues.py",
            '"DeadLetter"',
        ),
        # A role CDK generates inside a state machine: the workflow builder that made it.
        f"{stage}/Audit/Workflow/Role/DefaultPolicy/Resource": (
            "services/common/workflows.py",
            '"Workflow"',
        ),
        # An f-string id: f"Verify{stage.node.id}Role".
        "Pipeline/VerifyProdRole/DefaultPolicy/Resource": (
            "pipeline/pipeline_stack.py",
            'f"Verify{',
        ),
    }
    for construct, (module, literal) in cases.items():
        stack = "Pipeline" if construct.count("/") < 4 else stage
        found = locate(construct, stack)
        assert found is not None, construct
        assert found.path == module, (construct, found)
        assert literal in _line(found.path, found.line), (construct, found)


def test_every_finding_of_the_synth_resolves_to_a_file_of_the_repository(synth: Synth) -> None:
    stacks = ["Pipeline", *(f"Pipeline/{e.stage_id}/Messaging" for e in synth.config.environments)]
    paths = {
        c["constructPath"]
        for plugin in synth.validation_report["pluginReports"]
        for v in plugin["violations"] + plugin["suppressedViolations"]
        for c in v["violatingConstructs"]
    }
    assert paths
    for path in paths:
        stack = max((s for s in stacks if path.startswith(s + "/")), key=len)
        found = locate(path, stack)
        assert found is not None, path
        text = _line(found.path, found.line)
        assert found.path.endswith(".py")
        assert (ROOT / found.path).is_file()
        # The line holds one of the path's segments as a construct id (or the stack's class).
        segments = path.removeprefix(stack).split("/")
        assert any(f'"{s}"' in text for s in segments) or re.search(r'f"|class \w+Stack', text), (
            path,
            found,
            text,
        )


def test_outside_a_repository_there_is_no_location(tmp_path: Path) -> None:
    assert (
        locate("Pipeline/Prod/Messaging/Core/DataKey/Resource", "Pipeline/Prod/Messaging", tmp_path)
        is None
    )
