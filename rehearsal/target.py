"""The deployed Stage on the emulator, found the way post-deploy tests find it: from its outputs
(the `stages.outputs` contract) and its synthesized template."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rehearsal.apigateway import resolve
from rehearsal.deploy import DeployedStack
from rehearsal.emulator import Emulator
from stages import outputs as names


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

    @property
    def bus_name(self) -> str:
        """The bus's declared name: moto resolves Ref of an event bus to an object, not its name."""
        (bus,) = [
            r["Properties"]["Name"]
            for r in self.stack.template["Resources"].values()
            if r["Type"] == "AWS::Events::EventBus"
        ]
        return str(bus)

    def function(self, function_name: str) -> dict[str, Any]:
        """The synthesized properties of the Lambda function deployed as `function_name`."""
        for logical, res in self.stack.template["Resources"].items():
            if res["Type"] != "AWS::Lambda::Function":
                continue
            if self.stack.physical_ids.get(logical) == function_name:
                props: dict[str, Any] = res["Properties"]
                return props
        raise KeyError(function_name)


def _request_templates(resources: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    """Each provider route's POST request template, and whether it goes through a workflow."""
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
    return templates


def discover_target(emulator: Emulator, stack: DeployedStack, assembly: Path) -> Target:
    """Every provider with an API route, its pieces read from the Stage's outputs."""

    def output(provider: str, suffix: str) -> str:
        return stack.outputs[names.provider_output(provider, suffix)]

    providers = {}
    for name, (template, via_workflow) in sorted(
        _request_templates(stack.template["Resources"]).items()
    ):
        providers[name] = ProviderTarget(
            name=name,
            queue_url=output(name, names.QUEUE_URL),
            dead_letter_url=output(name, names.DEAD_LETTER_QUEUE_URL),
            secret_name=output(name, names.SECRET_NAME),
            function_name=output(name, names.PROCESSOR),
            template=template,
            via_workflow=via_workflow,
        )
    return Target(emulator, stack, assembly, providers)
