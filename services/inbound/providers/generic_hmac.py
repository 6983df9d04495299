"""Generic JSON webhook for in-house systems, signed with HMAC-SHA256 over timestamp and body.

Headers: X-Signature: "sha256=" + hex HMAC-SHA256(key, "{timestamp}.{raw body}") and
X-Timestamp (Unix seconds, five-minute window, as received). Attachments are plain HTTPS URLs
fetched with the same key as a bearer token, only from the hosts the secret's `media_hosts`
(comma-separated names or "*.suffix" patterns) lists.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from services.inbound.providers.base import (
    HttpGet,
    InboundRequest,
    MediaPolicy,
    MediaRef,
    ParsedMessage,
    Provider,
    Rejected,
    check_fresh,
    constant_time_equal,
    hmac_hex,
    load_json,
)


class GenericHmac(Provider):
    """The platform's own webhook format: {id, from, to, text, sent_at, attachments}."""

    name: ClassVar[str] = "generic"
    content_types: ClassVar[tuple[str, ...]] = ("application/json",)
    signature_headers: ClassVar[tuple[str, ...]] = ("X-Signature", "X-Timestamp")

    def verify(self, request: InboundRequest, secret: Mapping[str, str], now: datetime) -> None:
        timestamp = request.header("X-Timestamp")
        given = request.header("X-Signature")
        if not timestamp or not given.startswith("sha256="):
            raise Rejected("invalid_signature", "X-Signature or X-Timestamp header is missing")
        base = timestamp.encode() + b"." + request.body
        expected = "sha256=" + hmac_hex(self.secret_value(secret, "signing_key"), base)
        if not constant_time_equal(given, expected):
            raise Rejected("invalid_signature", "X-Signature does not match")
        check_fresh(timestamp, now)

    def parse(self, request: InboundRequest) -> list[ParsedMessage]:
        payload = load_json(request.body, "not a generic webhook")
        try:
            attachments = payload.get("attachments", [])
            if not isinstance(attachments, list):
                raise TypeError("attachments")
            sent_at = payload.get("sent_at")
            return [
                ParsedMessage(
                    provider_message_id=_required(payload, "id"),
                    channel="generic",
                    sender=_required(payload, "from"),
                    recipient=_required(payload, "to"),
                    text=str(payload["text"]) if payload.get("text") else None,
                    sent_at=datetime.fromisoformat(sent_at) if sent_at else None,
                    language=str(payload["language"]) if payload.get("language") else None,
                    media=tuple(
                        MediaRef(str(a["url"]), str(a.get("content_type", ""))) for a in attachments
                    ),
                )
            ]
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise Rejected("malformed", f"not a generic webhook: {type(err).__name__}") from None

    def media_policy(self, secret: Mapping[str, str]) -> MediaPolicy:
        hosts = tuple(h.strip() for h in secret.get("media_hosts", "").split(",") if h.strip())
        return MediaPolicy(hosts=hosts, credential_hosts=hosts)

    def fetch_media(
        self,
        media: MediaRef,
        secret: Mapping[str, str],
        http: HttpGet,
        deadline: float | None = None,
    ) -> tuple[bytes, str]:
        return http.get(
            media.locator,
            {"Authorization": "Bearer " + self.secret_value(secret, "signing_key")},
            policy=self.media_policy(secret),
            deadline=deadline,
        )

    def sample_request(
        self,
        *,
        secret: Mapping[str, str],
        url: str,
        provider_message_id: str,
        text: str = "Hello from the smoke test",
        media_urls: tuple[str, ...] = (),
        now: datetime | None = None,
    ) -> tuple[dict[str, str], bytes]:
        moment = now or datetime.now(UTC)
        payload: dict[str, Any] = {
            "id": provider_message_id,
            "from": "crm:customer-42",
            "to": "support:inbox",
            "text": text,
            "sent_at": moment.isoformat(),
            "attachments": [{"url": u, "content_type": "application/pdf"} for u in media_urls],
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "X-Timestamp": str(int(moment.timestamp()))}
        return self.sign(secret=secret, url=url, body=body, headers=headers), body

    def sign(
        self, *, secret: Mapping[str, str], url: str, body: bytes, headers: Mapping[str, str]
    ) -> dict[str, str]:
        timestamp = headers.get("X-Timestamp") or str(int(datetime.now(UTC).timestamp()))
        signed = "sha256=" + hmac_hex(secret["signing_key"], timestamp.encode() + b"." + body)
        return {**headers, "X-Timestamp": timestamp, "X-Signature": signed}


def _required(payload: Mapping[str, Any], key: str) -> str:
    value = payload[key]
    if not isinstance(value, str) or not value:
        raise ValueError(key)
    return value


PROVIDER = GenericHmac()
