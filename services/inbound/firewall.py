"""The webhook API's WAF: a per-source-IP rate rule and AWS managed rule groups on its stage."""

from __future__ import annotations

from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct


def _visibility(metric_name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True,
        metric_name=metric_name,
        sampled_requests_enabled=True,
    )


def _managed(
    name: str, priority: int, overrides: tuple[str, ...] = ()
) -> wafv2.CfnWebACL.RuleProperty:
    """An AWS managed rule group, with the named rules only counted (not blocked)."""
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
        statement=wafv2.CfnWebACL.StatementProperty(
            managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                vendor_name="AWS",
                name=name,
                rule_action_overrides=[
                    wafv2.CfnWebACL.RuleActionOverrideProperty(
                        name=rule,
                        action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={}),
                    )
                    for rule in overrides
                ]
                or None,
            )
        ),
        visibility_config=_visibility(name),
    )


def protect(scope: Construct, *, api: apigw.RestApi, rate_limit: int) -> wafv2.CfnWebACL:
    """Create the web ACL (`WebAcl`) and its association with `api`'s deployment stage in
    `scope`; `rate_limit` is requests per source IP per 5 minutes."""
    acl = wafv2.CfnWebACL(
        scope,
        "WebAcl",
        scope="REGIONAL",
        default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
        visibility_config=_visibility("Webhooks"),
        rules=[
            wafv2.CfnWebACL.RuleProperty(
                name="RatePerSourceIp",
                priority=0,
                action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        limit=rate_limit, aggregate_key_type="IP"
                    )
                ),
                visibility_config=_visibility("RatePerSourceIp"),
            ),
            _managed("AWSManagedRulesAmazonIpReputationList", 1),
            # Provider payloads (WhatsApp media batches, Slack events) exceed the common
            # rule set's 8 KB body rule; the queue's own size limit applies instead.
            _managed("AWSManagedRulesCommonRuleSet", 2, ("SizeRestrictions_BODY",)),
            _managed("AWSManagedRulesKnownBadInputsRuleSet", 3),
        ],
    )
    wafv2.CfnWebACLAssociation(
        scope,
        "WebAclAssociation",
        resource_arn=api.deployment_stage.stage_arn,
        web_acl_arn=acl.attr_arn,
    )
    return acl
