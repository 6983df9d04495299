"""The processor's dataclass contracts (services/inbound/runtime/contracts.py) against the pydantic
models they mirror (services/events/models.py, the source of truth): the same fields and
defaults, field by field the values pydantic's strict mode accepts and no others, and the same
JSON. Strict mode: https://docs.pydantic.dev/latest/concepts/strict_mode/"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from services.events import models
from services.inbound.runtime import contracts
from tests.support.synth import ROOT

PAIRS = [(c, getattr(models, c.__name__)) for c in contracts.CONTRACTS]
IDS = [c.__name__ for c in contracts.CONTRACTS]
NOW = datetime(2026, 11, 27, 18, 0, 5, 120, tzinfo=UTC)
ATTACHMENT = {"key": "media/k/0", "content_type": "image/png", "size": 3, "sha256": "a" * 64}
UNAVAILABLE = {"index": 0, "reason": "timed out"}
RECORD = {"conversation_id": "c", "sort_key": "s"}


class Nested:
    """A nested value, built from the contracts or from the models (each side gets its own)."""

    def __init__(self, name: str, values: dict[str, Any], *, many: bool = True) -> None:
        self.name, self.values, self.many = name, values, many

    def build(self, side: Any) -> Any:
        instance = getattr(side, self.name)(**self.values)
        return (instance,) if self.many else instance

    def __repr__(self) -> str:
        return f"Nested({self.name}, {self.values}, many={self.many})"


# One valid set of values per contract; each test varies one field at a time.
VALID: dict[str, dict[str, Any]] = {
    "AttachmentRef": ATTACHMENT,
    "UnavailableAttachment": UNAVAILABLE,
    "CanonicalMessage": {
        "message_id": "m",
        "provider": "generic",
        "provider_message_id": "p-1",
        "channel": "generic",
        "conversation_id": "c",
        "sender": "a",
        "recipient": "b",
        "received_at": NOW,
    },
    "MessageRecordRef": RECORD,
    "MessageReceived": {
        "message_id": "m",
        "provider": "generic",
        "provider_message_id": "p-1",
        "channel": "sms",
        "conversation_id": "c",
        "received_at": NOW,
        "has_text": True,
        "text_length": 3,
        "record": Nested("MessageRecordRef", RECORD, many=False),
    },
    "MessageRejected": {
        "provider": "slack",
        "request_id": "r",
        "reason": "malformed",
        "detail": "bad",
        "received_at": NOW,
    },
}

# What each field is tried with: types, bounds, patterns, lax coercions and nested values.
CANDIDATES: list[Any] = [
    None,
    "",
    "x",
    "ünïcode",
    "sms",
    "whatsapp",
    "malformed",
    "too_large",
    "1.0",
    "2.0",
    "0" * 64,
    "0" * 64 + "\n",
    "A" * 64,
    "a" * 63,
    "a" * 200,
    "a" * 201,
    "a" * 500,
    "a" * 501,
    b"bytes",
    b"\xff",
    0,
    1,
    -1,
    2,
    True,
    False,
    5.0,
    5.5,
    float("nan"),
    "5",
    " 7 ",
    "-3",
    "true",
    "No",
    "maybe",
    NOW,
    datetime(2026, 1, 2, 3, 4, 5),
    datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-3))),
    [],
    (),
    {},
    [ATTACHMENT],
    (ATTACHMENT, {**ATTACHMENT, "size": 0}),
    [{**ATTACHMENT, "size": -1}],
    [{**ATTACHMENT, "extra": 1}],
    [UNAVAILABLE],
    RECORD,
    ["x"],
    ("x",),
    Nested("AttachmentRef", ATTACHMENT),
    Nested("AttachmentRef", {**ATTACHMENT, "declared_content_type": "image/jpeg"}),
    Nested("UnavailableAttachment", UNAVAILABLE),
    Nested("UnavailableAttachment", {**UNAVAILABLE, "declared_content_type": "audio/ogg"}),
    Nested("MessageRecordRef", RECORD, many=False),
    Nested("MessageRecordRef", {"conversation_id": "c2", "sort_key": "s2"}, many=False),
]


def on(side: Any, values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.build(side) if isinstance(v, Nested) else v for k, v in values.items()}


def built(light: type[contracts.Contract], values: dict[str, Any]) -> Any:
    """The instance, or None when the contract refuses the values."""
    try:
        return light(**on(contracts, values))
    except contracts.Invalid:
        return None


def validated(model: type[BaseModel], values: dict[str, Any], *, strict: bool) -> Any:
    """The model instance, or None when pydantic refuses the values."""
    try:
        return model.model_validate(on(models, values), strict=strict)
    except ValidationError:
        return None


@pytest.mark.parametrize(("light", "model"), PAIRS, ids=IDS)
def test_same_fields_in_the_same_order_with_the_same_defaults(
    light: type[contracts.Contract], model: type[BaseModel]
) -> None:
    assert light.names() == tuple(model.model_fields)
    annotated = [n for n, t in light.__annotations__.items() if not t.startswith("ClassVar")]
    assert light.names() == tuple(annotated)  # each field is annotated, in the same order
    for spec in light.FIELDS:
        declared = model.model_fields[spec.name]
        assert declared.is_required() == (spec.default is contracts.REQUIRED), spec.name
        if not declared.is_required():
            assert spec.default == declared.default, spec.name
    for name in ("source", "detail_type"):
        assert getattr(light, name, None) == getattr(model, name, None)


@pytest.mark.parametrize(("light", "model"), PAIRS, ids=IDS)
def test_each_field_accepts_and_refuses_what_the_model_does(
    light: type[contracts.Contract], model: type[BaseModel]
) -> None:
    accepted, coerced = 0, 0
    for spec in light.FIELDS:
        for value in CANDIDATES:
            values = {**VALID[light.__name__], spec.name: value}
            mine, strict = built(light, values), validated(model, values, strict=True)
            assert (mine is None) == (strict is None), (light.__name__, spec.name, value)
            if mine is not None:
                # What the processor publishes is what the model (lax, as consumers read it) reads.
                lax = model.model_validate_json(mine.model_dump_json())
                assert mine.model_dump_json() == strict.model_dump_json() == lax.model_dump_json()
                accepted += 1
            elif validated(model, values, strict=False) is not None:
                coerced += 1  # refused here, coerced by pydantic's lax mode: rejected, not altered
    assert accepted > len(light.FIELDS)  # every field accepted something
    assert coerced > 0  # and the candidates reach lax coercions too


@pytest.mark.parametrize(("light", "model"), PAIRS, ids=IDS)
def test_a_refusal_names_every_bad_field(
    light: type[contracts.Contract], model: type[BaseModel]
) -> None:
    values = {name: object() for name in light.names()}
    with pytest.raises(ValidationError) as theirs:
        model.model_validate(values, strict=True)
    with pytest.raises(contracts.Invalid) as mine:
        light(**values)
    assert mine.value.error_count() == theirs.value.error_count() == len(values)
    required = {s.name for s in light.FIELDS if s.default is contracts.REQUIRED}
    with pytest.raises(ValidationError) as theirs:
        model.model_validate({"unexpected": 1}, strict=True)
    with pytest.raises(contracts.Invalid) as mine:
        light(unexpected=1)
    assert mine.value.error_count() == theirs.value.error_count() == len(required) + 1


def test_nested_contracts_and_python_dumps_match() -> None:
    attachment = contracts.AttachmentRef(**ATTACHMENT, declared_content_type="image/jpeg")
    message = contracts.CanonicalMessage(
        **VALID["CanonicalMessage"],
        text="Where is my order?",
        attachments=(attachment,),
        unavailable_attachments=(contracts.UnavailableAttachment(**UNAVAILABLE),),
    )
    theirs = models.CanonicalMessage.model_validate_json(message.model_dump_json())
    assert theirs.model_dump_json() == message.model_dump_json()
    assert attachment.model_dump() == theirs.attachments[0].model_dump()
    with pytest.raises(AttributeError):
        message.text = "changed"  # frozen, as the models are
    assert message == contracts.CanonicalMessage(
        **{**VALID["CanonicalMessage"]},
        text=message.text,
        attachments=(attachment,),
        unavailable_attachments=message.unavailable_attachments,
    )
    assert hash(attachment) == hash(
        contracts.AttachmentRef(**ATTACHMENT, declared_content_type="image/jpeg")
    )


def test_ids_and_version_are_the_models() -> None:
    assert contracts.SCHEMA_VERSION == models.SCHEMA_VERSION
    assert contracts.MESSAGE_ID_NAMESPACE == models.MESSAGE_ID_NAMESPACE
    for provider, key, people in [("slack", "T1-1", ("U1", "C2")), ("twilio", "SM1", ("+1", "+2"))]:
        assert contracts.message_id_for(provider, key) == models.message_id_for(provider, key)
        assert contracts.conversation_id_for(provider, *people) == models.conversation_id_for(
            provider, *reversed(people)
        )


def test_the_processor_never_imports_pydantic() -> None:
    code = (
        "import sys\n"
        "from services.inbound.runtime import processor, contracts, records, attachments\n"
        "assert 'pydantic' not in sys.modules, 'pydantic imported'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("service", [None, "inbound-slack"])
def test_the_metric_line_is_the_one_powertools_prints(
    service: str | None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    from services.inbound.runtime.processor import METRICS_NAMESPACE, _emit_metric

    monkeypatch.delenv("POWERTOOLS_SERVICE_NAME", raising=False)
    if service:
        monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", service)
    capsys.readouterr()
    with single_metric(
        name="MessagesReceived", unit=MetricUnit.Count, value=2, namespace=METRICS_NAMESPACE
    ) as metric:
        metric.add_dimension(name="provider", value="slack")
    _emit_metric("MessagesReceived", "slack", 2)
    theirs, mine = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert abs(mine["_aws"].pop("Timestamp") - theirs["_aws"].pop("Timestamp")) < 5000
    assert mine == theirs
    assert list(mine) == list(theirs)  # the same keys in the same order
