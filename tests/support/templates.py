"""A one-stack template written to disk, as the report's readers take it (StackTemplate)."""

from __future__ import annotations

import json
from pathlib import Path

from cloud_assembly.templates import StackTemplate


def stack_of(tmp_path: Path, resources: dict[str, object], account: str) -> StackTemplate:
    """Stack `S` in `account` (eu-west-1) holding `resources`, its template in `tmp_path`."""
    (tmp_path / "S.template.json").write_text(json.dumps({"Resources": resources}))
    return StackTemplate(
        root=tmp_path,
        relpath="S.template.json",
        stack="S",
        stack_name="S",
        account=account,
        region="eu-west-1",
        path="S",
    )
