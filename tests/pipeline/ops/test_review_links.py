"""The approval's review link and every link inside the published review open from the AWS
console: absolute console URLs with the region, no relative link left.

Why relative links break: the S3 console opens an object through a presigned URL, whose
signature covers that one object (https://docs.aws.amazon.com/AmazonS3/latest/userguide/
using-presigned-url.html); `diff.html` next to it would be requested unsigned from a private,
KMS-encrypted bucket and refused.
"""

from __future__ import annotations

import io
import re
import shutil
import urllib.parse
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from pipeline.names import RELEASED_OBJECT, REVIEW_PREFIX
from pipeline.review import console_links, console_url, pack, publish
from tests.support.synth import Synth

BUCKET = "pipeline-artifactsbucket-1abc"
REGION = "eu-west-1"
EXECUTION = "0f0e2c1a-1111-2222-3333-444455556666"


class FakeS3:
    """Just what publish() calls: the released synth output (or none), and the uploads."""

    def __init__(self, released: bytes | None) -> None:
        self.meta = SimpleNamespace(region_name=REGION)
        self.released = released
        self.objects: dict[str, bytes] = {}

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        assert (Bucket, Key) == (BUCKET, f"{REVIEW_PREFIX}/{RELEASED_OBJECT}")
        if self.released is None:
            raise ClientError({"Error": {"Code": "NoSuchKey"}}, "GetObject")
        return {"Body": io.BytesIO(self.released)}

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, **_: Any) -> None:
        assert Bucket == BUCKET
        self.objects[Key] = Body


@pytest.fixture(scope="module")
def published(synth: Synth, tmp_path_factory: pytest.TempPathFactory) -> FakeS3:
    """The session synth's review, published against itself as the released base (so the
    pages link to a diff too)."""
    cdk_out = tmp_path_factory.mktemp("review") / "cdk.out"
    shutil.copytree(synth.outdir, cdk_out, ignore=shutil.ignore_patterns("asset.*", "reports"))
    s3 = FakeS3(released=pack(cdk_out))
    publish(s3, BUCKET, REVIEW_PREFIX, EXECUTION, cdk_out, cdk_out / "no-results")
    return s3


def _links(key: str, body: bytes) -> list[str]:
    text = body.decode()
    if key.endswith(".html"):
        return re.findall(r'href="([^"]*)"', text)
    return re.findall(r"\]\(([^)\s]*)\)", text)


def test_the_approval_link_is_the_console_page_of_the_published_index(
    synth: Synth, published: FakeS3
) -> None:
    pipeline = next(
        r["Properties"]
        for r in synth.template().to_json()["Resources"].values()
        if r["Type"] == "AWS::CodePipeline::Pipeline"
    )
    (promote,) = [
        a for s in pipeline["Stages"] for a in s["Actions"] if a["Name"].startswith("Promote")
    ]
    parts = promote["Configuration"]["ExternalEntityLink"]["Fn::Join"][1]
    assert parts[1] == {"Ref": next(iter(parts[1].values()))}  # the artifact bucket
    assert "ArtifactsBucket" in parts[1]["Ref"]
    link = "".join(str(p) if isinstance(p, str) else BUCKET for p in parts)
    region = synth.config.toolchain.region
    # CodePipeline substitutes #{codepipeline.PipelineExecutionId} when the action runs
    # (https://docs.aws.amazon.com/codepipeline/latest/userguide/reference-variables.html).
    index = f"{REVIEW_PREFIX}/#{{codepipeline.PipelineExecutionId}}/index.html"
    assert link == console_url(region, BUCKET, index)
    url = urllib.parse.urlsplit(link.replace("#{codepipeline.PipelineExecutionId}", EXECUTION))
    assert url.netloc == f"{region}.console.aws.amazon.com"
    assert url.path == f"/s3/object/{BUCKET}"
    query = urllib.parse.parse_qs(url.query)
    assert query["region"] == [region]
    # ...naming an object the build step really uploads.
    assert query["prefix"] == [f"{REVIEW_PREFIX}/{EXECUTION}/index.html"]
    assert query["prefix"][0] in published.objects


def test_every_link_in_the_published_review_opens_a_published_object_from_the_console(
    published: FakeS3,
) -> None:
    pages = {k: v for k, v in published.objects.items() if k.endswith((".html", ".md"))}
    assert f"{REVIEW_PREFIX}/{EXECUTION}/diff.html" in pages
    checked = 0
    for key, body in pages.items():
        for link in _links(key, body):
            if link.startswith("#"):
                continue  # an anchor in the same page: the presigned URL keeps working
            url = urllib.parse.urlsplit(link)
            assert url.scheme == "https", (key, link)
            if url.netloc != f"{REGION}.console.aws.amazon.com":
                continue  # links to documentation elsewhere
            query = urllib.parse.parse_qs(url.query)
            assert url.path == f"/s3/object/{BUCKET}", (key, link)
            assert query["region"] == [REGION], (key, link)
            assert query["prefix"][0] in published.objects, (key, link)
            checked += 1
    # The index and the summary link to the diff (and the index to each unit's page).
    assert checked >= 2


def test_relative_links_become_console_links_and_anchors_stay() -> None:
    key = "reviews/exec-1/index.html"
    page = (
        '<a href="#units">Units</a><a href="prod.html#iam">Prod</a><a href="https://x.org/">x</a>'
    )
    out = console_links(page, key, REGION, BUCKET)
    assert out == (
        '<a href="#units">Units</a>'
        f'<a href="{console_url(REGION, BUCKET, "reviews/exec-1/prod.html")}">Prod</a>'
        '<a href="https://x.org/">x</a>'
    )
    markdown = "Changes since the base release: [diff](diff.md). See [IAM](#iam)."
    assert console_links(markdown, "reviews/exec-1/summary.md", REGION, BUCKET) == (
        "Changes since the base release: "
        f"[diff]({console_url(REGION, BUCKET, 'reviews/exec-1/diff.md')}). See [IAM](#iam)."
    )
    # A link out of a subfolder resolves like a browser would, and names are URL-encoded.
    nested = console_links('<a href="../unit page.html">', "reviews/e/junit/x.html", REGION, BUCKET)
    assert nested == f'<a href="{console_url(REGION, BUCKET, "reviews/e/unit%20page.html")}">'


def test_publish_writes_no_relative_link_even_without_a_base(synth: Synth, tmp_path: Path) -> None:
    cdk_out = tmp_path / "cdk.out"
    shutil.copytree(synth.outdir, cdk_out, ignore=shutil.ignore_patterns("asset.*", "reports"))
    s3 = FakeS3(released=None)
    publish(s3, BUCKET, REVIEW_PREFIX, EXECUTION, cdk_out, tmp_path / "none")
    assert f"{REVIEW_PREFIX}/{EXECUTION}/diff.html" not in s3.objects
    for key, body in s3.objects.items():
        if key.endswith((".html", ".md")):
            relative = [
                link for link in _links(key, body) if not link.startswith(("#", "https://"))
            ]
            assert relative == [], key
