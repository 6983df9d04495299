"""Canonical event contracts of the platform (pydantic): one source of truth for every producer,
consumer, event pattern and the published schema registry.

Events carry references (ids, S3 keys, table keys), never message text or phone numbers; the
full `CanonicalMessage` is stored in the messages table and read by reference.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION: Literal["1.0"] = "1.0"
# Namespace for uuid5 message ids: fixed forever, or replays would produce new ids.
MESSAGE_ID_NAMESPACE = uuid.UUID("6f7c3a52-54a8-4d1e-9c55-2f0b8f0f4a61")

Channel = Literal["sms", "mms", "whatsapp", "slack", "generic"]
Sentiment = Literal["POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED"]


def message_id_for(provider: str, provider_message_id: str) -> str:
    """Deterministic id from the idempotency key, so a replayed webhook maps to the same id."""
    return str(uuid.uuid5(MESSAGE_ID_NAMESPACE, f"{provider}:{provider_message_id}"))


def conversation_id_for(provider: str, *participants: str) -> str:
    """Pseudonymous, order-independent conversation key (no phone number in a partition key)."""
    joined = "|".join([provider, *sorted(participants)])
    return hashlib.sha256(joined.encode()).hexdigest()[:32]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AttachmentRef(_Model):
    """A media object stored in the media bucket under media/{provider}/{message_id}/{n}.

    `content_type` is what the media host returned; `declared_content_type` what the webhook said.
    """

    key: str
    content_type: str
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    declared_content_type: str | None = None


class UnavailableAttachment(_Model):
    """An attachment the message referenced but that could not be stored, and why."""

    index: int = Field(ge=0)
    declared_content_type: str | None = None
    reason: str = Field(max_length=200)


class CanonicalMessage(_Model):
    """One inbound message, normalized across providers. Stored, never put on the bus."""

    schema_version: Literal["1.0"] = SCHEMA_VERSION
    message_id: str
    provider: str
    provider_message_id: str
    channel: Channel
    conversation_id: str
    sender: str
    recipient: str
    text: str | None = None
    language: str | None = None
    received_at: datetime
    attachments: tuple[AttachmentRef, ...] = ()
    unavailable_attachments: tuple[UnavailableAttachment, ...] = ()


class MessageRecordRef(_Model):
    """Key of the message's row in the messages table."""

    conversation_id: str
    sort_key: str


class Event(_Model):
    """Base of every event detail; `source` and `detail_type` are the EventBridge envelope."""

    source: ClassVar[str]
    detail_type: ClassVar[str]
    schema_version: Literal["1.0"] = SCHEMA_VERSION


class MessageReceived(Event):
    """A message passed signature checks and was stored; carries references only."""

    source: ClassVar[str] = "messaging.inbound"
    detail_type: ClassVar[str] = "MessageReceived"

    message_id: str
    provider: str
    provider_message_id: str
    channel: Channel
    conversation_id: str
    received_at: datetime
    has_text: bool
    text_length: int = Field(ge=0)
    language: str | None = None
    record: MessageRecordRef
    attachments: tuple[AttachmentRef, ...] = ()
    unavailable_attachments: tuple[UnavailableAttachment, ...] = ()


class MessageRejected(Event):
    """A webhook that was not accepted (bad signature, stale, malformed); raw copy kept in S3."""

    source: ClassVar[str] = "messaging.inbound"
    detail_type: ClassVar[str] = "MessageRejected"

    provider: str
    request_id: str
    reason: Literal["invalid_signature", "stale_timestamp", "malformed", "unsupported", "too_large"]
    detail: str = Field(max_length=500)
    raw_object_key: str | None = None
    received_at: datetime


class SentimentScores(_Model):
    positive: float
    negative: float
    neutral: float
    mixed: float


class MessageAnalyzed(Event):
    """Sentiment of a received message's text (triage); `status` FAILED keeps failures visible."""

    source: ClassVar[str] = "messaging.triage"
    detail_type: ClassVar[str] = "MessageAnalyzed"

    message_id: str
    status: Literal["ANALYZED", "FAILED"]
    sentiment: Sentiment | None = None
    scores: SentimentScores | None = None
    language: str | None = None
    truncated: bool = False
    error: str | None = None


EVENT_TYPES: tuple[type[Event], ...] = (MessageReceived, MessageRejected, MessageAnalyzed)
