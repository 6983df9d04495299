"""The project's cdk-nag v3 rule pack: encryption, TLS, DLQs, least privilege, tags, retention.

A `NagPack` whose `validate` reads the synthesized templates (one jsii call for the whole pack).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path

import aws_cdk as cdk
from cdk_nag import NagPack
from constructs import IConstruct

from cloud_assembly.templates import StackTemplate, nested_templates, stack_at
from policies.findings import Finding
from policies.rules import discover
from policies.rules.base import Compliance, Level, Resource, Rule, StackContext

PACK_NAME = "Platform"


@cache
def _l1_class(resource_type: str) -> type | None:
    """The CDK L1 class of a resource type: AWS::SQS::Queue -> aws_cdk.aws_sqs.CfnQueue."""
    parts = resource_type.split("::")
    if len(parts) != 3 or parts[0] != "AWS":
        return None  # Custom::..., AWS::CDK::Metadata-like types have no tag manager
    try:
        module = importlib.import_module(f"aws_cdk.aws_{parts[1].lower()}")
    except ImportError:
        return None
    found = getattr(module, f"Cfn{parts[2]}", None)
    return found if isinstance(found, type) else None


@cache
def taggable(resource_type: str) -> bool:
    """L1 classes of taggable resource types carry a tag manager (`tags` or `cdk_tag_manager`)."""
    cls = _l1_class(resource_type)
    if cls is None:
        return False
    return hasattr(cls, "cdk_tag_manager") or isinstance(getattr(cls, "tags", None), property)


class PlatformChecks(NagPack):
    """The `Platform` pack; `retain_data` names the stacks whose environments keep their data."""

    def __init__(
        self,
        scope: IConstruct | None = None,
        *,
        retain_data: Iterable[cdk.Stack] = (),
        verbose: bool = True,
    ) -> None:
        super().__init__(scope, verbose=verbose)
        self._pack_name = PACK_NAME
        self._rules = discover()
        self._retained = {stack.node.path for stack in retain_data}
        self._verbose = verbose

    @property
    def name(self) -> str:
        return PACK_NAME

    @property
    def rules(self) -> tuple[Rule, ...]:
        return self._rules

    def validate(self, context: cdk.IPolicyValidationContext) -> cdk.PolicyValidationPluginReport:
        """Called once by the framework after synth, with every stack's template (nested
        stacks are not in the context: they are read from beside their parents)."""
        tops = [stack_at(Path(s.template_path)) for s in context.stack_templates]
        stacks = [t for top in tops for t in (top, *nested_templates(top))]
        grouped: dict[str, list[Finding]] = {}
        for finding in self.check_templates(stacks):
            grouped.setdefault(finding.rule, []).append(finding)
        violations = [
            cdk.PolicyViolation(
                rule_name=rule_name,
                description=found[0].message,
                severity=found[0].severity,
                violating_resources=[
                    cdk.PolicyViolatingResource(
                        locations=["Properties"],
                        construct_path=f.construct_path or None,
                        resource_logical_id=f.logical_id,
                        template_path=f.template,
                    )
                    for f in found
                ],
            )
            for rule_name, found in grouped.items()
        ]
        return cdk.PolicyValidationPluginReport(success=not violations, violations=violations)

    def check_templates(self, stacks: Iterable[StackTemplate]) -> Iterator[Finding]:
        """Every rule on every resource of the given templates (no jsii involved)."""
        for stack in stacks:
            context = StackContext(
                path=stack.path,
                template=stack.body,
                termination_protection=stack.termination_protection,
                retain_data=stack.path in self._retained,
                account=stack.account,
            )
            for logical_id, body in context.resources.items():
                resource_type = str(body.get("Type"))
                applicable = [r for r in self._rules if r.applies_to(resource_type)]
                if not applicable:
                    continue
                resource = Resource.from_template(
                    context, logical_id, taggable=taggable(resource_type)
                )
                for rule in applicable:
                    yield from self._findings(rule, resource, str(stack.file))

    def _findings(self, rule: Rule, resource: Resource, template_path: str) -> Iterator[Finding]:
        """cdk-nag's applyRule semantics: a suffix per listed finding; an error is a finding."""
        rule_id = f"{PACK_NAME}-{rule.id}"
        description = f"{rule.info} {rule.explanation}" if self._verbose else rule.info
        try:
            result = rule.check(resource)
        except Exception as error:  # a rule that cannot decide is a finding, as in cdk-nag
            names = [(rule_id, f"Rule threw an error during validation. {error}")]
        else:
            if result == Compliance.NON_COMPLIANT:
                names = [(rule_id, description)]
            elif isinstance(result, list):
                names = [(f"{rule_id}[{suffix}]", description) for suffix in result]
            else:
                names = []
        severity = "error" if rule.level == Level.ERROR else "warning"
        for name, text in names:
            yield Finding(
                source=PACK_NAME,
                rule=name,
                construct_path=resource.path,
                message=text,
                severity=severity,
                template=template_path,
                logical_id=resource.logical_id,
            )

    def _check_resource(self, node: cdk.CfnResource) -> None:
        raise NotImplementedError(
            "PlatformChecks reads synthesized templates: register it with "
            "Validations.of(app).add_plugins(...) or call check_templates()"
        )
