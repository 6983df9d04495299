"""Who may answer the pipeline's manual approvals: one role, for exactly those actions.

The approver role may answer each gated environment's promotion and, before it, the
permissions-broadening confirmation of each of its regions; it may read the pipeline's state,
the Pipeline stack's outputs (where `python -m pipeline.ops` finds the pipeline's name) and this
pipeline's security reviews, and nothing else.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_iam as iam

from config.deployment import DeploymentConfig
from pipeline.names import REVIEW_PREFIX


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
