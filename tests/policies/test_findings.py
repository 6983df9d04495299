"""One Finding for packs and scanners: where it is, how the registry names its rule, its key."""

from __future__ import annotations

from policies.findings import Finding


def test_scanner_rules_carry_the_registry_namespace_and_packs_their_own_name() -> None:
    assert Finding("checkov", "CKV_AWS_21", "P/B", "m", "error").registry_rule == (
        "Checkov::CKV_AWS_21"
    )
    assert Finding("cfn-lint", "ES6000", "P/Q", "m", "error").registry_rule == "CfnLint::ES6000"
    assert Finding("AwsSolutions", "AwsSolutions-SQS3", "P/Q", "m", "error").registry_rule == (
        "AwsSolutions::AwsSolutions-SQS3"
    )


def test_a_finding_without_a_construct_path_is_located_by_its_logical_id() -> None:
    located = Finding("checkov", "CKV_AWS_21", "", "m", "error", logical_id="Bucket")
    assert located.where == "Bucket"
    assert located.key == ("checkov", "CKV_AWS_21", "Bucket")
    assert not located.acknowledged
    located.status = "acknowledged"
    assert located.acknowledged


def test_a_line_names_the_tool_rule_severity_and_resource() -> None:
    finding = Finding(
        "parliament", "MALFORMED", "P/R/Resource", "bad", "medium", stack="Dev", logical_id="R"
    )
    assert finding.line() == "parliament MALFORMED [medium] Dev R (P/R/Resource): bad"
