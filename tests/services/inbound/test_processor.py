"""The processor against moto: every record ends processed, rejected (recorded) or retried."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from services.events.models import MessageReceived, MessageRejected, message_id_for
from services.inbound.providers import discover
from services.inbound.runtime import processor as runtime
from tests.services.inbound.conftest import (
    MEDIA,
    PROVIDERS,
    REGION,
    FakeHttp,
    Stores,
    signed,
    sqs_record,
)

CONTEXT = None


def batch(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def of_type(events: list[dict[str, Any]], detail_type: str) -> list[dict[str, Any]]:
    return [e["detail"] for e in events if e["detail-type"] == detail_type]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_valid_message_is_stored_and_published_once(stores: Stores, provider: str) -> None:
    headers, body = signed(provider, "pm-1", text="Where is my order?")
    record = sqs_record(discover()[provider], headers, body)
    result = stores.processor(provider).handle(batch(record), CONTEXT)
    assert result == {"batchItemFailures": []}

    (event,) = of_type(stores.events(), "MessageReceived")
    received = MessageReceived.model_validate(event)
    assert received.message_id == message_id_for(provider, "pm-1")
    assert received.provider == provider
    assert received.has_text
    assert received.text_length == 18
    assert "Where is my order" not in json.dumps(event)  # events carry references only

    row = boto3.client("dynamodb", region_name=REGION).get_item(
        TableName=stores.messages,
        Key={
            "conversation_id": {"S": received.record.conversation_id},
            "sort_key": {"S": received.record.sort_key},
        },
    )["Item"]
    assert row["text"]["S"] == "Where is my order?"
    assert row["message_id"]["S"] == received.message_id


@pytest.mark.parametrize("provider", PROVIDERS)
def test_redelivered_webhook_yields_exactly_one_event(stores: Stores, provider: str) -> None:
    headers, body = signed(provider, "pm-dup")
    first = sqs_record(discover()[provider], headers, body, message_id="a", request_id="r1")
    again = sqs_record(discover()[provider], headers, body, message_id="b", request_id="r2")
    proc = stores.processor(provider)
    assert proc.handle(batch(first, again), CONTEXT) == {"batchItemFailures": []}
    assert proc.handle(batch(again), CONTEXT) == {"batchItemFailures": []}
    assert len(of_type(stores.events(), "MessageReceived")) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
def test_bad_signature_is_rejected_recorded_and_not_retried(stores: Stores, provider: str) -> None:
    headers, body = signed(provider, "pm-bad")
    tampered = body.replace(b"Hello", b"Hellp")
    assert tampered != body
    record = sqs_record(discover()[provider], headers, tampered, request_id="req-bad")
    assert stores.processor(provider).handle(batch(record), CONTEXT) == {"batchItemFailures": []}

    events = stores.events()
    assert of_type(events, "MessageReceived") == []
    (rejected,) = [MessageRejected.model_validate(d) for d in of_type(events, "MessageRejected")]
    assert rejected.reason == "invalid_signature"
    assert rejected.request_id == "req-bad"
    assert rejected.raw_object_key is not None
    assert rejected.raw_object_key.startswith(f"rejected/{provider}/")
    raw = boto3.client("s3", region_name=REGION).get_object(
        Bucket=stores.bucket, Key=rejected.raw_object_key
    )
    assert raw["Body"].read() == tampered


@pytest.mark.parametrize("provider", PROVIDERS)
def test_malformed_but_correctly_signed_body_is_rejected(stores: Stores, provider: str) -> None:
    p = discover()[provider]
    body = b"{not json" if "application/json" in p.content_types else b"Body=hi&From=%2B44"
    headers, _ = signed(provider, "unused")
    # Re-sign the malformed body so only the parsing can fail.
    resigned = _resign(provider, body, headers)
    record = sqs_record(p, resigned, body)
    assert stores.processor(provider).handle(batch(record), CONTEXT) == {"batchItemFailures": []}
    (rejected,) = of_type(stores.events(), "MessageRejected")
    assert rejected["reason"] == "malformed"


def _resign(provider: str, body: bytes, headers: dict[str, str]) -> dict[str, str]:
    from tests.services.inbound.conftest import SECRETS, URL

    return discover()[provider].sign(
        secret=SECRETS[provider], url=URL.format(provider=provider), body=body, headers=headers
    )


@pytest.mark.parametrize("provider", ["slack", "generic"])
def test_replayed_stale_timestamp_is_rejected(stores: Stores, provider: str) -> None:
    old = datetime.now(UTC) - timedelta(minutes=6)
    headers, body = signed(provider, "pm-old", now=old)
    record = sqs_record(discover()[provider], headers, body)
    assert stores.processor(provider).handle(batch(record), CONTEXT) == {"batchItemFailures": []}
    (rejected,) = of_type(stores.events(), "MessageRejected")
    assert rejected["reason"] == "stale_timestamp"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_attachments_are_stored_under_the_message_prefix(stores: Stores, provider: str) -> None:
    headers, body = signed(provider, "pm-media", media_urls=(MEDIA[provider],))
    record = sqs_record(discover()[provider], headers, body)
    assert stores.processor(provider).handle(batch(record), CONTEXT) == {"batchItemFailures": []}
    (event,) = of_type(stores.events(), "MessageReceived")
    (attachment,) = event["attachments"]
    message_id = message_id_for(provider, "pm-media")
    assert attachment["key"] == f"media/{provider}/{message_id}/0"
    stored = boto3.client("s3", region_name=REGION).get_object(
        Bucket=stores.bucket, Key=attachment["key"]
    )
    content = stored["Body"].read()
    assert attachment["sha256"] == hashlib.sha256(content).hexdigest()
    assert attachment["size"] == len(content)
    assert stored["Metadata"]["sha256"] == attachment["sha256"]
    assert all("Authorization" in headers for _, headers in stores.http.calls)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_failed_media_download_is_retried_then_succeeds(stores: Stores, provider: str) -> None:
    headers, body = signed(provider, "pm-retry", media_urls=(MEDIA[provider],))
    record = sqs_record(discover()[provider], headers, body)
    failing = stores.processor(provider, http=FakeHttp(fail=True))
    assert failing.handle(batch(record, _valid_other(provider)), CONTEXT) == {
        "batchItemFailures": [{"itemIdentifier": "sqs-1"}]
    }
    assert len(of_type(stores.events(), "MessageReceived")) == 1  # the other record went through
    # The failed attempt released its idempotency claim, so the retry is processed.
    assert stores.processor(provider).handle(batch(record), CONTEXT) == {"batchItemFailures": []}
    assert len(of_type(stores.events(), "MessageReceived")) == 1


def _valid_other(provider: str) -> dict[str, Any]:
    headers, body = signed(provider, "pm-other")
    return sqs_record(discover()[provider], headers, body, message_id="sqs-2", request_id="r-2")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_put_events_throttling_is_a_batch_item_failure(
    stores: Stores, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers, body = signed(provider, "pm-throttle")
    record = sqs_record(discover()[provider], headers, body)
    events_client = runtime.client("events")
    original = events_client.put_events
    monkeypatch.setattr(
        events_client,
        "put_events",
        lambda **kw: {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "ThrottlingException"}]},
    )
    # Every record failed: the invocation fails and SQS returns the whole batch.
    with pytest.raises(BatchProcessingError):
        stores.processor(provider).handle(batch(record, _valid_other(provider)), CONTEXT)
    monkeypatch.setattr(events_client, "put_events", original)
    assert stores.processor(provider).handle(batch(record), CONTEXT) == {"batchItemFailures": []}
    assert len(of_type(stores.events(), "MessageReceived")) == 1


def test_record_without_request_metadata_is_rejected_not_lost(stores: Stores) -> None:
    record = {"messageId": "m", "body": "{}", "messageAttributes": {}}
    assert stores.processor("generic").handle(batch(record), CONTEXT) == {"batchItemFailures": []}
    (rejected,) = of_type(stores.events(), "MessageRejected")
    assert rejected["reason"] == "malformed"


def test_missing_secret_is_transient(stores: Stores) -> None:
    boto3.client("secretsmanager", region_name=REGION).delete_secret(
        SecretId="webhooks/generic", ForceDeleteWithoutRecovery=True
    )
    headers, body = signed("generic", "pm-x")
    record = sqs_record(discover()["generic"], headers, body)
    with pytest.raises(BatchProcessingError, match="All records failed"):
        stores.processor("generic").handle(batch(record, _valid_other("generic")), CONTEXT)
    assert stores.events() == []
