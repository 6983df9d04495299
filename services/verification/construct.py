"""The role post-deploy tests assume from the toolchain account: read what proves delivery.

Traffic goes through the public webhook API, so the role sends nothing: it reads its stack's
outputs, the provider signing secrets (to sign test webhooks), the audit and messages tables
(to see the outcome) and the dead-letter queues' depth. Only the pipeline's Verify step role
for this Stage may assume it.
"""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import Aws, Duration, PhysicalName, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct


class VerificationAccess(Construct):
    """`role`: read-only and narrow, assumable only by the pipeline's Verify step role for this
    Stage (`verifier_role_arn`, in `toolchain_account`)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        toolchain_account: str,
        verifier_role_arn: str,
        key: kms.IKey,
        tables: Iterable[dynamodb.ITable],
        dead_letter_queues: Iterable[sqs.IQueue],
        secret_arn_patterns: Iterable[str],
    ) -> None:
        super().__init__(scope, construct_id)
        region = Stack.of(self).region
        self.role = iam.Role(
            self,
            "Role",
            # Named by CDK at synth, so the pipeline's steps can be granted exactly this role.
            role_name=PhysicalName.GENERATE_IF_NEEDED,
            assumed_by=iam.AccountPrincipal(toolchain_account).with_conditions(
                {
                    # The exact role, not a pattern: any other role of the toolchain account
                    # (a build, an asset publisher) must not read the Stage's secrets.
                    "ArnEquals": {"aws:PrincipalArn": verifier_role_arn}
                }
            ),
            max_session_duration=Duration.hours(1),
            description="Post-deploy verification from the delivery pipeline (read-only)",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadOutcome",
                actions=["dynamodb:GetItem", "dynamodb:Query"],
                resources=[t.table_arn for t in tables],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                # The driver reads the Stage's outputs from its own stack, and no other.
                sid="StageOutputs",
                actions=["cloudformation:DescribeStacks"],
                resources=[Aws.STACK_ID],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="DeadLetterDepth",
                actions=["sqs:GetQueueAttributes"],
                resources=[q.queue_arn for q in dead_letter_queues],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="SigningSecrets",
                actions=["secretsmanager:GetSecretValue"],
                resources=list(secret_arn_patterns),
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="DecryptReads",
                actions=["kms:Decrypt"],
                resources=[key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"dynamodb.{region}.amazonaws.com"}},
            )
        )
