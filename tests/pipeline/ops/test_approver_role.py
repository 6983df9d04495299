"""The approver role against the synthesized pipeline: it can answer every manual approval a
release can stop at (enumerated from the template, not from the code that grants them), and it
can change nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.synth import Synth

# Actions that only read (IAM's access levels List and Read). Anything else the role may call
# is a write, and the only write it may have is answering an approval.
READ_ONLY = {
    "codepipeline:GetPipeline",
    "codepipeline:GetPipelineState",
    "codepipeline:GetPipelineExecution",
    "codepipeline:ListPipelineExecutions",
    "cloudformation:DescribeStacks",
    "s3:GetObject",
    "kms:Decrypt",
}


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


@pytest.fixture(scope="module")
def toolchain(synth: Synth) -> dict[str, Any]:
    return synth.template().to_json()


@pytest.fixture(scope="module")
def approver_statements(toolchain: dict[str, Any]) -> list[dict[str, Any]]:
    (role_id,) = [k for k in _resources(toolchain, "AWS::IAM::Role") if k.startswith("Approver")]
    statements = []
    for policy in _resources(toolchain, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    role = toolchain["Resources"][role_id]["Properties"]
    assert "ManagedPolicyArns" not in role
    assert "Policies" not in role
    return statements


def _pipeline(toolchain: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    ((pipeline_id, pipeline),) = _resources(toolchain, "AWS::CodePipeline::Pipeline").items()
    return pipeline_id, pipeline["Properties"]


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


def _action_arn(resource: Any, pipeline_id: str) -> str:
    """`{"Fn::Join": ["", ["arn:...:", {"Ref": <pipeline>}, "/Prod/PromoteProd"]]}` ->
    `<pipeline>/Prod/PromoteProd`; refuses any other shape (a wildcard, another pipeline)."""
    parts = resource["Fn::Join"][1]
    assert parts[0].startswith("arn:"), resource
    assert parts[0].endswith(":"), resource
    assert parts[1] == {"Ref": pipeline_id}, resource
    assert all(isinstance(p, str) and "*" not in p for p in parts[2:]), resource
    return "<pipeline>" + "".join(parts[2:])


def test_the_approver_can_answer_every_manual_approval_of_the_pipeline_and_no_other(
    toolchain: dict[str, Any], approver_statements: list[dict[str, Any]]
) -> None:
    pipeline_id, pipeline = _pipeline(toolchain)
    # Every manual approval action in the synthesized pipeline, whoever added it (our
    # PromoteProd, CDK Pipelines' BroadeningProd.Confirm): PutApprovalResult's resource is the
    # action, arn:aws:codepipeline:<region>:<account>:<pipeline>/<stage>/<action>
    # (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscodepipeline.html).
    manual = {
        f"<pipeline>/{stage['Name']}/{action['Name']}"
        for stage in pipeline["Stages"]
        for action in stage["Actions"]
        if action["ActionTypeId"]["Category"] == "Approval"
        and action["ActionTypeId"]["Provider"] == "Manual"
    }
    assert {"<pipeline>/Prod/PromoteProd", "<pipeline>/Prod/BroadeningProd.Confirm"} <= manual
    answering = [s for s in approver_statements if "codepipeline:PutApprovalResult" in _actions(s)]
    (statement,) = answering
    assert statement["Effect"] == "Allow"
    assert _actions(statement) == ["codepipeline:PutApprovalResult"]
    assert "Condition" not in statement
    answered = {_action_arn(r, pipeline_id) for r in statement["Resource"]}
    assert answered == manual


def test_answering_an_approval_is_the_approver_roles_only_write(
    toolchain: dict[str, Any], approver_statements: list[dict[str, Any]]
) -> None:
    assert all(s["Effect"] == "Allow" for s in approver_statements)
    granted = {a for s in approver_statements for a in _actions(s)}
    assert granted - READ_ONLY == {"codepipeline:PutApprovalResult"}
    assert all("*" not in a for a in granted)
    # The reads are this pipeline's own: its state, its stack's outputs, its reviews.
    pipeline_id, _ = _pipeline(toolchain)
    by_action = {a: s for s in approver_statements for a in _actions(s)}
    assert by_action["cloudformation:DescribeStacks"]["Resource"] == {"Ref": "AWS::StackId"}
    state = by_action["codepipeline:GetPipelineState"]["Resource"]
    assert f"'Ref': '{pipeline_id}'" in repr(state)
    objects = by_action["s3:GetObject"]["Resource"]["Fn::Join"][1]
    assert objects[-1] == "/reviews/*"
    decrypt = by_action["kms:Decrypt"]
    assert decrypt["Condition"] == {
        "StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}
    }


def test_the_auto_approve_function_answers_only_the_broadening_confirmations(
    toolchain: dict[str, Any],
) -> None:
    others: dict[str, list[dict[str, Any]]] = {}
    for policy_id, policy in _resources(toolchain, "AWS::IAM::Policy").items():
        if policy_id.startswith("ApproverRole"):
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if "codepipeline:PutApprovalResult" in _actions(statement):
                others.setdefault(policy_id.split("DefaultPolicy")[0], []).append(statement)
    # CDK Pipelines' broadening check invokes this function with the action to approve when
    # nothing widens. As generated it may answer any approval of a pipeline tagged
    # SECURITY_CHECK=ALLOW_APPROVE (Resource "*"), PromoteProd included, whatever the payload.
    (statements,) = others.values()
    assert list(others) == ["PipelinePipelinesSecurityCheckCDKPipelinesAutoApproveServiceRole"]
    (statement,) = statements
    assert _actions(statement) == ["codepipeline:PutApprovalResult"]
    assert statement["Resource"] == [
        "arn:aws:codepipeline:eu-west-1:111111111111:*/Prod/BroadeningProd.Confirm"
    ]
    assert statement["Condition"] == {
        "StringEquals": {"aws:ResourceTag/SECURITY_CHECK": "ALLOW_APPROVE"}
    }
