"""`make review` fails the build when the CLI's security diff failed for a stack: the review is
still published (the reviewer sees what is missing), but nothing ships on an incomplete diff."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline import review


@pytest.mark.parametrize(("incomplete", "code"), [([], 0), (["Prod/Messaging"], 1)])
def test_publish_fails_when_the_security_diff_is_incomplete(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    incomplete: list[str],
    code: int,
) -> None:
    published: list[str] = []

    def publish(s3: Any, bucket: str, prefix: str, execution: str, cdk_out: Path, _: Path) -> str:
        (cdk_out / "reports").mkdir(parents=True)
        (cdk_out / "reports" / "diff.json").write_text(json.dumps({"incomplete": incomplete}))
        published.append(execution)
        return f"{prefix}/{execution}"

    monkeypatch.setattr(review, "publish", publish)
    monkeypatch.setenv("REVIEW_BUCKET", "artifacts")
    monkeypatch.setenv("EXECUTION_ID", "exec-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    assert review.main(["publish", "--cdk-out", str(tmp_path / "cdk.out")]) == code
    assert published == ["exec-1"]  # published either way
    err = capsys.readouterr().err
    assert ("Prod/Messaging" in err) == bool(incomplete)
