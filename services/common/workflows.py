"""Express Step Functions workflows as the platform builds them: one builder for every workflow.

Each is named deterministically (CDK conditions the CMK grants on the state machine's ARN, built
from its name: an unnamed machine's grant never matches), logs to a KMS-encrypted log group at
level ALL with X-Ray tracing, and grants its callers the KMS actions Step Functions requires.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import jsii
from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

# What a caller of StartExecution/StartSyncExecution needs on the machine's CMK: the input is
# encrypted with a data key and a synchronous result decrypted ("Data at rest encryption" in the
# Step Functions developer guide; the same context key CDK uses for the execution role).
CALLER_KMS_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")
ENCRYPTION_CONTEXT_KEY = "kms:EncryptionContext:aws:states:stateMachineArn"
MAX_NAME_LENGTH = 80


class EncryptedWorkflow(sfn.StateMachine):
    """A CMK-encrypted Express state machine whose start grants carry the KMS rights with them.

    Every `grant_start_*` (ours, an API Gateway integration role's, an EventBridge target's)
    also allows the caller to use the key, for this state machine's encryption context only.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, key: kms.IKey, **kwargs: Any
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            encryption_configuration=sfn.CustomerManagedEncryptionConfiguration(key),
            **kwargs,
        )
        self._key = key

    def _grant_key(self, grantee: iam.IGrantable) -> None:
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(CALLER_KMS_ACTIONS),
            resource_arns=[self._key.key_arn],
            conditions={"StringEquals": {ENCRYPTION_CONTEXT_KEY: self.state_machine_arn}},
        )

    @jsii.member(jsii_name="grantStartExecution")
    def grant_start_execution(self, identity: iam.IGrantable) -> iam.Grant:
        self._grant_key(identity)
        return super().grant_start_execution(identity)

    @jsii.member(jsii_name="grantStartSyncExecution")
    def grant_start_sync_execution(self, identity: iam.IGrantable) -> iam.Grant:
        self._grant_key(identity)
        return super().grant_start_sync_execution(identity)


def workflow_name(scope: Construct) -> str:
    """'<stack name>-<path below the stack>', e.g. 'Dev-Messaging-Inbound-Slack-Ingress'; for a
    nested stack, its top-level stack's name and the path below that (a nested stack's own name
    is generated at deploy time and too long).

    State machine names are unique per account and region; a Stage's stack name is too.
    """
    stack = Stack.of(scope)
    while stack.nested_stack_parent is not None:  # a nested stack's own name is generated
        stack = stack.nested_stack_parent
    below = scope.node.path.removeprefix(stack.node.path).strip("/").replace("/", "-")
    name = f"{stack.stack_name}-{below}"
    if len(name) <= MAX_NAME_LENGTH:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: MAX_NAME_LENGTH - 9]}-{digest}"


def express_workflow(
    scope: Construct,
    *,
    definition: dict[str, Any] | sfn.IChainable,
    key: kms.IKey,
    retention: logs.RetentionDays,
    removal_policy: RemovalPolicy,
    statements: list[iam.PolicyStatement] | None = None,
    include_execution_data: bool = False,
    timeout: Duration | None = None,
) -> EncryptedWorkflow:
    """An Express state machine `Workflow` (log group `Logs`) under `scope`, named after it."""
    log_group = logs.LogGroup(
        scope, "Logs", encryption_key=key, retention=retention, removal_policy=removal_policy
    )
    body = (
        sfn.DefinitionBody.from_string(json.dumps(definition))
        if isinstance(definition, dict)
        else sfn.DefinitionBody.from_chainable(definition)
    )
    machine = EncryptedWorkflow(
        scope,
        "Workflow",
        key=key,
        state_machine_name=workflow_name(scope),
        state_machine_type=sfn.StateMachineType.EXPRESS,
        definition_body=body,
        timeout=timeout or Duration.minutes(1),
        tracing_enabled=True,
        logs=sfn.LogOptions(
            destination=log_group,
            level=sfn.LogLevel.ALL,
            include_execution_data=include_execution_data,
        ),
    )
    for statement in statements or []:
        machine.add_to_role_policy(statement)
    return machine


RETRY_TRANSIENT = [
    {
        "ErrorEquals": ["States.TaskFailed", "States.Timeout"],
        "IntervalSeconds": 1,
        "MaxAttempts": 3,
        "BackoffRate": 2,
    }
]
