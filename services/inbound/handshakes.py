"""Synchronous subscription handshakes, answered by Express Step Functions (no Lambda).

- Meta (WhatsApp) verifies a callback with GET ?hub.mode=subscribe&hub.verify_token&hub.challenge:
  the workflow reads the verify token from the provider's secret (by reference) and returns the
  challenge only if it matches.
- Slack sends `url_verification` on the same POST route as its events: the workflow answers the
  challenge and enqueues every other body, unchanged, on the provider's queue.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from services.common.workflows import express_workflow


def _express(
    scope: Construct,
    definition: sfn.IChainable,
    *,
    key: kms.IKey,
    retention: logs.RetentionDays,
    removal_policy: RemovalPolicy,
) -> sfn.StateMachine:
    # Execution data is left out of the logs: it holds webhook bodies and the verify token.
    return express_workflow(
        scope,
        definition=definition,
        key=key,
        retention=retention,
        removal_policy=removal_policy,
        include_execution_data=False,
        timeout=Duration.seconds(20),
    )


class MetaVerification(Construct):
    """`state_machine`: returns {"challenge"} when hub.verify_token equals the secret's."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        secret_arn_pattern: str,
        secret_name: str,
        key: kms.IKey,
        retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        read = tasks.CallAwsService(
            self,
            "ReadVerifyToken",
            service="secretsmanager",
            action="getSecretValue",
            parameters={"SecretId": secret_name},
            iam_resources=[secret_arn_pattern],
            result_selector={"value.$": "States.StringToJson($.SecretString)"},
            result_path="$.secret",
        )
        matches = sfn.Condition.and_(
            sfn.Condition.string_equals("$.mode", "subscribe"),
            sfn.Condition.is_present("$.secret.value.verify_token"),
            sfn.Condition.string_equals_json_path("$.token", "$.secret.value.verify_token"),
        )
        answer = sfn.Pass(self, "Answer", parameters={"challenge.$": "$.challenge"})
        refuse = sfn.Fail(self, "Refuse", error="Forbidden", cause="verify token mismatch")
        definition = read.next(
            sfn.Choice(self, "TokenMatches").when(matches, answer).otherwise(refuse)
        )
        self.state_machine = _express(
            self, definition, key=key, retention=retention, removal_policy=removal_policy
        )


class SlackIngress(Construct):
    """`state_machine`: answers url_verification; enqueues every other body with its meta."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        queue: sqs.IQueue,
        key: kms.IKey,
        retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        # Answered without a signature check: HMAC is out of reach of a workflow without
        # code, and the answer only echoes what Slack sent; a forged handshake enqueues nothing.
        challenge = sfn.Pass(self, "Challenge", parameters={"challenge.$": "$.event.challenge"})
        enqueue = tasks.CallAwsService(
            self,
            "Enqueue",
            service="sqs",
            action="sendMessage",
            parameters={
                "QueueUrl": queue.queue_url,
                "MessageBody.$": "$.body",
                "MessageAttributes": {
                    "meta": {"DataType": "String", "StringValue.$": "$.meta"},
                },
            },
            iam_resources=[queue.queue_arn],
            additional_iam_statements=[
                iam.PolicyStatement(
                    actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[key.key_arn]
                )
            ],
            result_selector={"queued.$": "$.MessageId"},
        )
        # The body's own "type", parsed, not a substring anywhere in it (a message whose text
        # quotes '"type":"url_verification"' must be enqueued, not answered). Only a JSON object
        # is parsed: a body that is not one goes to the queue, where the processor rejects it.
        parse = sfn.Pass(
            self,
            "Parse",
            parameters={
                "body.$": "$.body",
                "meta.$": "$.meta",
                "event.$": "States.StringToJson($.body)",
            },
        )
        is_handshake = sfn.Condition.and_(
            sfn.Condition.is_present("$.event.type"),
            sfn.Condition.is_string("$.event.type"),
            sfn.Condition.string_equals("$.event.type", "url_verification"),
            sfn.Condition.is_present("$.event.challenge"),
        )
        looks_like_json = sfn.Condition.string_matches("$.body", "{*}")
        definition = (
            sfn.Choice(self, "IsJsonObject")
            .when(
                looks_like_json,
                parse.next(
                    sfn.Choice(self, "IsUrlVerification")
                    .when(is_handshake, challenge)
                    .otherwise(enqueue)
                ),
            )
            .otherwise(enqueue)
        )
        self.state_machine = _express(
            self, definition, key=key, retention=retention, removal_policy=removal_policy
        )
