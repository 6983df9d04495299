"""The processor against moto: every record ends processed, rejected (recorded) or retried."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from services.events.models import MessageReceived, MessageRejected, message_id_for
from services.inbound.providers import discover
from services.inbound.runtime import idempotency
from services.inbound.runtime import processor as runtime
from tests.support.inbound import (
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
    from tests.support.inbound import SECRETS, URL

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
    with pytest.raises(runtime.BatchFailed):
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
    with pytest.raises(runtime.BatchFailed, match="All records failed"):
        stores.processor("generic").handle(batch(record, _valid_other("generic")), CONTEXT)
    assert stores.events() == []


# -- issue #15 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["slack", "generic"])
def test_backlog_is_judged_fresh_at_api_gateway_receive_time(stores: Stores, provider: str) -> None:
    # Signed and received 20 minutes ago, processed now (a backlog or a DLQ redrive).
    then = datetime.now(UTC) - timedelta(minutes=20)
    headers, body = signed(provider, "pm-backlog", now=then)
    record = sqs_record(discover()[provider], headers, body, received_at=then)
    assert stores.processor(provider).handle(batch(record), CONTEXT) == {"batchItemFailures": []}
    assert len(of_type(stores.events(), "MessageReceived")) == 1


def _rotate(provider: str, **changes: str) -> dict[str, str]:
    from tests.support.inbound import SECRETS

    new = {**SECRETS[provider], **changes}
    boto3.client("secretsmanager", region_name=REGION).put_secret_value(
        SecretId=f"webhooks/{provider}", SecretString=json.dumps(new)
    )
    return new


def _signed_with(provider: str, secret: dict[str, str], key: str) -> dict[str, Any]:
    from tests.support.inbound import URL

    headers, body = discover()[provider].sample_request(
        secret=secret, url=URL.format(provider=provider), provider_message_id=key
    )
    return sqs_record(discover()[provider], headers, body, request_id=key, message_id=key)


def test_rotated_secret_is_read_again_on_a_mismatch(stores: Stores) -> None:
    proc = stores.processor("generic")
    from tests.support.inbound import SECRETS

    assert proc.handle(batch(_signed_with("generic", SECRETS["generic"], "a")), CONTEXT) == {
        "batchItemFailures": []
    }
    new = _rotate("generic", signing_key="rotated-key")
    # The cached (old) key does not verify: the store reads AWSCURRENT again, once.
    assert proc.handle(batch(_signed_with("generic", new, "b")), CONTEXT) == {
        "batchItemFailures": []
    }
    assert len(of_type(stores.events(), "MessageReceived")) == 2


def test_previous_secret_is_accepted_during_the_rotation_window(stores: Stores) -> None:
    from tests.support.inbound import SECRETS

    old = dict(SECRETS["generic"])
    _rotate("generic", signing_key="rotated-key")
    # In flight when the key changed: signed with the old key, processed after the rotation.
    assert stores.processor("generic").handle(
        batch(_signed_with("generic", old, "in-flight")), CONTEXT
    ) == {"batchItemFailures": []}
    assert len(of_type(stores.events(), "MessageReceived")) == 1
    # Past the grace period the old key is refused.
    late = stores.processor("generic")
    late.secrets.grace_seconds = 0
    late.handle(batch(_signed_with("generic", old, "too-late")), CONTEXT)
    (rejected,) = of_type(stores.events(), "MessageRejected")
    assert rejected["reason"] == "invalid_signature"


def test_signed_but_oversized_body_is_a_recorded_rejection(stores: Stores) -> None:
    headers, body = signed("generic", "pm-big", text="x" * (300 * 1024))
    record = sqs_record(discover()["generic"], headers, body)
    assert stores.processor("generic").handle(batch(record), CONTEXT) == {"batchItemFailures": []}
    (rejected,) = of_type(stores.events(), "MessageRejected")
    assert rejected["reason"] == "too_large"


@pytest.mark.parametrize(
    "body",
    [b"[" * 50_000 + b"]" * 50_000, b'{"id":"x","from":"a","to":"b","text":NaN}'],
)
def test_signed_pathological_json_is_a_recorded_rejection(stores: Stores, body: bytes) -> None:
    headers, _ = signed("generic", "unused")
    record = sqs_record(discover()["generic"], _resign("generic", body, headers), body)
    assert stores.processor("generic").handle(batch(record), CONTEXT) == {"batchItemFailures": []}
    (rejected,) = of_type(stores.events(), "MessageRejected")
    assert rejected["reason"] == "malformed"


def test_twilio_status_callback_is_ignored_not_a_message(stores: Stores) -> None:
    from urllib.parse import urlencode

    body = urlencode(
        {
            "MessageSid": "SM" + "2" * 32,
            "MessageStatus": "delivered",
            "SmsStatus": "delivered",
            "From": "+15017122661",
            "To": "+15558675310",
            "AccountSid": "AC" + "1" * 32,
        }
    ).encode()
    headers = _resign("twilio", body, {"Content-Type": "application/x-www-form-urlencoded"})
    record = sqs_record(discover()["twilio"], headers, body)
    assert stores.processor("twilio").process(record) == "ignored"
    assert stores.events() == []


def test_failed_completion_after_publishing_is_not_retried(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    def throttled(**kw: Any) -> None:
        raise ClientError({"Error": {"Code": "ThrottlingException"}}, "UpdateItem")

    monkeypatch.setattr(runtime.client("dynamodb"), "update_item", throttled)
    headers, body = signed("generic", "pm-complete")
    record = sqs_record(discover()["generic"], headers, body)
    # The event is out: the record must not go back to SQS (and on to a second event or the DLQ).
    assert stores.processor("generic").handle(batch(record), CONTEXT) == {"batchItemFailures": []}
    assert len(of_type(stores.events(), "MessageReceived")) == 1


def test_crash_between_publish_and_completion_republishes_the_same_message_id(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers, body = signed("generic", "pm-crash")
    record = sqs_record(discover()["generic"], headers, body)
    crashing = stores.processor("generic")

    def crash(key: str, message_id: str) -> None:
        raise RuntimeError("function timed out")

    monkeypatch.setattr(crashing.claims, "complete", crash)
    with pytest.raises(runtime.BatchFailed):
        crashing.handle(batch(record), CONTEXT)
    # SQS redelivers once the claim's lock has expired: at-least-once, with one message_id.
    retry = stores.processor("generic")
    retry.claims.lock_seconds = -1
    monkeypatch.setattr(idempotency.time, "time", lambda: 10**10)
    assert retry.handle(batch(record), CONTEXT) == {"batchItemFailures": []}
    first, second = of_type(stores.events(), "MessageReceived")
    assert first["message_id"] == second["message_id"] == message_id_for("generic", "pm-crash")
    assert first["record"] == second["record"]  # the same row, written twice, not two rows
    rows = boto3.client("dynamodb", region_name=REGION).scan(TableName=stores.messages)["Items"]
    assert len(rows) == 1


def test_unavailable_attachments_are_recorded_and_the_message_kept(stores: Stores) -> None:
    headers, body = signed(
        "twilio",
        "pm-evil-media",
        media_urls=(MEDIA["twilio"], "https://169.254.169.254/latest/meta-data/"),
    )
    record = sqs_record(discover()["twilio"], headers, body)
    assert stores.processor("twilio").handle(batch(record), CONTEXT) == {"batchItemFailures": []}
    (event,) = of_type(stores.events(), "MessageReceived")
    assert [a["key"].rsplit("/", 1)[1] for a in event["attachments"]] == ["0"]
    (gone,) = event["unavailable_attachments"]
    assert gone["index"] == 1
    assert "not allowed" in gone["reason"]
    assert [url for url, _ in stores.http.calls] == [MEDIA["twilio"]]


def test_slack_connect_file_is_recorded_as_unavailable(stores: Stores) -> None:
    headers, body = signed("slack", "pm-connect", media_urls=(MEDIA["slack"],))
    payload = json.loads(body)
    payload["event"]["files"].insert(
        0, {"id": "F123ABC456", "mode": "file_access", "file_access": "check_file_info"}
    )
    body = json.dumps(payload).encode()
    record = sqs_record(discover()["slack"], _resign("slack", body, headers), body)
    assert stores.processor("slack").handle(batch(record), CONTEXT) == {"batchItemFailures": []}
    (event,) = of_type(stores.events(), "MessageReceived")
    assert len(event["attachments"]) == 1
    assert event["unavailable_attachments"][0]["reason"] == "check_file_info"


def test_stored_content_type_is_what_the_host_returned(stores: Stores) -> None:
    headers, body = signed("twilio", "pm-type", media_urls=(MEDIA["twilio"],))
    record = sqs_record(discover()["twilio"], headers, body)
    proc = stores.processor("twilio", http=FakeHttp(content_type="text/html"))
    assert proc.handle(batch(record), CONTEXT) == {"batchItemFailures": []}
    (event,) = of_type(stores.events(), "MessageReceived")
    (attachment,) = event["attachments"]
    assert attachment["content_type"] == "text/html"
    assert attachment["declared_content_type"] == "image/jpeg"
    stored = boto3.client("s3", region_name=REGION).head_object(
        Bucket=stores.bucket, Key=attachment["key"]
    )
    assert stored["ContentType"] == "text/html"


class _Context:
    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def test_media_budget_stays_below_the_function_timeout(stores: Stores) -> None:
    headers, body = signed("generic", "pm-late", media_urls=(MEDIA["generic"],))
    late = sqs_record(discover()["generic"], headers, body)
    # 5 s left, 10 s margin: no download starts; that record is retried, the other goes through.
    result = stores.processor("generic").handle(
        batch(late, _valid_other("generic")), _Context(5000)
    )
    assert result == {"batchItemFailures": [{"itemIdentifier": "sqs-1"}]}
    assert stores.http.calls == []
    assert len(of_type(stores.events(), "MessageReceived")) == 1
