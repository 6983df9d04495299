"""Each provider's real handler, from cdk.out, draining its queue in a worker process with the
function's deployed environment (rehearsal.worker), as the event-source mapping would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from rehearsal.apigateway import resolve
from rehearsal.deploy import file_assets
from rehearsal.target import ProviderTarget, Target

ROOT = Path(__file__).resolve().parents[1]
BATCH_SIZE = 10
WORKER_TIMEOUT = 300


def asset_of(target: Target, function_name: str) -> Path:
    """The function's code folder in cdk.out, found through the stage's asset manifest."""
    key = resolve(target.function(function_name)["Code"]["S3Key"])
    for asset in file_assets(target.assembly):
        if any(d["objectKey"] == key for d in asset["destinations"].values()):
            return Path(target.assembly / str(asset["source"]["path"])).resolve()
    raise KeyError(f"no asset for {function_name} ({key})")


def environment_of(target: Target, function_name: str) -> dict[str, str]:
    """The function's environment as CloudFormation resolves it (Ref -> physical id/name).

    Read from the template rather than GetFunctionConfiguration, which moto cannot serialize
    when a variable refers to an event bus.
    """
    refs = dict(target.stack.physical_ids)
    for logical, res in target.stack.template["Resources"].items():
        if res["Type"] == "AWS::Events::EventBus":
            refs[logical] = res["Properties"]["Name"]
    variables = target.function(function_name).get("Environment", {}).get("Variables", {})
    return {k: resolve(v, refs) for k, v in variables.items()}


def _worker_spec(
    target: Target, provider: ProviderTarget, faults: list[dict[str, Any]], stop_file: Path
) -> dict[str, Any]:
    sqs = target.emulator.client("sqs")
    arn = sqs.get_queue_attributes(QueueUrl=provider.queue_url, AttributeNames=["QueueArn"])
    return {
        "queue_url": provider.queue_url,
        "queue_arn": arn["Attributes"]["QueueArn"],
        "region": target.emulator.region,
        "function_name": provider.function_name,
        "batch_size": BATCH_SIZE,
        "faults": faults,
        "stop_file": str(stop_file),
    }


def run_worker(
    target: Target, name: str, faults: list[dict[str, Any]], stop_file: Path
) -> dict[str, Any]:
    """One provider's worker, to the end; returns its report (the handler file it ran, ...)."""
    provider = target.providers[name]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        **environment_of(target, provider.function_name),
        **target.emulator.environment(),
        "ALLOW_LOOPBACK_MEDIA": "true",
        "PYTHONPATH": str(ROOT),  # for rehearsal.worker itself
        "POWERTOOLS_METRICS_DISABLED": "true",  # metrics go to CloudWatch in the cloud
    }
    spec = _worker_spec(target, provider, faults, stop_file)
    done = subprocess.run(  # noqa: S603 - our own module, fixed argv
        [sys.executable, "-m", "rehearsal.worker", json.dumps(spec)],
        cwd=asset_of(target, provider.function_name),  # `-m` puts the cwd first: the asset wins
        env=env,
        capture_output=True,
        text=True,
        timeout=WORKER_TIMEOUT,
        check=False,
    )
    log_dir = os.environ.get("REHEARSAL_LOG_DIR")
    if log_dir:
        Path(log_dir, f"{name}.log").write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"{name} worker failed:\n{done.stderr[-3000:]}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def process(
    target: Target, faults: dict[str, list[dict[str, Any]]], stop_file: Path
) -> dict[str, dict[str, Any]]:
    """Run every provider's worker in parallel until `stop_file` exists and its queue is empty."""

    def one(name: str) -> tuple[str, dict[str, Any]]:
        return name, run_worker(target, name, faults.get(name, []), stop_file)

    with ThreadPoolExecutor(max_workers=len(target.providers)) as pool:
        return dict(pool.map(one, sorted(target.providers)))
