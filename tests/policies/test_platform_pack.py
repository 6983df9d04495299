"""The Platform pack: one rule per file, named after its id, registered with the other packs."""

from __future__ import annotations

import ast
from pathlib import Path

from policies import rules
from policies.rules import discover, module_name
from tests.support.synth import Synth

RULES_DIR = Path(rules.__file__).parent
EXPECTED = {
    "CustomerManagedKey",
    "KeyRotation",
    "TlsOnly",
    "QueueDeadLetter",
    "RuleTargetDeadLetter",
    "NoWildcardActions",
    "NoWildcardResources",
    "NoOpenPrincipal",
    "LogRetention",
    "RequiredTags",
    "RetainedData",
    "TerminationProtection",
    # Service integrations that deploy fine and fail at run time (issue: the first push).
    "EncryptedWorkflow",
    "ServiceKeyAccess",
    "GlobalName",
    "RollbackWindow",
    # The gate cannot be fooled (issue 16).
    "PlaintextSecret",
    "CrossAccountResourcePolicy",
}


def test_every_rule_lives_in_a_file_named_after_it_with_a_one_line_docstring() -> None:
    found = discover()
    assert {r.id for r in found} == EXPECTED
    for rule in found:
        source = RULES_DIR / f"{module_name(rule.id)}.py"
        docstring = ast.get_docstring(ast.parse(source.read_text()))
        assert docstring is not None, source.name
        assert "\n" not in docstring.strip(), source.name
        assert docstring.startswith(f"Platform-{rule.id}:"), source.name


def test_every_rule_has_its_own_test_module() -> None:
    tests = Path(__file__).parent / "rules"
    covered = {p.stem.removeprefix("test_") for p in tests.glob("test_*.py")}
    # retained_data's module also covers termination_protection (same stacks, one synth).
    missing = {module_name(r) for r in EXPECTED} - covered - {"termination_protection"}
    assert missing == set()


def test_the_pack_checked_the_real_app(synth: Synth) -> None:
    reports = {p["pluginName"]: p for p in synth.validation_report["pluginReports"]}
    platform = reports["Platform"]
    assert platform["conclusion"] == "success"
    acknowledged = {s["ruleName"].split("[")[0] for s in platform["suppressedViolations"]}
    assert "Platform-CustomerManagedKey" in acknowledged  # the access-log buckets (SSE-S3 only)
