"""The local rehearsal: deploy the dev Stage to moto_server, push webhook traffic, account for it.

Traffic goes through the API's synthesized request templates into the deployed queues; each
provider's real handler (from cdk.out) drains its queue in a worker process; events published on
the bus are captured by a rule added to the emulator (it does not deliver to Step Functions
targets) and the outcome is read back from the emulator: events, table rows, media objects,
dead-letter queues.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from pipeline.verify import plan as verify_plan
from pipeline.verify.observe import Verdict
from pipeline.verify.outputs import StageOutputs
from pipeline.verify.plan import Signer, Webhook
from pipeline.verify.suites import Settings
from pipeline.verify.suites import run as run_suite
from pipeline.verify.transport import Sent
from rehearsal.apigateway import render, resolve, send_message_request
from rehearsal.deploy import DeployedStack, deploy_stage, stage_directory
from rehearsal.emulator import HOST, Emulator, running
from rehearsal.ledger import Ledger
from services.inbound.providers import discover
from services.inbound.providers.base import Provider

ROOT = Path(__file__).resolve().parents[1]
OVERSIZE_BYTES = 1024 * 1024 + 4096  # over SQS's 1 MiB maximum message size
# Accepted-but-not-yet-published messages a load run allows: one full batch per processor.
LOAD_WINDOW = 40
SECRETS: dict[str, dict[str, str]] = {
    "twilio": {"auth_token": "rehearsal-twilio-token", "account_sid": "AC" + "0" * 32},
    "whatsapp": {"app_secret": "rehearsal-meta-secret", "access_token": "rehearsal-meta-token"},
    "slack": {"signing_secret": "rehearsal-slack-secret", "bot_token": "xoxb-rehearsal"},
    "generic": {"signing_key": "rehearsal-generic-key"},
}


# -- the deployed Stage, found the way post-deploy tests find it --------------------------------


@dataclass
class ProviderTarget:
    """One provider's deployed pieces: queue, DLQ, secret, processor and its request template."""

    name: str
    queue_url: str
    dead_letter_url: str
    secret_name: str
    function_name: str
    template: str
    via_workflow: bool


@dataclass
class Target:
    """The deployed Stage on the emulator."""

    emulator: Emulator
    stack: DeployedStack
    assembly: Path
    providers: dict[str, ProviderTarget]
    capture_url: str = ""

    _max_sizes: dict[str, int] = field(default_factory=dict)

    def output(self, key: str) -> str:
        return self.stack.outputs[key]

    def max_message_size(self, provider: str) -> int:
        if provider not in self._max_sizes:
            attributes = self.emulator.client("sqs").get_queue_attributes(
                QueueUrl=self.providers[provider].queue_url,
                AttributeNames=["MaximumMessageSize"],
            )
            self._max_sizes[provider] = int(attributes["Attributes"]["MaximumMessageSize"])
        return self._max_sizes[provider]

    def audit_rule(self) -> dict[str, Any]:
        """The rule that sends every event to the audit workflow (its target's definition
        writes to the audit table)."""
        resources = self.stack.template["Resources"]
        for res in resources.values():
            if res["Type"] != "AWS::Events::Rule":
                continue
            for rule_target in res["Properties"].get("Targets", []):
                machine = resources.get(rule_target["Arn"].get("Ref", ""), {})
                definition = json.dumps(machine.get("Properties", {}).get("DefinitionString", ""))
                if "dynamodb:putItem" in definition and "AuditTable" in definition:
                    props: dict[str, Any] = res["Properties"]
                    props["_machine"] = machine["Properties"]
                    return props
        raise LookupError("the Stage has no audit rule")

    def audit_item(self) -> Callable[[dict[str, Any]], dict[str, Any]]:
        """The audit workflow's PutItem arguments for an event, evaluated from its synthesized
        JSONata definition."""
        import jsonata

        machine = self.audit_rule()["_machine"]
        definition = json.loads(resolve(machine["DefinitionString"], self.stack.physical_ids))
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

    @property
    def bus_name(self) -> str:
        """The bus's declared name: moto resolves Ref of an event bus to an object, not its name."""
        (bus,) = [
            r["Properties"]["Name"]
            for r in self.stack.template["Resources"].values()
            if r["Type"] == "AWS::Events::EventBus"
        ]
        return str(bus)


def discover_target(emulator: Emulator, stack: DeployedStack, assembly: Path) -> Target:
    resources = stack.template["Resources"]
    paths = {
        k: r["Properties"]["PathPart"]
        for k, r in resources.items()
        if r["Type"] == "AWS::ApiGateway::Resource"
    }
    templates: dict[str, tuple[str, bool]] = {}
    for method in resources.values():
        props = method.get("Properties", {})
        if method["Type"] == "AWS::ApiGateway::Method" and props["HttpMethod"] == "POST":
            provider = paths[props["ResourceId"]["Ref"]]
            body = next(iter(props["Integration"]["RequestTemplates"].values()))
            via_workflow = "StartSyncExecution" in json.dumps(props["Integration"]["Uri"])
            templates[provider] = (resolve(body), via_workflow)
    providers = {}
    for name, (template, via_workflow) in sorted(templates.items()):
        title = name.capitalize()
        providers[name] = ProviderTarget(
            name=name,
            queue_url=stack.outputs[f"{title}QueueUrl"],
            dead_letter_url=stack.outputs[f"{title}DeadLetterQueueUrl"],
            secret_name=stack.outputs[f"{title}SecretName"],
            function_name=stack.outputs[f"{title}Processor"],
            template=template,
            via_workflow=via_workflow,
        )
    return Target(emulator, stack, assembly, providers)


# -- preparation -----------------------------------------------------------------------------------


class MediaServer:
    """Loopback media host: /ok/* serves bytes, /fail/* answers 503, /graph/<id> is Meta's API."""

    def __init__(self) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.startswith("/fail/"):
                    self.send_response(503)
                    self.end_headers()
                    return
                if self.path.startswith("/graph/"):
                    media_id = self.path.rsplit("/", 1)[1]
                    where = "fail" if media_id.startswith("fail") else "ok"
                    body = json.dumps({"url": f"{outer.base}/{where}/{media_id}"}).encode()
                    kind = "application/json"
                else:
                    body = f"media bytes of {self.path}".encode()
                    kind = "image/jpeg"
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.base = f"http://{HOST}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def prepare(target: Target, media: MediaServer) -> None:
    """Provider secrets (created out of band in real accounts too), the event capture rule, and
    the emulator's own SQS event-source mappings switched off: on every SendMessage they receive
    a batch (raising receive counts) and fail to run the function without Docker. The rehearsal
    plays the mapping itself (rehearsal.event_source)."""
    lambda_ = target.emulator.client("lambda")
    for mapping in lambda_.list_event_source_mappings().get("EventSourceMappings", []):
        lambda_.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)
    secrets = target.emulator.client("secretsmanager")
    for name, provider in target.providers.items():
        value = dict(SECRETS[name])
        if name == "whatsapp":
            value["graph_api_url"] = f"{media.base}/graph"
        secrets.create_secret(Name=provider.secret_name, SecretString=json.dumps(value))
    sqs = target.emulator.client("sqs")
    target.capture_url = sqs.create_queue(QueueName="rehearsal-bus-capture")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=target.capture_url, AttributeNames=["QueueArn"])
    events = target.emulator.client("events")
    bus = target.bus_name
    # The emulator does not deliver to Step Functions: the audit rule's own pattern delivers
    # to a capture queue instead, and the rehearsal performs the audit write.
    events.put_rule(
        Name="rehearsal-capture",
        EventBusName=bus,
        EventPattern=json.dumps(target.audit_rule()["EventPattern"]),
    )
    events.put_targets(
        Rule="rehearsal-capture",
        EventBusName=bus,
        Targets=[{"Id": "capture", "Arn": arn["Attributes"]["QueueArn"]}],
    )


# -- traffic ---------------------------------------------------------------------------------------


@dataclass
class Plan:
    """Webhooks to send plus the faults the workers inject."""

    webhooks: list[Webhook] = field(default_factory=list)
    faults: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


BASE_URL = "https://rehearsal.execute-api.localhost/live/"
SIGNER = Signer(SECRETS, BASE_URL)


def _signed(p: Provider, key: str, **kw: Any) -> tuple[dict[str, str], bytes]:
    return SIGNER.signed(p.name, key, **kw)


def scenario_plan(providers: list[str], media_base: str, valid: int = 5) -> Plan:
    """Every scenario of the rehearsal, for every provider."""
    plan = Plan()
    for name in providers:
        p = discover()[name]
        add = plan.webhooks.append
        run = uuid.uuid4().hex[:8]
        for n in range(valid):
            media = (f"{media_base}/ok/{name}-{n}",) if n == 0 else ()
            if name == "whatsapp" and media:
                media = (f"{name}-{n}",)  # WhatsApp sends media ids, resolved via the Graph API
            key = f"{name}-{run}-valid-{n}"
            add(Webhook(name, key, *_signed(p, key, media_urls=media), expect="processed"))
        key = f"{name}-{run}-dup"
        headers, body = _signed(p, key)
        add(Webhook(name, key, headers, body, "processed"))
        add(Webhook(name, key, headers, body, "duplicate"))
        key = f"{name}-{run}-badsig"
        headers, body = _signed(p, key)
        add(Webhook(name, key, headers, body.replace(b"Hello", b"Jello"), "rejected"))
        if name in ("slack", "generic"):
            key = f"{name}-{run}-stale"
            old = datetime.now(UTC) - timedelta(minutes=10)
            add(Webhook(name, key, *_signed(p, key, now=old), expect="rejected"))
        key = f"{name}-{run}-malformed"
        headers, _ = _signed(p, key)
        add(
            Webhook(
                name,
                key,
                _resign(
                    p, headers, b"{not json" if "json" in headers["Content-Type"] else b"Body=x"
                ),
                b"",
                "rejected",
            )
        )
        key = f"{name}-{run}-oversize"
        add(Webhook(name, key, *_signed(p, key, text="x" * OVERSIZE_BYTES), expect="rejected"))
        key = f"{name}-{run}-mediafail"
        failing = (f"{media_base}/fail/{name}",)
        if name == "whatsapp":
            failing = ("fail",)  # the Graph API answers with a URL that then fails
        add(Webhook(name, key, *_signed(p, key, media_urls=failing), expect="dead-lettered"))
        key = f"{name}-{run}-crash"
        add(Webhook(name, key, *_signed(p, key), expect="processed"))
        key = f"{name}-{run}-throttled"
        add(Webhook(name, key, *_signed(p, key), expect="processed"))
        key = f"{name}-{run}-poison"
        add(Webhook(name, key, *_signed(p, key), expect="dead-lettered"))
        plan.faults[name] = [
            # A crash on one record of a batch, once: that record is retried, the rest go on.
            {
                "operation": "dynamodb.PutItem",
                "match": f"{name}-{run}-crash",
                "times": 1,
                "crash": True,
            },
            # PutEvents throttled twice, then fine: retried and processed.
            {"operation": "events.PutEvents", "match": f"{name}-{run}-throttled", "times": 2},
            # PutEvents failing for good for one message: it ends in the DLQ.
            {"operation": "events.PutEvents", "match": f"{name}-{run}-poison"},
        ]
    return plan


def _resign(p: Provider, headers: dict[str, str], body: bytes) -> dict[str, str]:
    """Headers signing `body` correctly, so that only its parsing can fail."""
    return SIGNER.resign(p.name, headers, body)


def load_plan(providers: list[str], total: int) -> Plan:
    return Plan(webhooks=verify_plan.load(SIGNER, providers, total))


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
        # The Slack workflow answers url_verification and enqueues everything else unchanged.
        workflow_input = json.loads(json.loads(rendered)["input"])
        request = {
            "MessageBody": workflow_input["body"],
            "MessageAttributes": {
                "meta": {"DataType": "String", "StringValue": workflow_input["meta"]}
            },
        }
    else:
        request = send_message_request(rendered)
    # SQS refuses a message whose body plus attributes exceed MaximumMessageSize (the API then
    # answers 413); moto does not enforce the limit, so the rehearsal does.
    size = len(request["MessageBody"].encode()) + sum(
        len(k.encode()) + len(v["DataType"].encode()) + len(v["StringValue"].encode())
        for k, v in request["MessageAttributes"].items()
    )
    return 413 if size > target.max_message_size(hook.provider) else request


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


def drive(target: Target, suite: str, settings: Settings) -> Verdict:
    """Run a post-deploy suite of the shared driver against the emulator, the processors
    draining their queues meanwhile: the same code the pipeline runs against real AWS."""
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(max_workers=2) as background:
        sent_all = Path(tmp) / "sent"
        drained = Path(tmp) / "drained"
        workers = background.submit(process, target, {}, sent_all)
        capture = background.submit(captured_events, target, lambda: not drained.exists())
        try:
            # Requests are rendered for the rehearsal's public URL (which Twilio signs), not the
            # emulator's unreachable API endpoint.
            stage = replace(StageOutputs.from_mapping(target.stack.outputs), api_url=BASE_URL)
            verdict = run_suite(
                suite,
                stage,
                target.emulator.client,
                settings=settings,
                transport=RehearsalTransport(target),
            )
        finally:
            sent_all.touch()
            workers.result()
            drained.touch()
            capture.result()
    return verdict


@dataclass
class Pacer:
    """Holds a producer back while more than `window` accepted messages have not come out the
    other end (`delivered()`), for at most `patience` seconds at a time, so a stalled consumer
    slows the producer down without stopping it."""

    delivered: Callable[[], int]
    window: int
    patience: float = 2.0
    accepted: int = 0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def wait(self) -> None:
        deadline = self.clock() + self.patience
        while self.accepted - self.delivered() > self.window and self.clock() < deadline:
            self.sleep(0.02)


def send_batched(target: Target, hooks: list[Webhook], pacer: Pacer | None = None) -> list[int]:
    """The same SendMessage requests, ten per call: the emulator is single-threaded and its
    per-call cost would otherwise dominate a load run.

    With a `pacer`, sending keeps pace with the processors, as a producer throttled by its
    consumers would: the emulator scans a whole queue on every receive, so a deep queue costs
    quadratic time that real SQS does not.
    """
    statuses = [0] * len(hooks)
    pending: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for n, hook in enumerate(hooks):
        request = api_request(target, hook)
        if isinstance(request, int):
            statuses[n] = request
        else:
            pending.setdefault(hook.provider, []).append((n, request))
    sqs = target.emulator.client("sqs")
    # Ten to a call, taking the providers in turn so that every processor has work at once.
    chunks = sorted(
        (
            (start, provider, requests[start : start + 10])
            for provider, requests in pending.items()
            for start in range(0, len(requests), 10)
        ),
        key=lambda chunk: chunk[0],
    )
    for _, provider, chunk in chunks:
        if pacer is not None:
            pacer.wait()
        answer = sqs.send_message_batch(
            QueueUrl=target.providers[provider].queue_url,
            Entries=[{"Id": str(n), **request} for n, request in chunk],
        )
        for ok in answer.get("Successful", []):
            statuses[int(ok["Id"])] = 200
            if pacer is not None:
                pacer.accepted += 1
        for failed in answer.get("Failed", []):
            statuses[int(failed["Id"])] = 503
    return statuses


# -- processing ------------------------------------------------------------------------------------


def _function(target: Target, function_name: str) -> dict[str, Any]:
    for logical, res in target.stack.template["Resources"].items():
        if res["Type"] != "AWS::Lambda::Function":
            continue
        if target.stack.physical_ids.get(logical) == function_name:
            props: dict[str, Any] = res["Properties"]
            return props
    raise KeyError(function_name)


def _asset_of(target: Target, function_name: str) -> Path:
    """The function's code folder in cdk.out, found through the stage's asset manifest."""
    key = resolve(_function(target, function_name)["Code"]["S3Key"])
    for manifest in target.assembly.glob("*.assets.json"):
        for asset in json.loads(manifest.read_text()).get("files", {}).values():
            if any(d["objectKey"] == key for d in asset["destinations"].values()):
                return Path(target.assembly / str(asset["source"]["path"])).resolve()
    raise KeyError(f"no asset for {function_name} ({key})")


def _environment_of(target: Target, function_name: str) -> dict[str, str]:
    """The function's environment as CloudFormation resolves it (Ref -> physical id/name).

    Read from the template rather than GetFunctionConfiguration, which moto cannot serialize
    when a variable refers to an event bus.
    """
    refs = dict(target.stack.physical_ids)
    for logical, res in target.stack.template["Resources"].items():
        if res["Type"] == "AWS::Events::EventBus":
            refs[logical] = res["Properties"]["Name"]
    variables = _function(target, function_name).get("Environment", {}).get("Variables", {})
    return {k: resolve(v, refs) for k, v in variables.items()}


def process(
    target: Target, faults: dict[str, list[dict[str, Any]]], stop_file: Path
) -> dict[str, dict[str, Any]]:
    """Run every provider's worker in parallel until `stop_file` exists and its queue is empty."""

    def run_worker(name: str) -> tuple[str, dict[str, Any]]:
        provider = target.providers[name]
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
            **_environment_of(target, provider.function_name),
            **target.emulator.environment(),
            "ALLOW_LOOPBACK_MEDIA": "true",
            "PYTHONPATH": str(ROOT),  # for rehearsal.worker itself
            "POWERTOOLS_METRICS_DISABLED": "true",  # metrics go to CloudWatch in the cloud
        }
        sqs = target.emulator.client("sqs")
        arn = sqs.get_queue_attributes(QueueUrl=provider.queue_url, AttributeNames=["QueueArn"])
        spec = {
            "queue_url": provider.queue_url,
            "queue_arn": arn["Attributes"]["QueueArn"],
            "region": target.emulator.region,
            "function_name": provider.function_name,
            "batch_size": 10,
            "faults": faults.get(name, []),
            "stop_file": str(stop_file),
        }
        asset = _asset_of(target, provider.function_name)
        done = subprocess.run(  # noqa: S603 - our own module, fixed argv
            [sys.executable, "-m", "rehearsal.worker", json.dumps(spec)],
            cwd=asset,  # `-m` puts the working directory first on sys.path: the asset wins
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        log_dir = os.environ.get("REHEARSAL_LOG_DIR")
        if log_dir:
            Path(log_dir, f"{name}.log").write_text(done.stdout + done.stderr)
        if done.returncode != 0:
            raise RuntimeError(f"{name} worker failed:\n{done.stderr[-3000:]}")
        return name, json.loads(done.stdout.strip().splitlines()[-1])

    with ThreadPoolExecutor(max_workers=len(target.providers)) as pool:
        return dict(pool.map(run_worker, sorted(target.providers)))


def captured_events(
    target: Target,
    keep_polling: Callable[[], bool] = lambda: False,
    events: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Read the capture queue until it is empty and `keep_polling()` is false, doing the audit
    target's work for each batch as it arrives (its PutItems, written 25 to a call to keep
    the single-threaded emulator off the critical path)."""
    sqs = target.emulator.client("sqs")
    ddb = target.emulator.client("dynamodb")
    audit_item = target.audit_item()
    events = [] if events is None else events  # the caller's list shows progress as it grows
    while True:
        got = sqs.receive_message(QueueUrl=target.capture_url, MaxNumberOfMessages=10).get(
            "Messages", []
        )
        if not got:
            if keep_polling():
                time.sleep(0.05)
                continue
            return events
        batch = [json.loads(message["Body"]) for message in got]
        puts = [audit_item(event) for event in batch]
        for table in {p["TableName"] for p in puts}:
            requests = [
                {"PutRequest": {"Item": p["Item"]}} for p in puts if p["TableName"] == table
            ]
            while requests:
                left = ddb.batch_write_item(RequestItems={table: requests[:25]})
                requests = requests[25:] + left.get("UnprocessedItems", {}).get(table, [])
        events.extend(batch)
        sqs.delete_message_batch(
            QueueUrl=target.capture_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)
            ],
        )


def dead_lettered(target: Target) -> dict[str, list[str]]:
    sqs = target.emulator.client("sqs")
    out: dict[str, list[str]] = {}
    for name, provider in target.providers.items():
        bodies = []
        while True:
            got = sqs.receive_message(
                QueueUrl=provider.dead_letter_url, MaxNumberOfMessages=10, VisibilityTimeout=300
            ).get("Messages", [])
            if not got:
                break
            bodies += [m["Body"] for m in got]
        out[name] = bodies
    return out


# -- accounting ------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """A traffic run's ledger, checks that do not fit the ledger, and timings."""

    ledger: Ledger
    mismatches: list[str]
    seconds: float
    handler_files: set[str]


def account(
    target: Target, plan: Plan, statuses: list[int], events: list[dict[str, Any]]
) -> Outcome:
    ledger = Ledger()
    mismatches: list[str] = []
    received = [e["detail"] for e in events if e["detail-type"] == "MessageReceived"]
    rejected = [e["detail"] for e in events if e["detail-type"] == "MessageRejected"]
    for detail in received:
        ledger.events_per_key[(detail["provider"], detail["provider_message_id"])] += 1
    dlq = dead_lettered(target)
    s3 = target.emulator.client("s3")
    audited = set()
    for page in (
        target.emulator.client("dynamodb")
        .get_paginator("scan")
        .paginate(TableName=target.output("AuditTable"))
    ):
        for item in page["Items"]:
            if item["detail_type"]["S"] == "MessageReceived":
                audited.add(item["pk"]["S"])
    rows = {}
    for page in (
        target.emulator.client("dynamodb")
        .get_paginator("scan")
        .paginate(TableName=target.output("MessagesTable"))
    ):
        for item in page["Items"]:
            rows[(item["conversation_id"]["S"], item["sort_key"]["S"])] = item["message_id"]["S"]
    edge_rejected = Counter(
        h.provider for h, status in zip(plan.webhooks, statuses, strict=True) if status == 413
    )
    for name in target.providers:
        tally = ledger.tally(name)
        sent = [h for h in plan.webhooks if h.provider == name and h.expect != "duplicate"]
        tally.sent = len(sent)
        tally.duplicates = sum(
            1 for h in plan.webhooks if h.provider == name and h.expect == "duplicate"
        )
        tally.processed = sum(1 for d in received if d["provider"] == name)
        tally.rejected = sum(1 for d in rejected if d["provider"] == name) + edge_rejected[name]
        tally.dead_lettered = len(dlq[name])
        # Each processed message must be readable where its event says it is.
        for detail in (d for d in received if d["provider"] == name):
            record = detail["record"]
            if rows.get((record["conversation_id"], record["sort_key"])) != detail["message_id"]:
                mismatches.append(f"{name}: no messages-table row for {detail['message_id']}")
            for attachment in detail["attachments"]:
                head = s3.head_object(Bucket=target.output("MediaBucket"), Key=attachment["key"])
                if head["Metadata"].get("sha256") != attachment["sha256"]:
                    mismatches.append(f"{name}: media {attachment['key']} does not match its event")
            if detail["message_id"] in audited:
                tally.audited += 1
        expected = Counter(h.expect for h in sent)
        seen = {
            "processed": tally.processed,
            "rejected": tally.rejected,
            "dead-lettered": tally.dead_lettered,
        }
        for outcome, count in seen.items():
            if expected[outcome] != count:
                mismatches.append(f"{name}: expected {expected[outcome]} {outcome}, found {count}")
    return Outcome(ledger, mismatches, 0.0, set())


def run_traffic(target: Target, plan: Plan, *, batched: bool = False) -> Outcome:
    """Send the plan while the workers drain and the capture queue is read, all at once, so
    queues stay shallow (the emulator's SendMessage slows down as a queue grows)."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(max_workers=2) as background:
        sent_all = Path(tmp) / "sent"
        drained = Path(tmp) / "drained"
        workers = background.submit(process, target, plan.faults, sent_all)
        seen: list[dict[str, Any]] = []
        capture = background.submit(captured_events, target, lambda: not drained.exists(), seen)
        if batched:
            statuses = send_batched(target, plan.webhooks, Pacer(seen.__len__, LOAD_WINDOW))
        else:
            statuses = [send(target, hook) for hook in plan.webhooks]
        sent_all.touch()
        results = workers.result()
        drained.touch()
        events = capture.result()
    outcome = account(target, plan, statuses, events)
    outcome.seconds = time.perf_counter() - start
    outcome.handler_files = {r["handler_file"] for r in results.values()}
    return outcome


@dataclass
class Rehearsal:
    """A deployed Stage on a running emulator, ready for traffic."""

    target: Target
    media: MediaServer
    deploy_seconds: float


def rehearse(
    cdk_out: Path,
    stage_id: str = "Dev",
    *,
    scenarios: bool = True,
    load: int = 0,
    region: str | None = None,
    suites: tuple[str, ...] = (),
) -> list[tuple[str, Outcome | Verdict]]:
    assembly = stage_directory(cdk_out, stage_id)
    if region is None:
        artifacts = json.loads((assembly / "manifest.json").read_text())["artifacts"].values()
        (environment,) = [
            a["environment"] for a in artifacts if a["type"] == "aws:cloudformation:stack"
        ]
        region = environment.rsplit("/", 1)[1]  # aws://account/region
    results: list[tuple[str, Outcome | Verdict]] = []
    with running(region) as emulator:
        start = time.perf_counter()
        (stack,) = deploy_stage(emulator, cdk_out, stage_id)
        target = discover_target(emulator, stack, assembly)
        media = MediaServer()
        try:
            prepare(target, media)
            deployed = time.perf_counter() - start
            skipped = ", ".join(sorted(set(stack.skipped.values())))
            print(f"deployed {stack.name} to the emulator in {deployed:.1f} s")
            for step in stack.prepared:
                print(f"prepared for the emulator: {step}")
            print(f"not created by the emulator (listed, not needed for traffic): {skipped}")
            if scenarios:
                results.append(
                    (
                        "scenarios",
                        run_traffic(target, scenario_plan(sorted(target.providers), media.base)),
                    )
                )
            for suite in suites:  # the pipeline's post-deploy suites, on the emulator
                verdict = drive(target, suite, Settings(timeout=60, poll=0.2))
                results.append((f"post-deploy {suite} (pipeline.verify)", verdict))
            if load:
                outcome = run_traffic(
                    target, load_plan(sorted(target.providers), load), batched=True
                )
                outcome.seconds += deployed
                results.append((f"load ({load} messages, deploy included)", outcome))
        finally:
            media.close()
    return results
