"""Slack Events API: JSON event callbacks signed with X-Slack-Signature (v0) over the timestamp.

Signature: "v0=" + hex HMAC-SHA256(signing secret, "v0:{timestamp}:{raw body}"), timestamp in
X-Slack-Request-Timestamp and at most five minutes old (as received). The idempotency key is the
event id, so Slack's retries (X-Slack-Retry-Num) yield one event. Files are fetched with the bot
token, sent only to Slack's file host; a file without url_private (shared from another workspace)
is recorded as unavailable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from services.inbound.providers.base import (
    Handshake,
    HttpGet,
    InboundRequest,
    MediaPolicy,
    MediaRef,
    ParsedMessage,
    Provider,
    Rejected,
    check_fresh,
    constant_time_equal,
    from_epoch,
    hmac_hex,
    load_json,
)

# url_private lives on files.slack.com (https://files.slack.com/files-pri/T…-F…/name) and needs
# the bot token; Slack Connect files arrive without it (file_access "check_file_info"), see
# https://docs.slack.dev/reference/events/message/file_share ("Slack Connect files").
FILE_HOSTS = ("files.slack.com",)


class Slack(Provider):
    """User messages from Slack channels; bot messages, edits and handshakes yield none."""

    name: ClassVar[str] = "slack"
    content_types: ClassVar[tuple[str, ...]] = ("application/json",)
    signature_headers: ClassVar[tuple[str, ...]] = (
        "X-Slack-Signature",
        "X-Slack-Request-Timestamp",
        "X-Slack-Retry-Num",
    )
    handshake: ClassVar[Handshake | None] = "slack-url-verification"

    def verify(self, request: InboundRequest, secret: Mapping[str, str], now: datetime) -> None:
        timestamp = request.header("X-Slack-Request-Timestamp")
        given = request.header("X-Slack-Signature")
        if not timestamp or not given.startswith("v0="):
            raise Rejected("invalid_signature", "Slack signature headers are missing")
        base = b"v0:" + timestamp.encode() + b":" + request.body
        expected = "v0=" + hmac_hex(self.secret_value(secret, "signing_secret"), base)
        if not constant_time_equal(given, expected):
            raise Rejected("invalid_signature", "X-Slack-Signature does not match")
        check_fresh(timestamp, now)

    def parse(self, request: InboundRequest) -> list[ParsedMessage]:
        payload = load_json(request.body, "not an Events API payload")
        try:
            kind = payload.get("type")
            if kind == "url_verification":
                return []
            if kind != "event_callback":
                raise Rejected("unsupported", f"payload type {str(kind)[:40]!r}")
            event = payload["event"]
            if (
                event.get("type") != "message"
                or event.get("bot_id")
                or event.get("subtype")
                not in (
                    None,
                    "file_share",
                )
            ):
                return []
            media = tuple(_media_ref(f) for f in event.get("files", []))
            return [
                ParsedMessage(
                    provider_message_id=str(payload["event_id"]),
                    channel="slack",
                    sender=str(event["user"]),
                    recipient=str(event["channel"]),
                    text=str(event.get("text")) if event.get("text") else None,
                    sent_at=from_epoch(event["ts"]),
                    media=media,
                )
            ]
        except Rejected:
            raise
        except (ValueError, KeyError, TypeError, AttributeError, OverflowError) as err:
            raise Rejected(
                "malformed", f"not an Events API payload: {type(err).__name__}"
            ) from None

    def media_policy(self, secret: Mapping[str, str]) -> MediaPolicy:
        return MediaPolicy(hosts=FILE_HOSTS, credential_hosts=FILE_HOSTS)

    def fetch_media(
        self,
        media: MediaRef,
        secret: Mapping[str, str],
        http: HttpGet,
        deadline: float | None = None,
    ) -> tuple[bytes, str]:
        return http.get(
            media.locator,
            {"Authorization": "Bearer " + self.secret_value(secret, "bot_token")},
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
        timestamp = str(int(moment.timestamp()))
        event: dict[str, Any] = {
            "type": "message",
            "channel": "C0123456789",
            "user": "U0123456789",
            "text": text,
            "ts": f"{moment.timestamp():.6f}",
            "channel_type": "channel",
        }
        if media_urls:
            event["subtype"] = "file_share"
            event["files"] = [
                {"id": f"F{n:010d}", "url_private": u, "mimetype": "image/png"}
                for n, u in enumerate(media_urls)
            ]
        payload = {
            "token": "verification-token-unused",
            "team_id": "T0123456789",
            "api_app_id": "A0123456789",
            "event": event,
            "type": "event_callback",
            "event_id": provider_message_id,
            "event_time": int(moment.timestamp()),
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": timestamp}
        return self.sign(secret=secret, url=url, body=body, headers=headers), body

    def sign(
        self, *, secret: Mapping[str, str], url: str, body: bytes, headers: Mapping[str, str]
    ) -> dict[str, str]:
        timestamp = headers.get("X-Slack-Request-Timestamp") or str(
            int(datetime.now(UTC).timestamp())
        )
        base = b"v0:" + timestamp.encode() + b":" + body
        return {
            **headers,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": "v0=" + hmac_hex(secret["signing_secret"], base),
        }


def _media_ref(file: Any) -> MediaRef:
    """A file of a message; one Slack will not hand over (no url_private, e.g. shared from
    another workspace with file_access "check_file_info") is kept as unavailable."""
    mimetype = str(file.get("mimetype") or "")
    url = file.get("url_private")
    if not isinstance(url, str) or not url:
        why = str(file.get("file_access") or "no url_private")[:60]
        return MediaRef(f"slack-file:{str(file.get('id', ''))[:40]}", mimetype, unavailable=why)
    return MediaRef(url, mimetype)


PROVIDER = Slack()
