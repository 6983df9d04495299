"""Helpers for the inbound runtime tests: provider secrets, fake media hosts, the moto-backed
stores a processor writes to, signed webhooks and the SQS records they become."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import boto3

from services.inbound.providers import discover
from services.inbound.providers.base import (
    HttpGet,
    MediaPolicy,
    MediaUnavailable,
    Provider,
    Transient,
)
from services.inbound.runtime import processor as runtime

REGION = "eu-west-1"
URL = "https://api.example.com/v1/webhooks/{provider}"
SECRETS: dict[str, dict[str, str]] = {
    "twilio": {"auth_token": "twilio-auth-token", "account_sid": "AC" + "1" * 32},
    "whatsapp": {
        "app_secret": "meta-app-secret",
        "access_token": "meta-access-token",
        "graph_api_url": "https://graph.example.test/v21.0",
    },
    "slack": {"signing_secret": "slack-signing-secret", "bot_token": "xoxb-test"},
    "generic": {"signing_key": "generic-signing-key", "media_hosts": "media.example.test"},
}
PROVIDERS = sorted(discover())
# Where each provider's webhooks point at an attachment (WhatsApp sends a media id).
MEDIA: dict[str, str] = {
    "twilio": "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
    "whatsapp": "1037543291543636",
    "slack": "https://files.slack.com/files-pri/T0123456789-F0123456789/m1.png",
    "generic": "https://media.example.test/m1",
}


class FakeHttp(HttpGet):
    """Serves media bytes by URL, refusing hosts the provider's policy does not allow; Graph API
    media ids resolve to a lookaside URL, as Meta's API does."""

    def __init__(self, fail: bool = False, content_type: str = "image/jpeg") -> None:
        self.fail = fail
        self.content_type = content_type
        self.calls: list[tuple[str, dict[str, str]]] = []

    def get(
        self,
        url: str,
        headers: Mapping[str, str],
        *,
        policy: MediaPolicy | None = None,
        deadline: float | None = None,
    ) -> tuple[bytes, str]:
        host = urlsplit(url).hostname or ""
        if policy is None or not policy.allows(host):
            raise MediaUnavailable(f"media host {host!r} is not allowed")
        self.calls.append((url, dict(headers)))
        if self.fail:
            raise Transient("media host answered 503")
        if url.startswith("https://graph.example.test/v21.0/"):
            media_id = url.rsplit("/", 1)[1]
            lookaside = f"https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid={media_id}"
            return json.dumps({"url": lookaside}).encode(), "application/json"
        return f"bytes of {url}".encode(), self.content_type


@dataclass
class Stores:
    """The moto resources a processor writes to, plus a queue that captures bus events."""

    bucket: str = "media-bucket"
    messages: str = "messages"
    idempotency: str = "idempotency"
    bus: str = "stage-bus"
    capture_url: str = ""
    http: FakeHttp = field(default_factory=FakeHttp)

    def events(self) -> list[dict[str, Any]]:
        sqs = boto3.client("sqs", region_name=REGION)
        out: list[dict[str, Any]] = []
        while True:
            got = sqs.receive_message(QueueUrl=self.capture_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not got:
                return out
            for m in got:
                out.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=self.capture_url, ReceiptHandle=m["ReceiptHandle"])

    def processor(self, provider: str, http: HttpGet | None = None) -> runtime.Processor:
        settings = runtime.Settings(
            provider=provider,
            secret_name=f"webhooks/{provider}",
            media_bucket=self.bucket,
            messages_table=self.messages,
            idempotency_table=self.idempotency,
            event_bus=self.bus,
            idempotency_ttl_seconds=3600,
            lock_seconds=900,
        )
        return runtime.Processor(settings, discover()[provider], http or self.http)


def sqs_record(
    provider: Provider,
    headers: Mapping[str, str],
    body: bytes,
    *,
    request_id: str = "req-1",
    message_id: str = "sqs-1",
    url: str | None = None,
    received_at: datetime | None = None,
) -> dict[str, Any]:
    """The SQS record the API request template produces for this webhook."""
    wanted = {h.lower() for h in provider.signature_headers}
    meta = {
        "url": url or URL.format(provider=provider.name),
        "request_id": request_id,
        "received_at": int((received_at or datetime.now(UTC)).timestamp() * 1000),
        "content_type": headers.get("Content-Type", ""),
        "headers": {k.lower(): v for k, v in headers.items() if k.lower() in wanted},
    }
    return {
        "messageId": message_id,
        "receiptHandle": "rh-" + message_id,
        "body": body.decode(),
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {"meta": {"stringValue": json.dumps(meta), "dataType": "String"}},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:{provider.name}",
        "awsRegion": REGION,
    }


def signed(provider: str, message_id: str, **kw: Any) -> tuple[dict[str, str], bytes]:
    return discover()[provider].sample_request(
        secret=SECRETS[provider],
        url=URL.format(provider=provider),
        provider_message_id=message_id,
        **kw,
    )
