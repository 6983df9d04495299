"""Sending as API Gateway would: the rendered request template, and 413 over the queue's limit."""

from __future__ import annotations

from pathlib import Path

from pipeline.verify.plan import Webhook
from rehearsal.send import TOO_LARGE, api_request, message_size
from rehearsal.target import ProviderTarget, Target

TEMPLATE = (
    "Action=SendMessage&MessageBody=$util.urlEncode($input.body)"
    "&MessageAttribute.1.Name=request_id&MessageAttribute.1.Value.DataType=String"
    "&MessageAttribute.1.Value.StringValue=$context.requestId"
)


def target(max_size: int) -> Target:
    provider = ProviderTarget("generic", "q", "dlq", "secret", "fn", TEMPLATE, via_workflow=False)
    return Target(
        emulator=None,  # type: ignore[arg-type]  # never called: the size limit is known
        stack=None,  # type: ignore[arg-type]
        assembly=Path(),
        providers={"generic": provider},
        _max_sizes={"generic": max_size},
    )


def hook(body: bytes) -> Webhook:
    return Webhook("generic", "k", {}, body, "processed", request_id="req-1")


def test_the_rendered_template_is_the_send_message_call() -> None:
    request = api_request(target(1024), hook(b'{"a": "b c"}'))
    assert request == {
        "MessageBody": '{"a": "b c"}',
        "MessageAttributes": {"request_id": {"DataType": "String", "StringValue": "req-1"}},
    }


def test_body_and_attributes_count_against_the_queues_limit() -> None:
    body = b'{"a": "b c"}'
    request = api_request(target(10_000), hook(body))
    assert isinstance(request, dict)
    size = message_size(request)
    assert size == len(body) + len("request_id") + len("String") + len("req-1")
    assert api_request(target(size), hook(body)) == request
    assert api_request(target(size - 1), hook(body)) == TOO_LARGE
