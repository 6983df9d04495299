"""Benchmarks of the inbound processors: cold import, per-message CPU, asset size.

- Cold start to the first processed record: a fresh interpreter imports the handler and
  processes one signed webhook end to end (AWS calls answered by an in-process fake, so only
  our code and its imports count) against `import boto3` in the same run (interleaved,
  medians). The import alone is printed beside it.
- Per-message CPU: verify + parse + normalize (CanonicalMessage) for each provider's sample
  webhook, AWS calls not involved; median over many messages.
- Asset size: the processors' Lambda asset, zipped as CDK does.
"""

from __future__ import annotations

import io
import statistics
import subprocess
import sys
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FIRST_RECORD_RATIO_TARGET = 1.5
# A fresh interpreter: import the handler, answer AWS with a fake, process one record.
FIRST_RECORD = """
import datetime, json, sys
from services.inbound.runtime import processor

class Fake:
    calls = []
    def __getattr__(self, name):
        def call(**kw):
            Fake.calls.append(name)
            if name == "get_secret_value":
                now = datetime.datetime.now(datetime.UTC)
                return {"SecretString": sys.argv[2], "CreatedDate": now, "VersionId": "1"}
            if name == "put_events":
                return {"FailedEntryCount": 0, "Entries": [{"EventId": "e"}]}
            return {}
        return call

class Context:
    def get_remaining_time_in_millis(self):
        return 30000

processor.client = lambda service: Fake()
with open(sys.argv[1]) as f:
    event = json.load(f)
assert processor.handler(event, Context()) == {"batchItemFailures": []}
assert Fake.calls.count("put_events") == 1, Fake.calls
"""
CPU_TARGET_MS = 0.5
ASSET_TARGET_BYTES = 200 * 1024


def _first_record_event(directory: Path) -> tuple[Path, str]:
    """One signed generic webhook as the SQS event a processor receives, and its secret."""
    import json

    from services.inbound.providers import discover
    from tests.support.inbound import SECRETS, signed, sqs_record

    headers, body = signed("generic", "bench-1", text="Where is my order?")
    event = {"Records": [sqs_record(discover()["generic"], headers, body)]}
    path = directory / "event.json"
    path.write_text(json.dumps(event))
    return path, json.dumps(SECRETS["generic"])


def cold_start(runs: int) -> bool:
    import os
    import tempfile

    environment = {
        **os.environ,
        "PROVIDER": "generic",
        "SECRET_NAME": "webhooks/generic",
        "MEDIA_BUCKET": "media",
        "MESSAGES_TABLE": "messages",
        "IDEMPOTENCY_TABLE": "idempotency",
        "EVENT_BUS_NAME": "bus",
        "POWERTOOLS_SERVICE_NAME": "bench",
        "POWERTOOLS_METRICS_NAMESPACE": "Bench",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }

    def fresh(argv: list[str]) -> float:
        start = time.perf_counter()
        subprocess.run(argv, check=True, cwd=ROOT, env=environment, capture_output=True)
        return time.perf_counter() - start

    with tempfile.TemporaryDirectory() as tmp:
        event, secret = _first_record_event(Path(tmp))
        record = [sys.executable, "-c", FIRST_RECORD, str(event), secret]
        handler = [sys.executable, "-c", "import services.inbound.runtime.processor"]
        floor_argv = [sys.executable, "-c", "import boto3"]
        fresh(floor_argv)  # warm the file cache for every side
        fresh(record)
        floor, imported, first = [], [], []
        for _ in range(runs):
            floor.append(fresh(floor_argv))
            imported.append(fresh(handler))
            first.append(fresh(record))
    ratio = statistics.median(first) / statistics.median(floor)
    print(f"cold start, {runs} fresh interpreters each (median, seconds)")
    print(f"  import boto3 (floor):                   {statistics.median(floor):.3f}")
    print(f"  import handler module:                  {statistics.median(imported):.3f}")
    print(f"  import handler + first processed record: {statistics.median(first):.3f}")
    print(f"  ratio: {ratio:.2f}x (target <= {FIRST_RECORD_RATIO_TARGET}x)")
    return ratio <= FIRST_RECORD_RATIO_TARGET


def per_message_cpu(messages: int) -> bool:
    from services.events.models import CanonicalMessage, conversation_id_for, message_id_for
    from services.inbound.providers import discover
    from services.inbound.providers.base import InboundRequest

    secrets = {
        "twilio": {"auth_token": "t", "account_sid": "AC1"},
        "whatsapp": {"app_secret": "a"},
        "slack": {"signing_secret": "s"},
        "generic": {"signing_key": "g"},
    }
    url = "https://example.test/live/v1/webhooks/x"
    ok = True
    print(f"per-message CPU: verify + parse + normalize, {messages} messages (median, ms)")
    for name, provider in discover().items():
        headers, body = provider.sample_request(
            secret=secrets[name], url=url, provider_message_id="m-1", text="Where is my order?"
        )
        request = InboundRequest(
            name, body, {k.lower(): v for k, v in headers.items()}, url, "r", datetime.now(UTC)
        )
        samples = []
        for _ in range(messages):
            start = time.process_time_ns()
            provider.verify(request, secrets[name], datetime.now(UTC))
            for parsed in provider.parse(request):
                CanonicalMessage(
                    message_id=message_id_for(name, parsed.provider_message_id),
                    provider=name,
                    provider_message_id=parsed.provider_message_id,
                    channel=parsed.channel,
                    conversation_id=conversation_id_for(name, parsed.sender, parsed.recipient),
                    sender=parsed.sender,
                    recipient=parsed.recipient,
                    text=parsed.text,
                    received_at=parsed.sent_at or request.received_at,
                )
            samples.append((time.process_time_ns() - start) / 1e6)
        median = statistics.median(samples)
        ok &= median <= CPU_TARGET_MS
        print(f"  {name:<10} {median:.3f}  (p95 {statistics.quantiles(samples, n=20)[18]:.3f})")
    print(f"  target: median <= {CPU_TARGET_MS} ms per provider")
    return ok


def asset_size() -> bool:
    from services.inbound.construct import runtime_asset

    source = Path(runtime_asset())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(source.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(source).as_posix())
    size = len(buffer.getvalue())
    files = sum(1 for p in source.rglob("*") if p.is_file())
    print(f"processor asset: {files} files, {size / 1024:.1f} KB zipped (target <= 200 KB)")
    return size <= ASSET_TARGET_BYTES


def main() -> int:
    results = [cold_start(runs=15), per_message_cpu(messages=3000), asset_size()]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
