"""Who may answer the pipeline's manual approvals: one role, for exactly those actions.

The approver role may answer each gated environment's promotion and, before it, the
permissions-broadening confirmation of each of its regions; it may read the pipeline's state,
the Pipeline stack's outputs (where `python -m pipeline.ops` finds the pipeline's name) and this
pipeline's security reviews, and nothing else. CDK Pipelines' auto-approve function (called by
the broadening check when nothing widens) is confined to the broadening confirmations, so no
payload sent to it can answer a promotion.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_iam as iam

from config.deployment import DeploymentConfig
from pipeline.names import REVIEW_PREFIX

ANY = "<pipeline>"  # stands for the pipeline's ARN in manual_actions()


def approver_role(
    stack: cdk.Stack, *, config: DeploymentConfig, built: codepipeline.Pipeline
) -> iam.Role:
    """The role an operator assumes to approve or reject a promotion, and nothing more."""
    approvers = config.approvals.approvers or [stack.account]
    principals = [
        iam.AccountPrincipal(p) if p.isdigit() else iam.ArnPrincipal(p) for p in approvers
    ]
    role = iam.Role(
        stack,
        "ApproverRole",
        assumed_by=iam.CompositePrincipal(*principals),
        max_session_duration=cdk.Duration.hours(1),
        description="Answers manual approvals of the delivery pipeline",
    )
    confine_auto_approve(config, built)
    role.add_to_policy(
        iam.PolicyStatement(
            sid="AnswerPromotions",
            actions=["codepipeline:PutApprovalResult"],
            resources=manual_actions(config, built.pipeline_arn),
        )
    )
    role.add_to_policy(
        iam.PolicyStatement(
            sid="ReadPipeline",
            actions=[
                "codepipeline:GetPipeline",
                "codepipeline:GetPipelineState",
                "codepipeline:GetPipelineExecution",
                "codepipeline:ListPipelineExecutions",
            ],
            resources=[built.pipeline_arn],
        )
    )
    role.add_to_policy(
        iam.PolicyStatement(
            sid="FindPipeline",
            actions=["cloudformation:DescribeStacks"],
            resources=[stack.stack_id],
        )
    )
    role.add_to_policy(
        iam.PolicyStatement(
            sid="ReadReviews",
            actions=["s3:GetObject"],
            resources=[built.artifact_bucket.arn_for_objects(f"{REVIEW_PREFIX}/*")],
        )
    )
    key = built.artifact_bucket.encryption_key
    assert key is not None  # cross_account_keys=True
    role.add_to_policy(
        iam.PolicyStatement(
            sid="DecryptReviews",
            actions=["kms:Decrypt"],
            resources=[key.key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}},
        )
    )
    return role


def confine_auto_approve(config: DeploymentConfig, built: codepipeline.Pipeline) -> None:
    """CDK Pipelines lets its auto-approve function answer any approval of a pipeline tagged
    SECURITY_CHECK=ALLOW_APPROVE (this one); keep that, but only for the broadening
    confirmations it exists for. The pipeline's name stays a wildcard: naming it would make the
    policy depend on the pipeline, which depends on the check, which depends on the function."""
    check = built.node.scope.node.try_find_child("PipelinesSecurityCheck")  # type: ignore[union-attr]
    if check is None:  # no environment requires approval
        return
    role = check.node.find_child("CDKPipelinesAutoApprove").node.find_child("ServiceRole")
    resource = role.node.find_child("DefaultPolicy").node.default_child
    assert isinstance(resource, iam.CfnPolicy)
    stack = cdk.Stack.of(built)
    any_pipeline = f"arn:{stack.partition}:codepipeline:{stack.region}:{stack.account}:*"
    confirmations = [
        a.replace(ANY, any_pipeline, 1)
        for a in manual_actions(config, ANY)
        if a.endswith(".Confirm")
    ]
    tagged = {"StringEquals": {"aws:ResourceTag/SECURITY_CHECK": "ALLOW_APPROVE"}}
    resource.add_property_override(
        "PolicyDocument.Statement",
        [
            {
                "Action": "codepipeline:GetPipelineState",
                "Condition": tagged,
                "Effect": "Allow",
                "Resource": "*",
            },
            {
                "Action": "codepipeline:PutApprovalResult",
                "Condition": tagged,
                "Effect": "Allow",
                "Resource": [stack.resolve(a) for a in confirmations],
            },
        ],
    )


def manual_actions(config: DeploymentConfig, pipeline_arn: str) -> list[str]:
    """Every manual action a gated release can stop at: the promotion, and before it the
    permissions-broadening confirmation of each region's Stage (asked when IAM widens)."""
    actions = []
    for env in config.environments:
        if not env.requires_approval:
            continue
        actions.append(f"{pipeline_arn}/{env.stage_id}/Promote{env.stage_id}")
        actions += [
            f"{pipeline_arn}/{env.stage_id}/Broadening{env.stage_id_for(r)}.Confirm"
            for r in env.regions
        ]
    return actions
