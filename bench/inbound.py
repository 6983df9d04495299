"""Benchmarks of the inbound processors: cold import, per-message CPU, asset size.

- Cold start: importing the handler module in a fresh interpreter against `import boto3` in the
  same run (interleaved, medians). The first record also imports the pydantic models and
  Powertools; that cost is measured and printed separately, not hidden.
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

IMPORT_RATIO_TARGET = 1.25
CPU_TARGET_MS = 0.5
ASSET_TARGET_BYTES = 200 * 1024


def _fresh(statement: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], check=True, cwd=ROOT)
    return time.perf_counter() - start


def cold_import(runs: int) -> bool:
    handler = "import services.inbound.runtime.processor"
    first_record = (
        "import services.inbound.runtime.processor, time; t = time.perf_counter(); "
        "import services.events.models, aws_lambda_powertools.utilities.batch, "
        "aws_lambda_powertools.metrics; print(time.perf_counter() - t)"
    )
    _fresh("import boto3")  # warm the file cache for both sides
    floor, module = [], []
    for _ in range(runs):
        floor.append(_fresh("import boto3"))
        module.append(_fresh(handler))
    deferred = [
        float(
            subprocess.run(
                [sys.executable, "-c", first_record],
                check=True,
                cwd=ROOT,
                capture_output=True,
                text=True,
            ).stdout
        )
        for _ in range(max(3, runs // 3))
    ]
    ratio = statistics.median(module) / statistics.median(floor)
    print(f"cold import, {runs} fresh interpreters each (median, seconds)")
    print(f"  import boto3 (floor):     {statistics.median(floor):.3f}")
    print(f"  import handler module:    {statistics.median(module):.3f}")
    print(f"  ratio: {ratio:.2f}x (target <= {IMPORT_RATIO_TARGET}x)")
    print(
        f"  deferred to the first record (models + Powertools): {statistics.median(deferred):.3f}"
    )
    return ratio <= IMPORT_RATIO_TARGET


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
    results = [cold_import(runs=15), per_message_cpu(messages=3000), asset_size()]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
