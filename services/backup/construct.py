"""AWS Backup for the Stage's DynamoDB tables: its own vault under the Stage key, a daily rule.

Created only where the environment retains data; point-in-time recovery covers the last 35
days in place, the vault keeps copies that survive a deleted table or stack.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_backup as backup
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from constructs import Construct


class TableBackup(Construct):
    """Holds `vault` and `plan` (one daily rule) selecting exactly the given tables."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        tables: list[dynamodb.ITable],
        schedule: str,
        retention_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        # Recovery points outlive the stack; a failed first create removes its new vault
        # (the vault's name is required, so a leftover one would block the retry).
        self.vault = backup.BackupVault(
            self,
            "Vault",
            encryption_key=key,
            removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
        )
        self.plan = backup.BackupPlan(
            self,
            "Plan",
            backup_vault=self.vault,
            backup_plan_rules=[
                backup.BackupPlanRule(
                    rule_name="Daily",
                    schedule_expression=events.Schedule.expression(schedule),
                    delete_after=Duration.days(retention_days),
                )
            ],
        )
        self.plan.add_selection(
            "Tables",
            resources=[backup.BackupResource.from_dynamo_db_table(table) for table in tables],
        )
