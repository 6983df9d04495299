"""Express Step Functions workflows as the platform builds them: JSONata definitions (no Lambda),
a KMS-encrypted log group at level ALL, X-Ray tracing, and a role the caller grants explicitly.
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct


def express_workflow(
    scope: Construct,
    *,
    definition: dict[str, Any],
    statements: list[iam.PolicyStatement],
    key: kms.IKey,
    retention: logs.RetentionDays,
    removal_policy: RemovalPolicy,
    include_execution_data: bool = False,
) -> sfn.StateMachine:
    """An Express state machine named `Workflow` (log group `Logs`) under `scope`."""
    log_group = logs.LogGroup(
        scope, "Logs", encryption_key=key, retention=retention, removal_policy=removal_policy
    )
    machine = sfn.StateMachine(
        scope,
        "Workflow",
        state_machine_type=sfn.StateMachineType.EXPRESS,
        definition_body=sfn.DefinitionBody.from_string(json.dumps(definition)),
        timeout=Duration.minutes(1),
        tracing_enabled=True,
        logs=sfn.LogOptions(
            destination=log_group,
            level=sfn.LogLevel.ALL,
            include_execution_data=include_execution_data,
        ),
        encryption_configuration=sfn.CustomerManagedEncryptionConfiguration(key),
    )
    for statement in statements:
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
