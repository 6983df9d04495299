"""Real boto3 clients with botocore Stubbers attached, for the operator CLI's tests (the Stubber
validates every request and response against the service models)."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.stub import Stubber


class Fake:
    """`clients(service, region)` as the CLI calls it; records the regions asked for."""

    def __init__(self, *services: str) -> None:
        self.clients: dict[str, Any] = {}
        self.stubs: dict[str, Stubber] = {}
        self.regions: list[tuple[str, str]] = []
        for service in services:
            client = boto3.client(
                service,
                region_name="eu-west-1",
                aws_access_key_id="test",
                aws_secret_access_key="test",  # pragma: allowlist secret
            )
            self.clients[service] = client
            self.stubs[service] = Stubber(client)
            self.stubs[service].activate()

    def __call__(self, service: str, region: str) -> Any:
        self.regions.append((service, region))
        return self.clients[service]

    def stub(self, service: str) -> Stubber:
        return self.stubs[service]

    def caller(self, account: str) -> None:
        self.stub("sts").add_response(
            "get_caller_identity",
            {
                "Account": account,
                "Arn": f"arn:aws:sts::{account}:assumed-role/Ops/me",
                "UserId": "x",
            },
            {},
        )

    def done(self) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()
