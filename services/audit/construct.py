"""The audit trail: an Express workflow writes every event on the bus to the audit table.

No Lambda: one JSONata task maps the event to an item (partition by message id, or request id
for rejections; sort by time and event id; a by-day index for listing by time) with a TTL.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from services.common.tables import encrypted_table
from services.common.workflows import RETRY_TRANSIENT, express_workflow

BY_DAY_INDEX = "ByDay"


def audit_definition(table_name: str, ttl_seconds: int) -> dict[str, Any]:
    """The workflow: the input is the EventBridge event, the output the stored item."""
    event = "$states.input"
    return {
        "Comment": "Write one platform event to the audit table",
        "QueryLanguage": "JSONata",
        "StartAt": "Record",
        "States": {
            "Record": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:putItem",
                "Arguments": {
                    "TableName": table_name,
                    "Item": {
                        "pk": {
                            "S": f"{{% {event}.detail.message_id ? {event}.detail.message_id"
                            f" : ('request#' & {event}.detail.request_id) %}}"
                        },
                        "sk": {"S": f"{{% {event}.time & '#' & {event}.id %}}"},
                        "day": {"S": f"{{% $substring({event}.time, 0, 10) %}}"},
                        "event_id": {"S": f"{{% {event}.id %}}"},
                        "source": {"S": f"{{% {event}.source %}}"},
                        "detail_type": {"S": f"{{% {event}.`detail-type` %}}"},
                        "time": {"S": f"{{% {event}.time %}}"},
                        "detail": {"S": f"{{% $string({event}.detail) %}}"},
                        "expires_at": {
                            "N": f"{{% $string($floor($toMillis({event}.time) / 1000)"
                            f" + {ttl_seconds}) %}}"
                        },
                    },
                },
                "Retry": RETRY_TRANSIENT,
                "End": True,
            }
        },
    }


class AuditTrail(Construct):
    """Holds `table` (pk message id, sk time#event id, `ByDay` index) and `state_machine`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        ttl_days: int,
        retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.table = encrypted_table(
            self,
            "Table",
            key=key,
            partition_key="pk",
            sort_key="sk",
            expires=True,
            removal_policy=removal_policy,
        )
        self.table.add_global_secondary_index(
            index_name=BY_DAY_INDEX,
            partition_key=dynamodb.Attribute(name="day", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
        )
        self.state_machine: sfn.StateMachine = express_workflow(
            self,
            definition=audit_definition(self.table.table_name, ttl_days * 86400),
            statements=[
                iam.PolicyStatement(actions=["dynamodb:PutItem"], resources=[self.table.table_arn]),
                iam.PolicyStatement(
                    actions=[
                        "kms:Decrypt",
                        "kms:Encrypt",
                        "kms:GenerateDataKey",
                        "kms:DescribeKey",
                    ],
                    resources=[key.key_arn],
                ),
            ],
            key=key,
            retention=retention,
            removal_policy=removal_policy,
            include_execution_data=False,  # events reference, but logs still need not copy them
        )
