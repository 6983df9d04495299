"""The per-provider processor: SQS batch in, canonical messages and events out.

Every record ends in exactly one of three ways: processed (stored + MessageReceived; or ignored
when authentic but carrying no message, e.g. a delivery receipt), rejected (raw body kept in S3 +
MessageRejected; not retried), or reported as a batch item failure so SQS retries it and, after
maxReceiveCount, dead-letters it. Only Transient errors are retried: anything the input causes is
a rejection. Configuration comes from the
function's environment; AWS clients are created on first use. The canonical contracts are
dataclasses (runtime/contracts.py), not the pydantic models they mirror, and metrics are
printed in embedded metric format without Powertools, keeping a cold start to boto3 and the
standard library (bench/inbound.py measures it).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

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
from services.inbound.runtime import records
from services.inbound.runtime.attachments import Attachments
from services.inbound.runtime.idempotency import Claims

METRICS_NAMESPACE = "MessagingPlatform"
# A webhook larger than EventBridge's 256 KB entry limit is refused: none of the providers sends
# one, and its text would not fit the messages table item (400 KB) with room to spare.
MAX_WEBHOOK_BYTES = 256 * 1024
MAX_TEXT_BYTES = 64 * 1024


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
    rotation_grace_seconds: int = 24 * 3600
    attachment_seconds: float = 15.0
    media_margin_seconds: float = 10.0

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
            rotation_grace_seconds=int(env.get("SECRET_ROTATION_GRACE_SECONDS", str(24 * 3600))),
            attachment_seconds=float(env.get("MEDIA_ATTACHMENT_SECONDS", "15")),
            media_margin_seconds=float(env.get("MEDIA_MARGIN_SECONDS", "10")),
        )


@cache
def client(service: str) -> Any:
    return boto3.client(service)


def read_secret(name: str) -> dict[str, str]:
    """The provider secret's AWSCURRENT value (uncached; the processor keeps a SecretStore)."""
    from services.inbound.runtime.secrets import SecretStore

    return SecretStore(name, lambda: client("secretsmanager")).current()


def _emit_metric(name: str, provider: str, value: int = 1) -> None:
    """A business metric in CloudWatch embedded metric format, no API call: the line Powertools'
    single_metric prints (a test compares the two), without importing Powertools (half of the
    first record's cost). Format: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
    """
    dimensions = {"provider": provider}
    if service := os.environ.get("POWERTOOLS_SERVICE_NAME"):
        dimensions["service"] = service
    metric = {
        "Namespace": METRICS_NAMESPACE,
        "Dimensions": [list(dimensions)],
        "Metrics": [{"Name": name, "Unit": "Count"}],
    }
    line = {
        "_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [metric]},
        **dimensions,
        name: [float(value)],
    }
    print(json.dumps(line, separators=(",", ":")))


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
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError, OSError) as err:
        raise Rejected("malformed", f"queue message lacks request metadata: {err!r}") from None


class BatchFailed(Exception):
    """Every record of the batch failed: SQS gets the whole batch back."""


class Processor:
    """Processes one provider's records against its stores; one instance per function."""

    def __init__(self, settings: Settings, provider: Provider, http: HttpGet) -> None:
        from services.inbound.runtime.secrets import SecretStore

        self.settings = settings
        self.provider = provider
        self.http = http
        self.secrets = SecretStore(
            settings.secret_name,
            lambda: client("secretsmanager"),
            grace_seconds=settings.rotation_grace_seconds,
        )
        self.claims = Claims(
            lambda: client("dynamodb"),
            table=settings.idempotency_table,
            lock_seconds=settings.lock_seconds,
            ttl_seconds=settings.idempotency_ttl_seconds,
            on_unfinished=self._unfinished_claim,
        )
        self.attachments = Attachments(
            provider,
            http,
            lambda: client("s3"),
            bucket=settings.media_bucket,
            attachment_seconds=settings.attachment_seconds,
            margin_seconds=settings.media_margin_seconds,
            on_unavailable=self._attachment_unavailable,
        )

    def _attachment_unavailable(self, message_id: str, n: int, reason: str) -> None:
        _emit_metric("AttachmentsUnavailable", self.provider.name)
        _log("WARNING", "attachment unavailable", message_id=message_id, n=n, reason=reason)

    def _unfinished_claim(self, key: str, error: Exception) -> None:
        _emit_metric("IdempotencyCompletionFailed", self.provider.name)
        _log("ERROR", "published, but the claim was not completed", key=key, error=repr(error))

    # -- per record -----------------------------------------------------------------------

    def process(self, record: Mapping[str, Any]) -> str:
        """Returns 'processed', 'duplicate', 'ignored' (authentic, but no message in it: status
        callbacks, handshakes) or 'rejected'; raises Transient to have SQS retry."""
        request_id = str(record.get("messageId", "unknown"))
        body = str(record.get("body", "")).encode("utf-8", "replace")
        try:
            request = to_request(record, self.provider.name)
            request_id = request.request_id
            content_type = request.header("content-type").split(";")[0].strip().lower()
            if content_type not in self.provider.content_types:
                raise Rejected("unsupported", f"content type {content_type!r}")
            secret = self.verify(request)
            if len(request.body) > MAX_WEBHOOK_BYTES:
                raise Rejected("too_large", f"body of {len(request.body)} bytes")
            parsed = self._parse(request)
            if not parsed:
                _emit_metric("WebhooksIgnored", self.provider.name)
                return "ignored"
            outcomes = [self.accept(request, message, secret) for message in parsed]
        except Rejected as rejection:
            self.reject(rejection, request_id, body)
            return "rejected"
        return "duplicate" if all(o == "duplicate" for o in outcomes) else "processed"

    def verify(self, request: InboundRequest) -> Mapping[str, str]:
        """Verify against the secret; on a mismatch, once more against the secret read afresh
        and the previous version (rotation). Freshness is judged at API Gateway's receive time,
        so a backlog or a DLQ redrive is not rejected as stale. Returns the current secret."""
        secret = self.secrets.current()
        try:
            self._verify_with(request, secret)
            return secret
        except Rejected as mismatch:
            if mismatch.reason != "invalid_signature":
                raise
            for candidate in self.secrets.alternatives(secret):
                try:
                    self._verify_with(request, candidate)
                except Rejected as again:
                    if again.reason != "invalid_signature":
                        raise
                    continue
                _emit_metric("SignaturesVerifiedAfterRefresh", self.provider.name)
                return self.secrets.current()
            raise

    def _verify_with(self, request: InboundRequest, secret: Mapping[str, str]) -> None:
        try:
            self.provider.verify(request, secret, request.received_at)
        except (Rejected, Transient):
            raise
        except Exception as err:  # a provider bug on odd input must not loop into the DLQ
            raise Rejected("malformed", f"verification failed: {type(err).__name__}") from None

    def _parse(self, request: InboundRequest) -> list[ParsedMessage]:
        try:
            parsed = self.provider.parse(request)
        except (Rejected, Transient):
            raise
        except Exception as err:  # RecursionError, odd types: the input is at fault, not AWS
            raise Rejected("malformed", f"parsing failed: {type(err).__name__}") from None
        for message in parsed:
            if len((message.text or "").encode()) > MAX_TEXT_BYTES:
                raise Rejected("too_large", f"text over {MAX_TEXT_BYTES} bytes")
        return parsed

    def accept(
        self, request: InboundRequest, parsed: ParsedMessage, secret: Mapping[str, str]
    ) -> str:
        """Claim, store media and message, publish, complete. A failure before publishing
        releases the claim (SQS retries); once published, the record is never retried, so a
        failure to complete the claim costs a log line, not a second event. Delivery stays
        at-least-once only if the function dies between PutEvents and the completion: the
        retry then publishes the same message_id again (consumers dedupe by message_id)."""
        from services.inbound.runtime.contracts import (
            CanonicalMessage,
            Invalid,
            MessageReceived,
            MessageRecordRef,
            conversation_id_for,
            message_id_for,
        )

        message_id = message_id_for(self.provider.name, parsed.provider_message_id)
        key = f"{self.provider.name}#{parsed.provider_message_id}"
        if not self.claims.claim(key):
            _emit_metric("DuplicatesSuppressed", self.provider.name)
            return "duplicate"
        try:
            attachments, unavailable = self.attachments.store_all(message_id, parsed, secret)
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
                unavailable_attachments=unavailable,
            )
            record = MessageRecordRef(
                conversation_id=message.conversation_id,
                sort_key=f"{received_at.isoformat()}#{message_id}",
            )
            event = MessageReceived(
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
                unavailable_attachments=unavailable,
            )
            records.store_message(
                client("dynamodb"),
                self.settings.messages_table,
                message,
                record,
                request.request_id,
            )
            records.publish(client("events"), self.settings.event_bus, event)
        except Invalid as err:
            self.claims.release(key)
            raise Rejected(
                "malformed", f"not a canonical message: {err.error_count()} errors"
            ) from None
        except BaseException:
            self.claims.release(key)
            raise
        self.claims.complete(key, message_id)
        _emit_metric("MessagesReceived", self.provider.name)
        return "processed"

    def reject(self, rejection: Rejected, request_id: str, body: bytes) -> None:
        from services.inbound.runtime.contracts import MessageRejected

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
        records.publish(
            client("events"),
            self.settings.event_bus,
            MessageRejected(
                provider=self.provider.name,
                request_id=request_id,
                reason=rejection.reason,
                detail=rejection.detail,
                raw_object_key=raw_key,
                received_at=now,
            ),
        )
        _emit_metric("MessagesRejected", self.provider.name)
        _log("WARNING", "webhook rejected", reason=rejection.reason, request_id=request_id)

    # -- stores ---------------------------------------------------------------------------

    # -- batch ----------------------------------------------------------------------------

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """Partial batch response: only records that must be retried are reported.

        A record that raises (Transient or any unexpected error) is reported failed; if every
        record failed, the invocation fails, which returns the whole batch to the queue. This is
        what Powertools' batch processor does, written out: importing it cost 59 ms of every
        cold start (measured with -X importtime; bench/inbound.py measures the first record).
        """
        self.attachments.start_invocation(context)
        records = list(event.get("Records") or [])
        failures = []
        for record in records:
            try:
                outcome = self.process(record)
            except Exception as err:
                _log("ERROR", "record will be retried", error=repr(err)[:300])
                failures.append({"itemIdentifier": str(record.get("messageId", ""))})
                continue
            _log("INFO", "record done", outcome=outcome, sqs_message_id=record.get("messageId"))
        if records and len(failures) == len(records):
            raise BatchFailed(f"All records failed processing ({len(records)} logged above)")
        return {"batchItemFailures": failures}


@cache
def _processor() -> Processor:
    # http.client pulls in the email package: imported with the first record, not at init.
    from services.inbound.runtime.media import MediaClient

    settings = Settings.from_environment()
    return Processor(settings, get_provider(settings.provider), MediaClient())


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point (SQS event source with ReportBatchItemFailures)."""
    return _processor().handle(event, context)
