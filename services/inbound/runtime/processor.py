"""The per-provider processor: SQS batch in, canonical messages and events out.

Every record ends in exactly one of three ways: processed (stored + MessageReceived), rejected
(raw body kept in S3 + MessageRejected; not retried), or reported as a batch item failure so
SQS retries it and, after maxReceiveCount, dead-letters it. Configuration comes from the
function's environment; AWS clients are created on first use. The pydantic models and
Powertools are imported with the first record, keeping the init phase to boto3 and the standard
library (scripts/bench_inbound.py measures both costs).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from services.inbound.providers import get as get_provider
from services.inbound.providers.base import (
    HttpGet,
    InboundRequest,
    ParsedMessage,
    Provider,
    Rejected,
    Transient,
)

if TYPE_CHECKING:
    from services.events.models import (
        AttachmentRef,
        CanonicalMessage,
        MessageReceived,
        MessageRecordRef,
        MessageRejected,
    )

SECRET_CACHE_SECONDS = 300
METRICS_NAMESPACE = "MessagingPlatform"


@dataclass(frozen=True)
class Settings:
    """The function's environment, read once."""

    provider: str
    secret_name: str
    media_bucket: str
    messages_table: str
    idempotency_table: str
    event_bus: str
    idempotency_ttl_seconds: int
    lock_seconds: int

    @classmethod
    def from_environment(cls, env: Mapping[str, str] = os.environ) -> Settings:
        return cls(
            provider=env["PROVIDER"],
            secret_name=env["SECRET_NAME"],
            media_bucket=env["MEDIA_BUCKET"],
            messages_table=env["MESSAGES_TABLE"],
            idempotency_table=env["IDEMPOTENCY_TABLE"],
            event_bus=env["EVENT_BUS_NAME"],
            idempotency_ttl_seconds=int(env.get("IDEMPOTENCY_TTL_SECONDS", str(7 * 86400))),
            lock_seconds=int(env.get("IDEMPOTENCY_LOCK_SECONDS", "900")),
        )


@cache
def client(service: str) -> Any:
    return boto3.client(service)


_secret_cache: dict[str, tuple[float, dict[str, str]]] = {}


def read_secret(name: str) -> dict[str, str]:
    """The provider secret (a JSON object), cached for five minutes between invocations."""
    cached = _secret_cache.get(name)
    if cached and time.monotonic() - cached[0] < SECRET_CACHE_SECONDS:
        return cached[1]
    try:
        value = client("secretsmanager").get_secret_value(SecretId=name)["SecretString"]
        parsed = json.loads(value)
    except (ClientError, BotoCoreError) as err:
        raise Transient(f"cannot read secret: {type(err).__name__}") from None
    except ValueError:
        raise Transient("provider secret is not a JSON object") from None
    _secret_cache[name] = (time.monotonic(), parsed)
    return dict(parsed)


def _emit_metric(name: str, provider: str, value: int = 1) -> None:
    """A business metric in CloudWatch embedded metric format (Powertools; no API call)."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    with single_metric(
        name=name, unit=MetricUnit.Count, value=value, namespace=METRICS_NAMESPACE
    ) as metric:
        metric.add_dimension(name="provider", value=provider)


def _log(level: str, message: str, **fields: Any) -> None:
    print(json.dumps({"level": level, "message": message, **fields}, default=str))


def to_request(record: Mapping[str, Any], provider: str) -> InboundRequest:
    """Rebuild the webhook from an SQS record written by the API's request template."""
    attributes = record.get("messageAttributes") or {}
    try:
        meta = json.loads(attributes["meta"]["stringValue"])
        headers = {str(k).lower(): str(v) for k, v in meta.get("headers", {}).items() if v}
        received = datetime.fromtimestamp(int(meta["received_at"]) / 1000, tz=UTC)
        return InboundRequest(
            provider=provider,
            body=str(record["body"]).encode("utf-8"),
            headers={**headers, "content-type": str(meta.get("content_type", ""))},
            url=str(meta["url"]),
            request_id=str(meta["request_id"]),
            received_at=received,
        )
    except (KeyError, TypeError, ValueError) as err:
        raise Rejected("malformed", f"queue message lacks request metadata: {err!r}") from None


class Processor:
    """Processes one provider's records against its stores; one instance per function."""

    def __init__(self, settings: Settings, provider: Provider, http: HttpGet) -> None:
        self.settings = settings
        self.provider = provider
        self.http = http

    # -- per record -----------------------------------------------------------------------

    def process(self, record: Mapping[str, Any]) -> str:
        """Returns 'processed', 'duplicate' or 'rejected'; raises to have SQS retry."""
        request_id = str(record.get("messageId", "unknown"))
        body = str(record.get("body", "")).encode("utf-8", "replace")
        try:
            request = to_request(record, self.provider.name)
            request_id = request.request_id
            content_type = request.header("content-type").split(";")[0].strip().lower()
            if content_type not in self.provider.content_types:
                raise Rejected("unsupported", f"content type {content_type!r}")
            secret = read_secret(self.settings.secret_name)
            self.provider.verify(request, secret, datetime.now(UTC))
            parsed = self.provider.parse(request)
        except Rejected as rejection:
            self.reject(rejection, request_id, body)
            return "rejected"
        outcomes = [self.accept(request, message, secret) for message in parsed]
        return "duplicate" if outcomes and all(o == "duplicate" for o in outcomes) else "processed"

    def accept(
        self, request: InboundRequest, parsed: ParsedMessage, secret: Mapping[str, str]
    ) -> str:
        from services.events.models import (
            CanonicalMessage,
            MessageReceived,
            MessageRecordRef,
            conversation_id_for,
            message_id_for,
        )

        message_id = message_id_for(self.provider.name, parsed.provider_message_id)
        key = f"{self.provider.name}#{parsed.provider_message_id}"
        if not self._claim(key):
            _emit_metric("DuplicatesSuppressed", self.provider.name)
            return "duplicate"
        try:
            attachments = tuple(
                self._store_media(message_id, n, parsed, secret) for n in range(len(parsed.media))
            )
            received_at = parsed.sent_at or request.received_at
            message = CanonicalMessage(
                message_id=message_id,
                provider=self.provider.name,
                provider_message_id=parsed.provider_message_id,
                channel=parsed.channel,
                conversation_id=conversation_id_for(
                    self.provider.name, parsed.sender, parsed.recipient
                ),
                sender=parsed.sender,
                recipient=parsed.recipient,
                text=parsed.text,
                language=parsed.language,
                received_at=received_at,
                attachments=attachments,
            )
            record = MessageRecordRef(
                conversation_id=message.conversation_id,
                sort_key=f"{received_at.isoformat()}#{message_id}",
            )
            self._store_message(message, record, request.request_id)
            self._publish(
                MessageReceived(
                    message_id=message_id,
                    provider=self.provider.name,
                    provider_message_id=parsed.provider_message_id,
                    channel=parsed.channel,
                    conversation_id=message.conversation_id,
                    received_at=received_at,
                    has_text=bool(parsed.text),
                    text_length=len(parsed.text or ""),
                    language=parsed.language,
                    record=record,
                    attachments=attachments,
                )
            )
        except BaseException:
            self._release(key)
            raise
        self._complete(key, message_id)
        _emit_metric("MessagesReceived", self.provider.name)
        return "processed"

    def reject(self, rejection: Rejected, request_id: str, body: bytes) -> None:
        from services.events.models import MessageRejected

        now = datetime.now(UTC)
        raw_key = f"rejected/{self.provider.name}/{now:%Y/%m/%d}/{request_id}"
        try:
            client("s3").put_object(
                Bucket=self.settings.media_bucket,
                Key=raw_key,
                Body=body,
                ContentType="application/octet-stream",
            )
        except (ClientError, BotoCoreError) as err:
            raise Transient(f"cannot keep the rejected body: {type(err).__name__}") from None
        self._publish(
            MessageRejected(
                provider=self.provider.name,
                request_id=request_id,
                reason=rejection.reason,
                detail=rejection.detail,
                raw_object_key=raw_key,
                received_at=now,
            )
        )
        _emit_metric("MessagesRejected", self.provider.name)
        _log("WARNING", "webhook rejected", reason=rejection.reason, request_id=request_id)

    # -- stores ---------------------------------------------------------------------------

    def _claim(self, key: str) -> bool:
        """Take the idempotency record; False if the message was already completed."""
        now = int(time.time())
        try:
            client("dynamodb").put_item(
                TableName=self.settings.idempotency_table,
                Item={
                    "id": {"S": key},
                    "status": {"S": "IN_PROGRESS"},
                    "locked_until": {"N": str(now + self.settings.lock_seconds)},
                    "expires_at": {"N": str(now + self.settings.idempotency_ttl_seconds)},
                },
                ConditionExpression="attribute_not_exists(id) OR (#s = :p AND locked_until < :now)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":p": {"S": "IN_PROGRESS"}, ":now": {"N": str(now)}},
            )
            return True
        except ClientError as err:
            if err.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise Transient(f"idempotency store: {err.response['Error']['Code']}") from None
        item = (
            client("dynamodb")
            .get_item(
                TableName=self.settings.idempotency_table,
                Key={"id": {"S": key}},
                ConsistentRead=True,
            )
            .get("Item", {})
        )
        if item.get("status", {}).get("S") == "COMPLETED":
            return False
        raise Transient(f"{key} is being processed by another invocation")

    def _complete(self, key: str, message_id: str) -> None:
        client("dynamodb").update_item(
            TableName=self.settings.idempotency_table,
            Key={"id": {"S": key}},
            UpdateExpression="SET #s = :c, message_id = :m REMOVE locked_until",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":c": {"S": "COMPLETED"}, ":m": {"S": message_id}},
        )

    def _release(self, key: str) -> None:
        # If this fails too, the lock expires on its own and the retry takes it over.
        with contextlib.suppress(ClientError, BotoCoreError):
            client("dynamodb").delete_item(
                TableName=self.settings.idempotency_table, Key={"id": {"S": key}}
            )

    def _store_media(
        self, message_id: str, n: int, parsed: ParsedMessage, secret: Mapping[str, str]
    ) -> AttachmentRef:
        import hashlib

        from services.events.models import AttachmentRef

        body, content_type = self.provider.fetch_media(parsed.media[n], secret, self.http)
        content_type = parsed.media[n].content_type or content_type
        digest = hashlib.sha256(body).hexdigest()
        key = f"media/{self.provider.name}/{message_id}/{n}"
        try:
            client("s3").put_object(
                Bucket=self.settings.media_bucket,
                Key=key,
                Body=body,
                ContentType=content_type,
                Metadata={"sha256": digest, "message-id": message_id},
            )
        except (ClientError, BotoCoreError) as err:
            raise Transient(f"media store: {type(err).__name__}") from None
        return AttachmentRef(key=key, content_type=content_type, size=len(body), sha256=digest)

    def _store_message(
        self, message: CanonicalMessage, record: MessageRecordRef, request_id: str
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
        if message.text:
            item["text"] = {"S": message.text}
        if message.language:
            item["language"] = {"S": message.language}
        try:
            client("dynamodb").put_item(TableName=self.settings.messages_table, Item=item)
        except (ClientError, BotoCoreError) as err:
            raise Transient(f"messages table: {type(err).__name__}") from None

    def _publish(self, event: MessageReceived | MessageRejected) -> None:
        try:
            response = client("events").put_events(
                Entries=[
                    {
                        "EventBusName": self.settings.event_bus,
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

    # -- batch ----------------------------------------------------------------------------

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """Partial batch response (Powertools): only records that must be retried are reported.

        A record handler that raises (Transient or any unexpected error) marks that record
        failed; if every record of the batch failed, Powertools fails the invocation, which
        returns the whole batch to the queue, as SQS would.
        """
        from aws_lambda_powertools.utilities.batch import (
            BatchProcessor,
            EventType,
            process_partial_response,
        )

        def record_handler(record: Any) -> str:
            try:
                outcome = self.process(record.raw_event)
            except Exception as err:
                _log("ERROR", "record will be retried", error=repr(err)[:300])
                raise
            _log("INFO", "record done", outcome=outcome, sqs_message_id=record.message_id)
            return outcome

        response = process_partial_response(
            event=event,
            record_handler=record_handler,
            processor=BatchProcessor(event_type=EventType.SQS),
            context=context,
        )
        return dict(response)


@cache
def _processor() -> Processor:
    # urllib.request pulls in the email package: imported with the first record, not at init.
    from services.inbound.runtime.media import UrllibGet

    settings = Settings.from_environment()
    return Processor(settings, get_provider(settings.provider), UrllibGet())


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point (SQS event source with ReportBatchItemFailures)."""
    return _processor().handle(event, context)
