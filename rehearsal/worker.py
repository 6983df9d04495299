"""One provider's processor, run as Lambda would run it, against the emulator.

Started by the rehearsal in its own process with the function's deployed environment and the
synthesized asset first on PYTHONPATH, so the handler imported is the code in cdk.out. Faults
are injected through botocore's event hooks on the default session the handler's clients use.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse


class _Fault:
    """Fail calls to one operation: the first `times` calls, or every call mentioning `match`."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.operation: str = spec["operation"]  # e.g. "events.PutEvents"
        self.error: str = spec.get("error", "ThrottlingException")
        self.times: int | None = spec.get("times")
        self.match: str | None = spec.get("match")
        self.crash: bool = spec.get("crash", False)
        self.fired = 0

    def __call__(self, params: dict[str, Any], **_: Any) -> Any:
        if self.match is not None and self.match not in json.dumps(params, default=str):
            return None
        if self.times is not None and self.fired >= self.times:
            return None
        self.fired += 1
        if self.crash:
            raise RuntimeError(f"injected crash in {self.operation}")
        response = AWSResponse("https://emulator", 400, {}, None)
        return response, {
            "Error": {"Code": self.error, "Message": "injected by the rehearsal"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }


def main(spec: dict[str, Any]) -> dict[str, Any]:
    boto3.setup_default_session()
    session = boto3.DEFAULT_SESSION
    assert session is not None
    for fault in spec.get("faults", []):
        service, operation = fault["operation"].split(".")
        session.events.register(f"before-call.{service}.{operation}", _Fault(fault))

    from rehearsal.event_source import LambdaContext, drain
    from services.inbound.runtime import processor

    result = drain(
        boto3.client("sqs"),
        queue_url=spec["queue_url"],
        queue_arn=spec["queue_arn"],
        region=spec["region"],
        handler=processor.handler,
        context=LambdaContext(function_name=spec["function_name"]),
        batch_size=spec["batch_size"],
        # Traffic may still be arriving: poll until the rehearsal says it has sent everything.
        keep_polling=lambda: not Path(spec["stop_file"]).exists(),
    )
    return {**asdict(result), "handler_file": processor.__file__}


if __name__ == "__main__":
    outcome = main(json.loads(sys.argv[1]))
    # The handler logs to stdout as Lambda would; the result is the last line.
    print(json.dumps(outcome))
