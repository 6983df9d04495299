"""WhatsApp Cloud API (Meta): JSON webhooks signed with X-Hub-Signature-256.

Signature: "sha256=" + hex HMAC-SHA256(app secret, raw body). Media arrive as ids: the Graph API
returns a short-lived lookaside.fbsbx.com URL for the id, both fetched with the access token.
Status callbacks carry no messages and yield none. A user who hides their phone number is known
by their business-scoped user ID (BSUID); interactive replies keep the chosen title as text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

from services.inbound.providers.base import (
    Handshake,
    HttpGet,
    InboundRequest,
    MediaPolicy,
    MediaRef,
    ParsedMessage,
    Provider,
    Rejected,
    Transient,
    constant_time_equal,
    from_epoch,
    hmac_hex,
    load_json,
)

GRAPH_API = "https://graph.facebook.com/v21.0"
# GET /<MEDIA_ID> answers {"url": "https://lookaside.fbsbx.com/whatsapp_business/attachments/…"},
# which is downloaded with the same bearer token.
MEDIA_HOSTS = ("graph.facebook.com", "lookaside.fbsbx.com")
MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")


def _text_of(message: Mapping[str, Any]) -> str | None:
    kind = message.get("type")
    if kind == "text":
        body = message.get("text", {}).get("body")
        return str(body) if body is not None else None
    if kind in MEDIA_TYPES:
        caption = message.get(kind, {}).get("caption")
        return str(caption) if caption else None
    if kind == "button":  # quick-reply button of a template: {"payload", "text"}
        button = message.get("button", {})
        chosen = button.get("text") or button.get("payload")
        return str(chosen) if chosen else None
    if kind == "interactive":  # {"type": "button_reply"|"list_reply", <type>: {"id", "title"}}
        interactive = message.get("interactive", {})
        reply = interactive.get(str(interactive.get("type")), {})
        chosen = reply.get("title") or reply.get("id") if isinstance(reply, dict) else None
        return str(chosen) if chosen else None
    return None


def _sender(message: Mapping[str, Any], contacts: list[Any]) -> str:
    """The user's phone number (`from`), else their BSUID (`from_user_id`, or the `user_id` of
    the webhook's only contact): users with a username may have no phone number in the payload."""
    for key in ("from", "from_user_id"):
        value = message.get(key)
        if isinstance(value, str) and value:
            return value
    ids = {str(c["user_id"]) for c in contacts if isinstance(c, dict) and c.get("user_id")}
    if len(ids) == 1:
        return ids.pop()
    raise KeyError("from")


class WhatsApp(Provider):
    """WhatsApp Business messages via Meta's Cloud API; replies 200 with an empty body."""

    name: ClassVar[str] = "whatsapp"
    content_types: ClassVar[tuple[str, ...]] = ("application/json",)
    signature_headers: ClassVar[tuple[str, ...]] = ("X-Hub-Signature-256",)
    handshake: ClassVar[Handshake | None] = "meta-verify-get"

    def verify(self, request: InboundRequest, secret: Mapping[str, str], now: datetime) -> None:
        given = request.header("X-Hub-Signature-256")
        if not given.startswith("sha256="):
            raise Rejected("invalid_signature", "X-Hub-Signature-256 header is missing")
        expected = "sha256=" + hmac_hex(self.secret_value(secret, "app_secret"), request.body)
        if not constant_time_equal(given, expected):
            raise Rejected("invalid_signature", "X-Hub-Signature-256 does not match")

    def parse(self, request: InboundRequest) -> list[ParsedMessage]:
        payload = load_json(request.body, "not a Cloud API webhook")
        try:
            if payload.get("object") != "whatsapp_business_account":
                raise Rejected("unsupported", f"object {str(payload.get('object'))[:40]!r}")
            out = []
            for entry in payload["entry"]:
                for change in entry.get("changes", []):
                    value = change["value"]
                    recipient = value.get("metadata", {}).get("display_phone_number", "")
                    contacts = value.get("contacts") or []
                    for message in value.get("messages", []):
                        kind = message.get("type")
                        media: tuple[MediaRef, ...] = ()
                        if kind in MEDIA_TYPES:
                            item = message[kind]
                            media = (MediaRef(str(item["id"]), str(item.get("mime_type", ""))),)
                        out.append(
                            ParsedMessage(
                                provider_message_id=str(message["id"]),
                                channel="whatsapp",
                                sender=_sender(message, contacts),
                                recipient=str(recipient),
                                text=_text_of(message),
                                sent_at=from_epoch(message["timestamp"]),
                                media=media,
                            )
                        )
            return out
        except Rejected:
            raise
        except (ValueError, KeyError, TypeError, AttributeError, OverflowError) as err:
            raise Rejected("malformed", f"not a Cloud API webhook: {type(err).__name__}") from None

    def media_policy(self, secret: Mapping[str, str]) -> MediaPolicy:
        configured = urlsplit(secret.get("graph_api_url", GRAPH_API)).hostname or ""
        hosts = tuple(
            dict.fromkeys((*MEDIA_HOSTS, configured.lower()) if configured else MEDIA_HOSTS)
        )
        return MediaPolicy(hosts=hosts, credential_hosts=hosts)

    def fetch_media(
        self,
        media: MediaRef,
        secret: Mapping[str, str],
        http: HttpGet,
        deadline: float | None = None,
    ) -> tuple[bytes, str]:
        auth = {"Authorization": "Bearer " + self.secret_value(secret, "access_token")}
        base = secret.get("graph_api_url", GRAPH_API).rstrip("/")
        policy = self.media_policy(secret)
        body, _ = http.get(f"{base}/{media.locator}", auth, policy=policy, deadline=deadline)
        try:
            url = json.loads(body)["url"]
        except (ValueError, KeyError, TypeError):
            raise Transient(f"Graph API returned no URL for media {media.locator}") from None
        return http.get(str(url), auth, policy=policy, deadline=deadline)

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
        sent = int((now or datetime.now(UTC)).timestamp())
        message: dict[str, Any] = {
            "from": "447700900123",
            "id": provider_message_id,
            "timestamp": str(sent),
        }
        if media_urls:
            # The smoke test's media ids are resolved by its own Graph API stand-in.
            message.update(
                type="image",
                image={"id": media_urls[0], "mime_type": "image/jpeg", "caption": text},
            )
        else:
            message.update(type="text", text={"body": text})
        payload = {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "102290129340398",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": "15550783881",
                                    "phone_number_id": "106540352242922",
                                },
                                "contacts": [
                                    {"profile": {"name": "Smoke Test"}, "wa_id": "447700900123"}
                                ],
                                "messages": [message],
                            },
                        }
                    ],
                }
            ],
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json"}
        return self.sign(secret=secret, url=url, body=body, headers=headers), body

    def sign(
        self, *, secret: Mapping[str, str], url: str, body: bytes, headers: Mapping[str, str]
    ) -> dict[str, str]:
        return {**headers, "X-Hub-Signature-256": "sha256=" + hmac_hex(secret["app_secret"], body)}


PROVIDER = WhatsApp()
