"""Twilio Programmable Messaging (SMS/MMS): form-encoded webhooks signed with X-Twilio-Signature.

Signature: base64(HMAC-SHA1(auth token, full URL incl. query + each POST parameter name and
value, sorted by name, a repeated name once per value)), checked with and without the default
port as Twilio's SDKs do. JSON webhooks sign the URL only, whose bodySHA256 query parameter is
the body's SHA-256. Status callbacks (no Body) are delivery receipts, not messages. Media are
fetched from api.twilio.com with HTTP basic auth; its redirect to the media CDN gets none.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import ClassVar
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit

from services.inbound.providers.base import (
    HttpGet,
    InboundRequest,
    MediaPolicy,
    MediaRef,
    ParsedMessage,
    Provider,
    Rejected,
    constant_time_equal,
)

# Media URLs point at the REST API, which redirects to short-lived CDN URLs (mms.twiliocdn.com
# with HTTP auth enforced, s3-external-1.amazonaws.com without); only the API gets credentials.
# https://help.twilio.com/articles/223183748 (Protect media access with HTTP basic auth)
API_HOSTS = ("api.twilio.com",)
MEDIA_CDN_HOSTS = ("mms.twiliocdn.com", "media.twiliocdn.com", "s3-external-1.amazonaws.com")
DEFAULT_PORTS = {"https": 443, "http": 80}
# Status callback values; an inbound message arrives with SmsStatus=received and a Body.
RECEIVED = "received"


def signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """Twilio's request signature: names sorted, each name followed by each of its values."""
    grouped: dict[str, list[str]] = {}
    for key, value in params:
        grouped.setdefault(key, []).append(value)
    payload = url + "".join(k + v for k in sorted(grouped) for v in sorted(grouped[k]))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def url_variants(url: str) -> list[str]:
    """The URL as given, without its port and with the scheme's default port (Twilio may sign
    either form, depending on how the webhook URL was configured)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = userinfo + "@" if userinfo else ""
    bare = parts._replace(netloc=prefix + host)
    found = [url, bare.geturl()]
    default = DEFAULT_PORTS.get(parts.scheme)
    if default:
        found.append(parts._replace(netloc=f"{prefix}{host}:{default}").geturl())
    return list(dict.fromkeys(found))


def _query(parts: SplitResult) -> dict[str, str]:
    return dict(parse_qsl(parts.query, keep_blank_values=True))


def _params(request: InboundRequest) -> list[tuple[str, str]]:
    try:
        return parse_qsl(request.body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError) as err:
        raise Rejected("malformed", f"form body does not decode: {err}") from None


class Twilio(Provider):
    """SMS and MMS through Twilio; replies with empty TwiML."""

    name: ClassVar[str] = "twilio"
    content_types: ClassVar[tuple[str, ...]] = (
        "application/x-www-form-urlencoded",
        "application/json",  # bodySHA256 webhooks
    )
    signature_headers: ClassVar[tuple[str, ...]] = ("X-Twilio-Signature",)
    success_content_type: ClassVar[str] = "application/xml"
    success_body: ClassVar[str] = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'

    def verify(self, request: InboundRequest, secret: Mapping[str, str], now: datetime) -> None:
        given = request.header("X-Twilio-Signature")
        if not given:
            raise Rejected("invalid_signature", "X-Twilio-Signature header is missing")
        token = self.secret_value(secret, "auth_token")
        urls = url_variants(request.url)
        if secret.get("webhook_url"):  # the URL exactly as configured at Twilio, query included
            urls += url_variants(secret["webhook_url"])
        if _is_json(request):
            body_hash = _query(urlsplit(request.url)).get("bodySHA256", "")
            if not body_hash:
                raise Rejected("invalid_signature", "JSON webhook URL has no bodySHA256")
            params: list[tuple[str, str]] = []
        else:
            params = _params(request)
        if not any(constant_time_equal(given, signature(token, u, params)) for u in urls):
            raise Rejected("invalid_signature", "X-Twilio-Signature does not match")
        if _is_json(request):
            actual = hashlib.sha256(request.body).hexdigest()
            if not constant_time_equal(body_hash.lower(), actual):
                raise Rejected("invalid_signature", "bodySHA256 does not match the body")

    def parse(self, request: InboundRequest) -> list[ParsedMessage]:
        if _is_json(request):
            return []  # JSON webhooks (bodySHA256) are event notifications, not inbound SMS/MMS
        params = dict(_params(request))
        status = params.get("MessageStatus") or params.get("SmsStatus")
        if "Body" not in params and status and status != RECEIVED:
            return []  # a status callback: a delivery receipt for a message we sent
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

    def media_policy(self, secret: Mapping[str, str]) -> MediaPolicy:
        return MediaPolicy(hosts=MEDIA_CDN_HOSTS, credential_hosts=API_HOSTS)

    def fetch_media(
        self,
        media: MediaRef,
        secret: Mapping[str, str],
        http: HttpGet,
        deadline: float | None = None,
    ) -> tuple[bytes, str]:
        basic = (
            f"{self.secret_value(secret, 'account_sid')}:{self.secret_value(secret, 'auth_token')}"
        )
        auth = "Basic " + base64.b64encode(basic.encode()).decode()
        return http.get(
            media.locator,
            {"Authorization": auth},
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
        json_body = headers.get("Content-Type", "").startswith("application/json")
        params = [] if json_body else parse_qsl(body.decode(), keep_blank_values=True)
        return {**headers, "X-Twilio-Signature": signature(secret["auth_token"], url, params)}


def _is_json(request: InboundRequest) -> bool:
    return request.header("content-type").split(";")[0].strip().lower() == "application/json"


PROVIDER = Twilio()
