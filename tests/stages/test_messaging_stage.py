"""The application Stage: one class, per-environment placement and data retention."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match

from tests.support.synth import Synth

ENVIRONMENTS = ["dev", "staging", "prod"]


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_stage_stacks_target_the_configured_account_and_region(synth: Synth, name: str) -> None:
    env = synth.config.environment(name)
    stacks = synth.stage_stacks(name)
    assert stacks
    for stack in stacks:
        assert (stack.environment.account, stack.environment.region) == (env.account, env.region)


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_data_key_rotates_and_encrypts_every_queue(synth: Synth, name: str) -> None:
    template = synth.template(name)
    keys = template.find_resources("AWS::KMS::Key")
    assert len(keys) == 1
    (key_id,) = keys
    assert keys[key_id]["Properties"]["EnableKeyRotation"] is True
    queues = template.find_resources("AWS::SQS::Queue")
    assert queues
    for queue in queues.values():
        assert queue["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_queues_refuse_plain_http(synth: Synth, name: str) -> None:
    template = synth.template(name)
    policies = template.find_resources("AWS::SQS::QueuePolicy")
    covered = set()
    for policy in policies.values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}:
                assert statement["Effect"] == "Deny"
                covered.update(q["Ref"] for q in policy["Properties"]["Queues"])
    assert covered == set(template.find_resources("AWS::SQS::Queue"))


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_inbound_queue_dead_letters_after_configured_receives(synth: Synth, name: str) -> None:
    synth.template(name).has_resource_properties(
        "AWS::SQS::Queue",
        {
            "RedrivePolicy": {
                "deadLetterTargetArn": Match.any_value(),
                "maxReceiveCount": 5,
            }
        },
    )


@pytest.mark.parametrize(
    ("name", "policy", "protected"),
    [
        ("dev", "Delete", False),
        ("staging", "Delete", False),
        ("prod", "RetainExceptOnCreate", True),
    ],
)
def test_stateful_resources_follow_the_retention_setting(
    synth: Synth, name: str, policy: str, protected: bool
) -> None:
    template = synth.template(name)
    for kind in [*STATEFUL_LOGICAL_IDS, "AWS::Logs::LogGroup"]:
        for resource in template.find_resources(kind).values():
            assert resource["DeletionPolicy"] == policy
    (stack,) = synth.stage_stacks(name)
    assert stack.termination_protection is protected


# Logical ids of stateful resources must not change between releases: CloudFormation would
# replace (and, for data stores, empty) the resource.
STATEFUL_LOGICAL_IDS = {
    "AWS::KMS::Key": {"CoreDataKeyB99B0DD5"},
    "AWS::Events::EventBus": {"EventsBus45DE4339"},
    "AWS::S3::Bucket": {"InboundAccessLogs0C5B5D70", "InboundMediaBucket74181524"},
    "AWS::DynamoDB::Table": {
        "InboundIdempotencyTable6F0675E1",
        "InboundMessagesTable2BF46A5E",
        "AuditTable18A3095C",
    },
    "AWS::Events::Archive": {"EventsArchive5A2DBDD8"},
    "AWS::SQS::Queue": {
        "InboundGenericWebhooksDeadLetterE64AD3F9",
        "InboundGenericWebhooksQueue94DD849C",
        "InboundSlackWebhooksDeadLetterA1D531CC",
        "InboundSlackWebhooksQueue8E5D0E7E",
        "InboundTwilioWebhooksDeadLetterB0457187",
        "InboundTwilioWebhooksQueue51FFFE5F",
        "InboundWhatsappWebhooksDeadLetterE0DA3061",
        "InboundWhatsappWebhooksQueue60822AFB",
        "EventsTargetDeadLetter3A62D947",
        "TriageCustomerCareDeadLetterD6E1A1F3",
        "TriageCustomerCareQueue785433B4",
    },
}


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_stateful_logical_ids_are_stable(synth: Synth, name: str) -> None:
    template = synth.template(name)
    for kind, ids in STATEFUL_LOGICAL_IDS.items():
        assert ids <= set(template.find_resources(kind)), kind
