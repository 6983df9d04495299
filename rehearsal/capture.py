"""Events on the bus, captured: the emulator does not deliver to Step Functions, so the audit
rule's own pattern delivers to a capture queue and the rehearsal does the audit target's work
(its PutItem, evaluated from the synthesized JSONata definition)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from rehearsal.apigateway import resolve
from rehearsal.target import Target
from stages import outputs as names

CAPTURE_QUEUE = "rehearsal-bus-capture"
CAPTURE_RULE = "rehearsal-capture"


def audit_rule(target: Target) -> tuple[dict[str, Any], dict[str, Any]]:
    """The rule that sends every event to the audit workflow (its target's definition writes to
    the audit table), and that workflow's properties."""
    resources = target.stack.template["Resources"]
    audit_table = target.output(names.AUDIT_TABLE)
    (table,) = [
        logical
        for logical, physical in target.stack.physical_ids.items()
        if physical == audit_table and resources[logical]["Type"] == "AWS::DynamoDB::Table"
    ]
    for res in resources.values():
        if res["Type"] != "AWS::Events::Rule":
            continue
        for rule_target in res["Properties"].get("Targets", []):
            machine = resources.get(rule_target["Arn"].get("Ref", ""), {})
            definition = json.dumps(machine.get("Properties", {}).get("DefinitionString", ""))
            if "dynamodb:putItem" in definition and json.dumps({"Ref": table}) in definition:
                return res["Properties"], machine["Properties"]
    raise LookupError("the Stage has no audit rule")


def audit_item(target: Target) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The audit workflow's PutItem arguments for an event, evaluated from its synthesized
    JSONata definition."""
    import jsonata

    _, machine = audit_rule(target)
    definition = json.loads(resolve(machine["DefinitionString"], target.stack.physical_ids))
    (task,) = definition["States"].values()

    def compile_(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: compile_(v) for k, v in value.items()}
        if isinstance(value, str) and value.startswith("{%") and value.endswith("%}"):
            return jsonata.Jsonata(value[2:-2].strip())
        return value

    def evaluate(value: Any, states: dict[str, Any]) -> Any:
        if isinstance(value, dict):
            return {k: evaluate(v, states) for k, v in value.items()}
        if isinstance(value, jsonata.Jsonata):
            return value.evaluate(None, {"states": states})
        return value

    compiled = compile_(task["Arguments"])

    def item(event: dict[str, Any]) -> dict[str, Any]:
        arguments: dict[str, Any] = evaluate(compiled, {"input": event})
        return arguments

    return item


def install_capture(target: Target) -> None:
    """A queue and a rule with the audit rule's pattern delivering to it (`target.capture_url`)."""
    sqs = target.emulator.client("sqs")
    target.capture_url = sqs.create_queue(QueueName=CAPTURE_QUEUE)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=target.capture_url, AttributeNames=["QueueArn"])
    events = target.emulator.client("events")
    bus = target.bus_name
    rule, _ = audit_rule(target)
    events.put_rule(
        Name=CAPTURE_RULE,
        EventBusName=bus,
        EventPattern=json.dumps(rule["EventPattern"]),
    )
    events.put_targets(
        Rule=CAPTURE_RULE,
        EventBusName=bus,
        Targets=[{"Id": "capture", "Arn": arn["Attributes"]["QueueArn"]}],
    )


def _write_audit(ddb: Any, puts: list[dict[str, Any]]) -> None:
    """The PutItems, 25 to a call (keeps the single-threaded emulator off the critical path)."""
    for table in {p["TableName"] for p in puts}:
        requests = [{"PutRequest": {"Item": p["Item"]}} for p in puts if p["TableName"] == table]
        while requests:
            left = ddb.batch_write_item(RequestItems={table: requests[:25]})
            requests = requests[25:] + left.get("UnprocessedItems", {}).get(table, [])


def captured_events(
    target: Target,
    keep_polling: Callable[[], bool] = lambda: False,
    events: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Read the capture queue until it is empty and `keep_polling()` is false, doing the audit
    target's work for each batch as it arrives."""
    sqs = target.emulator.client("sqs")
    ddb = target.emulator.client("dynamodb")
    item = audit_item(target)
    events = [] if events is None else events  # the caller's list shows progress as it grows
    while True:
        polling = keep_polling()  # long polling while events may still arrive
        got = sqs.receive_message(
            QueueUrl=target.capture_url, MaxNumberOfMessages=10, WaitTimeSeconds=int(polling)
        ).get("Messages", [])
        if not got:
            if polling:
                continue
            return events
        batch = [json.loads(message["Body"]) for message in got]
        _write_audit(ddb, [item(event) for event in batch])
        events.extend(batch)
        sqs.delete_message_batch(
            QueueUrl=target.capture_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)
            ],
        )
