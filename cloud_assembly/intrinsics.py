"""Resolve CloudFormation intrinsics in a policy document into plausible literal values.

Each reference becomes a value of the shape its resource type returns, so parliament can read it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Json = Any

# The shape of each value a resource type returns. `{name}` is a plausible physical name derived
# from the logical id; `{id}` a deterministic UUID for types whose Ref is a generated id.
_ARN = "arn"
_TYPES: dict[str, dict[str, str]] = {
    "AWS::S3::Bucket": {_ARN: "arn:{p}:s3:::{lname}", "Ref": "{lname}"},
    "AWS::KMS::Key": {_ARN: "arn:{p}:kms:{r}:{a}:key/{id}", "Ref": "{id}", "KeyId": "{id}"},
    "AWS::KMS::Alias": {"Ref": "alias/{name}"},
    "AWS::IAM::Role": {_ARN: "arn:{p}:iam::{a}:role/{name}", "Ref": "{name}", "RoleId": "{id}"},
    "AWS::IAM::ManagedPolicy": {_ARN: "arn:{p}:iam::{a}:policy/{name}", "Ref": "{arn}"},
    "AWS::IAM::User": {_ARN: "arn:{p}:iam::{a}:user/{name}", "Ref": "{name}"},
    "AWS::SQS::Queue": {
        _ARN: "arn:{p}:sqs:{r}:{a}:{name}",
        "Ref": "https://sqs.{r}.amazonaws.com/{a}/{name}",
        "QueueUrl": "https://sqs.{r}.amazonaws.com/{a}/{name}",
        "QueueName": "{name}",
    },
    "AWS::SNS::Topic": {_ARN: "arn:{p}:sns:{r}:{a}:{name}", "Ref": "{arn}", "TopicName": "{name}"},
    "AWS::Logs::LogGroup": {_ARN: "arn:{p}:logs:{r}:{a}:log-group:{name}:*", "Ref": "{name}"},
    "AWS::DynamoDB::Table": {
        _ARN: "arn:{p}:dynamodb:{r}:{a}:table/{name}",
        "Ref": "{name}",
        "StreamArn": "arn:{p}:dynamodb:{r}:{a}:table/{name}/stream/2026-01-01T00:00:00.000",
    },
    "AWS::Events::EventBus": {_ARN: "arn:{p}:events:{r}:{a}:event-bus/{name}", "Ref": "{name}"},
    "AWS::Events::Rule": {_ARN: "arn:{p}:events:{r}:{a}:rule/{name}", "Ref": "{name}"},
    "AWS::Events::Archive": {_ARN: "arn:{p}:events:{r}:{a}:archive/{name}", "Ref": "{name}"},
    "AWS::EventSchemas::Registry": {_ARN: "arn:{p}:schemas:{r}:{a}:registry/{name}"},
    "AWS::StepFunctions::StateMachine": {
        _ARN: "arn:{p}:states:{r}:{a}:stateMachine:{name}",
        "Ref": "{arn}",
        "Name": "{name}",
    },
    "AWS::Lambda::Function": {_ARN: "arn:{p}:lambda:{r}:{a}:function:{name}", "Ref": "{name}"},
    "AWS::Lambda::LayerVersion": {"Ref": "arn:{p}:lambda:{r}:{a}:layer:{name}:1"},
    "AWS::CodeBuild::Project": {_ARN: "arn:{p}:codebuild:{r}:{a}:project/{name}", "Ref": "{name}"},
    "AWS::CodePipeline::Pipeline": {_ARN: "arn:{p}:codepipeline:{r}:{a}:{name}", "Ref": "{name}"},
    "AWS::SecretsManager::Secret": {
        _ARN: "arn:{p}:secretsmanager:{r}:{a}:secret:{name}-AbCdEf",
        "Ref": "{arn}",
    },
    "AWS::ApiGateway::RestApi": {
        _ARN: "arn:{p}:apigateway:{r}::/restapis/{short}",
        "Ref": "{short}",
        "RootResourceId": "{short}",
    },
    "AWS::WAFv2::WebACL": {_ARN: "arn:{p}:wafv2:{r}:{a}:regional/webacl/{name}/{id}"},
    "AWS::CloudWatch::Alarm": {_ARN: "arn:{p}:cloudwatch:{r}:{a}:alarm:{name}", "Ref": "{name}"},
    "AWS::SSM::Parameter": {_ARN: "arn:{p}:ssm:{r}:{a}:parameter/{name}", "Ref": "{name}"},
}
_PSEUDO = {
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::NotificationARNs": "",
}


class UnresolvableError(ValueError):
    """An intrinsic the resolver cannot turn into a literal (unknown function or reference)."""


@dataclass(frozen=True)
class Resolver:
    """Literal values for the intrinsics of one template, in one account and region."""

    resources: Mapping[str, Mapping[str, Any]]
    account: str = "123456789012"
    region: str = "us-east-1"
    partition: str = "aws"
    stack_name: str = "Stack"
    parameters: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def for_template(
        cls,
        template: Mapping[str, Any],
        *,
        parameters: Mapping[str, Any] | None = None,
        **env: str,
    ) -> Resolver:
        """`parameters`: values passed in (a nested stack's, from its parent) over defaults."""
        defaults = {
            name: spec.get("Default", f"param-{name}")
            for name, spec in template.get("Parameters", {}).items()
        }
        defaults.update(parameters or {})
        return cls(resources=template.get("Resources", {}), parameters=defaults, **env)

    def resolve(self, value: Json) -> Json:
        """`value` with every intrinsic replaced by a literal; AWS::NoValue entries removed."""
        if isinstance(value, list):
            return [self.resolve(item) for item in value if not self._is_no_value(item)]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), *_ = value.items()
            if key == "Ref":
                return self.ref(self._string(arg))
            if key.startswith("Fn::"):
                return self._function(key, arg)
        return {k: self.resolve(v) for k, v in value.items() if not self._is_no_value(v)}

    def ref(self, name: str) -> str:
        pseudo = {
            "AWS::Partition": self.partition,
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": (
                f"arn:{self.partition}:cloudformation:{self.region}:{self.account}:"
                f"stack/{self.stack_name}/{self._uuid(self.stack_name)}"
            ),
            **_PSEUDO,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return str(self.parameters[name])
        return self._attribute(name, "Ref")

    def get_att(self, logical_id: str, attribute: str) -> str:
        return self._attribute(logical_id, attribute)

    def _attribute(self, logical_id: str, attribute: str) -> str:
        if logical_id not in self.resources:
            raise UnresolvableError(f"reference to unknown resource or parameter {logical_id!r}")
        kind = str(self.resources[logical_id].get("Type", ""))
        shapes = _TYPES.get(kind, {})
        if attribute == "Ref":
            shape = shapes.get("Ref", "{name}")
        elif attribute == "Arn" or attribute.endswith("Arn"):
            shape = shapes.get(attribute, shapes.get(_ARN, _generic_arn(kind)))
        else:
            shape = shapes.get(attribute, "{name}")
        arn = shapes.get(_ARN, _generic_arn(kind))
        return self._fill(shape.replace("{arn}", arn), logical_id)

    def _fill(self, shape: str, logical_id: str) -> str:
        name = _physical_name(logical_id)
        return (
            shape.replace("{p}", self.partition)
            .replace("{r}", self.region)
            .replace("{a}", self.account)
            .replace("{name}", name)
            .replace("{lname}", name.lower())
            .replace("{short}", self._uuid(logical_id).replace("-", "")[:10])
            .replace("{id}", self._uuid(logical_id))
        )

    def _function(self, key: str, arg: Json) -> Json:
        handlers = {
            "Fn::GetAtt": self._get_att,
            "Fn::Join": self._join,
            "Fn::Sub": self._sub,
            "Fn::Select": self._select,
            "Fn::Split": self._split,
            # The exporting stack is not in this template; its export name is the best literal.
            "Fn::ImportValue": lambda a: f"imported-{self._string(a)}",
            # Conditions are not evaluated: the 'true' branch is the configured case in CDK output.
            "Fn::If": lambda a: self.resolve(a[1]),
            "Fn::GetAZs": lambda _: [f"{self.region}{zone}" for zone in "abc"],
            "Fn::Base64": self._string,
        }
        handler = handlers.get(key)
        if handler is None:
            raise UnresolvableError(f"unsupported intrinsic {key}")
        return handler(arg)

    def _get_att(self, arg: Json) -> Json:
        if isinstance(arg, str):
            logical_id, _, attribute = arg.partition(".")
        else:
            logical_id, attribute = (self._string(part) for part in arg)
        return self.get_att(logical_id, attribute)

    def _join(self, arg: Json) -> str:
        delimiter, items = arg
        parts = self.resolve(items)
        if not isinstance(parts, list):
            raise UnresolvableError(f"Fn::Join over {parts!r}, not a list")
        return str(delimiter).join(self._string(part) for part in parts)

    def _select(self, arg: Json) -> Json:
        index, items = arg
        chosen = self.resolve(items)
        if not isinstance(chosen, list):
            raise UnresolvableError(f"Fn::Select from {chosen!r}, not a list")
        return chosen[int(self._string(index))]

    def _split(self, arg: Json) -> list[str]:
        delimiter, source = arg
        return self._string(source).split(str(delimiter))

    def _sub(self, arg: Json) -> str:
        if isinstance(arg, list):
            text, variables = arg
            local = {name: self._string(value) for name, value in variables.items()}
        else:
            text, local = arg, {}

        def replace(found: re.Match[str]) -> str:
            token = found.group(1)
            if token.startswith("!"):
                return "${" + token[1:] + "}"
            if token in local:
                return local[token]
            if "." in token and not token.startswith("AWS::"):
                logical_id, _, attribute = token.partition(".")
                return self.get_att(logical_id, attribute)
            return self.ref(token)

        return re.sub(r"\$\{([^}]+)\}", replace, str(text))

    def _string(self, value: Json) -> str:
        resolved = self.resolve(value)
        if isinstance(resolved, (dict, list)):
            raise UnresolvableError(f"expected a string, got {resolved!r}")
        return str(resolved)

    @staticmethod
    def _is_no_value(value: Json) -> bool:
        return isinstance(value, dict) and value == {"Ref": "AWS::NoValue"}

    @staticmethod
    def _uuid(seed: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, seed))


def _physical_name(logical_id: str) -> str:
    """CloudFormation-style generated name: the logical id without CDK's 8-hex-digit hash."""
    return re.sub(r"[0-9A-F]{8}$", "", logical_id) or logical_id


def _generic_arn(kind: str) -> str:
    """arn:p:service:r:a:type/name for types the table does not know (AWS::Svc::Type)."""
    parts = kind.split("::")
    service = parts[1].lower() if len(parts) == 3 else "unknown"
    resource = parts[2].lower() if len(parts) == 3 else "resource"
    return f"arn:{{p}}:{service}:{{r}}:{{a}}:{resource}/{{name}}"
