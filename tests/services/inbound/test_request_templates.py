"""The API's real request templates, rendered as API Gateway would (airspeed), feed the processor:
what lands on the queue is exactly what the processor parses and verifies."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from rehearsal.apigateway import render, resolve, send_message_request
from rehearsal.event_source import LambdaContext, drain
from services.inbound.providers import discover
from services.inbound.templates import request_template
from tests.support.inbound import PROVIDERS, REGION, SECRETS, Stores
from tests.support.synth import Synth

DOMAIN = "abc123.execute-api.eu-west-1.amazonaws.com"


def synthesized_templates(synth: Synth) -> dict[str, dict[str, str]]:
    """provider -> {content type: request template}, read from the dev stack's template."""
    template = synth.template("dev").to_json()["Resources"]
    paths = {
        k: r["Properties"]["PathPart"]
        for k, r in template.items()
        if r["Type"] == "AWS::ApiGateway::Resource"
    }
    out = {}
    for method in template.values():
        if (
            method["Type"] == "AWS::ApiGateway::Method"
            and method["Properties"]["HttpMethod"] == "POST"
        ):
            provider = paths[method["Properties"]["ResourceId"]["Ref"]]
            templates = method["Properties"]["Integration"]["RequestTemplates"]
            out[provider] = {ct: resolve(body) for ct, body in templates.items()}
    return out


def test_synthesized_templates_are_the_ones_the_construct_generates(synth: Synth) -> None:
    for provider, templates in synthesized_templates(synth).items():
        p = discover()[provider]
        assert set(templates) == set(p.content_types)
        if p.handshake != "slack-url-verification":
            assert set(templates.values()) == {request_template(p)}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_rendered_request_reaches_the_processor_byte_for_byte(
    synth: Synth, stores: Stores, provider: str
) -> None:
    p = discover()[provider]
    url = f"https://{DOMAIN}/live/v1/webhooks/{provider}"
    headers, body = p.sample_request(
        secret=SECRETS[provider],
        url=url,
        provider_message_id=f"{provider}-vtl-1",
        text="Quotes \" and ' and ünïcode & = + survive",
    )
    template = synthesized_templates(synth)[provider][headers["Content-Type"]]
    rendered = render(
        template,
        body=body.decode(),
        headers=headers,
        path=f"/live/v1/webhooks/{provider}",
        domain=DOMAIN,
    )
    sqs = boto3.client("sqs", region_name=REGION)
    queue_url = sqs.create_queue(QueueName=f"{provider}-webhooks")["QueueUrl"]
    if p.handshake == "slack-url-verification":
        # StartSyncExecution input; the workflow's Enqueue step sends body and meta unchanged.
        workflow_input = json.loads(json.loads(rendered)["input"])
        sqs.send_message(
            QueueUrl=queue_url,
            MessageBody=workflow_input["body"],
            MessageAttributes={
                "meta": {"DataType": "String", "StringValue": workflow_input["meta"]}
            },
        )
    else:
        sqs.send_message(QueueUrl=queue_url, **send_message_request(rendered))

    landed = sqs.receive_message(
        QueueUrl=queue_url, MessageAttributeNames=["All"], VisibilityTimeout=0
    )["Messages"][0]
    assert landed["Body"].encode() == body
    meta = json.loads(landed["MessageAttributes"]["meta"]["StringValue"])
    assert meta["url"] == url

    processor = stores.processor(provider)
    result = drain(
        sqs,
        queue_url=queue_url,
        queue_arn=f"arn:aws:sqs:{REGION}:123456789012:{provider}-webhooks",
        region=REGION,
        handler=lambda event, context: processor.handle(event, context),
        context=LambdaContext(function_name=provider),
    )
    assert (result.succeeded, result.failed) == (1, 0)
    events: list[dict[str, Any]] = stores.events()
    assert [e["detail-type"] for e in events] == ["MessageReceived"]


def test_meta_verification_get_passes_the_hub_parameters_to_the_workflow(synth: Synth) -> None:
    resources = synth.template("dev").to_json()["Resources"]
    (get,) = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::ApiGateway::Method" and r["Properties"]["HttpMethod"] == "GET"
    ]
    template = resolve(get["Integration"]["RequestTemplates"]["application/json"])
    rendered = render(
        template,
        body="",
        headers={},
        path="/live/v1/webhooks/whatsapp",
        query={
            "hub.mode": "subscribe",
            "hub.verify_token": "to\"k'en",
            "hub.challenge": "1158201444",
        },
    )
    request = json.loads(rendered)
    assert "InboundWhatsappVerificationWorkflow" in request["stateMachineArn"]
    assert json.loads(request["input"]) == {
        "mode": "subscribe",
        "token": "to\"k'en",
        "challenge": "1158201444",
    }


def _path(data: Any, path: str) -> Any:
    for part in path.removeprefix("$.").split("."):
        if not isinstance(data, dict) or part not in data:
            raise KeyError(path)
        data = data[part]
    return data


def _matches(rule: dict[str, Any], data: dict[str, Any]) -> bool:
    """Step Functions' Choice operators that the Slack workflow uses."""
    import fnmatch

    if "And" in rule:
        return all(_matches(r, data) for r in rule["And"])
    try:
        value = _path(data, rule["Variable"])
    except KeyError:
        return rule.get("IsPresent") is False
    if "IsPresent" in rule:
        return bool(rule["IsPresent"])
    if "IsString" in rule:
        return isinstance(value, str) == rule["IsString"]
    if "StringEquals" in rule:
        return bool(value == rule["StringEquals"])
    if "StringMatches" in rule:  # '*' is the only wildcard
        return isinstance(value, str) and fnmatch.fnmatchcase(value, rule["StringMatches"])
    raise NotImplementedError(rule)


def _run_until_task(definition: dict[str, Any], data: dict[str, Any]) -> tuple[str, Any]:
    """Walk Choice and Pass states from StartAt; the first Task (or end) and its input."""
    name = definition["StartAt"]
    while True:
        state = definition["States"][name]
        if state["Type"] == "Choice":
            name = next(
                (c["Next"] for c in state["Choices"] if _matches(c, data)), state["Default"]
            )
        elif state["Type"] == "Pass" and "Next" in state:
            data = {
                key.removesuffix(".$"): (
                    json.loads(_path(data, "$.body"))
                    if value == "States.StringToJson($.body)"
                    else _path(data, value)
                )
                for key, value in state["Parameters"].items()
            }
            name = state["Next"]
        else:
            return name, data


def test_slack_workflow_answers_url_verification_by_its_parsed_type_only(synth: Synth) -> None:
    """https://api.slack.com/events/url_verification: {"token", "challenge", "type"} is
    answered; an event whose text merely quotes that type, any other event and a body that
    is not a JSON object all go to the queue."""
    resources = synth.template("dev").to_json()["Resources"]
    (definition,) = [
        json.loads(resolve(r["Properties"]["DefinitionString"]))
        for k, r in resources.items()
        if r["Type"] == "AWS::StepFunctions::StateMachine" and k.startswith("InboundSlackIngress")
    ]
    handshake = json.dumps(
        {
            "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification",
        },
        separators=(",", ":"),
    )
    name, data = _run_until_task(definition, {"body": handshake, "meta": "{}"})
    assert name == "Challenge"
    assert data["event"]["challenge"] == "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    _, event = discover()["slack"].sample_request(
        secret=SECRETS["slack"], url="u", provider_message_id="Ev1"
    )
    # A nested object carrying that type (Slack sends compact JSON): a substring match anywhere
    # in the body would answer it as a handshake and never queue the event.
    nested = json.loads(event)
    nested["event"]["metadata"] = {"type": "url_verification", "challenge": "x"}
    compact = json.dumps(nested, separators=(",", ":"))
    for body in (event.decode(), compact, "payload=not-json"):
        name, data = _run_until_task(definition, {"body": body, "meta": "{}"})
        assert name == "Enqueue", body
        assert data["body"] == body
