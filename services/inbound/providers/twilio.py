"""Twilio Programmable Messaging (SMS/MMS): form-encoded webhooks signed with X-Twilio-Signature.

Signature: base64(HMAC-SHA1(auth token, full URL + each POST parameter name and value, sorted
by name)). Media are fetched from Twilio's MediaUrlN with HTTP basic auth (account SID, token).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import ClassVar
from urllib.parse import parse_qsl, urlencode

from services.inbound.providers.base import (
    HttpGet,
    InboundRequest,
    MediaRef,
    ParsedMessage,
    Provider,
    Rejected,
    constant_time_equal,
)


def signature(auth_token: str, url: str, params: list[tuple[str, str]]) -> str:
    payload = url + "".join(k + v for k, v in sorted(params, key=lambda kv: kv[0]))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _params(request: InboundRequest) -> list[tuple[str, str]]:
    try:
        return parse_qsl(request.body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError) as err:
        raise Rejected("malformed", f"form body does not decode: {err}") from None


class Twilio(Provider):
    """SMS and MMS through Twilio; replies with empty TwiML."""

    name: ClassVar[str] = "twilio"
    content_types: ClassVar[tuple[str, ...]] = ("application/x-www-form-urlencoded",)
    signature_headers: ClassVar[tuple[str, ...]] = ("X-Twilio-Signature",)
    success_content_type: ClassVar[str] = "application/xml"
    success_body: ClassVar[str] = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'

    def verify(self, request: InboundRequest, secret: Mapping[str, str], now: datetime) -> None:
        given = request.header("X-Twilio-Signature")
        if not given:
            raise Rejected("invalid_signature", "X-Twilio-Signature header is missing")
        expected = signature(self.secret_value(secret, "auth_token"), request.url, _params(request))
        if not constant_time_equal(given, expected):
            raise Rejected("invalid_signature", "X-Twilio-Signature does not match")

    def parse(self, request: InboundRequest) -> list[ParsedMessage]:
        params = dict(_params(request))
        sid = params.get("MessageSid") or params.get("SmsSid")
        if not sid or "From" not in params or "To" not in params:
            raise Rejected("malformed", "MessageSid, From and To are required")
        try:
            count = int(params.get("NumMedia", "0") or "0")
        except ValueError:
            raise Rejected("malformed", "NumMedia is not a number") from None
        if not 0 <= count <= 10:
            raise Rejected("malformed", f"NumMedia {count} is out of range")
        media = []
        for n in range(count):
            url = params.get(f"MediaUrl{n}")
            if not url:
                raise Rejected("malformed", f"MediaUrl{n} is missing")
            media.append(
                MediaRef(url, params.get(f"MediaContentType{n}", "application/octet-stream"))
            )
        return [
            ParsedMessage(
                provider_message_id=sid,
                channel="mms" if media else "sms",
                sender=params["From"],
                recipient=params["To"],
                text=params.get("Body") or None,
                media=tuple(media),
            )
        ]

    def fetch_media(
        self, media: MediaRef, secret: Mapping[str, str], http: HttpGet
    ) -> tuple[bytes, str]:
        basic = (
            f"{self.secret_value(secret, 'account_sid')}:{self.secret_value(secret, 'auth_token')}"
        )
        auth = "Basic " + base64.b64encode(basic.encode()).decode()
        return http.get(media.locator, {"Authorization": auth})

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
        params = [
            ("ToCountry", "GB"),
            ("SmsMessageSid", provider_message_id),
            ("NumMedia", str(len(media_urls))),
            ("SmsSid", provider_message_id),
            ("SmsStatus", "received"),
            ("Body", text),
            ("To", "+447700900001"),
            ("NumSegments", "1"),
            ("MessageSid", provider_message_id),
            ("AccountSid", secret.get("account_sid", "AC00000000000000000000000000000000")),
            ("From", "+447700900123"),
            ("ApiVersion", "2010-04-01"),
        ]
        for n, media_url in enumerate(media_urls):
            params += [(f"MediaUrl{n}", media_url), (f"MediaContentType{n}", "image/jpeg")]
        body = urlencode(params).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return self.sign(secret=secret, url=url, body=body, headers=headers), body

    def sign(
        self, *, secret: Mapping[str, str], url: str, body: bytes, headers: Mapping[str, str]
    ) -> dict[str, str]:
        params = parse_qsl(body.decode(), keep_blank_values=True)
        return {**headers, "X-Twilio-Signature": signature(secret["auth_token"], url, params)}


PROVIDER = Twilio()
