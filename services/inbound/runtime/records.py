"""What a processed webhook leaves behind: its row in the messages table and its event on the
bus. Store failures are Transient (SQS retries the record); the contracts (runtime/contracts.py)
come in with the first record."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from services.inbound.providers.base import Transient

if TYPE_CHECKING:
    from services.inbound.runtime.contracts import (
        CanonicalMessage,
        MessageReceived,
        MessageRecordRef,
        MessageRejected,
    )


def store_message(
    dynamodb: Any,
    table: str,
    message: CanonicalMessage,
    record: MessageRecordRef,
    request_id: str,
) -> None:
    item: dict[str, Any] = {
        "conversation_id": {"S": record.conversation_id},
        "sort_key": {"S": record.sort_key},
        "message_id": {"S": message.message_id},
        "provider": {"S": message.provider},
        "provider_message_id": {"S": message.provider_message_id},
        "channel": {"S": message.channel},
        "sender": {"S": message.sender},
        "recipient": {"S": message.recipient},
        "received_at": {"S": message.received_at.isoformat()},
        "request_id": {"S": request_id},
        "schema_version": {"S": message.schema_version},
        "attachments": {"S": json.dumps([a.model_dump() for a in message.attachments])},
    }
    if message.unavailable_attachments:
        item["unavailable_attachments"] = {
            "S": json.dumps([a.model_dump() for a in message.unavailable_attachments])
        }
    if message.text:
        item["text"] = {"S": message.text}
    if message.language:
        item["language"] = {"S": message.language}
    try:
        dynamodb.put_item(TableName=table, Item=item)
    except (ClientError, BotoCoreError) as err:
        raise Transient(f"messages table: {type(err).__name__}") from None


def publish(events: Any, bus: str, event: MessageReceived | MessageRejected) -> None:
    try:
        response = events.put_events(
            Entries=[
                {
                    "EventBusName": bus,
                    "Source": event.source,
                    "DetailType": event.detail_type,
                    "Detail": event.model_dump_json(),
                }
            ]
        )
    except (ClientError, BotoCoreError) as err:
        raise Transient(f"PutEvents: {type(err).__name__}") from None
    if response.get("FailedEntryCount"):
        code = response["Entries"][0].get("ErrorCode", "unknown")
        raise Transient(f"PutEvents entry failed: {code}")
