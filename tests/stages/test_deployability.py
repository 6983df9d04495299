"""What CloudFormation and the AWS services need at deploy and run time that the emulator
does not enforce: names that KMS conditions match, KMS rights for every caller of an encrypted
workflow, service principals on CMK-encrypted destinations, account-global names, rollback
alarms that can fire inside a traffic shift, retained resources that a failed create removes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.synth import Synth

ENVIRONMENTS = ["dev", "staging", "prod"]
CONTEXT_KEY = "kms:EncryptionContext:aws:states:stateMachineArn"


def _resources(synth: Synth, name: str) -> dict[str, dict[str, Any]]:
    body = synth.stage_stacks(name)[0].template
    resources: dict[str, dict[str, Any]] = body["Resources"]
    return resources


def _of_type(resources: dict[str, dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in resources.items() if v["Type"] == kind}


def _statements(resources: dict[str, dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(role logical id, statement) for every inline policy attached to a role."""
    for policy in _of_type(resources, "AWS::IAM::Policy").values():
        props = policy["Properties"]
        for role in props.get("Roles", []):
            for statement in props["PolicyDocument"]["Statement"]:
                yield role["Ref"], statement


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _machine_ref(value: Any, machines: dict[str, dict[str, Any]], arn_prefix: str) -> str | None:
    """The state machine a Ref or a name-built ARN points at, if any."""
    if isinstance(value, dict) and value.get("Ref") in machines:
        return str(value["Ref"])
    if isinstance(value, str) and value.startswith(arn_prefix):
        name = value.removeprefix(arn_prefix)
        for logical_id, machine in machines.items():
            if machine["Properties"].get("StateMachineName") == name:
                return logical_id
    return None


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_every_encrypted_workflow_is_usable_by_its_role_and_its_callers(
    synth: Synth, name: str
) -> None:
    """Step Functions encrypts with the state machine's ARN as encryption context; CDK builds
    the condition from the machine's *name*, so an unnamed machine's grant never matches."""
    resources = _resources(synth, name)
    env = synth.config.environment(name)
    arn_prefix = f"arn:aws:states:{env.region}:{env.account}:stateMachine:"
    machines = _of_type(resources, "AWS::StepFunctions::StateMachine")
    assert machines
    kms_for: dict[str, set[str]] = {}
    starts: dict[str, set[str]] = {}
    for role, statement in _statements(resources):
        actions = set(_as_list(statement["Action"]))
        condition = statement.get("Condition", {}).get("StringEquals", {}).get(CONTEXT_KEY)
        if condition is not None:
            machine = _machine_ref(condition, machines, arn_prefix)
            assert machine, f"{role}: KMS condition {condition} matches no state machine"
            if {"kms:GenerateDataKey", "kms:Decrypt"} <= actions:
                kms_for.setdefault(role, set()).add(machine)
        if actions & {"states:StartExecution", "states:StartSyncExecution"}:
            for resource in _as_list(statement["Resource"]):
                machine = _machine_ref(resource, machines, arn_prefix)
                assert machine, f"{role} starts {resource}, not a state machine of this stack"
                starts.setdefault(role, set()).add(machine)
    for logical_id, machine in machines.items():
        props = machine["Properties"]
        assert props.get("StateMachineName"), f"{logical_id} has no name"
        assert props["EncryptionConfiguration"]["Type"] == "CUSTOMER_MANAGED_KMS_KEY"
        role = props["RoleArn"]["Fn::GetAtt"][0]
        assert logical_id in kms_for.get(role, set()), f"{logical_id}: its role cannot use the key"
    assert starts, "no caller starts a workflow"
    for role, started in starts.items():
        missing = started - kms_for.get(role, set())
        assert not missing, f"{role} starts {sorted(missing)} without kms:GenerateDataKey/Decrypt"


def _key_principals(resources: dict[str, dict[str, Any]]) -> set[str]:
    principals: set[str] = set()
    for key in _of_type(resources, "AWS::KMS::Key").values():
        for statement in key["Properties"]["KeyPolicy"]["Statement"]:
            service = statement.get("Principal", {}).get("Service")
            if statement["Effect"] == "Allow" and service:
                principals.update(_as_list(service))
    return principals


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_services_that_write_to_encrypted_destinations_may_use_the_key(
    synth: Synth, name: str
) -> None:
    """CloudWatch -> SNS (alarm actions), EventBridge -> SQS/SNS (rule targets) and Logs: each
    writer needs the CMK, or the delivery is dropped without an error."""
    resources = _resources(synth, name)
    principals = _key_principals(resources)
    topics = _of_type(resources, "AWS::SNS::Topic")
    encrypted_topics = {k for k, v in topics.items() if v["Properties"].get("KmsMasterKeyId")}
    writers: set[str] = set()
    for alarm in _of_type(resources, "AWS::CloudWatch::Alarm").values():
        refs = {a.get("Ref") for a in alarm["Properties"].get("AlarmActions", [])}
        if refs & encrypted_topics:
            writers.add("cloudwatch.amazonaws.com")
    for rule in _of_type(resources, "AWS::Events::Rule").values():
        for target in rule["Properties"].get("Targets", []):
            arn = json.dumps(target["Arn"])
            if any(t in arn for t in encrypted_topics) or "Queue" in arn:
                writers.add("events.amazonaws.com")
    if _of_type(resources, "AWS::Logs::LogGroup"):
        writers.add(f"logs.{synth.config.environment(name).region}.amazonaws.com")
    assert {"cloudwatch.amazonaws.com", "events.amazonaws.com"} <= writers
    assert writers <= principals, f"not admitted by the key policy: {writers - principals}"


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_explicit_names_are_unique_where_aws_makes_them_global(synth: Synth, name: str) -> None:
    """Dashboard names are global to an account (every region); the other explicit names are
    per account and region and carry the Stage's stack name (a region of its own per Stage)."""
    resources = _resources(synth, name)
    env = synth.config.environment(name)
    stack_name = synth.stage_stacks(name)[0].stack_name
    dashboards = _of_type(resources, "AWS::CloudWatch::Dashboard")
    assert dashboards
    for logical_id, dashboard in dashboards.items():
        dashboard_name = dashboard["Properties"].get("DashboardName", "")
        assert env.name in dashboard_name, logical_id
        assert env.region in dashboard_name, logical_id
    for logical_id, machine in _of_type(resources, "AWS::StepFunctions::StateMachine").items():
        assert machine["Properties"]["StateMachineName"].startswith(stack_name + "-"), logical_id
    for kind, prop in (("AWS::IAM::Role", "RoleName"), ("AWS::S3::Bucket", "BucketName")):
        for logical_id, resource in _of_type(resources, kind).items():
            assert prop not in resource["Properties"] or not isinstance(
                resource["Properties"][prop], str
            ), f"{logical_id}: a literal {prop} is global and collides across regions"


# CodeDeploy's predefined Lambda configurations: minutes until the next traffic increment.
_INTERVAL = re.compile(r"(?:Canary10Percent|Linear10PercentEvery)(\d+)Minutes?$")


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_rollback_alarms_can_go_off_inside_the_traffic_shift(synth: Synth, name: str) -> None:
    resources = _resources(synth, name)
    alarms = _of_type(resources, "AWS::CloudWatch::Alarm")
    groups = _of_type(resources, "AWS::CodeDeploy::DeploymentGroup")
    assert groups
    for logical_id, group in groups.items():
        props = group["Properties"]
        config = props["DeploymentConfigName"].removeprefix("CodeDeployDefault.Lambda")
        gating = [
            alarms[a["Name"]["Ref"]]["Properties"] for a in props["AlarmConfiguration"]["Alarms"]
        ]
        assert gating, f"{logical_id}: no alarm can roll the shift back"
        match = _INTERVAL.match(config)
        if match is None:
            assert config == "AllAtOnce", config
            continue
        window = int(match.group(1)) * 60
        for alarm in gating:
            period = alarm.get("Period") or alarm["Metrics"][0]["MetricStat"]["Period"]
            datapoints = alarm.get("DatapointsToAlarm", alarm["EvaluationPeriods"])
            assert period * datapoints <= window, f"{logical_id}: {period}s x {datapoints}"
            assert alarm.get("TreatMissingData") != "breaching"


def test_retained_resources_of_prod_go_away_when_the_first_create_fails(synth: Synth) -> None:
    resources = _resources(synth, "prod")
    for kind in ("AWS::Events::EventBus", "AWS::Backup::BackupVault", "AWS::DynamoDB::Table"):
        found = _of_type(resources, kind)
        assert found, kind
        for logical_id, resource in found.items():
            assert resource.get("DeletionPolicy") == "RetainExceptOnCreate", logical_id
            assert resource.get("UpdateReplacePolicy") == "Retain", logical_id
