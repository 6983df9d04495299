"""Lambda's SQS event-source mapping, reproduced against the emulator's queues.

Receives batches (batch size from the mapping), hands them to the real handler in the Lambda
event shape, deletes what succeeded, and returns failed items to the queue. The emulator's SQS
redrives a message to the DLQ once it has been received `maxReceiveCount` times, as SQS does.
Time is compressed: a failed item is made visible again at once instead of after the
visibility timeout.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Handler = Callable[[dict[str, Any], Any], Any]
# "Lambda uses long polling" (Lambda developer guide, Using Lambda with Amazon SQS); 1 s here, so
# a drain told to stop notices within a second.
LONG_POLL_SECONDS = 1


@dataclass(frozen=True)
class LambdaContext:
    """The attributes of the Lambda context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:rehearsal"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/rehearsal"
    log_stream_name: str = "rehearsal"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@dataclass
class DrainResult:
    """What one drain of a queue did: invocations, records seen, succeeded and failed."""

    invocations: int = 0
    records: int = 0
    succeeded: int = 0
    failed: int = 0
    crashed_invocations: int = 0
    crash_reasons: list[str] = field(default_factory=list)


def _lambda_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    attributes = {
        name: {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value["DataType"],
        }
        for name, value in message.get("MessageAttributes", {}).items()
    }
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": attributes,
        "md5OfBody": hashlib.md5(message["Body"].encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def drain(
    sqs: Any,
    *,
    queue_url: str,
    queue_arn: str,
    region: str,
    handler: Handler,
    context: LambdaContext,
    batch_size: int = 10,
    max_rounds: int = 10_000,
    keep_polling: Callable[[], bool] = lambda: False,
) -> DrainResult:
    """Invoke `handler` until the queue yields nothing and `keep_polling()` is false (bounded
    by `max_rounds` batches), as a mapping polls while traffic is still arriving."""
    result = DrainResult()
    for _ in range(max_rounds):
        # Long polling while traffic may still arrive, as the mapping polls: the emulator answers
        # as soon as a message lands instead of the mapping sleeping between empty receives.
        polling = keep_polling()
        received = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(batch_size, 10),
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            WaitTimeSeconds=LONG_POLL_SECONDS if polling else 0,
        ).get("Messages", [])
        if not received:
            if polling:
                continue
            return result
        records = [_lambda_record(m, queue_arn, region) for m in received]
        result.invocations += 1
        result.records += len(records)
        try:
            response = handler({"Records": records}, context) or {}
            failed_ids = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        except Exception as err:  # a crashed invocation returns the whole batch to the queue
            result.crashed_invocations += 1
            result.crash_reasons.append(repr(err)[:200])
            failed_ids = {r["messageId"] for r in records}
        done = [m for m in received if m["MessageId"] not in failed_ids]
        if done:
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)
                ],
            )
        retry = [m for m in received if m["MessageId"] in failed_ids]
        if retry:
            sqs.change_message_visibility_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                    for i, m in enumerate(retry)
                ],
            )
        result.succeeded += len(done)
        result.failed += len(retry)
    raise RuntimeError(f"{queue_url} still had messages after {max_rounds} batches")
