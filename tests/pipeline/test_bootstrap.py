"""`make bootstrap`: execution policies checked against the CloudFormation registry (every handler
action of every deployed type allowed, no service beyond those in use), and the commands."""

from __future__ import annotations

import fnmatch
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from cloud_assembly.templates import StackTemplate, templates
from config.loading import load_config
from pipeline.bootstrap import POLICIES, ManagedPolicy, apply, cdk_cli, ensure_policy, main, plan
from pipeline.bootstrap.accounts import CredentialsError
from tests.support.synth import Synth, cdk_json_context

# The registry schemas cfn-lint ships (cfn-lint is pinned in constraints.txt):
# providers/<region>.json maps a type to its schema file in resources/.
SCHEMAS = resources.files("cfnlint") / "data" / "schemas"
# What CloudFormation calls for a resource of a stack it creates, updates, rolls back or deletes:
# read follows every create and update (drift and attribute reads), so it counts too.
HANDLERS = ("create", "read", "update", "delete")

# IAM service prefix of each `AWS::<Namespace>::` whose prefix is not the lowercased namespace,
# plus the prefixes a service's handlers call on its behalf (Backup vault storage, the CodePipeline
# source connection under both of its names).
NAMESPACE_PREFIXES: dict[str, set[str]] = {
    "Backup": {"backup", "backup-storage"},
    "CodePipeline": {"codepipeline", "codestar-connections", "codeconnections"},
    "CodeStarNotifications": {"codestar-notifications"},
    "EventSchemas": {"schemas"},
    "StepFunctions": {"states"},
}
# Prefixes in scope for every stack: roles are passed and created, keys granted, logs delivered.
ALWAYS_IN_SCOPE = {"iam", "kms", "logs"}

# Types with no registry handlers (CloudFormation's legacy providers): what they call, from the
# service's API reference. A new handler-less or Custom:: type fails until it is listed here.
NOT_IN_REGISTRY: dict[str, set[str]] = {
    # https://docs.aws.amazon.com/codebuild/latest/userguide/auth-and-access-control-permissions-reference.html
    "AWS::CodeBuild::Project": {
        "codebuild:BatchGetProjects",
        "codebuild:CreateProject",
        "codebuild:DeleteProject",
        "codebuild:UpdateProject",
        "iam:PassRole",
    },
}
NOT_DEPLOYED = {"AWS::CDK::Metadata"}  # CloudFormation records it; nothing is called
# Registry entries that are not IAM actions (an S3 server access log operation name).
NOT_IAM_ACTIONS = {"s3:REST.PUT.OBJECT"}


@dataclass(frozen=True)
class UnusedFeature:
    """Handler actions only a property the templates never set makes CloudFormation call."""

    type: str
    properties: tuple[str, ...]
    actions: tuple[str, ...]
    why: str


UNUSED_FEATURES = (
    UnusedFeature(
        "AWS::DynamoDB::Table",
        ("ImportSourceSpecification",),
        (
            "dynamodb:ImportTable", "dynamodb:BatchWriteItem", "dynamodb:DeleteItem",
            "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan",
            "dynamodb:UpdateItem", "logs:CreateLogStream", "logs:DescribeLogStreams",
            "logs:PutLogEvents", "s3:GetObjectMetadata",
        ),
        "creating a table by importing items from S3 (ImportTable reads the objects, writes the "
        "items and logs the import): item-level access the execution role should not hold",
    ),
    UnusedFeature(
        "AWS::IAM::Policy",
        ("Users", "Groups"),
        ("iam:*UserPolicy", "iam:*GroupPolicy"),
        "inline policies of IAM users and groups: the stacks attach policies to roles only, and "
        "the execution policies deny user and group policies on purpose",
    ),
)  # fmt: skip

# The actions issue 14 found missing on the first deployment: a regression names them.
NAMED_ACTIONS = [
    ("workload", "apigateway:SetWebACL"),  # WAFv2 WebACLAssociation on a REST API stage
    ("workload", "codedeploy:CreateDeployment"),  # Lambda alias under CodeDeployLambdaAliasUpdate
    ("workload", "codedeploy:GetDeployment"),
    ("workload", "codedeploy:StopDeployment"),
    ("workload", "kms:RetireGrant"),  # Backup vault encrypted with a CMK
    ("workload", "iam:ListAttachedRolePolicies"),  # deleting a role
    ("workload", "iam:ListRolePolicies"),
    ("workload", "iam:DetachRolePolicy"),
    ("toolchain", "iam:ListAttachedRolePolicies"),
    ("toolchain", "iam:ListRolePolicies"),
    ("toolchain", "iam:DetachRolePolicy"),
    ("toolchain", "codepipeline:StartPipelineExecution"),  # self-mutation updates the pipeline
    ("toolchain", "sns:SetSubscriptionAttributes"),
]
# IAM quota, whitespace not counted: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
MANAGED_POLICY_MAX_CHARS = 6144
MANAGED_POLICIES_PER_ROLE = 10  # default quota of managed policies attached to one role


def documents(kind: str) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in POLICIES[kind]]


def _listed(statement: dict[str, Any], key: str) -> list[str]:
    value = statement.get(key, [])
    return value if isinstance(value, list) else [value]


def _matches(statement: dict[str, Any], action: str) -> bool:
    """Whether the statement's Action (or NotAction) covers the action; IAM ignores case."""
    if "NotAction" in statement:
        patterns, negated = _listed(statement, "NotAction"), True
    else:
        patterns, negated = _listed(statement, "Action"), False
    hit = any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns)
    return hit != negated


def allowed(policies: list[dict[str, Any]], action: str) -> bool:
    """Allowed on some resource by one of the policies, and not denied on every resource."""
    statements = [s for policy in policies for s in policy["Statement"]]
    denied = any(
        s["Effect"] == "Deny" and "*" in _listed(s, "Resource") and _matches(s, action)
        for s in statements
    )
    return not denied and any(s["Effect"] == "Allow" and _matches(s, action) for s in statements)


def kind_of(template: StackTemplate) -> str:
    """The Pipeline stack deploys under the toolchain policy, a Stage stack the workload one."""
    return "toolchain" if template.stack == "Pipeline" else "workload"


def prefixes_of(resource_type: str) -> set[str]:
    namespace = resource_type.split("::")[1]
    return NAMESPACE_PREFIXES.get(namespace, {namespace.lower()})


@cache
def registry_actions(region: str, resource_type: str) -> frozenset[str] | None:
    """The handlers' IAM actions, or None for a type without registry handlers."""
    providers = json.loads((SCHEMAS / "providers" / f"{region}.json").read_text())
    if resource_type not in providers:
        return None
    schema = json.loads((SCHEMAS / "resources" / f"{providers[resource_type]}.json").read_text())
    handlers = schema.get("handlers", {})
    if not handlers:
        return None
    return frozenset(a for h in HANDLERS for a in handlers.get(h, {}).get("permissions", []))


@dataclass
class Required:
    """What one execution policy must allow, and why each action is needed."""

    prefixes: set[str]
    actions: dict[str, set[str]]  # action -> resource types whose handlers call it
    unlisted: set[str]  # types with neither registry handlers nor a NOT_IN_REGISTRY entry


def required(outdir: Path) -> dict[str, Required]:
    """Per policy kind: the in-scope handler actions of every type in its stacks' templates.

    In scope: the IAM prefixes of the resource types present (NAMESPACE_PREFIXES), plus iam,
    kms and logs. A handler's list covers every kind of target it can act on (the WAFv2
    association lists App Runner, Cognito, AppSync, EC2...): actions of services the stacks do
    not use are left out. UNUSED_FEATURES drops actions gated by properties no resource sets.
    """
    by_kind: dict[str, list[StackTemplate]] = defaultdict(list)
    for template in templates(outdir):
        by_kind[kind_of(template)].append(template)
    return {kind: _required_for(stacks) for kind, stacks in by_kind.items()}


def _required_for(stacks: list[StackTemplate]) -> Required:
    resources_by_type: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for template in stacks:
        for resource in template.body.get("Resources", {}).values():
            if resource["Type"] not in NOT_DEPLOYED:
                resources_by_type[(template.region, resource["Type"])].append(resource)
    prefixes = set(ALWAYS_IN_SCOPE)
    for _, resource_type in resources_by_type:
        prefixes |= prefixes_of(resource_type)
    result = Required(prefixes=prefixes, actions=defaultdict(set), unlisted=set())
    for (region, resource_type), found in resources_by_type.items():
        actions = registry_actions(region, resource_type)
        if actions is None:
            if resource_type not in NOT_IN_REGISTRY:
                result.unlisted.add(resource_type)
                continue
            actions = frozenset(NOT_IN_REGISTRY[resource_type])
        skipped = {
            pattern
            for feature in UNUSED_FEATURES
            if feature.type == resource_type
            and not any(p in r.get("Properties", {}) for r in found for p in feature.properties)
            for pattern in feature.actions
        }
        for action in actions - NOT_IAM_ACTIONS:
            in_scope = action.split(":")[0] in prefixes
            if in_scope and not any(fnmatch.fnmatchcase(action, p) for p in skipped):
                result.actions[action].add(resource_type)
    # CloudFormation resolves `{{resolve:ssm:...}}` with the execution role's own rights
    # ("Using dynamic references", CloudFormation user guide: ssm:GetParameters).
    if any("{{resolve:ssm:" in json.dumps(t.body) for t in stacks):
        result.prefixes.add("ssm")
        result.actions["ssm:GetParameters"].add("{{resolve:ssm}}")
    return result


@pytest.fixture(scope="module")
def handler_actions(synth: Synth) -> dict[str, Required]:
    return required(synth.outdir)


@pytest.mark.parametrize("kind", ["workload", "toolchain"])
def test_the_execution_policy_allows_every_handler_action_of_the_deployed_types(
    handler_actions: dict[str, Required], kind: str, record_property: Any
) -> None:
    needed = handler_actions[kind]
    assert needed.unlisted == set(), "no registry handlers: list the type in NOT_IN_REGISTRY"
    policies = documents(kind)
    missing = {
        action: sorted(types)
        for action, types in sorted(needed.actions.items())
        if not allowed(policies, action)
    }
    record_property("handler_actions_checked", len(needed.actions))
    print(f"{kind}: {len(needed.actions)} handler actions checked, {len(missing)} missing")
    assert len(needed.actions) > 100, "the registry lookup found (almost) nothing"
    assert missing == {}


@pytest.mark.parametrize(("kind", "action"), NAMED_ACTIONS)
def test_the_actions_the_first_deployment_lacked_are_allowed(kind: str, action: str) -> None:
    assert allowed(documents(kind), action), f"{kind} execution policy: {action} is not allowed"


@pytest.mark.parametrize("kind", ["workload", "toolchain"])
def test_the_execution_policy_allows_only_services_the_stacks_use(
    handler_actions: dict[str, Required], kind: str
) -> None:
    in_scope = handler_actions[kind].prefixes
    if kind == "toolchain":
        in_scope = in_scope | {"codebuild"}  # AWS::CodeBuild::Project (NOT_IN_REGISTRY)
    granted = {
        action.split(":")[0]
        for policy in documents(kind)
        for statement in policy["Statement"]
        if statement["Effect"] == "Allow"
        for action in _listed(statement, "Action")
    }
    assert granted - in_scope == set()


@pytest.mark.parametrize("kind", ["workload", "toolchain"])
def test_each_execution_policy_fits_a_managed_policy(kind: str) -> None:
    assert 1 <= len(POLICIES[kind]) < MANAGED_POLICIES_PER_ROLE
    for path in POLICIES[kind]:
        size = len(re.sub(r"\s", "", path.read_text()))
        print(f"{path.name}: {size} of {MANAGED_POLICY_MAX_CHARS} characters")
        assert size <= MANAGED_POLICY_MAX_CHARS, f"{path.name}: split it (bootstrap takes a list)"


@pytest.mark.parametrize("kind", ["workload", "toolchain"])
def test_the_execution_policy_is_not_administrator_access(kind: str) -> None:
    policies = documents(kind)
    for policy in policies:
        for statement in policy["Statement"]:
            if statement["Effect"] != "Allow":
                continue
            assert "NotAction" not in statement, statement["Sid"]
            actions = _listed(statement, "Action")
            assert all(a != "*" and not a.endswith(":*") for a in actions), statement["Sid"]
    for action in (
        "iam:CreateUser",
        "iam:CreateAccessKey",
        "iam:PutUserPolicy",
        "iam:PutGroupPolicy",
        "organizations:LeaveOrganization",
        "ec2:RunInstances",
        "dynamodb:Scan",
        "dynamodb:GetItem",
        "s3:PutObject",
    ):
        assert not allowed(policies, action), action


def test_allowed_evaluates_wildcards_case_and_not_action() -> None:
    policy = {
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetBucket*"], "Resource": "*"},
            {"Effect": "Allow", "NotAction": ["iam:*", "s3:*"], "Resource": "*"},
            {"Effect": "Deny", "Action": "sqs:DeleteQueue", "Resource": "*"},
            {"Effect": "Deny", "Action": "sns:DeleteTopic", "Resource": "arn:aws:sns:*:*:keep"},
        ]
    }
    assert allowed([policy], "s3:getbucketpolicy")
    assert not allowed([policy], "s3:PutBucketPolicy")
    assert not allowed([policy], "iam:CreateRole")
    assert allowed([policy], "sns:DeleteTopic")  # denied on one resource only
    assert not allowed([policy], "sqs:DeleteQueue")


def test_bootstrap_prints_the_commands_for_the_example_config(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out.splitlines()
    assert (
        "node_modules/.bin/cdk bootstrap aws://111111111111/eu-west-1 "
        "--cloudformation-execution-policies "
        "arn:aws:iam::111111111111:policy/MessagingPlatformCfnExecutionToolchain" in out
    )
    for account, name in (
        ("222222222222", "dev"),
        ("333333333333", "staging"),
        ("444444444444", "prod"),
    ):
        assert (
            f"node_modules/.bin/cdk bootstrap aws://{account}/eu-west-1 --trust 111111111111 "
            "--trust-for-lookup 111111111111 --cloudformation-execution-policies "
            f"arn:aws:iam::{account}:policy/MessagingPlatformCfnExecutionWorkload,"
            f"arn:aws:iam::{account}:policy/MessagingPlatformCfnExecutionWorkload2"
        ) in out
        assert f"# account {account} ({name}): credentials of" in out
    assert sum(line.startswith("aws iam create-policy ") for line in out) == 1 + 3 * 2
    assert sum("aws iam create-policy-version " in line for line in out) == 1 + 3 * 2
    assert not any(line.startswith("cdk ") for line in out), "never a bare, unpinned cdk"
    assert not any("AdministratorAccess" in line for line in out)


def test_without_node_modules_the_cli_is_npx_of_the_pinned_version(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text(
        json.dumps({"devDependencies": {"aws-cdk": "2.1148.1", "cdk-assets": "4.7.3"}})
    )
    assert cdk_cli(tmp_path) == ("npx", "--yes", "aws-cdk@2.1148.1")


def test_every_region_of_a_wave_is_bootstrapped_once_per_account() -> None:
    context = {
        **cdk_json_context(),
        "deployment.environments.prod.additional_regions": ["us-east-1"],
    }
    prod = next(p for p in plan(load_config(context)) if p.account == "444444444444")
    assert [(b.region, b.trust) for b in prod.bootstraps] == [
        ("eu-west-1", "111111111111"),
        ("us-east-1", "111111111111"),
    ]
    assert [p.name for p in prod.policies] == [
        "MessagingPlatformCfnExecutionWorkload",
        "MessagingPlatformCfnExecutionWorkload2",
    ]


def test_a_toolchain_account_that_also_hosts_a_stage_attaches_both_kinds() -> None:
    context = {
        **cdk_json_context(),
        "deployment.allow_toolchain_as_workload_account": True,
        "deployment.environments.dev.account": "111111111111",
        "deployment.environments.dev.region": "eu-central-1",
    }
    toolchain = next(p for p in plan(load_config(context)) if p.account == "111111111111")
    assert toolchain.roles == ["toolchain", "dev"]
    assert [p.kind for p in toolchain.policies] == ["toolchain", "workload", "workload"]
    home, dev = toolchain.bootstraps
    assert (home.region, home.trust, len(home.policy_arns)) == ("eu-west-1", None, 1)
    assert (dev.region, dev.trust, len(dev.policy_arns)) == ("eu-central-1", None, 2)


def test_bad_config_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    context = {**cdk_json_context(), "deployment.toolchain.account": "123"}
    assert main([], context=context) == 2
    assert capsys.readouterr().err.startswith("config error: toolchain.account: '123'")


def test_a_bad_profile_mapping_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--run", "--profile", "dev"]) == 2
    err = capsys.readouterr().err
    assert err == "bootstrap: --profile 'dev': expected ACCOUNT=PROFILE (12-digit account)\n"


POLICY = ManagedPolicy(
    "222222222222", "workload", "MessagingPlatformCfnExecutionWorkload", POLICIES["workload"][0]
)


def iam_stub() -> tuple[Any, Stubber]:
    iam = boto3.client(
        "iam", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    return iam, Stubber(iam)


def test_ensure_policy_creates_a_missing_policy() -> None:
    iam, stub = iam_stub()
    stub.add_response(
        "create_policy",
        {"Policy": {"PolicyName": POLICY.name, "Arn": POLICY.arn}},
        {
            "PolicyName": POLICY.name,
            "PolicyDocument": POLICY.path.read_text(),
            "Description": POLICY.description,
        },
    )
    with stub:
        assert ensure_policy(iam, POLICY) == f"created {POLICY.arn}"
    stub.assert_no_pending_responses()


def versions(count: int, default: int) -> list[dict[str, Any]]:
    from datetime import datetime

    return [
        {
            "VersionId": f"v{n}",
            "IsDefaultVersion": n == default,
            "CreateDate": datetime(2025, 1, n, tzinfo=UTC),
        }
        for n in range(1, count + 1)
    ]


def test_ensure_policy_leaves_an_identical_default_version_alone() -> None:
    iam, stub = iam_stub()
    stub.add_client_error("create_policy", service_error_code="EntityAlreadyExists")
    stub.add_response("list_policy_versions", {"Versions": versions(2, default=2)})
    stub.add_response(
        "get_policy_version",
        {"PolicyVersion": {"Document": POLICY.path.read_text(), "VersionId": "v2"}},
        {"PolicyArn": POLICY.arn, "VersionId": "v2"},
    )
    with stub:
        assert ensure_policy(iam, POLICY) == f"unchanged {POLICY.arn} (v2)"
    stub.assert_no_pending_responses()


def test_ensure_policy_adds_a_default_version_pruning_the_oldest_non_default_at_five() -> None:
    iam, stub = iam_stub()
    stub.add_client_error("create_policy", service_error_code="EntityAlreadyExists")
    stub.add_response("list_policy_versions", {"Versions": versions(5, default=1)})
    stub.add_response(
        "get_policy_version",
        {"PolicyVersion": {"Document": '{"Version":"2012-10-17","Statement":[]}'}},
    )
    stub.add_response(
        "delete_policy_version", {}, {"PolicyArn": POLICY.arn, "VersionId": "v2"}
    )  # v1 is the default: v2 is the oldest of the others
    stub.add_response(
        "create_policy_version",
        {"PolicyVersion": {"VersionId": "v6", "IsDefaultVersion": True}},
        {"PolicyArn": POLICY.arn, "PolicyDocument": POLICY.path.read_text(), "SetAsDefault": True},
    )
    with stub:
        message = ensure_policy(iam, POLICY)
    assert message == f"updated {POLICY.arn} to v6, deleted the oldest version v2"
    stub.assert_no_pending_responses()


class WrongAccount:
    """Credentials that belong to another account than the one asked for."""

    def client(self, account: str, service: str, region: str) -> Any:
        raise CredentialsError(f"account {account}: the credentials belong to account 999999999999")

    def environment(self, account: str) -> dict[str, str]:
        raise AssertionError("not reached")


def test_run_stops_at_an_account_whose_credentials_do_not_match(
    capsys: pytest.CaptureFixture[str],
) -> None:
    plans = plan(load_config(cdk_json_context()))
    assert apply(plans, WrongAccount(), ("cdk",), "eu-west-1") == 1  # type: ignore[arg-type]
    captured = capsys.readouterr()
    assert captured.err == (
        "bootstrap: stopped, account 111111111111: the credentials belong to account 999999999999\n"
    )


def test_run_applies_each_account_with_its_own_credentials(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ran: list[tuple[tuple[str, ...], str]] = []

    class Recorded:
        def client(self, account: str, service: str, region: str) -> Any:
            iam, stub = iam_stub()
            for _ in plan_by_account[account].policies:
                stub.add_response("create_policy", {"Policy": {}})
            stub.activate()
            return iam

        def environment(self, account: str) -> dict[str, str]:
            return {"AWS_PROFILE": f"p{account}"}

    def run(argv: tuple[str, ...], **kwargs: Any) -> Any:
        ran.append((argv, kwargs["env"]["AWS_PROFILE"]))
        return type("Done", (), {"returncode": 0})()

    plans = plan(load_config(cdk_json_context()))
    plan_by_account = {p.account: p for p in plans}
    monkeypatch.setattr("pipeline.bootstrap.subprocess.run", run)
    assert apply(plans, Recorded(), ("cdk",), "eu-west-1") == 0  # type: ignore[arg-type]
    assert [(argv[2], profile) for argv, profile in ran] == [
        ("aws://111111111111/eu-west-1", "p111111111111"),
        ("aws://222222222222/eu-west-1", "p222222222222"),
        ("aws://333333333333/eu-west-1", "p333333333333"),
        ("aws://444444444444/eu-west-1", "p444444444444"),
    ]
    assert capsys.readouterr().out.count("created arn:aws:iam::") == 7
