"""The self-mutating CDK pipeline in the toolchain account.

Source (CodeConnections, V2 push trigger on one branch) -> Build (the Makefile targets a
developer runs: tests, security scans, synth, reports) -> UpdatePipeline -> Assets -> one Stage
(or a wave of regions) per configured environment, in order, each verified after it deploys.
An environment that requires approval is preceded by a permissions-broadening check and a manual
approval whose review link opens this execution's security report and diff.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codestarnotifications as notifications
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import pipelines
from constructs import Construct

from config.deployment import DeploymentConfig, Environment
from pipeline import approvals, artifacts, broadening, build_cache
from pipeline.names import RELEASED_OBJECT, REVIEW_PREFIX
from pipeline.toolchain import CODEBUILD_RUNTIMES, ToolchainVersions
from pipeline.verify import outputs as verify_outputs
from stages.messaging_stage import MessagingStage

BUILD_COMMANDS = ["make test", "make synth", "make review"]
EXECUTION_ID = "#{codepipeline.PipelineExecutionId}"
# JUnit files the build step publishes to CodeBuild report groups (name -> base dir, file).
REPORTS = {
    "UnitTests": ("reports/junit", "pytest.xml"),
    "PolicyGate": ("cdk.out/reports", "report.junit.xml"),
}
# What each verification level runs after a deploy (one CodeBuild action).
VERIFY_COMMANDS = {
    "smoke": ["make verify SUITE=smoke"],
    "acceptance": ["make verify SUITE=acceptance", "make verify SUITE=load"],
}


def merge_specs(*specs: dict[str, Any]) -> dict[str, Any]:
    """Buildspec fragments merged as CDK merges partial build specs: maps key by key, lists
    appended."""
    merged: dict[str, Any] = {}
    for spec in specs:
        for key, value in spec.items():
            old = merged.get(key)
            if isinstance(old, dict) and isinstance(value, dict):
                merged[key] = merge_specs(old, value)
            elif isinstance(old, list) and isinstance(value, list):
                merged[key] = [*old, *value]
            else:
                merged[key] = value
    return merged


def defaults_spec() -> dict[str, Any]:
    """What every CodeBuild project's buildspec starts with: the runtimes (Node >= 22, not the
    image's default) and the download caches."""
    runtimes = {"phases": {"install": {"runtime-versions": dict(CODEBUILD_RUNTIMES)}}}
    return merge_specs(runtimes, build_cache.build_spec())


@jsii.implements(cdk.IStableStringProducer)
class _ArtifactBucketName:
    """Produces the artifact bucket's name at synth time, after the pipeline is built."""

    def __init__(self, stack: PipelineStack) -> None:
        self._stack = stack

    def produce(self) -> str:
        return self._stack.pipeline.pipeline.artifact_bucket.bucket_name


def verifier_role_name(pipeline_stack_name: str, stage_id: str) -> str:
    """The role the Stage's post-deploy verification step runs as (Pipeline-Verify<Stage>)."""
    return f"{pipeline_stack_name}-Verify{stage_id}"


def verifier_role_arn(partition: str, account: str, pipeline_stack_name: str, stage_id: str) -> str:
    """Its ARN in the toolchain account: the Stage's VerificationRole trusts exactly this one."""
    return (
        f"arn:{partition}:iam::{account}:role/{verifier_role_name(pipeline_stack_name, stage_id)}"
    )


class PipelineStack(cdk.Stack):
    """Hosts `pipeline` (CDK Pipelines), `stages`, the approval and notification topics and the
    `approver_role` that alone is meant to answer approvals."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        versions: ToolchainVersions,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=cdk.Environment(account=config.toolchain.account, region=config.toolchain.region),
            description="Self-mutating delivery pipeline of the messaging platform",
            termination_protection=True,
        )
        self.config = config
        self.versions = versions
        source = pipelines.CodePipelineSource.connection(
            config.source.repository,
            config.source.branch,
            connection_arn=config.source.connection_arn,
            # The V2 trigger below owns "when to run"; the action's own trigger would add a
            # second, unfiltered one.
            trigger_on_push=False,
        )
        self.source = source
        self._notification_key()
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            pipeline_type=codepipeline.PipelineType.V2,
            cross_account_keys=True,
            enable_key_rotation=True,
            self_mutation=True,
            cli_version=versions.cdk_cli,
            cdk_assets_cli_version=versions.cdk_assets,
            publish_assets_in_parallel=False,
            docker_enabled_for_synth=False,
            code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(
                    build_image=codebuild.LinuxBuildImage.STANDARD_7_0,
                    compute_type=codebuild.ComputeType.MEDIUM,
                ),
                timeout=cdk.Duration.minutes(60),
                partial_build_spec=codebuild.BuildSpec.from_object(defaults_spec()),
            ),
            synth=self._build_step(source),
        )

        self.stages: list[MessagingStage] = []
        self._release_steps: list[pipelines.CodeBuildStep] = []
        for env in config.environments:
            self._add_environment(env)

        self.pipeline.build_pipeline()
        self._grant_release()
        self._pin_broadening_check(versions)
        built = self.pipeline.pipeline
        self.cache_digest = build_cache.lock_digest()
        build_cache.attach(
            self,
            built,
            [c for c in self.pipeline.node.find_all() if isinstance(c, codebuild.Project)],
            self.cache_digest,
        )
        for key, value in (
            ("Environment", "toolchain"),
            ("Service", "delivery-pipeline"),
            ("Owner", config.ownership.owner),
            ("CostCentre", config.ownership.cost_centre),
        ):
            cdk.Tags.of(self).add(key, value)
        self._add_push_trigger(config.source.branch)
        self._grant_connection(config.source.connection_arn)
        self.access_logs = artifacts.log_access(self, built)
        artifacts.retain_key(built)
        artifacts.expire(built, config.artifact_retention_days)
        build_cache.expire(built)
        self._notify()
        self.approver_role = approvals.approver_role(self, config=config, built=built)
        cdk.CfnOutput(self, "PipelineName", value=self.pipeline.pipeline.pipeline_name)
        cdk.CfnOutput(self, "ApproverRoleArn", value=self.approver_role.role_arn)

    # -- build ------------------------------------------------------------------------------

    def _artifact_bucket_name(self) -> str:
        # The artifact bucket exists only once build_pipeline() ran; resolve it lazily.
        return cdk.Lazy.string(_ArtifactBucketName(self))

    def _build_step(self, source: pipelines.CodePipelineSource) -> pipelines.CodeBuildStep:
        reports = {
            name: {"files": [file], "base-directory": base, "file-format": "JUNITXML"}
            for name, (base, file) in REPORTS.items()
        }
        return pipelines.CodeBuildStep(
            "Build",
            input=source,
            commands=BUILD_COMMANDS,
            primary_output_directory="cdk.out",
            env={
                "REVIEW_BUCKET": self._artifact_bucket_name(),
                "REVIEW_PREFIX": REVIEW_PREFIX,
                "EXECUTION_ID": EXECUTION_ID,
            },
            partial_build_spec=codebuild.BuildSpec.from_object({"reports": reports}),
        )

    # -- environments -----------------------------------------------------------------------

    def _add_environment(self, env: Environment) -> None:
        stages = [
            MessagingStage(
                self,
                env.stage_id_for(region),
                environment=env,
                ownership=self.config.ownership,
                toolchain_account=self.config.toolchain.account,
                verifier_role_arn=self._verifier_role_arn(env.stage_id_for(region)),
                powertools_version=self.versions.powertools,
                region=region,
            )
            for region in env.regions
        ]
        pre: list[pipelines.Step] = []
        if env.requires_approval:
            pre += [
                pipelines.ConfirmPermissionsBroadening(
                    f"Broadening{stage.node.id}", stage=stage, notification_topic=self.approvals
                )
                for stage in stages
            ]
            approval = pipelines.ManualApprovalStep(
                f"Promote{env.stage_id}",
                comment=(
                    f"Promote this release to {env.name} "
                    f"({env.account}: {', '.join(env.regions)})? Read the security report "
                    "and the diff against the last release first."
                ),
                review_url=self._review_url(),
                notification_topic=self.approvals,
            )
            for check in pre:
                approval.add_step_dependency(check)
            pre.append(approval)
        wave = self.pipeline.add_wave(env.stage_id, pre=pre)
        for stage in stages:
            post = self._verification(env, stage)
            wave.add_stage(stage, post=[post] if post else [])
            self.stages.append(stage)

    def _review_url(self) -> str:
        return cdk.Fn.join(
            "",
            [
                "https://",
                self.region,
                ".console.aws.amazon.com/s3/object/",
                self._artifact_bucket_name(),
                f"?region={self.region}&prefix={REVIEW_PREFIX}/{EXECUTION_ID}/index.html",
            ],
        )

    def _verifier_role_name(self, stage_id: str) -> str:
        """Named up front: the Stage's verification role trusts exactly this role's ARN."""
        return verifier_role_name(self.stack_name, stage_id)

    def _verifier_role_arn(self, stage_id: str) -> str:
        return verifier_role_arn(
            self.partition, self.config.toolchain.account, self.stack_name, stage_id
        )

    def _verification(self, env: Environment, stage: MessagingStage) -> pipelines.Step | None:
        level = env.settings.delivery.verification
        if level == "none":
            return None
        delivery = env.settings.delivery
        commands = list(VERIFY_COMMANDS[level])
        if env.requires_approval:
            commands.append("make released")  # the base the next release's diff compares with
        role = iam.Role(
            self,
            f"Verify{stage.node.id}Role",
            role_name=self._verifier_role_name(stage.node.id),
            assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com"),
            description=f"Post-deploy verification of {stage.node.id}",
        )
        step = pipelines.CodeBuildStep(
            f"Verify{stage.node.id}",
            input=self.source,
            commands=commands,
            role=role,
            env={
                "VERIFY_TIMEOUT_SECONDS": str(delivery.verification_timeout_seconds),
                "LOAD_MESSAGES": str(delivery.load_messages),
                "LOAD_RATE": str(delivery.load_rate_per_second),
                "REVIEW_BUCKET": self._artifact_bucket_name(),
                "REVIEW_PREFIX": REVIEW_PREFIX,
                "EXECUTION_ID": EXECUTION_ID,
                # The driver reads the Stage's outputs from its stack as the verification role:
                # passed as pipeline variables, 4 providers' outputs already exceeded the
                # 1,000 characters CodePipeline allows an action configuration value.
                verify_outputs.STACK: stage.messaging.stack_name,
                verify_outputs.REGION: stage.messaging.region,
                verify_outputs.ROLE: stage.messaging.verification.role.role_arn,
            },
            role_policy_statements=[
                iam.PolicyStatement(
                    actions=["sts:AssumeRole"],
                    resources=[stage.messaging.verification.role.role_arn],
                )
            ],
        )
        if env.requires_approval:
            self._release_steps.append(step)
        return step

    def _pin_broadening_check(self, versions: ToolchainVersions) -> None:
        """Replace the generated check's build spec (see pipeline/broadening.py)."""
        check = self.pipeline.node.try_find_child("PipelinesSecurityCheck")
        if check is None:  # no environment requires approval
            return
        project = check.node.find_child("CDKSecurityCheck").node.default_child
        approve = check.node.find_child("CDKPipelinesAutoApprove")
        assert isinstance(project, codebuild.CfnProject)
        assert isinstance(approve, lambda_.Function)
        spec = merge_specs(defaults_spec(), broadening.build_spec(versions, approve.function_name))
        project.add_property_override(
            "Source.BuildSpec", codebuild.BuildSpec.from_object(spec).to_build_spec(self)
        )

    def _grant_release(self) -> None:
        """`make released` copies this execution's synth output to the released prefix: the
        steps that run it write there (and encrypt with the artifact key), and nowhere else."""
        bucket = self.pipeline.pipeline.artifact_bucket
        key = bucket.encryption_key
        assert key is not None  # cross_account_keys=True
        for step in self._release_steps:
            step.project.add_to_role_policy(
                iam.PolicyStatement(
                    sid="ReleaseReviewBase",
                    actions=["s3:PutObject"],
                    resources=[bucket.arn_for_objects(f"{REVIEW_PREFIX}/{RELEASED_OBJECT}")],
                )
            )
            step.project.add_to_role_policy(
                iam.PolicyStatement(
                    sid="EncryptReviewBase",
                    actions=["kms:GenerateDataKey", "kms:Encrypt"],
                    resources=[key.key_arn],
                    conditions={
                        "StringEquals": {"kms:ViaService": f"s3.{self.region}.amazonaws.com"}
                    },
                )
            )

    # -- approvals and notifications ---------------------------------------------------------

    def _notification_key(self) -> None:
        self.notification_key = kms.Key(
            self,
            "NotificationKey",
            enable_key_rotation=True,
            description="Encrypts the pipeline's approval and notification topics",
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        for service in ("codestar-notifications.amazonaws.com", "codepipeline.amazonaws.com"):
            self.notification_key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=f"Publish{service.split('.')[0].title().replace('-', '')}",
                    principals=[iam.ServicePrincipal(service)],
                    actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                    resources=["*"],
                    conditions={"StringEquals": {"aws:SourceAccount": self.account}},
                )
            )
        self.approvals = self._topic("ApprovalTopic", self.config.approvals.notify)
        self.events_topic = self._topic("PipelineEventsTopic", self.config.notifications.emails)

    def _topic(self, construct_id: str, emails: list[str]) -> sns.Topic:
        topic = sns.Topic(self, construct_id, master_key=self.notification_key, enforce_ssl=True)
        for email in emails:
            topic.add_subscription(subscriptions.EmailSubscription(email))
        return topic

    def _notify(self) -> None:
        built = self.pipeline.pipeline
        built.notify_on(
            "Notifications",
            self.events_topic,
            events=[
                codepipeline.PipelineNotificationEvents.PIPELINE_EXECUTION_FAILED,
                codepipeline.PipelineNotificationEvents.MANUAL_APPROVAL_NEEDED,
                codepipeline.PipelineNotificationEvents.MANUAL_APPROVAL_SUCCEEDED,
                codepipeline.PipelineNotificationEvents.MANUAL_APPROVAL_FAILED,
            ],
            detail_type=notifications.DetailType.FULL,
        )
        # CodePipeline publishes approval requests as its own role.
        self.notification_key.grant_encrypt_decrypt(built.role)

    # -- toolchain hygiene -------------------------------------------------------------------

    def _add_push_trigger(self, branch: str) -> None:
        built = self.pipeline.pipeline
        source_action = built.stages[0].actions[0]
        built.add_trigger(
            provider_type=codepipeline.ProviderType.CODE_STAR_SOURCE_CONNECTION,
            git_configuration=codepipeline.GitConfiguration(
                source_action=source_action,
                push_filter=[codepipeline.GitPushFilter(branches_includes=[branch])],
            ),
        )

    def _grant_connection(self, connection_arn: str) -> None:
        """IAM matches the action's prefix to the connection ARN's: a connection created since
        the CodeConnections rename (arn:aws:codeconnections:...) needs codeconnections:
        UseConnection, while CDK grants only codestar-connections:UseConnection."""
        if ":codeconnections:" not in connection_arn:
            return
        source_stage = self.pipeline.pipeline.node.find_child("Source")
        (role,) = [c for c in source_stage.node.find_all() if isinstance(c, iam.Role)]
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["codeconnections:UseConnection"], resources=[connection_arn]
            )
        )
