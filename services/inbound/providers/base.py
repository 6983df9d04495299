"""The provider plugin contract: what a webhook provider module declares and implements.

A provider is one module in this package exposing `PROVIDER`, an instance of a `Provider`
subclass. The construct discovers them at synth (route, queue, DLQ, processor, alarms each) and
the processor dispatches to them at run time. Adding a provider is adding one module.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

Handshake = Literal["meta-verify-get", "slack-url-verification"]
RejectReason = Literal[
    "invalid_signature", "stale_timestamp", "malformed", "unsupported", "too_large"
]
Channel = Literal["sms", "mms", "whatsapp", "slack", "generic"]
REPLAY_WINDOW_SECONDS = 300
# Deepest JSON a webhook may nest: the providers' documented payloads stay under 10 levels.
MAX_JSON_DEPTH = 64


class Rejected(Exception):
    """The webhook must not be processed (and must not be retried): record it and move on."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason: RejectReason = reason
        self.detail = detail[:500]


class Transient(Exception):
    """A temporary failure (throttling, timeout): the record is retried by SQS, then DLQ'd."""


class MediaUnavailable(Exception):
    """One attachment cannot be had, and retrying will not change that (refused host, 404, too
    large): the message is kept and the attachment recorded as unavailable."""


@dataclass(frozen=True)
class InboundRequest:
    """A webhook as the processor sees it: the raw body plus what API Gateway recorded."""

    provider: str
    body: bytes
    headers: Mapping[str, str]  # lower-case names; only the provider's declared headers
    url: str  # the public URL the provider called (and signed)
    request_id: str
    received_at: datetime

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass(frozen=True)
class MediaRef:
    """Where a provider keeps an attachment (URL or provider media id) and its declared type;
    `unavailable` says why the webhook itself gives no way to fetch it (nothing is fetched)."""

    locator: str
    content_type: str = "application/octet-stream"
    unavailable: str | None = None


def _host_matches(host: str, pattern: str) -> bool:
    host, pattern = host.lower().rstrip("."), pattern.lower()
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return host == pattern


@dataclass(frozen=True)
class MediaPolicy:
    """Hosts a provider's media may be fetched from (every hop, redirects included) and the
    subset that may receive its credentials. Patterns are exact names or "*.suffix"."""

    hosts: tuple[str, ...] = ()
    credential_hosts: tuple[str, ...] = ()

    def allows(self, host: str) -> bool:
        return any(_host_matches(host, p) for p in (*self.hosts, *self.credential_hosts))

    def sends_credentials(self, host: str) -> bool:
        return any(_host_matches(host, p) for p in self.credential_hosts)


@dataclass(frozen=True)
class ParsedMessage:
    """One message extracted from a webhook, before storage and normalization."""

    provider_message_id: str
    channel: Channel
    sender: str
    recipient: str
    text: str | None
    sent_at: datetime | None = None
    language: str | None = None
    media: tuple[MediaRef, ...] = field(default_factory=tuple)


class HttpGet(ABC):
    """Minimal HTTP client the providers fetch media with (swapped for a fake in tests)."""

    @abstractmethod
    def get(
        self,
        url: str,
        headers: Mapping[str, str],
        *,
        policy: MediaPolicy | None = None,
        deadline: float | None = None,
    ) -> tuple[bytes, str]:
        """Return (body, content type the host returned). Every hop must be allowed by `policy`
        (none allowed without one); `deadline` is a time.monotonic() instant. Raise Transient on
        timeouts and 5xx/429, MediaUnavailable when retrying cannot help."""


class Provider(ABC):
    """Base of every provider plugin."""

    name: ClassVar[str]
    content_types: ClassVar[tuple[str, ...]]
    # Headers the API request template copies into the queue message for the processor.
    signature_headers: ClassVar[tuple[str, ...]]
    # What API Gateway answers once the webhook is on the queue.
    success_content_type: ClassVar[str] = "application/json"
    success_body: ClassVar[str] = "{}"
    # A subscription handshake that must be answered synchronously (still without Lambda).
    handshake: ClassVar[Handshake | None] = None

    @abstractmethod
    def verify(self, request: InboundRequest, secret: Mapping[str, str], now: datetime) -> None:
        """Raise Rejected unless the request is authentic and fresh."""

    @abstractmethod
    def parse(self, request: InboundRequest) -> list[ParsedMessage]:
        """Messages in the webhook (possibly none, e.g. status callbacks); Rejected if malformed."""

    def media_policy(self, secret: Mapping[str, str]) -> MediaPolicy:
        """Where this provider's media may come from and where its credentials may go."""
        return MediaPolicy()

    @abstractmethod
    def fetch_media(
        self,
        media: MediaRef,
        secret: Mapping[str, str],
        http: HttpGet,
        deadline: float | None = None,
    ) -> tuple[bytes, str]:
        """Download one attachment with the provider's authentication, within `deadline`."""

    @abstractmethod
    def sign(
        self, *, secret: Mapping[str, str], url: str, body: bytes, headers: Mapping[str, str]
    ) -> dict[str, str]:
        """`headers` plus this provider's signature over `body` (timestamps kept if present)."""

    @abstractmethod
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
        """A realistic, correctly signed webhook (headers, body) for tests and smoke runs."""

    @staticmethod
    def secret_value(secret: Mapping[str, str], key: str) -> str:
        value = secret.get(key)
        if not value:
            raise Transient(f"secret has no {key!r}; cannot verify")
        return value


def hmac_hex(key: str, message: bytes, digest: str = "sha256") -> str:
    return hmac.new(key.encode(), message, getattr(hashlib, digest)).hexdigest()


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def check_fresh(timestamp: str, now: datetime, window: int = REPLAY_WINDOW_SECONDS) -> None:
    """`now` is when API Gateway received the request, so a queue backlog stays fresh."""
    try:
        sent = int(float(timestamp))
    except (ValueError, OverflowError):
        raise Rejected("stale_timestamp", f"timestamp {timestamp[:40]!r} is not a number") from None
    if abs(now.timestamp() - sent) > window:
        raise Rejected("stale_timestamp", f"timestamp {sent} is outside the {window}s window")


def from_epoch(value: str | int | float) -> datetime:
    return datetime.fromtimestamp(float(value), tz=UTC)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name}")


def _depth_within(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return False
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return True


def load_json(body: bytes, what: str) -> Any:
    """Strict JSON: no NaN/Infinity, no overflowing floats, nesting at most MAX_JSON_DEPTH;
    anything else is Rejected("malformed"), never an exception that would be retried."""
    try:
        value = json.loads(body, parse_constant=_refuse_constant)
    except RecursionError:
        raise Rejected("malformed", f"{what}: nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as err:
        raise Rejected("malformed", f"{what}: {type(err).__name__}") from None
    if not _depth_within(value, MAX_JSON_DEPTH):
        raise Rejected("malformed", f"{what}: nested deeper than {MAX_JSON_DEPTH}")
    if _has_non_finite(value):
        raise Rejected("malformed", f"{what}: non-finite number")
    return value


def _has_non_finite(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return True  # 1e999 parses to inf without passing through parse_constant
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
