"""The inbound service's infrastructure: no Lambda in the ingest path, queues with DLQs and the
Stage key, processors scoped to their own resources, and providers discovered by module."""

from __future__ import annotations

import importlib.metadata
import json
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template

from services.inbound import providers
from services.inbound.construct import Inbound
from services.inbound.providers import discover
from services.inbound.settings import InboundSettings
from tests.support.synth import Synth, cdk_json_context

PROVIDERS = sorted(discover())


def resources(template: Template, kind: str) -> dict[str, Any]:
    found: dict[str, Any] = template.find_resources(kind)
    return found


def test_every_webhook_route_is_an_aws_service_integration_never_lambda(synth: Synth) -> None:
    template = synth.template("dev")
    methods = resources(template, "AWS::ApiGateway::Method").values()
    posts = [m["Properties"] for m in methods if m["Properties"]["HttpMethod"] == "POST"]
    assert len(posts) == len(PROVIDERS)
    sync = {p for p in PROVIDERS if discover()[p].handshake == "slack-url-verification"}
    targets = []
    for method in posts:
        integration = method["Integration"]
        assert integration["Type"] == "AWS"
        assert integration["PassthroughBehavior"] == "NEVER"  # other content types: 415
        uri = json.dumps(integration["Uri"])
        assert ":sqs:path/" in uri or "sync.states:action/StartSyncExecution" in uri
        targets.append("states" if "states" in uri else "sqs")
    assert targets.count("states") == len(sync) == 1
    assert targets.count("sqs") == len(PROVIDERS) - 1
    for function in resources(template, "AWS::Lambda::Function").values():
        # No function is invoked by API Gateway: the ingest path has no Lambda.
        assert "apigateway" not in json.dumps(function)
    permissions = resources(template, "AWS::Lambda::Permission")
    assert all(
        p["Properties"]["Principal"] != "apigateway.amazonaws.com" for p in permissions.values()
    )


def test_handshake_workflows_are_express_logged_traced_and_lambda_free(synth: Synth) -> None:
    template = synth.template("dev")
    machines = {
        k: m
        for k, m in resources(template, "AWS::StepFunctions::StateMachine").items()
        if k.startswith("Inbound")
    }
    assert len(machines) == 2
    definitions = {}
    for logical, machine in machines.items():
        props = machine["Properties"]
        assert props["StateMachineType"] == "EXPRESS"
        assert props["LoggingConfiguration"]["Level"] == "ALL"
        assert props["LoggingConfiguration"]["IncludeExecutionData"] is False
        assert props["TracingConfiguration"] == {"Enabled": True}
        assert props["EncryptionConfiguration"]["Type"] == "CUSTOMER_MANAGED_KMS_KEY"
        definitions[logical] = json.dumps(props["DefinitionString"])
        assert "lambda:invoke" not in definitions[logical]
    (meta,) = [d for k, d in definitions.items() if k.startswith("InboundWhatsappVerification")]
    assert "aws-sdk:secretsmanager:getSecretValue" in meta
    assert "messaging/webhooks/whatsapp" in meta
    (slack,) = [d for k, d in definitions.items() if k.startswith("InboundSlackIngress")]
    assert "aws-sdk:sqs:sendMessage" in slack
    assert "url_verification" in slack
    assert "InboundSlackWebhooksQueue" in slack
    gets = [
        m["Properties"]
        for m in resources(template, "AWS::ApiGateway::Method").values()
        if m["Properties"]["HttpMethod"] == "GET"
    ]
    (get,) = gets
    assert "sync.states:action/StartSyncExecution" in json.dumps(get["Integration"]["Uri"])
    assert get["RequestParameters"]["method.request.querystring.hub.verify_token"] is True


def test_routes_exist_for_every_provider_and_unknown_ones_answer_404(synth: Synth) -> None:
    template = synth.template("dev")
    paths = {
        r["Properties"]["PathPart"]
        for r in resources(template, "AWS::ApiGateway::Resource").values()
    }
    assert set(PROVIDERS) <= paths
    template.has_resource_properties(
        "AWS::ApiGateway::GatewayResponse",
        {"ResponseType": "MISSING_AUTHENTICATION_TOKEN", "StatusCode": "404"},
    )


def test_every_queue_has_a_dead_letter_queue_and_the_stage_key(synth: Synth) -> None:
    template = synth.template("dev")
    (key_id,) = resources(template, "AWS::KMS::Key")
    queues = resources(template, "AWS::SQS::Queue")
    work = {
        k: q
        for k, q in queues.items()
        if "RedrivePolicy" in q["Properties"] and k.startswith("Inbound")
    }
    assert len(work) == len(PROVIDERS)
    for queue in queues.values():
        assert queue["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    for queue in work.values():
        target = queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        assert queues[target]["Properties"]["MessageRetentionPeriod"] == 14 * 86400
        # Visibility at least 6x the processor timeout (30 s by default).
        assert queue["Properties"]["VisibilityTimeout"] >= 6 * 30


def test_processors_are_arm64_traced_and_batch_partial_failures(synth: Synth) -> None:
    template = synth.template("dev")
    functions = resources(template, "AWS::Lambda::Function")
    assert len(functions) == len(PROVIDERS)
    for function in functions.values():
        props = function["Properties"]
        assert props["Architectures"] == ["arm64"]
        assert props["Runtime"] == "python3.14"
        assert props["TracingConfig"] == {"Mode": "Active"}
        # The layer is the release of the library the tests run with, for this runtime and
        # architecture, resolved from Powertools' public SSM parameter at deploy time.
        (layer,) = props["Layers"]
        assert layer == (
            "{{resolve:ssm:/aws/service/powertools/python/arm64/python3.14/"
            f"{importlib.metadata.version('aws-lambda-powertools')}}}}}"
        )
        assert "MemorySize" in props
        assert "Timeout" in props
    for mapping in resources(template, "AWS::Lambda::EventSourceMapping").values():
        assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def _policy_of(template: Template, provider: str) -> list[dict[str, Any]]:
    for logical, policy in resources(template, "AWS::IAM::Policy").items():
        if logical.startswith(f"Inbound{provider.capitalize()}ProcessorPolicy"):
            statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
            return statements
    raise AssertionError(f"no processor policy for {provider}")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_each_processor_reaches_only_its_own_resources(synth: Synth, provider: str) -> None:
    template = synth.template("dev")
    statements = {s["Sid"]: s for s in _policy_of(template, provider)}
    secret = json.dumps(statements["OwnSecret"]["Resource"])
    assert f"secret:messaging/webhooks/{provider}-??????" in secret
    prefixes = json.dumps(statements["OwnMediaPrefixes"]["Resource"])
    assert f"/media/{provider}/*" in prefixes
    assert f"/rejected/{provider}/*" in prefixes
    assert statements["OwnMediaPrefixes"]["Action"] == "s3:PutObject"
    assert statements["Idempotency"]["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{provider}#*"]}
    }
    assert statements["StageBus"]["Action"] == "events:PutEvents"
    assert "EventsBus" in json.dumps(statements["StageBus"]["Resource"])
    for other in PROVIDERS:
        if other != provider:
            assert f"/{other}/" not in prefixes
            assert f"webhooks/{other}-" not in secret
    for statement in statements.values():
        assert "*" not in json.dumps(statement["Action"])


def test_stores_are_encrypted_with_the_stage_key_and_recoverable(synth: Synth) -> None:
    template = synth.template("dev")
    (key_id,) = resources(template, "AWS::KMS::Key")
    for table in resources(template, "AWS::DynamoDB::Table").values():
        props = table["Properties"]
        assert props["SSESpecification"]["KMSMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    media = resources(template, "AWS::S3::Bucket")["InboundMediaBucket74181524"]["Properties"]
    assert media["VersioningConfiguration"] == {"Status": "Enabled"}
    assert "LoggingConfiguration" in media
    (rule,) = media["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] == {
        "Fn::GetAtt": [key_id, "Arn"]
    }
    assert media["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True


# Providers are configured with the API's URL, and the WAF is attached to its stage: their
# logical ids must not change when the construct's code moves (CloudFormation would replace them).
API_LOGICAL_IDS = {
    "AWS::ApiGateway::RestApi": {"InboundApiB5BA91E3"},
    "AWS::ApiGateway::Stage": {"InboundApiDeploymentStagelive0E2350A8"},
    "AWS::WAFv2::WebACL": {"InboundWebAcl96FE280E"},
}


@pytest.mark.parametrize("name", ["dev", "staging", "prod"])
def test_the_webhook_api_keeps_its_logical_ids(synth: Synth, name: str) -> None:
    template = synth.template(name)
    for kind, ids in API_LOGICAL_IDS.items():
        assert set(template.find_resources(kind)) == ids, kind


def test_no_secret_value_is_in_any_template(synth: Synth) -> None:
    from tests.support.inbound import SECRETS

    for name in ("dev", "staging", "prod"):
        template = synth.template(name)
        # Secrets are referenced by name, never created (or given a value) by the stack.
        assert resources(template, "AWS::SecretsManager::Secret") == {}
        body = json.dumps(template.to_json())
        for values in SECRETS.values():
            for value in values.values():
                assert value not in body


def test_waf_protects_the_stage_with_a_configured_rate_rule(synth: Synth) -> None:
    template = synth.template("dev")
    (acl,) = resources(template, "AWS::WAFv2::WebACL").values()
    rules = {r["Name"]: r for r in acl["Properties"]["Rules"]}
    limit = synth.config.environment("dev").settings.inbound.waf_rate_limit
    assert rules["RatePerSourceIp"]["Statement"]["RateBasedStatement"]["Limit"] == limit
    common = rules["AWSManagedRulesCommonRuleSet"]["Statement"]["ManagedRuleGroupStatement"]
    assert common["RuleActionOverrides"] == [
        {"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}
    ]
    assert len(resources(template, "AWS::WAFv2::WebACLAssociation")) == 1


def _probe_inbound(settings: InboundSettings | None = None) -> Inbound:
    app = cdk.App(context=cdk_json_context())  # same feature flags as the real app
    stack = cdk.Stack(app, "Probe", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    return Inbound(
        stack,
        "Inbound",
        key=kms.Key(stack, "Key", enable_key_rotation=True),
        bus=events.EventBus(stack, "Bus"),
        settings=settings or InboundSettings(),
        removal_policy=cdk.RemovalPolicy.DESTROY,
        powertools_version="3.37.0",
    )


def test_one_route_per_provider_and_the_per_provider_views_are_built_from_it() -> None:
    inbound = _probe_inbound()
    assert list(inbound.routes) == list(inbound.providers)
    # The stores, the API and the WAF sit directly under the service; each provider's ingest is
    # the one construct level below it (ids, hence logical ids, as before the split).
    for child in ("AccessLogs", "MediaBucket", "MessagesTable", "IdempotencyTable", "Api"):
        assert inbound.node.try_find_child(child) is not None, child
    assert inbound.web_acl.node.path == "Probe/Inbound/WebAcl"
    for name, route in inbound.routes.items():
        assert route.node.path == f"Probe/Inbound/{name.capitalize()}"
        assert route.node.try_find_child("IntegrationRole") is not None
        assert inbound.queues[name] is route.queue
        assert inbound.dead_letter_queues[name] is route.dead_letter_queue
        assert inbound.processors[name] is route.processor
        assert inbound.aliases[name] is route.alias
        assert inbound.rollouts[name] is route.deployment_group
        assert inbound.secret_names[name] == f"messaging/webhooks/{name}"
        assert inbound.provider_scopes[name] is route
    assert {n: type(h).__name__ for n, h in inbound.handshakes.items()} == {
        "whatsapp": "MetaVerification",
        "slack": "SlackIngress",
    }


ACME = '''
"""A provider added for the test: the platform must pick it up with no other change."""
from services.inbound.providers.generic_hmac import GenericHmac


class Acme(GenericHmac):
    name = "acme"


PROVIDER = Acme()
'''


def test_adding_a_provider_module_adds_its_infrastructure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "acme.py").write_text(ACME)
    monkeypatch.setattr(providers, "__path__", [*providers.__path__, str(tmp_path)])
    discover.cache_clear()
    try:
        assert "acme" in discover()
        app = cdk.App(context=cdk_json_context())  # same feature flags as the real app
        stack = cdk.Stack(
            app, "Probe", env=cdk.Environment(account="123456789012", region="eu-west-1")
        )
        key = kms.Key(stack, "Key", enable_key_rotation=True)
        inbound = Inbound(
            stack,
            "Inbound",
            key=key,
            bus=events.EventBus(stack, "Bus"),
            settings=InboundSettings(),
            removal_policy=cdk.RemovalPolicy.DESTROY,
            powertools_version="3.37.0",
        )
        template = Template.from_stack(stack)
        nested = Template.from_stack(inbound.provider_stacks["acme"])
    finally:
        discover.cache_clear()
        sys.modules.pop("services.inbound.providers.acme", None)
    paths = {
        r["Properties"]["PathPart"]
        for r in resources(template, "AWS::ApiGateway::Resource").values()
    }
    assert "acme" in paths
    # The route is the Stage's; everything behind it is in the provider's own nested stack.
    assert set(inbound.provider_stacks) == {"acme"}
    assert len(resources(template, "AWS::CloudFormation::Stack")) == 1
    assert len(resources(template, "AWS::Lambda::Function")) == len(PROVIDERS)
    (function,) = resources(nested, "AWS::Lambda::Function").values()
    assert function["Properties"]["Environment"]["Variables"]["PROVIDER"] == "acme"
    assert any(k.startswith("WebhooksQueue") for k in resources(nested, "AWS::SQS::Queue"))
    # Same construct paths below the provider as in the Messaging stack, so the registry's
    # {provider} patterns cover both placements.
    route = inbound.routes["acme"]
    assert route.node.path == "Probe/Inbound/Acme"
    for child in ("Webhooks", "Processor", "ProcessorPolicy", "Live", "Rollout", "IntegrationRole"):
        assert route.node.try_find_child(child) is not None, child


def test_a_nested_processor_policy_reads_like_one_in_the_messaging_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """cdk-nag renders a reference by its name: the nested stack's bucket parameter is named
    like the bucket's logical id, so one acknowledgement of the media prefixes fits both."""
    (tmp_path / "acme.py").write_text(ACME)
    monkeypatch.setattr(providers, "__path__", [*providers.__path__, str(tmp_path)])
    discover.cache_clear()
    try:
        inbound = _probe_inbound()
    finally:
        discover.cache_clear()
        sys.modules.pop("services.inbound.providers.acme", None)
    parent = Template.from_stack(cdk.Stack.of(inbound)).to_json()["Resources"]
    nested = Template.from_stack(inbound.provider_stacks["acme"]).to_json()
    (bucket,) = [
        k
        for k, r in parent.items()
        if k.startswith("InboundMediaBucket") and r["Type"] == "AWS::S3::Bucket"
    ]

    def prefixes(resources: dict[str, Any], provider: str) -> list[Any]:
        (policy,) = [r for k, r in resources.items() if k.startswith(f"{provider}ProcessorPolicy")]
        (statement,) = [
            s
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
            if s["Sid"] == "OwnMediaPrefixes"
        ]
        return list(statement["Resource"])

    assert bucket in nested["Parameters"]
    mine = json.dumps(prefixes(nested["Resources"], ""))  # logical ids start below the stack
    theirs = json.dumps(prefixes(parent, "InboundGeneric"))
    assert mine.replace("acme", "generic") == theirs
    assert f'{{"Ref": "{bucket}"}}' in mine


@pytest.mark.parametrize("managed", [True, False])
def test_the_account_wide_api_gateway_logging_role_is_a_config_choice(managed: bool) -> None:
    """AWS::ApiGateway::Account overwrites an account-level setting a landing zone may own."""
    inbound = _probe_inbound(InboundSettings(manage_account_logging_role=managed))
    template = Template.from_stack(cdk.Stack.of(inbound))
    template.resource_count_is("AWS::ApiGateway::Account", 1 if managed else 0)


def test_raw_bodies_of_rejected_webhooks_expire(synth: Synth) -> None:
    """They hold personal data and are kept only to triage the rejection (issue: real traffic)."""
    template = synth.template("prod").to_json()
    bucket = template["Resources"]["InboundMediaBucket74181524"]["Properties"]
    (rule,) = [
        r for r in bucket["LifecycleConfiguration"]["Rules"] if r.get("Prefix") == "rejected/"
    ]
    days = synth.config.environment("prod").settings.inbound.rejected_retention_days
    assert rule["ExpirationInDays"] == days
    assert rule["Status"] == "Enabled"


HANDSHAKES = '''
"""Two providers added for the test, with the handshakes of Slack and Meta."""
from services.inbound.providers.slack import Slack
from services.inbound.providers.whatsapp import WhatsApp


class Chat(Slack):
    name = "chat"


class Meta(WhatsApp):
    name = "meta"


PROVIDER = Chat()
'''


def test_a_nested_provider_names_its_handshake_workflow_after_the_stage_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """State machine names: at most 80 characters (Step Functions CreateStateMachine API
    reference); a nested stack's own name is generated at deploy time, so the workflow is
    named after the top-level stack and its path, as in the Messaging stack."""
    (tmp_path / "chat.py").write_text(HANDSHAKES)
    (tmp_path / "meta.py").write_text(HANDSHAKES.replace("PROVIDER = Chat()", "PROVIDER = Meta()"))
    monkeypatch.setattr(providers, "__path__", [*providers.__path__, str(tmp_path)])
    discover.cache_clear()
    try:
        inbound = _probe_inbound()
        parent = Template.from_stack(cdk.Stack.of(inbound))
        names = {}
        for name in ("chat", "meta"):
            nested = Template.from_stack(inbound.provider_stacks[name])
            (machine,) = resources(nested, "AWS::StepFunctions::StateMachine").values()
            names[name] = machine["Properties"]["StateMachineName"]
    finally:
        discover.cache_clear()
        for name in ("chat", "meta"):
            sys.modules.pop(f"services.inbound.providers.{name}", None)
    assert names == {
        "chat": "Probe-Inbound-Chat-Ingress",
        "meta": "Probe-Inbound-Meta-Verification",
    }
    # The routes in the Stage's API reach the workflows of the nested stacks.
    methods = [m["Properties"] for m in resources(parent, "AWS::ApiGateway::Method").values()]
    uris = [json.dumps(m["Integration"]["Uri"]) for m in methods]
    assert sum("StartSyncExecution" in uri for uri in uris) == 4  # Slack, Chat, 2 Meta GETs
