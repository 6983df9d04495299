"""The project's cdk-nag v3 rule pack: encryption, TLS, DLQs, least privilege, tags, retention.

A `NagPack` like AwsSolutions and Serverless, so its findings and acknowledgements appear in the
same validation report. Each rule reads the synthesized template of its resource (the pack runs
after the templates are written), which keeps jsii round trips to a few per resource.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from cdk_nag import IApplyRule, NagMessageLevel, NagPack, NagRuleCompliance
from constructs import IConstruct

from policies.rules import discover
from policies.rules.base import Compliance, Resource, Rule, StackContext

PACK_NAME = "Platform"


@cache
def _taggable(cls: type) -> bool:
    """L1 classes of taggable resource types carry a tag manager (`tags` or `cdk_tag_manager`)."""
    return hasattr(cls, "cdk_tag_manager") or isinstance(getattr(cls, "tags", None), property)


@jsii.implements(IApplyRule)
class _Application:
    """One rule applied to one resource, in the shape cdk-nag's applyRule expects."""

    def __init__(self, rule: Rule, node: cdk.CfnResource, resource: Resource) -> None:
        self._rule = rule
        self._node = node
        self._resource = resource

    @property
    def node(self) -> cdk.CfnResource:
        return self._node

    @property
    def info(self) -> str:
        return self._rule.info

    @property
    def explanation(self) -> str:
        return self._rule.explanation

    @property
    def level(self) -> NagMessageLevel:
        return NagMessageLevel(self._rule.level.value)

    @property
    def rule_suffix_override(self) -> str:
        return self._rule.id

    def rule(self, node: cdk.CfnResource) -> NagRuleCompliance | list[str]:
        result = self._rule.check(self._resource)
        return NagRuleCompliance(result.value) if isinstance(result, Compliance) else result


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
        self._stacks: dict[str, StackContext] = {}

    @property
    def name(self) -> str:
        return PACK_NAME

    @property
    def rules(self) -> tuple[Rule, ...]:
        return self._rules

    def _check_resource(self, node: cdk.CfnResource) -> None:
        resource_type = node.cfn_resource_type  # one jsii call, not one per rule
        applicable = [r for r in self._rules if r.applies_to(resource_type)]
        if not applicable:
            return
        found = self._locate(node)
        if found is None:
            return  # not in the template (e.g. removed by a condition)
        context, logical_id = found
        resource = Resource.from_template(context, logical_id, taggable=_taggable(type(node)))
        for rule in applicable:
            # Rules run here, in Python; only a resource with findings goes through cdk-nag's
            # applyRule (acknowledgement check, report entry): a compliant result would cost
            # six jsii callbacks to record nothing.
            result = rule.check(resource)
            if result == Compliance.NON_COMPLIANT or (isinstance(result, list) and result):
                # jsii reads the properties only; the stub types them as settable attributes.
                self._apply_rule(_Application(rule, node, resource))  # type: ignore[arg-type]

    def _locate(self, node: cdk.CfnResource) -> tuple[StackContext, str] | None:
        """The template and logical id of a resource: by its aws:cdk:path where the templates
        carry path metadata (one jsii call), else through its stack."""
        path = node.node.path
        for context in self._stacks.values():
            logical_id = context.logical_ids.get(path)
            if logical_id is not None:
                return context, logical_id
        stack = cdk.Stack.of(node)
        context = self._context(stack)
        logical_id = str(stack.resolve(node.logical_id))
        return (context, logical_id) if logical_id in context.resources else None

    def _context(self, stack: cdk.Stack) -> StackContext:
        path = stack.node.path
        template_file = str(Path(cdk.Stage.of(stack).outdir) / stack.template_file)  # type: ignore[union-attr]
        if template_file not in self._stacks:
            template: dict[str, Any] = json.loads(Path(template_file).read_text())
            self._stacks[template_file] = StackContext(
                path=path,
                template=template,
                termination_protection=bool(stack.termination_protection),
                retain_data=path in self._retained,
            )
        return self._stacks[template_file]
