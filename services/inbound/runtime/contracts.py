"""The canonical contracts the processor builds, as frozen plain classes validated the way the
pydantic models of services/events/models.py (the source of truth) validate in strict mode.

Importing pydantic and building those models was about a third of a processor's cold start.
Strict: a value pydantic would coerce ("5" for an int) is refused, so the record is rejected,
never published differently. tests/services/inbound/test_contracts.py checks field by field
that both accept and refuse the same values and serialize the same JSON.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, ClassVar, NamedTuple

# As in services/events/models.py (the test checks they agree), without importing pydantic.
SCHEMA_VERSION = "1.0"
MESSAGE_ID_NAMESPACE = uuid.UUID("6f7c3a52-54a8-4d1e-9c55-2f0b8f0f4a61")


def message_id_for(provider: str, provider_message_id: str) -> str:
    """Deterministic id from the idempotency key (models.message_id_for)."""
    return str(uuid.uuid5(MESSAGE_ID_NAMESPACE, f"{provider}:{provider_message_id}"))


def conversation_id_for(provider: str, *participants: str) -> str:
    """Pseudonymous, order-independent conversation key (models.conversation_id_for)."""
    joined = "|".join([provider, *sorted(participants)])
    return hashlib.sha256(joined.encode()).hexdigest()[:32]


Check = Callable[[Any], Any]  # returns the value it accepts, raises TypeError/ValueError


class Invalid(ValueError):
    """A contract refused its values, one line per refused field (pydantic's ValidationError)."""

    def __init__(self, model: str, errors: list[str]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} validation errors for {model}: " + "; ".join(errors))

    def error_count(self) -> int:
        return len(self.errors)


def string(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise TypeError("not a string")


def integer(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise TypeError("not an integer")


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise TypeError("not a boolean")


def timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    raise TypeError("not a datetime")


def optional(check: Check) -> Check:
    return lambda value: None if value is None else check(value)


def literal(*allowed: str) -> Check:
    def check(value: Any) -> str:
        if isinstance(value, str) and value in allowed:
            return value
        raise ValueError(f"not one of {allowed}")

    return check


def at_least(minimum: int) -> Check:
    def check(value: Any) -> int:
        number = integer(value)
        if number < minimum:
            raise ValueError(f"less than {minimum}")
        return number

    return check


def at_most_chars(limit: int) -> Check:
    def check(value: Any) -> str:
        text = string(value)
        if len(text) > limit:
            raise ValueError(f"longer than {limit} characters")
        return text

    return check


def matching(pattern: str) -> Check:
    compiled = re.compile(pattern)

    def check(value: Any) -> str:
        text = string(value)
        if not compiled.fullmatch(text):  # fullmatch: `$` would let a trailing newline in
            raise ValueError(f"does not match {pattern}")
        return text

    return check


def one(contract: type[Contract]) -> Check:
    """An instance, or a dict of its fields (pydantic's strict mode takes both)."""

    def check(value: Any) -> Contract:
        if isinstance(value, contract):
            return value
        if isinstance(value, dict):
            return contract(**value)  # Invalid is a ValueError: one error for the field
        raise TypeError(f"not a {contract.__name__}")

    return check


def many(contract: type[Contract]) -> Check:
    def check(value: Any) -> tuple[Contract, ...]:
        if isinstance(value, tuple):
            return tuple(one(contract)(item) for item in value)
        raise TypeError(f"not a tuple of {contract.__name__}")

    return check


def iso(value: datetime) -> str:
    """A datetime as pydantic serializes it: `Z` for UTC, the offset to the minute otherwise."""
    text = value.replace(tzinfo=None).isoformat()
    offset = value.utcoffset()
    if offset is None:
        return text
    if offset == timedelta(0):
        return text + "Z"
    minutes = int(offset.total_seconds() / 60)
    sign = "-" if minutes < 0 else "+"
    return f"{text}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, Contract):
        return {spec.name: _jsonable(getattr(value, spec.name)) for spec in value.FIELDS}
    if isinstance(value, tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime):
        return iso(value)
    return value


REQUIRED: Any = object()


class Spec(NamedTuple):
    """One field: its name, how its value is checked, its default (REQUIRED: none)."""

    name: str
    check: Check
    default: Any = REQUIRED


def specs(**checks: Check | tuple[Check, Any]) -> tuple[Spec, ...]:
    """Fields in declaration order: `name=check`, or `name=(check, default)`."""
    return tuple(
        Spec(name, *check) if isinstance(check, tuple) else Spec(name, check)
        for name, check in checks.items()
    )


class Contract:
    """Checks every field on construction and refuses with `Invalid`, listing each bad or
    missing field, as pydantic does; immutable afterwards (the models are frozen). A plain class,
    not a dataclass: generating dataclass methods cost more at import than this whole module."""

    FIELDS: ClassVar[tuple[Spec, ...]] = ()

    def __init__(self, **values: Any) -> None:
        errors = [f"{name}: unexpected field" for name in values if name not in self.names()]
        for spec in self.FIELDS:
            value = values.get(spec.name, spec.default)
            if value is REQUIRED:
                errors.append(f"{spec.name}: missing")
                continue
            try:
                object.__setattr__(self, spec.name, spec.check(value))
            except (TypeError, ValueError) as err:
                errors.append(f"{spec.name}: {err}")
        if errors:
            raise Invalid(type(self).__name__, errors)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(spec.name for spec in cls.FIELDS)

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.names())

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen")

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Contract)
            and type(other) is type(self)
            and self._values() == other._values()
        )

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.names())
        return f"{type(self).__name__}({fields})"

    def model_dump(self) -> dict[str, Any]:
        return {
            name: value.model_dump() if isinstance(value, Contract) else value
            for name, value in zip(self.names(), self._values(), strict=True)
        }

    def model_dump_json(self) -> str:
        """Compact JSON, UTF-8 unescaped, fields in declaration order (pydantic's output)."""
        return json.dumps(_jsonable(self), separators=(",", ":"), ensure_ascii=False)


_channel = literal("sms", "mms", "whatsapp", "slack", "generic")
_version = (literal(SCHEMA_VERSION), SCHEMA_VERSION)
_optional_string = (optional(string), None)


class AttachmentRef(Contract):
    """A media object stored in the media bucket (models.AttachmentRef)."""

    key: str
    content_type: str
    size: int
    sha256: str
    declared_content_type: str | None
    FIELDS = specs(
        key=string,
        content_type=string,
        size=at_least(0),
        sha256=matching(r"[0-9a-f]{64}"),
        declared_content_type=_optional_string,
    )


class UnavailableAttachment(Contract):
    """An attachment that could not be stored, and why (models.UnavailableAttachment)."""

    index: int
    declared_content_type: str | None
    reason: str
    FIELDS = specs(
        index=at_least(0), declared_content_type=_optional_string, reason=at_most_chars(200)
    )


_attachments = (many(AttachmentRef), ())
_unavailable = (many(UnavailableAttachment), ())


class CanonicalMessage(Contract):
    """One inbound message, normalized across providers (models.CanonicalMessage)."""

    schema_version: str
    message_id: str
    provider: str
    provider_message_id: str
    channel: str
    conversation_id: str
    sender: str
    recipient: str
    text: str | None
    language: str | None
    received_at: datetime
    attachments: tuple[AttachmentRef, ...]
    unavailable_attachments: tuple[UnavailableAttachment, ...]
    FIELDS = specs(
        schema_version=_version,
        message_id=string,
        provider=string,
        provider_message_id=string,
        channel=_channel,
        conversation_id=string,
        sender=string,
        recipient=string,
        text=_optional_string,
        language=_optional_string,
        received_at=timestamp,
        attachments=_attachments,
        unavailable_attachments=_unavailable,
    )


class MessageRecordRef(Contract):
    """Key of the message's row in the messages table (models.MessageRecordRef)."""

    conversation_id: str
    sort_key: str
    FIELDS = specs(conversation_id=string, sort_key=string)


class MessageReceived(Contract):
    """A message passed signature checks and was stored (models.MessageReceived)."""

    source: ClassVar[str] = "messaging.inbound"
    detail_type: ClassVar[str] = "MessageReceived"

    schema_version: str
    message_id: str
    provider: str
    provider_message_id: str
    channel: str
    conversation_id: str
    received_at: datetime
    has_text: bool
    text_length: int
    language: str | None
    record: MessageRecordRef
    attachments: tuple[AttachmentRef, ...]
    unavailable_attachments: tuple[UnavailableAttachment, ...]
    FIELDS = specs(
        schema_version=_version,
        message_id=string,
        provider=string,
        provider_message_id=string,
        channel=_channel,
        conversation_id=string,
        received_at=timestamp,
        has_text=boolean,
        text_length=at_least(0),
        language=_optional_string,
        record=one(MessageRecordRef),
        attachments=_attachments,
        unavailable_attachments=_unavailable,
    )


class MessageRejected(Contract):
    """A webhook that was not accepted; raw copy kept in S3 (models.MessageRejected)."""

    source: ClassVar[str] = "messaging.inbound"
    detail_type: ClassVar[str] = "MessageRejected"

    schema_version: str
    provider: str
    request_id: str
    reason: str
    detail: str
    raw_object_key: str | None
    received_at: datetime
    FIELDS = specs(
        schema_version=_version,
        provider=string,
        request_id=string,
        reason=literal(
            "invalid_signature", "stale_timestamp", "malformed", "unsupported", "too_large"
        ),
        detail=at_most_chars(500),
        raw_object_key=_optional_string,
        received_at=timestamp,
    )


CONTRACTS: tuple[type[Contract], ...] = (
    AttachmentRef,
    UnavailableAttachment,
    CanonicalMessage,
    MessageRecordRef,
    MessageReceived,
    MessageRejected,
)
