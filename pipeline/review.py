"""Store this execution's security report where the prod approval's review link points.

`publish`: in the pipeline's build step, compare this synth output with the last released one
(`<prefix>/released/cdk.out.tar.gz`), write the reports with the diff, and upload them to
`<prefix>/<execution id>/` with the synth output itself. `release`: after prod is verified, mark
this execution's synth output as the base of the next diff. Outside the pipeline (no
REVIEW_BUCKET) both say so and succeed, so `make review` is harmless on a laptop.

The approver opens the review from the S3 console, which shows an object through a presigned URL
valid for that one key: a relative link from it (`diff.html`) would load unsigned and be refused.
So the published pages link to each other through the console's object pages (`console_url`).
"""

from __future__ import annotations

import argparse
import io
import json
import mimetypes
import os
import posixpath
import re
import shutil
import sys
import tarfile
import tempfile
import urllib.parse
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from pipeline.names import RELEASED_OBJECT, SYNTH_OBJECT
from policies.report.__main__ import write

# Enough of a synth output to diff against: manifests, templates, the validation report, the
# scanners' results and the provenance (so the next diff names this release, not a folder).
KEEP = (
    "manifest.json",
    ".template.json",
    "validation-report.json",
    "results.json",
    "provenance.json",
)
# Links in the published pages: HTML attributes and Markdown link targets.
_HTML_LINK = re.compile(r'(href=")([^"]*)(")')
_MARKDOWN_LINK = re.compile(r"(\]\()([^)\s]*)(\))")
_ABSOLUTE = re.compile(r"^(#|[a-z][a-z0-9+.-]*:|/)", re.IGNORECASE)


def console_url(region: str, bucket: str, key: str) -> str:
    """The S3 console's page of one object (its Open button shows it), region in the host and
    the query; `key` must already be URL-safe (or a CodePipeline variable)."""
    return (
        f"https://{region}.console.aws.amazon.com/s3/object/{bucket}?region={region}&prefix={key}"
    )


def console_links(text: str, key: str, region: str, bucket: str) -> str:
    """`text` (the object at `key`) with each relative link turned into the console page of the
    object it names; in-page anchors and absolute URLs stay as they are."""
    folder = posixpath.dirname(key)

    def absolute(match: re.Match[str]) -> str:
        target = match.group(2)
        if not target or _ABSOLUTE.match(target):
            return match.group(0)
        path = target.split("#", 1)[0].split("?", 1)[0]
        resolved = posixpath.normpath(posixpath.join(folder, urllib.parse.unquote(path)))
        url = console_url(region, bucket, urllib.parse.quote(resolved, safe="/"))
        return f"{match.group(1)}{url}{match.group(3)}"

    return _MARKDOWN_LINK.sub(absolute, _HTML_LINK.sub(absolute, text))


def _keep(member: tarfile.TarInfo) -> bool:
    return member.isdir() or member.name.endswith(KEEP)


def pack(cdk_out: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in sorted(cdk_out.rglob("*")):
            relative = path.relative_to(cdk_out)
            if path.is_file() and path.name.endswith(KEEP) and "asset." not in str(relative):
                archive.add(path, arcname=str(relative))
    return buffer.getvalue()


def unpack(data: bytes, target: Path) -> None:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        archive.extractall(
            target, members=[m for m in archive.getmembers() if _keep(m)], filter="data"
        )


def publish(s3: Any, bucket: str, prefix: str, execution: str, cdk_out: Path, results: Path) -> str:
    with tempfile.TemporaryDirectory() as scratch:
        base: Path | None = Path(scratch) / "released"
        try:
            released = s3.get_object(Bucket=bucket, Key=f"{prefix}/{RELEASED_OBJECT}")
            unpack(released["Body"].read(), base)  # type: ignore[arg-type]
        except ClientError as err:
            if err.response["Error"]["Code"] not in ("NoSuchKey", "404"):
                raise
            base = None  # the first release has nothing to compare with
        reports = cdk_out / "reports"
        write(cdk_out, reports, base)
    for folder in ("security", "junit"):
        if (results / folder).is_dir():
            shutil.copytree(results / folder, reports / folder, dirs_exist_ok=True)
    destination = f"{prefix}/{execution}"
    region = s3.meta.region_name
    for path in sorted(reports.rglob("*")):
        if path.is_file():
            key = f"{destination}/{path.relative_to(reports).as_posix()}"
            body = path.read_bytes()
            if path.suffix in (".html", ".md"):
                body = console_links(body.decode(), key, region, bucket).encode()
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
    s3.put_object(Bucket=bucket, Key=f"{destination}/{SYNTH_OBJECT}", Body=pack(cdk_out))
    return destination


def _incomplete(reports: Path) -> list[str]:
    """The stacks whose CLI security diff failed (none without a base release)."""
    diff = reports / "diff.json"
    if not diff.is_file():
        return []
    return [str(stack) for stack in json.loads(diff.read_text()).get("incomplete", [])]


def release(s3: Any, bucket: str, prefix: str, execution: str) -> None:
    s3.copy_object(
        Bucket=bucket,
        Key=f"{prefix}/{RELEASED_OBJECT}",
        CopySource={"Bucket": bucket, "Key": f"{prefix}/{execution}/{SYNTH_OBJECT}"},
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["publish", "release"])
    parser.add_argument("--cdk-out", type=Path, default=Path("cdk.out"))
    parser.add_argument("--results", type=Path, default=Path("reports"))
    args = parser.parse_args(argv)
    bucket = os.environ.get("REVIEW_BUCKET", "")
    prefix = os.environ.get("REVIEW_PREFIX", "reviews")
    execution = os.environ.get("EXECUTION_ID", "")
    if not bucket or not execution:
        print(f"review: not in a pipeline run (no REVIEW_BUCKET/EXECUTION_ID); no {args.action}")
        return 0
    s3 = boto3.client("s3")
    try:
        if args.action == "publish":
            where = publish(s3, bucket, prefix, execution, args.cdk_out, args.results)
            print(f"review: s3://{bucket}/{where}/index.html")
            incomplete = _incomplete(args.cdk_out / "reports")
            if incomplete:  # published, so the reviewer sees it; but nothing ships unreviewed
                print(
                    "review: cdk diff --security-only failed for "
                    f"{', '.join(incomplete)}: the security diff is incomplete",
                    file=sys.stderr,
                )
                return 1
        else:
            release(s3, bucket, prefix, execution)
            print(f"review: execution {execution} is the base of the next release's diff")
    except (ClientError, BotoCoreError) as err:
        print(f"review: {args.action} failed: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
