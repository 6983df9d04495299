"""Sending a webhook as API Gateway would: the route's synthesized request template rendered
into the SQS call it makes (or the status it answers without one), then made on the emulator."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from pipeline.verify.plan import Webhook
from pipeline.verify.transport import Sent
from rehearsal.apigateway import render, send_message_request
from rehearsal.target import Target

TOO_LARGE = 413


def _workflow_request(rendered: str) -> dict[str, Any]:
    """The Slack workflow answers url_verification and enqueues everything else unchanged."""
    workflow_input = json.loads(json.loads(rendered)["input"])
    return {
        "MessageBody": workflow_input["body"],
        "MessageAttributes": {
            "meta": {"DataType": "String", "StringValue": workflow_input["meta"]}
        },
    }


def message_size(request: dict[str, Any]) -> int:
    """What SQS counts against MaximumMessageSize: the body plus every attribute."""
    return len(request["MessageBody"].encode()) + sum(
        len(k.encode()) + len(v["DataType"].encode()) + len(v["StringValue"].encode())
        for k, v in request["MessageAttributes"].items()
    )


def api_request(target: Target, hook: Webhook) -> dict[str, Any] | int:
    """What API Gateway does with the request: render the route's template into the SQS call
    it makes, or the status it answers without one (413 for a body over the queue's limit)."""
    provider = target.providers[hook.provider]
    rendered = render(
        provider.template,
        body=hook.body.decode(),
        headers=hook.headers,
        path=f"/live/v1/webhooks/{hook.provider}",
        request_id=hook.request_id,
    )
    if provider.via_workflow:
        request = _workflow_request(rendered)
    else:
        request = send_message_request(rendered)
    # SQS refuses a message whose body plus attributes exceed MaximumMessageSize (the API then
    # answers 413); moto does not enforce the limit, so the rehearsal does.
    return TOO_LARGE if message_size(request) > target.max_message_size(hook.provider) else request


def send(target: Target, hook: Webhook) -> int:
    """One webhook, one SendMessage, as API Gateway makes it."""
    request = api_request(target, hook)
    if isinstance(request, int):
        return request
    try:
        target.emulator.client("sqs").send_message(
            QueueUrl=target.providers[hook.provider].queue_url, **request
        )
    except ClientError:
        return 503
    return 200


class RehearsalTransport:
    """The driver's transport on the emulator: API Gateway's request template, then SQS."""

    def __init__(self, target: Target) -> None:
        self.target = target

    def send(self, hook: Webhook) -> Sent:
        return Sent(send(self.target, hook), hook.request_id)
