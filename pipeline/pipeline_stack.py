"""The self-mutating CDK pipeline in the toolchain account.

Source (CodeConnections, V2 push trigger on one branch) -> Build (the Makefile targets a
developer runs) -> UpdatePipeline -> Assets -> one Stage per configured environment, in order,
with a manual approval before every environment that requires one.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_s3 as s3
from aws_cdk import pipelines
from constructs import Construct

from pipeline.config import DeploymentConfig
from pipeline.toolchain import ToolchainVersions
from stages.messaging_stage import MessagingStage

BUILD_COMMANDS = ["make test", "make synth"]


class PipelineStack(cdk.Stack):
    """Hosts `pipeline` (the CDK Pipelines construct) and `stages` (one per environment)."""

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
        source = pipelines.CodePipelineSource.connection(
            config.source.repository,
            config.source.branch,
            connection_arn=config.source.connection_arn,
            # The V2 trigger below owns "when to run"; the action's own trigger would add a
            # second, unfiltered one.
            trigger_on_push=False,
        )
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
            ),
            synth=pipelines.CodeBuildStep(
                "Build",
                input=source,
                commands=BUILD_COMMANDS,
                primary_output_directory="cdk.out",
            ),
        )

        self.stages: list[MessagingStage] = []
        for env in config.environments:
            stage = MessagingStage(self, env.stage_id, environment=env, ownership=config.ownership)
            pre: list[pipelines.Step] = []
            if env.requires_approval:
                pre.append(
                    pipelines.ManualApprovalStep(
                        f"Promote{env.stage_id}",
                        comment=f"Promote this release to {env.name} ({env.account}/{env.region})?",
                    )
                )
            self.pipeline.add_stage(stage, pre=pre)
            self.stages.append(stage)

        self.pipeline.build_pipeline()
        for key, value in (
            ("Environment", "toolchain"),
            ("Service", "delivery-pipeline"),
            ("Owner", config.ownership.owner),
            ("CostCentre", config.ownership.cost_centre),
        ):
            cdk.Tags.of(self).add(key, value)
        self._add_push_trigger(config.source.branch)
        self._log_artifact_access()
        self._retain_artifact_key()

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

    def _retain_artifact_key(self) -> None:
        """CDK Pipelines creates the artifact key with DESTROY; retained artifacts need it."""
        key = self.pipeline.pipeline.artifact_bucket.encryption_key
        assert key is not None  # cross_account_keys=True
        key.apply_removal_policy(cdk.RemovalPolicy.RETAIN)

    def _log_artifact_access(self) -> None:
        """Server access logs for the artifact bucket CDK Pipelines creates for us."""
        self.access_logs = s3.Bucket(
            self,
            "ArtifactAccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,  # log delivery cannot write to SSE-KMS
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(365))],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        artifact_bucket = self.pipeline.pipeline.artifact_bucket.node.default_child
        assert isinstance(artifact_bucket, s3.CfnBucket)
        artifact_bucket.logging_configuration = s3.CfnBucket.LoggingConfigurationProperty(
            destination_bucket_name=self.access_logs.bucket_name,
            log_file_prefix="artifacts/",
        )
        self.access_logs.add_to_resource_policy(
            cdk.aws_iam.PolicyStatement(
                sid="S3ServerAccessLogsPolicy",
                principals=[cdk.aws_iam.ServicePrincipal("logging.s3.amazonaws.com")],
                actions=["s3:PutObject"],
                resources=[self.access_logs.arn_for_objects("artifacts/*")],
                conditions={"StringEquals": {"aws:SourceAccount": self.account}},
            )
        )
