"""Triage without Lambda: an Express workflow reads a received message's text by reference,
asks Comprehend for its sentiment and publishes MessageAnalyzed; negative messages go to a
customer-care queue and topic, the others to an acknowledgement topic.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from services.common.queues import EncryptedQueue
from services.common.workflows import RETRY_TRANSIENT, express_workflow
from services.events.models import MessageAnalyzed

# Comprehend's DetectSentiment takes at most 5,000 bytes of UTF-8: 1,200 characters of at most
# four bytes each always fit.
MAX_CHARS = 1200


def _publish(bus_name: str, detail: str) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::events:putEvents",
        "Arguments": {
            "Entries": [
                {
                    "EventBusName": bus_name,
                    "Source": MessageAnalyzed.source,
                    "DetailType": MessageAnalyzed.detail_type,
                    "Detail": detail,
                }
            ]
        },
        "Retry": RETRY_TRANSIENT,
        "End": True,
    }


def triage_definition(table_name: str, bus_name: str) -> dict[str, Any]:
    """The workflow; its input is a MessageReceived event with has_text = true."""
    catch = [
        {
            "ErrorEquals": ["States.ALL"],
            "Assign": {"error": "{% $states.errorOutput.Error %}"},
            "Next": "PublishFailure",
        }
    ]
    text = f"$substring($text, 0, {MAX_CHARS})"
    analyzed = (
        "{% $string({'schema_version': '1.0', 'message_id': $message_id, 'status': 'ANALYZED',"
        " 'sentiment': $sentiment, 'scores': $scores, 'language': $language,"
        f" 'truncated': $length($text) > {MAX_CHARS}}}) %}}"
    )
    failed = (
        "{% $string({'schema_version': '1.0', 'message_id': $message_id, 'status': 'FAILED',"
        " 'error': $error}) %}"
    )
    return {
        "Comment": "Sentiment of one received message, published back to the bus",
        "QueryLanguage": "JSONata",
        "StartAt": "ReadText",
        "States": {
            "ReadText": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:getItem",
                "Arguments": {
                    "TableName": table_name,
                    "Key": {
                        "conversation_id": {
                            "S": "{% $states.input.detail.record.conversation_id %}"
                        },
                        "sort_key": {"S": "{% $states.input.detail.record.sort_key %}"},
                    },
                    "ConsistentRead": True,
                },
                "Assign": {
                    "message_id": "{% $states.input.detail.message_id %}",
                    "text": "{% $states.result.Item.text.S %}",
                    "language": "{% $states.result.Item.language.S %}",
                },
                "Retry": RETRY_TRANSIENT,
                "Catch": catch,
                "Next": "KnowsLanguage",
            },
            "KnowsLanguage": {
                "Type": "Choice",
                "Choices": [{"Condition": "{% $exists($language) %}", "Next": "DetectSentiment"}],
                "Default": "DetectLanguage",
            },
            "DetectLanguage": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:comprehend:detectDominantLanguage",
                "Arguments": {"Text": f"{{% {text} %}}"},
                "Assign": {"language": "{% $states.result.Languages[0].LanguageCode %}"},
                "Retry": RETRY_TRANSIENT,
                "Catch": catch,
                "Next": "DetectSentiment",
            },
            "DetectSentiment": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:comprehend:detectSentiment",
                "Arguments": {"Text": f"{{% {text} %}}", "LanguageCode": "{% $language %}"},
                "Assign": {
                    "sentiment": "{% $states.result.Sentiment %}",
                    "scores": (
                        "{% {'positive': $states.result.SentimentScore.Positive,"
                        " 'negative': $states.result.SentimentScore.Negative,"
                        " 'neutral': $states.result.SentimentScore.Neutral,"
                        " 'mixed': $states.result.SentimentScore.Mixed} %}"
                    ),
                },
                "Retry": RETRY_TRANSIENT,
                "Catch": catch,
                "Next": "Publish",
            },
            "Publish": _publish(bus_name, analyzed),
            "PublishFailure": _publish(bus_name, failed),
        },
    }


class Triage(Construct):
    """Holds `state_machine`, `care_queue` (+ DLQ), `care_topic` and `acknowledgement_topic`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        bus: events.IEventBus,
        messages_table: dynamodb.ITable,
        retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.state_machine: sfn.StateMachine = express_workflow(
            self,
            definition=triage_definition(messages_table.table_name, bus.event_bus_name),
            statements=[
                iam.PolicyStatement(
                    actions=["dynamodb:GetItem"], resources=[messages_table.table_arn]
                ),
                # Reads the CMK-encrypted messages table; PutEvents on the CMK-encrypted bus
                # needs a data key.
                iam.PolicyStatement(
                    actions=["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"],
                    resources=[key.key_arn],
                ),
                iam.PolicyStatement(
                    # Comprehend's real-time detection APIs accept no resource but "*".
                    actions=["comprehend:DetectSentiment", "comprehend:DetectDominantLanguage"],
                    resources=["*"],
                ),
                iam.PolicyStatement(actions=["events:PutEvents"], resources=[bus.event_bus_arn]),
            ],
            key=key,
            retention=retention,
            removal_policy=removal_policy,
        )
        self.care_queue = EncryptedQueue(
            self, "CustomerCare", key=key, removal_policy=removal_policy
        )
        self.care_topic = sns.Topic(
            self,
            "CustomerCareTopic",
            master_key=key,
            enforce_ssl=True,
            display_name="Negative customer messages",
        )
        self.acknowledgement_topic = sns.Topic(
            self,
            "AcknowledgementTopic",
            master_key=key,
            enforce_ssl=True,
            display_name="Messages to thank the customer for",
        )
