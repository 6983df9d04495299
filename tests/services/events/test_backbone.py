"""Event backbone, audit, triage, monitoring and backup, as synthesized per environment."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from moto.events.models import EventPattern

from services.events.construct import openapi_schema
from services.events.models import (
    EVENT_TYPES,
    MessageAnalyzed,
    MessageReceived,
    MessageRecordRef,
    MessageRejected,
    SentimentScores,
)
from tests.support.synth import Synth

ENVIRONMENTS = ["dev", "staging", "prod"]


def resources(synth: Synth, env: str, kind: str) -> dict[str, Any]:
    found: dict[str, Any] = synth.template(env).find_resources(kind)
    return found


def rule(synth: Synth, name: str) -> dict[str, Any]:
    (props,) = [
        r["Properties"]
        for k, r in resources(synth, "dev", "AWS::Events::Rule").items()
        if k.startswith(f"Events{name}")
    ]
    return props


def envelope(event: Any) -> dict[str, Any]:
    return {
        "id": "e-1",
        "source": event.source,
        "detail-type": event.detail_type,
        "time": "2026-11-22T10:00:00Z",
        "detail": json.loads(event.model_dump_json()),
    }


NOW = datetime(2026, 11, 22, 10, tzinfo=UTC)
RECEIVED_TEXT = MessageReceived(
    message_id="m-1",
    provider="slack",
    provider_message_id="Ev1",
    channel="slack",
    conversation_id="c",
    received_at=NOW,
    has_text=True,
    text_length=5,
    record=MessageRecordRef(conversation_id="c", sort_key="s"),
)
RECEIVED_MEDIA_ONLY = RECEIVED_TEXT.model_copy(update={"has_text": False, "text_length": 0})
REJECTED = MessageRejected(
    provider="twilio", request_id="r", reason="invalid_signature", detail="x", received_at=NOW
)
SCORES = SentimentScores(positive=0.01, negative=0.97, neutral=0.01, mixed=0.01)
NEGATIVE = MessageAnalyzed(message_id="m-1", status="ANALYZED", sentiment="NEGATIVE", scores=SCORES)
POSITIVE = NEGATIVE.model_copy(update={"sentiment": "POSITIVE"})
FAILED = MessageAnalyzed(
    message_id="m-1", status="FAILED", error="Comprehend.TextSizeLimitExceededException"
)


@pytest.mark.parametrize(
    ("rule_name", "matching", "not_matching"),
    [
        ("AuditEverything", [RECEIVED_TEXT, RECEIVED_MEDIA_ONLY, REJECTED, NEGATIVE, FAILED], []),
        ("TriageTexts", [RECEIVED_TEXT], [RECEIVED_MEDIA_ONLY, REJECTED, NEGATIVE]),
        ("NegativeToCare", [NEGATIVE], [POSITIVE, FAILED, RECEIVED_TEXT]),
        ("OthersToAcknowledge", [POSITIVE], [NEGATIVE, FAILED, REJECTED]),
    ],
)
def test_rules_route_the_canonical_events(
    synth: Synth, rule_name: str, matching: list[Any], not_matching: list[Any]
) -> None:
    pattern = EventPattern.load(json.dumps(rule(synth, rule_name)["EventPattern"]))
    for event in matching:
        assert pattern.matches_event(envelope(event)), (rule_name, event.detail_type)
    for event in not_matching:
        assert not pattern.matches_event(envelope(event)), (rule_name, event.detail_type)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_rule_target_has_a_dead_letter_queue_and_a_retry_policy(
    synth: Synth, env: str
) -> None:
    rules = resources(synth, env, "AWS::Events::Rule")
    targets = [t for r in rules.values() for t in r["Properties"].get("Targets", [])]
    assert len(targets) == 5  # audit, triage, care queue, care topic, acknowledgement topic
    settings = synth.config.environment(env).settings.events
    for target in targets:
        assert "TargetDeadLetter" in json.dumps(target["DeadLetterConfig"])
        assert target["RetryPolicy"] == {
            "MaximumRetryAttempts": settings.target_retry_attempts,
            "MaximumEventAgeInSeconds": settings.target_max_event_age_hours * 3600,
        }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_archive_keeps_events_for_the_configured_days_under_the_stage_key(
    synth: Synth, env: str
) -> None:
    (archive,) = resources(synth, env, "AWS::Events::Archive").values()
    days = synth.config.environment(env).settings.events.archive_retention_days
    assert archive["Properties"]["RetentionDays"] == days
    assert "CoreDataKey" in json.dumps(archive["Properties"]["KmsKeyIdentifier"])
    (bus,) = resources(synth, env, "AWS::Events::EventBus").values()
    assert "CoreDataKey" in json.dumps(bus["Properties"]["KmsKeyIdentifier"])


def test_published_schemas_agree_with_the_models(synth: Synth) -> None:
    schemas = resources(synth, "dev", "AWS::EventSchemas::Schema")
    published = {
        json.loads(s["Properties"]["Content"])["info"]["title"]: s for s in schemas.values()
    }
    assert set(published) == {e.detail_type for e in EVENT_TYPES}
    for event in EVENT_TYPES:
        content = json.loads(published[event.detail_type]["Properties"]["Content"])
        assert content == openapi_schema(event)
        detail = content["components"]["schemas"][event.__name__]
        assert set(detail["properties"]) == set(event.model_fields)


def _definition(synth: Synth, prefix: str) -> str:
    (machine,) = [
        m
        for k, m in resources(synth, "dev", "AWS::StepFunctions::StateMachine").items()
        if k.startswith(prefix)
    ]
    assert machine["Properties"]["StateMachineType"] == "EXPRESS"
    assert machine["Properties"]["LoggingConfiguration"]["Level"] == "ALL"
    assert machine["Properties"]["TracingConfiguration"] == {"Enabled": True}
    return json.dumps(machine["Properties"]["DefinitionString"])


def test_audit_workflow_writes_the_event_to_the_audit_table(synth: Synth) -> None:
    definition = _definition(synth, "AuditWorkflow")
    assert "arn:aws:states:::dynamodb:putItem" in definition
    assert "AuditTable" in definition
    for attribute in ("event_id", "detail_type", "expires_at", "detail", "day"):
        assert attribute in definition
    (table,) = [
        t
        for k, t in resources(synth, "dev", "AWS::DynamoDB::Table").items()
        if k.startswith("AuditTable")
    ]
    props = table["Properties"]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["GlobalSecondaryIndexes"][0]["IndexName"] == "ByDay"
    assert "CoreDataKey" in json.dumps(props["SSESpecification"])


def test_triage_workflow_calls_comprehend_and_publishes_every_outcome(synth: Synth) -> None:
    definition = _definition(synth, "TriageWorkflow")
    for action in (
        "dynamodb:getItem",
        "comprehend:detectSentiment",
        "comprehend:detectDominantLanguage",
        "events:putEvents",
    ):
        assert action in definition
    assert "'status': 'FAILED'" in definition  # a failed analysis is recorded, not lost
    assert "$substring($text, 0, 1200)" in definition
    assert "lambda:invoke" not in definition


def test_customer_care_and_acknowledgement_topics_are_encrypted_and_tls_only(synth: Synth) -> None:
    topics = resources(synth, "dev", "AWS::SNS::Topic")
    assert len(topics) == 3  # customer care, acknowledgement, alarms
    for topic in topics.values():
        assert "CoreDataKey" in json.dumps(topic["Properties"]["KmsMasterKeyId"])
    policies = resources(synth, "dev", "AWS::SNS::TopicPolicy")
    denied = json.dumps(list(policies.values()))
    assert denied.count('"aws:SecureTransport": "false"') == 3


def _alarm_thresholds(synth: Synth, env: str) -> dict[str, float]:
    return {
        a["Properties"].get("AlarmName", k): a["Properties"]["Threshold"]
        for k, a in resources(synth, env, "AWS::CloudWatch::Alarm").items()
    }


def test_alarms_cover_every_part_and_prod_is_stricter_than_dev(synth: Synth) -> None:
    dev, prod = _alarm_thresholds(synth, "dev"), _alarm_thresholds(synth, "prod")
    assert len(dev) == len(prod) >= 20
    dev_values, prod_values = sorted(dev.values()), sorted(prod.values())
    assert sum(prod_values) < sum(dev_values)
    names = json.dumps(list(prod))
    for part in (
        "TwilioWebhooks",
        "TwilioProcessor",
        "WebhookApi",
        "Audit",
        "Triage",
        "CustomerCare",
    ):
        assert part in names, part
    for alarm in resources(synth, "prod", "AWS::CloudWatch::Alarm").values():
        assert "MonitoringAlarmTopic" in json.dumps(alarm["Properties"]["AlarmActions"])


@pytest.mark.parametrize(("env", "backed_up"), [("dev", False), ("staging", False), ("prod", True)])
def test_backup_exists_only_where_data_is_retained(synth: Synth, env: str, backed_up: bool) -> None:
    plans = resources(synth, env, "AWS::Backup::BackupPlan")
    assert bool(plans) is backed_up
    if backed_up:
        (plan,) = plans.values()
        (rule_,) = plan["Properties"]["BackupPlan"]["BackupPlanRule"]
        assert rule_["Lifecycle"] == {"DeleteAfterDays": 35}
        (vault,) = resources(synth, env, "AWS::Backup::BackupVault").values()
        assert "CoreDataKey" in json.dumps(vault["Properties"]["EncryptionKeyArn"])
        (selection,) = resources(synth, env, "AWS::Backup::BackupSelection").values()
        selected = json.dumps(selection["Properties"]["BackupSelection"]["Resources"])
        assert "InboundMessagesTable" in selected
        assert "AuditTable" in selected


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_taggable_resource_carries_the_required_tags(synth: Synth, env: str) -> None:
    from services.common.tags import REQUIRED_TAG_KEYS as TAG_KEYS

    tagged = 0
    for logical, res in synth.template(env).to_json()["Resources"].items():
        tags = res.get("Properties", {}).get("Tags")
        if isinstance(tags, list):
            keys = {t["Key"] for t in tags}
            assert set(TAG_KEYS) <= keys, logical
            tagged += 1
    assert tagged >= 20
